"""The one-shot sample-pack autoencoder: latent points, PCA axes, feature estimators and
the constrained latent edit."""
