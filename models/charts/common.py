"""What the chart pages share: the progress callback's type, the error, the limits of a comparison."""

from __future__ import annotations

from typing import Callable

Progress = Callable[[str, int], None]

# Karpathy's "human benchmark" on ILSVRC (lecture 000: 94.9 % top-5 accuracy): a reference line, used only when
# no zoo entry's facts hold a ``human_top5_error``.
HUMAN_TOP5_ERROR_LECTURE = 5.1
COMPARE_MIN, COMPARE_MAX = 2, 4


class ChartsError(ValueError):
    """Bad input for a chart (a one-line message)."""
