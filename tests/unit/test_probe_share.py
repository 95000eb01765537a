"""Worker shares of one run (what the Ray engine gives each actor), without Ray."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from inferlab.probe import MemorySink, ProbeConfig, run_probe
from inferlab.probe.runner import share_of
from inferlab.sim import SimConfig, SimServer


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(SimConfig(ttft_ms=2, tpot_ms=1)) as s:
        yield s


def test_share_of_splits_a_total_exactly() -> None:
    for total in (0, 1, 5, 128, 1001):
        for n in (1, 2, 3, 8):
            parts = [share_of(total, (k, n)) for k in range(n)]
            assert sum(parts) == total and max(parts) - min(parts) <= 1


async def _two_workers(cfg: ProbeConfig) -> list[MemorySink]:
    sinks = [MemorySink(), MemorySink()]
    start_wall_ns = time.time_ns() + 300_000_000
    await asyncio.gather(
        *(run_probe(cfg, s, share=(k, 2), start_wall_ns=start_wall_ns) for k, s in enumerate(sinks))
    )
    return sinks


def test_closed_loop_shares_take_interleaved_indexes(sim: SimServer) -> None:
    cfg = ProbeConfig(
        url=sim.base_url, model="inferlab-sim", requests=11, concurrency=4, max_tokens=4
    )
    sinks = asyncio.run(_two_workers(cfg))
    assert sorted(r.index for r in sinks[0].records) == [0, 2, 4, 6, 8, 10]
    assert sorted(r.index for r in sinks[1].records) == [1, 3, 5, 7, 9]
    assert all(r.ok for s in sinks for r in s.records)


def test_open_loop_shares_split_one_schedule(sim: SimServer) -> None:
    cfg = ProbeConfig(
        url=sim.base_url,
        model="inferlab-sim",
        load_mode="poisson",
        concurrency=0,
        rate_rps=200.0,
        requests=20,
        max_tokens=2,
        seed=3,
    )
    whole = MemorySink()
    asyncio.run(run_probe(cfg, whole))
    sinks = asyncio.run(_two_workers(cfg))
    parts = {r.index: r.scheduled_ms for s in sinks for r in s.records}
    assert sorted(parts) == list(range(20))
    # Every arrival keeps its offset in the one seeded schedule, whichever worker sent it.
    # Aligned workers count from the common start, where the first arrival is due.
    zero = min(r.scheduled_ms for r in whole.records)
    for r in whole.records:
        assert parts[r.index] == pytest.approx(r.scheduled_ms - zero, abs=1e-3)


def test_engine_flags_need_engine_ray() -> None:
    base = ["probe", "--url", "http://127.0.0.1:1/v1", "--model", "m"]
    for extra, needle in ((["--engine", "local", "--workers", "2"], "--workers needs --engine processes"),
                          (["--ray-address", "h:6379"], "--ray-address needs --engine ray")):  # fmt: skip
        out = subprocess.run(
            [sys.executable, "-m", "inferlab", *base, *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2 and needle in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def test_missing_extra_is_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from inferlab.probe.engines import ray as engine

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with (
        pytest.raises(engine.RayUnavailable, match=r"inferlab\[distributed\]"),
        engine.ray_session(None, 2),
    ):
        pass
