"""Single-precision GEMM from numba code: SciPy's BLAS ``sgemm`` through its Cython table.

At audio block sizes a WaveNet layer is a few small matrix products (16x48
by 48x128); an optimised GEMM does them about three times faster than the
best plain numba loops, and numba can call it with no Python in between.

The matrices are row-major numpy memory; BLAS is column-major, so
``C = A @ B`` is computed as ``C^T = B^T @ A^T``, which is the same memory.
"""

from __future__ import annotations

import os

# The audio thread must never wake BLAS worker threads; set before BLAS loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import get_cython_function_address, intrinsic

# Offsets into the int32 argument scratch (see ``gemm_args``).
_TRANS, _M, _N, _K, _LDA, _LDB, _LDC = 0, 1, 2, 3, 4, 5, 6


def sgemm_address() -> int:
    """Address of SciPy's Fortran ``sgemm``, passed to kernels as a plain integer.

    Passing it as an argument (not a ctypes global) keeps the kernels cacheable
    on disk, so a model loads without recompiling.
    """
    return get_cython_function_address("scipy.linalg.cython_blas", "sgemm")


@intrinsic
def _call13(typingctx, fn, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12):
    """Call the C function at address ``fn`` with 13 pointer arguments."""
    sig = types.void(types.intp, *([types.intp] * 13))

    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p] * 13)
        target = builder.inttoptr(args[0], fnty.as_pointer())
        builder.call(target, [builder.inttoptr(a, i8p) for a in args[1:]])
        return context.get_dummy_value()

    return sig, codegen


def gemm_args() -> tuple[np.ndarray, np.ndarray]:
    """Preallocated argument scratch: int32[8] (first holds 'N') and float32[2]."""
    ints = np.zeros(8, np.int32)
    ints[_TRANS] = ord("N")
    return ints, np.zeros(2, np.float32)


@nb.njit(inline="always", nogil=True)
def gemm_rows(fn, ints, floats, rows, cols, inner, w_ptr, w_ld, x_ptr, x_ld, beta, out_ptr,
              out_ld):
    """out (rows x cols) = W (rows x inner) @ X (inner x cols) + beta * out.

    All row-major float32 with row strides ``*_ld`` in elements; pointers are
    ``array.ctypes.data`` byte addresses; ``fn`` is ``sgemm_address()``.
    """
    ints[_M] = cols
    ints[_N] = rows
    ints[_K] = inner
    ints[_LDA] = x_ld
    ints[_LDB] = w_ld
    ints[_LDC] = out_ld
    floats[0] = 1.0
    floats[1] = beta
    p = ints.ctypes.data
    f = floats.ctypes.data
    _call13(fn, p, p, p + 4 * _M, p + 4 * _N, p + 4 * _K, f, x_ptr, p + 4 * _LDA, w_ptr,
            p + 4 * _LDB, f + 4, out_ptr, p + 4 * _LDC)
