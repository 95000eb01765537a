"""Change points: a real shift is found once, where it happened; noise and small shifts are not."""

from __future__ import annotations

import numpy as np
import pytest

from inferlab.monitor import detect_changes, metric_spec

TTFT = metric_spec("ttft_p95")


def noisy(level: float, n: int, seed: int, spread: float = 0.1) -> list[float]:
    return list(np.random.default_rng(seed).lognormal(np.log(level), spread, n))


def test_a_step_from_50_to_300_ms_is_one_worse_change_at_the_first_slow_run() -> None:
    values = noisy(50, 8, 1) + noisy(300, 8, 2)
    (change,) = detect_changes(values, TTFT)
    assert change.index == 8
    assert change.worse and change.metric == "ttft_p95"
    assert 45 < change.before < 56 and 270 < change.after < 330
    assert change.relative is not None and change.relative > 4


@pytest.mark.parametrize("seed", range(20))
def test_pure_noise_gives_no_change(seed: int) -> None:
    assert detect_changes(noisy(50, 40, seed, spread=0.2), TTFT) == []


def test_a_shift_below_the_minimum_effect_is_not_a_change() -> None:
    # 5 % up with no noise at all: certain, but smaller than the 10 % minimum effect.
    values = [100.0] * 6 + [105.0] * 6
    assert detect_changes(values, TTFT) == []
    assert len(detect_changes([100.0] * 6 + [115.0] * 6, TTFT)) == 1


def test_effect_scale_raises_the_minimum_effect() -> None:
    values = [100.0] * 6 + [115.0] * 6
    assert detect_changes(values, TTFT, effect_scale=2.0) == []


def test_one_slow_run_is_not_a_change() -> None:
    values = [50.0, 51, 49, 50, 400, 50, 51, 49, 50, 50]
    assert detect_changes(values, TTFT) == []


def test_a_spike_that_recovers_is_two_changes_the_second_better() -> None:
    values = [50.0, 52, 49, 51, 300, 310, 305, 50, 49, 51]
    up, down = detect_changes(values, TTFT)
    assert (up.index, up.worse) == (4, True)
    assert (down.index, down.worse) == (7, False)


def test_fewer_than_three_runs_on_a_side_cannot_be_a_change() -> None:
    assert detect_changes([50.0, 50, 50, 300, 300], TTFT) == []


def test_missing_values_are_skipped_and_indices_still_point_at_runs() -> None:
    values: list[float | None] = [50.0, None, 50, 50, None, 300, 300, float("nan"), 300]
    (change,) = detect_changes(values, TTFT)
    assert change.index == 5


def test_error_rate_change_is_absolute_two_points() -> None:
    spec = metric_spec("error_rate")
    assert detect_changes([0.0] * 5 + [0.01] * 5, spec) == []  # 1 point: below 2
    (change,) = detect_changes([0.0] * 5 + [1.0] * 5, spec)
    assert change.worse and change.before == 0 and change.after == 1
    assert change.relative is None  # from 0 there is no relative size


def test_output_tokens_per_second_falling_is_worse() -> None:
    (change,) = detect_changes([1000.0] * 5 + [500.0] * 5, metric_spec("output_tps"))
    assert change.worse and change.relative == pytest.approx(-0.5)


def test_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="ttft_p95"):
        metric_spec("ttft_p96")
