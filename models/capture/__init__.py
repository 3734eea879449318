"""Capturing a pedal or amp: the reamping signal and the checks/alignment of its recording."""

from .align import AlignedCapture, check_and_align
from .signal import CaptureLayout, Section, capture_signal

__all__ = ["AlignedCapture", "CaptureLayout", "Section", "capture_signal", "check_and_align"]
