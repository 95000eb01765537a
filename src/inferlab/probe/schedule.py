"""When requests are sent: the load shapes, as pure functions of time.

Concurrency mode needs no arrival schedule (a slot sends its next request as
soon as its previous one ends); the rate modes send on arrival offsets
whatever is in flight, so a slow server shows up as queueing instead of
being hidden. Each shape is one function here:

- `arrival_offsets_s`: constant or Poisson/gamma arrivals at a target rate
  (`burstiness` K as in vLLM's `bench serve`: gamma gaps of shape K, K = 1 is
  Poisson, K < 1 burstier, K > 1 more even), optionally ramped.
- `ramped_offset_s`: the linear ramp-up of a rate from 0 to its target.
- `slot_start_offsets_s`: the linear ramp-up of a concurrency (or of session
  starts): when each closed-loop slot begins.
- Trace replay has its own module (`inferlab.probe.trace`).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator

__all__ = ["arrival_offsets_s", "ramped_offset_s", "slot_start_offsets_s"]


def arrival_offsets_s(
    mode: str,
    rate_rps: float,
    seed: int = 0,
    *,
    burstiness: float = 1.0,
    ramp_up_s: float = 0.0,
) -> Iterator[float]:
    """Endless send offsets (seconds from the phase start), the first at 0.

    constant: every 1/rate s. poisson: gaps with mean 1/rate drawn from a
    generator seeded with `seed` (exponential, or gamma of shape `burstiness`
    when it is not 1), so the same seed gives the same run. With `ramp_up_s`,
    the rate rises linearly from 0 to `rate_rps` over that time
    (`ramped_offset_s`).
    """
    if rate_rps <= 0:
        raise ValueError(f"rate must be positive, got {rate_rps}")
    if not (math.isfinite(burstiness) and burstiness > 0):
        raise ValueError(f"burstiness must be positive, got {burstiness}")
    if not (math.isfinite(ramp_up_s) and ramp_up_s >= 0):
        raise ValueError(f"ramp-up must be 0 or more seconds, got {ramp_up_s}")
    if mode == "constant":
        base: Iterator[float] = (i / rate_rps for i in itertools.count())
    elif mode == "poisson":
        base = _gaps(rate_rps, burstiness, random.Random(seed))
    else:
        raise ValueError(f"no arrival schedule for mode {mode!r}")
    if ramp_up_s == 0:
        return base
    return (ramped_offset_s(t, ramp_up_s) for t in base)


def _gaps(rate_rps: float, burstiness: float, rng: random.Random) -> Iterator[float]:
    t = 0.0
    while True:
        yield t
        if burstiness == 1.0:
            t += rng.expovariate(rate_rps)
        else:
            # Mean shape * scale = 1 / rate; variance falls as the shape grows.
            t += rng.gammavariate(burstiness, 1.0 / (rate_rps * burstiness))


def ramped_offset_s(full_rate_offset_s: float, ramp_up_s: float) -> float:
    """When an arrival due at `full_rate_offset_s` (at the target rate from t=0)
    is sent if the rate instead rises linearly from 0 to the target over
    `ramp_up_s`.

    The ramp sends R t^2 / (2 S) requests by time t <= S, so the n-th arrival
    keeps its place in the sequence and only its time stretches: t = sqrt(2 S u)
    while u <= S / 2, then u + S / 2 (the target rate, half a ramp late).
    """
    if ramp_up_s <= 0:
        return full_rate_offset_s
    if full_rate_offset_s <= ramp_up_s / 2:
        return math.sqrt(2.0 * ramp_up_s * full_rate_offset_s)
    return full_rate_offset_s + ramp_up_s / 2


def slot_start_offsets_s(slots: int, ramp_up_s: float) -> list[float]:
    """When each of `slots` closed-loop slots (or sessions) starts: all at 0, or
    evenly over `ramp_up_s` so the concurrency rises linearly to `slots`."""
    if slots < 1:
        return []
    if ramp_up_s <= 0:
        return [0.0] * slots
    return [ramp_up_s * k / slots for k in range(slots)]
