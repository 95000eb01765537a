"""Load shapes, pure: ramp-up, gamma burstiness, slot starts, trace files, the saturation test."""

from __future__ import annotations

import itertools
import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from inferlab.probe.config import ConfigError, ProbeConfig
from inferlab.probe.saturation import SaturationDetector, trend
from inferlab.probe.schedule import arrival_offsets_s, ramped_offset_s, slot_start_offsets_s
from inferlab.probe.trace import BLOCK_TOKENS, TracePrompts, load_trace, trace_offsets_s


def test_burstiness_one_is_the_same_poisson_sequence() -> None:
    a = list(itertools.islice(arrival_offsets_s("poisson", 10.0, seed=3), 100))
    b = list(itertools.islice(arrival_offsets_s("poisson", 10.0, seed=3, burstiness=1.0), 100))
    assert a == b


@pytest.mark.parametrize("k", [0.25, 4.0])
def test_gamma_gaps_keep_the_mean_and_scale_the_spread(k: float) -> None:
    offs = list(itertools.islice(arrival_offsets_s("poisson", 10.0, seed=1, burstiness=k), 20_000))
    gaps = [y - x for x, y in itertools.pairwise(offs)]
    assert statistics.mean(gaps) == pytest.approx(0.1, rel=0.05)
    # Gamma of shape k: coefficient of variation 1 / sqrt(k).
    cv = statistics.stdev(gaps) / statistics.mean(gaps)
    assert cv == pytest.approx(1 / k**0.5, rel=0.08)


def test_linear_ramp_sends_the_triangle_then_the_target_rate() -> None:
    ramp_s = 10.0
    offs = list(itertools.islice(arrival_offsets_s("constant", 10.0, ramp_up_s=ramp_s), 500))
    # Rate r(t) = 10 t / 10 during the ramp: t^2 / 2 requests by time t.
    sent_by_ramp_end = sum(1 for t in offs if t < ramp_s)
    assert sent_by_ramp_end == pytest.approx(10.0 * ramp_s / 2, abs=1)
    after = [t for t in offs if t >= ramp_s]
    gaps = [y - x for x, y in itertools.pairwise(after)]
    assert all(g == pytest.approx(0.1) for g in gaps)
    assert offs == sorted(offs) and offs[0] == 0.0
    assert ramped_offset_s(5.0, 0.0) == 5.0


def test_slot_starts_spread_evenly_over_the_ramp() -> None:
    assert slot_start_offsets_s(4, 0.0) == [0.0] * 4
    assert slot_start_offsets_s(4, 2.0) == [0.0, 0.5, 1.0, 1.5]
    assert slot_start_offsets_s(0, 2.0) == []


def test_shape_flags_that_cannot_work_are_refused() -> None:
    base: dict[str, Any] = {"url": "http://127.0.0.1:1/v1", "model": "m"}
    with pytest.raises(ConfigError, match="--burstiness needs"):
        ProbeConfig(**base, burstiness=2.0).validate()
    with pytest.raises(ConfigError, match="--stop-on-saturation needs"):
        ProbeConfig(**base, stop_on_saturation=True).validate()
    with pytest.raises(ConfigError, match="--ramp-up-s"):
        ProbeConfig(**base, ramp_up_s=-1).validate()
    with pytest.raises(ConfigError, match="--sessions needs --api chat"):
        ProbeConfig(**base, load_mode="sessions", sessions=2, api="completions").validate()
    with pytest.raises(ConfigError, match="--trace FILE"):
        ProbeConfig(**base, load_mode="trace").validate()


