"""`inferlab probe --engine ray` end to end: a real CLI process with a local Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray")

from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store

pytestmark = pytest.mark.distributed


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(SimConfig(ttft_ms=5, tpot_ms=1)) as s:
        yield s


def test_probe_engine_ray_saves_an_ordinary_run(sim: SimServer, tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    out = subprocess.run(
        [
            sys.executable, "-m", "inferlab", "probe", "--url", sim.base_url,
            "--model", "inferlab-sim", "--db", str(db), "--json", "--engine", "ray",
            "--workers", "2", "--concurrency", "4", "--requests", "20", "--max-tokens", "4",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["status"] == "completed" and summary["requests"] == 20
    run = Store(db).get_run(summary["run_id"])
    assert run is not None and run.settings["engine"] == "ray" and run.settings["workers"] == 2
