"""Which engine runs a probe (`choice.choose`) and how workers' facts make a run's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from inferlab.probe import ProbeConfig, make_run_info
from inferlab.probe.engines.choice import STREAMS_PER_WORKER, choose, engine_json, engine_label
from inferlab.probe.engines.pool import combine_validity, engine_info
from inferlab.probe.runner import share_of
from inferlab.records import RunInfo
from inferlab.validity import ValidityFacts, judge


def info_for(**kw: Any) -> RunInfo:
    cfg = ProbeConfig(url="http://127.0.0.1:1/v1", model="m", **kw)
    return make_run_info(cfg)


def engine(info: RunInfo) -> tuple[object, object, object]:
    s = info.settings
    return s["engine"], s["workers"], s.get("engine_note")


@pytest.mark.parametrize(
    ("concurrency", "cpus", "expected"),
    [
        (1, 2, ("local", 1)),
        (STREAMS_PER_WORKER, 8, ("local", 1)),
        (STREAMS_PER_WORKER + 1, 8, ("processes", 2)),
        (128, 2, ("processes", 2)),
        (256, 2, ("processes", 4)),  # up to two workers per CPU
        (256, 8, ("processes", 4)),
        (1000, 2, ("processes", 4)),
        (1000, 8, ("processes", 16)),
        (1000, 1, ("processes", 2)),
    ],
)
def test_auto_splits_above_streams_per_worker(
    concurrency: int, cpus: int, expected: tuple[str, int]
) -> None:
    info = choose(info_for(concurrency=concurrency, requests=2000), "auto", cpus=cpus)
    assert engine(info) == (*expected, None)


def test_explicit_engines_and_workers() -> None:
    base = info_for(concurrency=256, requests=1000)
    assert engine(choose(base, "local", cpus=8)) == ("local", 1, None)
    assert engine(choose(base, "processes", cpus=4)) == ("processes", 4, None)  # from the load
    small = info_for(concurrency=8, requests=100)
    assert engine(choose(small, "processes", cpus=4)) == ("processes", 4, None)  # the CPUs
    assert engine(choose(base, "processes", 3, cpus=4)) == ("processes", 3, None)
    assert engine(choose(base, "auto", 3, cpus=4)) == ("processes", 3, None)  # --workers asks
    # No more workers than streams or requests.
    assert engine(choose(info_for(concurrency=2), "processes", 8)) == ("processes", 2, None)
    assert engine(choose(info_for(concurrency=256, requests=1), "auto", cpus=4))[0] == "local"


def test_open_loop_splits_by_its_in_flight_cap_only() -> None:
    rate = {"load_mode": "poisson", "concurrency": 0, "rate_rps": 50.0, "requests": 1000}
    assert engine(choose(info_for(**rate), "auto", cpus=4)) == ("local", 1, None)
    capped = choose(info_for(**{**rate, "concurrency": 512}), "auto", cpus=2)  # the cap
    assert engine(capped) == ("processes", 4, None)
    assert engine(choose(info_for(**rate), "processes", 2, cpus=4)) == ("processes", 2, None)


def test_unsplittable_modes_run_in_one_process_with_a_note() -> None:
    sessions = info_for(load_mode="sessions", concurrency=0, sessions=512, turns=2)
    assert engine(choose(sessions, "auto", cpus=4)) == ("processes", 8, None)  # split by user
    few = info_for(load_mode="sessions", concurrency=0, sessions=4, turns=2)
    assert engine(choose(few, "auto", cpus=4)) == ("local", 1, None)  # auto: not worth it
    stop = info_for(
        load_mode="poisson", concurrency=0, rate_rps=5.0, requests=10, stop_on_saturation=True
    )
    name, workers, note = engine(choose(stop, "processes", 2))
    assert (name, workers) == ("local", 1) and "--stop-on-saturation" in str(note)


def test_a_choice_made_again_replaces_the_old_note() -> None:
    stop = info_for(
        load_mode="poisson", concurrency=0, rate_rps=5.0, requests=10, stop_on_saturation=True
    )
    noted = choose(stop, "processes", 2)
    assert noted.settings.get("engine_note")
    again = engine_info(noted, 1, "local")
    assert "engine_note" not in again.settings


def test_engine_json_and_label() -> None:
    info = choose(info_for(concurrency=256, requests=1000), "processes", 2)
    assert engine_json(info) == {"name": "processes", "workers": 2, "note": None}
    old = replace(info, settings={k: v for k, v in info.settings.items() if k != "engine"})
    assert engine_json(old) == {"name": "local", "workers": 2, "note": None}
    assert engine_json(replace(info, source_tool="aiperf")) is None
    assert engine_label("processes", 2) == "engine processes x2"
    assert engine_label("local", 1, "ran in one process: x") == (
        "engine local (ran in one process: x)"
    )


def test_shares_cover_the_load_exactly() -> None:
    for total in (0, 1, 7, 256, 1000):
        for n in (1, 2, 3, 8):
            parts = [share_of(total, (k, n)) for k in range(n)]
            assert sum(parts) == total and max(parts) - min(parts) <= 1


def facts(**kw: Any) -> ValidityFacts:
    return ValidityFacts(engine="processes", **kw)


def test_workers_facts_combine_worst_lag_and_summed_load() -> None:
    a = facts(
        loop_lag_p50_ms=1.0, loop_lag_p99_ms=4.0, loop_lag_max_ms=9.0, loop_lag_samples=10,
        client_cpu_pct=60.0, target_concurrency=128, achieved_concurrency=127.0,
        connections_opened=128, connect_p50_ms=0.3, connect_max_ms=2.0, kernel_stamps=True,
        dispatch_lag_p99_ms=3.0,
    )  # fmt: skip
    b = facts(
        loop_lag_p50_ms=2.0, loop_lag_p99_ms=3.0, loop_lag_max_ms=20.0, loop_lag_samples=12,
        client_cpu_pct=50.0, target_concurrency=128, achieved_concurrency=126.0,
        connections_opened=128, connect_p50_ms=0.5, connect_max_ms=1.0, kernel_stamps=True,
        dispatch_lag_p99_ms=5.0,
    )  # fmt: skip
    run = combine_validity([a, b])
    assert run is not None
    assert (run.loop_lag_p50_ms, run.loop_lag_p99_ms, run.loop_lag_max_ms) == (2.0, 4.0, 20.0)
    assert run.loop_lag_samples == 22
    assert run.client_cpu_pct == 110.0 and run.connections_opened == 256
    assert run.target_concurrency == 256 and run.achieved_concurrency == 253.0
    assert run.dispatch_lag_p99_ms == 5.0 and run.connect_max_ms == 2.0
    assert run.kernel_stamps is True and run.engine == "processes" and run.workers == 2
    assert combine_validity([]) is None


def test_client_cpu_is_judged_per_worker() -> None:
    assert judge(facts(client_cpu_pct=150.0, workers=2)).verdict == "valid"
    over = judge(facts(client_cpu_pct=170.0, workers=2))
    assert over.verdict == "suspect" and "over 2 worker processes" in over.label
    assert judge(facts(client_cpu_pct=90.0)).verdict == "suspect"  # one process