def write(path: Path, lines: list[object]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_trace_offsets_keep_the_distances_divided_by_speed(tmp_path: Path) -> None:
    p = write(
        tmp_path / "t.jsonl",
        [
            {"timestamp": 5000, "input_length": 10, "output_length": 3},
            {"timestamp": 1000, "input_length": 10, "output_length": 3},
            {"timestamp": 1500, "input_length": 10, "output_length": 3},
        ],
    )
    entries = load_trace(p)
    assert [e.timestamp_ms for e in entries] == [1000, 1500, 5000]
    assert trace_offsets_s(entries) == [0.0, 0.5, 4.0]
    assert trace_offsets_s(entries, speed=2.0) == [0.0, 0.25, 2.0]


def test_the_shipped_sample_trace_loads() -> None:
    entries = load_trace(Path(__file__).resolve().parents[2] / "data" / "traces" / "sample.jsonl")
    assert len(entries) == 120 and all(e.hash_ids for e in entries)


def test_trace_prompts_share_the_blocks_their_hash_ids_share(tmp_path: Path) -> None:
    n = 2 * BLOCK_TOKENS
    p = write(
        tmp_path / "t.jsonl",
        [
            {"timestamp": 0, "input_length": n, "output_length": 7, "hash_ids": [1, 2]},
            {"timestamp": 1, "input_length": n + 50, "output_length": 9, "hash_ids": [1, 3, 4]},
            {"timestamp": 2, "input_length": 20, "output_length": 9},
        ],
    )
    prompts = TracePrompts(load_trace(p))
    a, b, c = (prompts(i).text or "" for i in range(3))
    wa, wb = a.split(" "), b.split(" ")
    assert len(wa) == n and len(wb) == n + 50 and len(c.split(" ")) == 20
    assert wa[:BLOCK_TOKENS] == wb[:BLOCK_TOKENS]  # hash id 1
    assert wa[BLOCK_TOKENS:] != wb[BLOCK_TOKENS : 2 * BLOCK_TOKENS]  # 2 vs 3
    assert prompts(0).max_tokens == 7


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("not json", "line 1 is not JSON"),
        ('{"timestamp": -1, "input_length": 1, "output_length": 1}', '"timestamp"'),
        ('{"timestamp": 0, "input_length": 0, "output_length": 1}', '"input_length"'),
        ('{"timestamp": 0, "input_length": 1}', '"output_length"'),
        ('{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": "x"}', "hash_ids"),
        ("[1]", "expected an object"),
    ],
)
def test_a_bad_trace_line_is_named(tmp_path: Path, line: str, needle: str) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.jsonl") as exc:
        load_trace(p)
    assert needle in str(exc.value)


def test_missing_and_empty_traces_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_trace(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="has no requests"):
        load_trace(tmp_path / "empty.jsonl")


def test_trend_fits_a_line() -> None:
    tr = trend([(t, 2.0 * t + 1.0) for t in range(10)])
    assert tr is not None
    assert tr.slope_per_s == pytest.approx(2.0)
    assert tr.start_value == pytest.approx(1.0) and tr.end_value == pytest.approx(19.0)
    assert trend([(0.0, 1.0), (1.0, 2.0)]) is None


def test_in_flight_growing_without_end_is_saturation() -> None:
    det = SaturationDetector(min_elapsed_s=5.0)
    for i in range(40):
        t = i * 0.25
        det.observe_in_flight(t, 2 + 5 * int(t))
        assert (det.check(t) is None) == (t < 5.0)
    assert det.verdict is not None and "in flight keep growing" in det.verdict.reason


def test_a_steady_noisy_load_is_not_saturation() -> None:
    det = SaturationDetector()
    noise = [0, 3, -2, 5, -4, 1, 2, -3, 4, -1]
    for i in range(400):
        t = i * 0.25
        det.observe_in_flight(t, 20 + noise[i % len(noise)])
        det.observe_ttft(t, 200.0 + 10 * noise[(i + 3) % len(noise)])
        assert det.check(t) is None


def test_the_first_fill_of_an_empty_server_is_not_saturation() -> None:
    det = SaturationDetector()
    for i in range(80):
        t = i * 0.25
        det.observe_in_flight(t, min(40, int(10 * t)))  # fills for 4 s, then steady
        assert det.check(t) is None


def test_ttft_growing_without_end_is_saturation() -> None:
    det = SaturationDetector()
    for i in range(40):
        t = i * 0.25
        det.observe_in_flight(t, 10)
        det.observe_ttft(t, 50.0 + 100.0 * t)
    assert det.check(10.0) is not None
    assert det.verdict is not None and "TTFT keeps growing" in det.verdict.reason
