"""Change-point detection: how often noise is flagged, how often a real shift is found, speed.

Run: `make bench` or `.venv/bin/python bench/bench_changes.py`. Prints figures; asserts nothing.
Synthetic run-level TTFT p95 values (lognormal noise), seeded, 100 series per case.
"""

from __future__ import annotations

import time

import numpy as np

from inferlab.monitor import detect_changes, metric_spec

SPEC = metric_spec("ttft_p95")
SERIES = 100


def lognormal(rng: np.random.Generator, level: float, spread: float, n: int) -> list[float]:
    return list(rng.lognormal(np.log(level), spread, n))


def share(case: str, make: object, want: int) -> None:
    hits = 0
    for seed in range(SERIES):
        values = make(np.random.default_rng(seed))  # type: ignore[operator]
        hits += len(detect_changes(values, SPEC)) == want
    print(f"{case:<58} {hits:>3} / {SERIES}")


def main() -> None:
    print(f"{'case (series with exactly the expected changes)':<58} share")
    share("no shift, 60 runs, 30 % noise: no change", lambda r: lognormal(r, 50, 0.3, 60), 0)
    share("no shift, 30 runs, 10 % noise: no change", lambda r: lognormal(r, 50, 0.1, 30), 0)
    share(
        "+30 % after 10 runs, 10 % noise: one change",
        lambda r: lognormal(r, 50, 0.1, 10) + lognormal(r, 65, 0.1, 10),
        1,
    )
    share(
        "50 -> 300 ms after 8 runs, 10 % noise: one change",
        lambda r: lognormal(r, 50, 0.1, 8) + lognormal(r, 300, 0.1, 8),
        1,
    )
    share(
        "+5 % after 10 runs, 1 % noise (below the 10 % minimum): none",
        lambda r: lognormal(r, 50, 0.01, 10) + lognormal(r, 52.5, 0.01, 10),
        0,
    )
    detect_changes(lognormal(np.random.default_rng(0), 50, 0.2, 50), SPEC)  # import ruptures
    for n in (100, 1000):
        values = lognormal(np.random.default_rng(1), 50, 0.2, n)
        t0 = time.perf_counter()
        detect_changes(values, SPEC)
        print(f"detect_changes on {n:,} runs: {1000 * (time.perf_counter() - t0):.1f} ms")


if __name__ == "__main__":
    main()
