"""The architectures and sizes `neuralrig train` offers (kept free of torch imports)."""

ARCHITECTURES = ("lstm", "gru", "wavenet", "tcn", "stn", "lactose")
SIZES = ("nano", "feather", "lite", "standard", "large")
# "large" is for LSTM and GRU only (1x32: still light enough for a Raspberry Pi 4).
RECURRENT_ONLY_SIZES = ("large",)
# "pre": NAM's batch-wide pre-emphasised ESR; "balanced": per-example ESR, pre-emphasised
# plus plain (see losses.EffectLoss), for knob-conditioned captures with dark settings;
# "plain": per-example plain ESR alone, the figure the held-out grid reports.
LOSSES = ("pre", "balanced", "plain")
