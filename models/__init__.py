"""Neural models: streaming architectures, the neuralrig file format, loaders."""
