"""The monitor's clock: a tick every interval on the monotonic clock, until a count or a stop.

Ticks are due at start + k · interval. A tick that overruns its interval makes
the next due slot the first one still ahead (missed slots are skipped, never
run back to back), so a slow endpoint cannot make the monitor pile up probes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections.abc import Awaitable, Callable

__all__ = ["IntervalError", "next_due_s", "parse_interval", "run_every"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?\s*$")


class IntervalError(ValueError):
    """An interval that cannot be read; the message shows the accepted form."""


def parse_interval(text: str) -> float:
    """Seconds in "5m", "30s", "1h", "1.5h", "250ms", "1d" or a bare number of seconds."""
    m = _INTERVAL.match(text)
    if m is None:
        raise IntervalError(f"--every {text!r} must be a duration such as 30s, 5m, 1h or 250ms")
    seconds = float(m[1]) * _UNITS[m[2] or "s"]
    if not (math.isfinite(seconds) and seconds > 0):
        raise IntervalError(f"--every {text!r} must be longer than zero")
    return seconds


def next_due_s(start_s: float, now_s: float, interval_s: float) -> float:
    """The first tick time start + k · interval (k >= 1) that is after `now_s`."""
    k = max(1, math.floor((now_s - start_s) / interval_s) + 1)
    return start_s + k * interval_s


async def run_every(
    interval_s: float,
    tick: Callable[[int], Awaitable[None]],
    *,
    count: int | None = None,
    stop: asyncio.Event,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Await `tick(i)` now and then every `interval_s` until `count` ticks or `stop`;
    returns the number of ticks started."""
    start = clock()
    done = 0
    while (count is None or done < count) and not stop.is_set():
        await tick(done)
        done += 1
        if count is not None and done >= count:
            break
        now = clock()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, next_due_s(start, now, interval_s) - now))
    return done
