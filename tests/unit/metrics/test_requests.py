"""Per-request TPOT and goodput: the array form equals the scalar definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inferlab.metrics.requests import goodput_rps, tpot_ms, tpot_ms_array


def test_tpot_is_undefined_below_two_tokens_and_without_times() -> None:
    assert tpot_ms(100.0, 300.0, 3) == pytest.approx(100.0)
    assert tpot_ms(100.0, 300.0, 1) is None
    assert tpot_ms(100.0, 300.0, 0) is None
    assert tpot_ms(None, 300.0, 5) is None
    assert tpot_ms(100.0, None, 5) is None


@pytest.mark.parametrize("seed", range(10))
def test_tpot_array_equals_the_scalar_definition_request_by_request(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    ttft = rng.uniform(10, 500, n)
    e2e = ttft + rng.uniform(0, 5000, n)
    tokens = rng.integers(0, 6, n)
    ok = rng.random(n) > 0.1
    arr = tpot_ms_array(ttft, e2e, tokens.astype(float), ok)
    for i in range(n):
        scalar = tpot_ms(float(ttft[i]), float(e2e[i]), int(tokens[i])) if ok[i] else None
        if scalar is None:
            assert math.isnan(arr[i])
        else:
            assert arr[i] == pytest.approx(scalar)


def test_goodput_needs_a_positive_duration() -> None:
    assert goodput_rps(30, 10.0) == pytest.approx(3.0)
    assert goodput_rps(30, 0.0) is None
    assert goodput_rps(30, None) is None
    assert goodput_rps(30, math.nan) is None
