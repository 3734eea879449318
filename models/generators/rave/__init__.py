"""neuralrig's own RAVE-style streaming VAE: causal cached convolutions, trained on synthesised audio, exported in nn~'s TorchScript contract."""
