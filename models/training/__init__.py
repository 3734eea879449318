"""Training: losses, data windows and the training loop (torch; never on the audio path)."""
