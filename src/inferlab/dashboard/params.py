"""Page state <-> URL query parameters.

Widgets bound with ``bind="query-params"`` make Streamlit keep the URL in
sync, but Streamlit silently drops a value it cannot use. Pages therefore
check the raw parameters first with :func:`check_params`, so a hand-edited
link gets a visible warning naming the parameter and the fallback, and
:func:`share_url` builds the link shown to the user.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

__all__ = ["NumberParam", "ParamProblem", "check_params", "seconds", "share_url"]


def seconds(value_s: float, digits: int = 3) -> str:
    """A duration for people: '5.2 s', '5.12 s', '20,480 s' (never '2e+04 s')."""
    if abs(value_s) >= 10**digits:
        return f"{value_s:,.0f} s"
    return f"{value_s:,.{digits}g} s"


def _num(value: float) -> str:
    """1000000.0 -> '1,000,000'; 0.5 -> '0.5'."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class NumberParam:
    """A numeric page input that lives in the URL under `name`."""

    name: str
    label: str
    default: float
    min_value: float
    max_value: float
    integer: bool = False

    def parse(self, raw: str) -> float | int:
        """The value `raw` stands for; ValueError with a reason when unusable."""
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"'{raw}' is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"'{raw}' is not a finite number")
        if value < self.min_value:
            raise ValueError(f"{raw} is below the minimum {_num(self.min_value)}")
        if value > self.max_value:
            raise ValueError(f"{raw} is above the maximum {_num(self.max_value)}")
        if self.integer:
            if value != int(value):
                raise ValueError(f"{raw} is not a whole number")
            return int(value)
        return value


@dataclass(frozen=True)
class ParamProblem:
    name: str
    raw: str
    reason: str
    fallback: float | int

    def message(self, label: str) -> str:
        return (
            f"The link's `{self.name}` ({label}) was ignored: {self.reason}. "
            f"Using the default {_num(self.fallback)} instead; change it in the form."
        )


def _first(raw: str | list[str]) -> str:
    return raw[-1] if isinstance(raw, list) else raw


def check_params(
    query: Mapping[str, str | list[str]], specs: Iterable[NumberParam]
) -> list[ParamProblem]:
    """Problems with the URL values of `specs` (absent parameters are fine)."""
    problems = []
    for spec in specs:
        if spec.name not in query:
            continue
        raw = _first(query[spec.name])
        try:
            spec.parse(raw)
        except ValueError as exc:
            problems.append(ParamProblem(spec.name, raw, str(exc), spec.default))
    return problems


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ",".join(_fmt(v) for v in value)
    return str(value)


def share_url(base_url: str, values: Mapping[str, object], defaults: Mapping[str, object]) -> str:
    """`base_url` with every value that differs from its default as a query parameter.

    Defaults are left out to keep links short, as Streamlit's own binding does;
    opening the link restores them anyway.
    """
    base = base_url.split("?", 1)[0]
    params = {k: _fmt(v) for k, v in values.items() if v is not None and v != defaults.get(k)}
    return f"{base}?{urlencode(params)}" if params else base
