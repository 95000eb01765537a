"""The one percentile of inferlab: linear interpolation between closest ranks.

This is numpy's default method and DuckDB's ``quantile_cont``, the SQL twin the
store uses for speed (``tests/unit/test_store_summary.py`` pins SQL == Python).

Input is already sorted (callers sort once and read several percentiles).
Empty input policy: the percentile of no values is NaN, never an exception, so
a run without completed requests shows "no value" instead of failing a page;
displays turn NaN into a dash.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["percentile", "percentiles"]


def percentiles(sorted_values: Sequence[float] | np.ndarray, pcts: Iterable[float]) -> list[float]:
    """The `pcts` (0..100) percentiles of ascending `sorted_values`; NaN each when empty."""
    n = len(sorted_values)
    if n == 0:
        return [math.nan for _ in pcts]
    out = []
    for p in pcts:
        pos = (n - 1) * p / 100.0
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        low = float(sorted_values[lo])
        out.append(low + (float(sorted_values[hi]) - low) * (pos - lo))
    return out


def percentile(sorted_values: Sequence[float] | np.ndarray, pct: float) -> float:
    """The `pct` (0..100) percentile of ascending `sorted_values`; NaN when empty."""
    return percentiles(sorted_values, (pct,))[0]
