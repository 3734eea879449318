"""Classic DSP processors built on pyo objects, and the registry that names them."""
