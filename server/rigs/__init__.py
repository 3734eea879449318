"""Rig configs shipped with neuralrig (the default rig)."""
