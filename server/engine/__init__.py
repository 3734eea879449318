"""The rig engine: slots, parameters, chain building and real-time swapping."""
