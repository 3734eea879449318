"""Trainable PyTorch networks (training only; the audio path runs models.runtime kernels)."""
