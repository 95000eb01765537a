"""Numbers in sentences: a few significant digits, never scientific notation."""

from __future__ import annotations

__all__ = ["sig"]


def sig(x: float, digits: int = 3) -> str:
    """`x` to `digits` significant digits with thousands separators: 4.78, 1,640, 20,480
    (where ``f"{x:,.3g}"`` prints 1.64e+03 and 2.05e+04)."""
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    return f"{x:,.{digits}g}"
