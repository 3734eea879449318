"""Inference kernels: numba-compiled loops over preallocated numpy arrays.

Torch's per-operation overhead dominates at audio block sizes (a 13,802-weight
WaveNet manages about 2.4x real time in plain torch at 128 samples), so the
audio path runs these kernels instead; torch is for training and references.
"""
