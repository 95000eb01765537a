"""The one percentile: linear interpolation like numpy, NaN for no values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inferlab.metrics import percentile, percentiles


def test_percentile_interpolates_linearly_like_numpy() -> None:
    xs = [1.0, 2.0, 3.0, 4.0]
    assert percentile(xs, 50) == pytest.approx(2.5)
    assert percentile(xs, 90) == pytest.approx(3.7)
    assert percentile([7.0], 99) == 7.0


def test_percentile_of_no_values_is_nan_not_an_error() -> None:
    # The single empty-input policy (was: summary raised, compare gave NaN).
    assert math.isnan(percentile([], 50))
    assert math.isnan(percentile(np.empty(0), 99))
    assert all(math.isnan(v) for v in percentiles([], (50, 95)))


@pytest.mark.parametrize("seed", range(20))
def test_percentiles_equal_numpy_default_method_on_random_samples(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.sort(rng.lognormal(3.0, 1.0, size=int(rng.integers(1, 500))))
    pcts = (0, 1, 50, 90, 95, 99, 99.9, 100)
    assert percentiles(values, pcts) == pytest.approx(np.percentile(values, pcts).tolist())
    assert percentiles(list(values), pcts) == percentiles(values, pcts)
