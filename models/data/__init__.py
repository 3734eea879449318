"""Files shipped with neuralrig: impulse responses and trained models."""
