"""Training in a process of its own, so the daemon's audio thread never waits on the GIL.

The parent sends the examples and the settings as safetensors bytes over a pipe;
the child (a fresh interpreter: spawn, not fork, so none of the daemon's
threads, sockets or audio state is copied) trains and sends the regressor back
the same way. Nothing is pickled but multiprocessing's own start-up plumbing.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from typing import Any

import numpy as np

from .regressors import Regressor, RegressorError
from .training import TrainOutcome, train

TIMEOUT = 600.0  # seconds a fit may take before it is abandoned


def _pack(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    from safetensors.numpy import save

    tensors = {k: np.ascontiguousarray(v, np.float64) for k, v in arrays.items()}
    return save(tensors, metadata={"meta": json.dumps(meta)})


def _unpack(blob: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    from safetensors.numpy import load

    arrays = load(blob)
    # safetensors.numpy.load drops the header's metadata; read it from the header itself.
    size = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + size])
    return json.loads(header.get("__metadata__", {}).get("meta", "{}")), arrays


def _child(conn: Any) -> None:
    try:
        meta, arrays = _unpack(conn.recv_bytes())

        def progress(fraction: float) -> None:
            conn.send_bytes(b"P" + json.dumps(fraction).encode())

        outcome = train(arrays["x"], arrays["y"], meta["kind"], int(meta.get("seed", 0)),
                        progress=progress)
        settings, state = outcome.regressor.state()
        conn.send_bytes(b"R" + _pack({"settings": settings, "kind": outcome.kind,
                               "validation_error": outcome.validation_error,
                               "per_output": outcome.per_output, "seconds": outcome.seconds},
                              state))
    except Exception as exc:  # reported to the parent as a message, not a traceback
        conn.send_bytes(b"E" + f"{type(exc).__name__}: {exc}".encode())
    finally:
        conn.close()


def train_in_process(x: np.ndarray, y: np.ndarray, kind: str = "auto",
                     progress: Callable[[float], None] | None = None,
                     seed: int = 0) -> TrainOutcome:
    """Fit in a child process; raises RegressorError with the child's reason on failure."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(child,), name="neuralrig-map-train",
                              daemon=True)
    process.start()
    child.close()
    try:
        parent.send_bytes(_pack({"kind": kind, "seed": seed}, {"x": x, "y": y}))
        while True:
            if not parent.poll(TIMEOUT):
                raise RegressorError(f"training took over {TIMEOUT:.0f} s; stopped")
            blob = parent.recv_bytes()
            kind_of, body = blob[:1], blob[1:]
            if kind_of == b"E":
                raise RegressorError(body.decode(errors="replace"))
            if kind_of == b"P":
                if progress is not None:
                    progress(float(json.loads(body)))
                continue
            meta, arrays = _unpack(body)
            regressor = Regressor.from_state(meta["settings"], arrays)
            return TrainOutcome(regressor, meta["kind"], meta["validation_error"],
                                list(meta["per_output"]), float(meta["seconds"]))
    except EOFError:
        raise RegressorError("the training process ended without an answer") from None
    finally:
        parent.close()
        process.join(timeout=5.0)
        if process.is_alive():
            process.kill()
            process.join()
