"""The architectures and sizes `neuralrig train` offers (kept free of torch imports)."""

ARCHITECTURES = ("lstm", "gru", "wavenet", "tcn", "stn", "lactose")
SIZES = ("nano", "feather", "lite", "standard")
