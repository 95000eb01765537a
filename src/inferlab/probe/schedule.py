"""When requests are sent: arrival times for the open-loop (rate) modes.

Concurrency mode needs no schedule (a slot sends its next request as soon as
its previous one ends); the rate modes send on these offsets whatever is in
flight, so a slow server shows up as queueing instead of being hidden.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

__all__ = ["arrival_offsets_s"]


def arrival_offsets_s(mode: str, rate_rps: float, seed: int = 0) -> Iterator[float]:
    """Endless send offsets (seconds from the phase start), the first at 0.

    constant: every 1/rate s. poisson: exponential gaps with mean 1/rate, drawn
    from a generator seeded with `seed`, so the same seed gives the same run.
    """
    if rate_rps <= 0:
        raise ValueError(f"rate must be positive, got {rate_rps}")
    if mode == "constant":
        return (i / rate_rps for i in itertools.count())
    if mode == "poisson":
        return _poisson(rate_rps, random.Random(seed))
    raise ValueError(f"no arrival schedule for mode {mode!r}")


def _poisson(rate_rps: float, rng: random.Random) -> Iterator[float]:
    t = 0.0
    while True:
        yield t
        t += rng.expovariate(rate_rps)
