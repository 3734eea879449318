"""Standard capture-signal lengths, as fractions of the full signal (no heavy imports).

A recording of any of them is recognised by its length; 1.0 is the full signal,
the others are for quick tries and tests (less material, a weaker model).
"""

STANDARD_SCALES = (1.0, 0.5, 0.25, 0.1)
