"""Over-saturation: the server no longer keeps up with a rate-driven load.

Under an open-loop load a server that keeps up holds the number of requests
in flight and the TTFT level; one that cannot shows both growing without end
(its queue fills). Like guidellm's over-saturation slope test, this fits a
least-squares line to the recent samples and calls it saturated when the
slope is clearly positive (t statistic above `min_t`) over the window and
over each half of it (so the first fill of an empty server, which levels
off, does not count) and the fitted growth over the window is large (at
least `min_growth` times the fitted starting level, and an absolute floor
so a handful of requests is not a trend).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Saturation", "SaturationDetector", "Trend", "trend"]


@dataclass(frozen=True)
class Trend:
    """A least-squares line over (t_s, value) samples."""

    slope_per_s: float
    t_stat: float  # slope / its standard error (inf for a perfect line)
    start_value: float  # fitted value at the window's first sample
    end_value: float  # fitted value at its last


def trend(samples: Sequence[tuple[float, float]]) -> Trend | None:
    """The fitted line, or None with fewer than 3 samples or no spread in time."""
    n = len(samples)
    if n < 3:
        return None
    mt = sum(t for t, _ in samples) / n
    mv = sum(v for _, v in samples) / n
    sxx = sum((t - mt) ** 2 for t, _ in samples)
    if sxx <= 0:
        return None
    slope = sum((t - mt) * (v - mv) for t, v in samples) / sxx
    resid = sum((v - (mv + slope * (t - mt))) ** 2 for t, v in samples)
    se = math.sqrt(resid / (n - 2) / sxx)
    t_stat = math.inf if se == 0 else slope / se
    if slope == 0 and se == 0:
        t_stat = 0.0
    t0, t1 = samples[0][0], samples[-1][0]
    return Trend(slope, t_stat, mv + slope * (t0 - mt), mv + slope * (t1 - mt))


@dataclass(frozen=True)
class Saturation:
    """When and why the load was judged too much for the server."""

    at_s: float  # seconds after the phase started
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"at_s": round(self.at_s, 3), "reason": self.reason}


def _rising(tr: Trend | None, min_t: float) -> bool:
    return tr is not None and tr.slope_per_s > 0 and tr.t_stat >= min_t


def _growing(
    samples: list[tuple[float, float]], min_t: float, min_growth: float, floor: float
) -> Trend | None:
    """The window's trend when it says "growing without end", else None."""
    tr = trend(samples)
    if tr is None or not _rising(tr, min_t):
        return None
    mid = (samples[0][0] + samples[-1][0]) / 2
    first = trend([s for s in samples if s[0] <= mid])
    second = trend([s for s in samples if s[0] >= mid])
    if not (_rising(first, min_t) and _rising(second, min_t)):
        return None
    growth = tr.end_value - tr.start_value
    if growth >= floor and growth >= min_growth * max(tr.start_value, 0.0):
        return tr
    return None


class SaturationDetector:
    """Fed with in-flight counts and TTFTs while a run goes; `check` gives a verdict.

    The window is the most recent half of the run so far (at least
    `min_window_s`), so an early transient does not count once it is over.
    Once saturated, the first verdict stays.
    """

    def __init__(
        self,
        *,
        min_elapsed_s: float = 5.0,
        min_window_s: float = 3.0,
        min_t: float = 3.0,
        min_growth: float = 0.25,
        in_flight_floor: float = 8.0,
        ttft_floor_ms: float = 100.0,
        max_samples: int = 4000,
    ) -> None:
        self.min_elapsed_s = min_elapsed_s
        self.min_window_s = min_window_s
        self.min_t = min_t
        self.min_growth = min_growth
        self.in_flight_floor = in_flight_floor
        self.ttft_floor_ms = ttft_floor_ms
        self._in_flight: deque[tuple[float, float]] = deque(maxlen=max_samples)
        self._ttft: deque[tuple[float, float]] = deque(maxlen=max_samples)
        self.verdict: Saturation | None = None

    def observe_in_flight(self, t_s: float, in_flight: int) -> None:
        self._in_flight.append((t_s, float(in_flight)))

    def observe_ttft(self, t_s: float, ttft_ms: float) -> None:
        self._ttft.append((t_s, ttft_ms))

    def _window(
        self, samples: deque[tuple[float, float]], now_s: float
    ) -> list[tuple[float, float]]:
        start = now_s - max(self.min_window_s, now_s / 2)
        return [s for s in samples if s[0] >= start]

    def check(self, now_s: float) -> Saturation | None:
        """The verdict at `now_s` (seconds since the phase began)."""
        if self.verdict is not None or now_s < self.min_elapsed_s:
            return self.verdict
        window = self._window(self._in_flight, now_s)
        flight = _growing(window, self.min_t, self.min_growth, self.in_flight_floor)
        if flight is not None:
            self.verdict = Saturation(
                now_s,
                f"requests in flight keep growing ({flight.start_value:.0f} -> "
                f"{flight.end_value:.0f}, +{flight.slope_per_s:.1f}/s): the server "
                "cannot keep up with this rate",
            )
            return self.verdict
        window = self._window(self._ttft, now_s)
        ttft = _growing(window, self.min_t, self.min_growth, self.ttft_floor_ms)
        if ttft is not None:
            self.verdict = Saturation(
                now_s,
                f"TTFT keeps growing ({ttft.start_value:,.0f} -> {ttft.end_value:,.0f} ms, "
                f"+{ttft.slope_per_s:,.0f} ms/s): requests queue at the server",
            )
        return self.verdict
