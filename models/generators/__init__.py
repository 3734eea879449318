"""Neural generators: TorchScript models in nn~'s contract (RAVE and the like) and
the one-shot sample-pack autoencoder (Latent Play's method)."""
