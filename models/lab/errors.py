"""The lab's one error type: bad input explained in one line (the CLI prints it and exits 2)."""

from __future__ import annotations


class LabError(ValueError):
    """Input the lab cannot use: a layer with no spatial map, a detector for Grad-CAM, an unknown unit ..."""
