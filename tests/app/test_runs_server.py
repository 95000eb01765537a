"""Runs page, "Server's view": a probe of the sim shows client vs server TTFT and the joined timeline."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from inferlab.probe import ProbeConfig, run_probe
from inferlab.probe.config import make_run_info
from inferlab.records import RunInfo
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store
from tests.app.conftest import OpenPage, metric


def writer_of(store: Store, info: RunInfo) -> Any:
    return store.run_writer(info)  # a Sink whose close() also reports success


def test_server_view_of_a_sim_probe(open_page: OpenPage, isolated_db: Path) -> None:
    store = Store(isolated_db)
    with SimServer(SimConfig(ttft_ms=5, tpot_ms=1)) as sim:
        cfg = ProbeConfig(url=sim.base_url, model="inferlab-sim", requests=6, concurrency=2)
        info = make_run_info(cfg)
        asyncio.run(run_probe(cfg, writer_of(store, info), info=info))
    at = open_page("runs")
    assert not at.exception
    at.session_state["chart_tab"] = "Server's view"  # lazy tabs: only the open one is built
    at.run()
    assert metric(at, "Server TTFT, mean").endswith(" ms")
    assert metric(at, "Client TTFT, mean").endswith(" ms")
    assert metric(at, "Server decode per token").endswith(" ms")
    assert any(
        "**inferlab simulator (vLLM's metric names)**" in m.value
        and "6 requests completed" in m.value
        for m in at.markdown
    )
    assert len(at.get("plotly_chart")) == 2  # breakdown + joined timeline


def test_a_run_without_server_metrics_says_how_to_get_them(
    open_page: OpenPage, isolated_db: Path
) -> None:
    from tests.runs_data import store_run

    store_run(isolated_db, "base", label="baseline", n=20)
    at = open_page("runs")
    assert not at.exception
    at.session_state["chart_tab"] = "Server's view"
    at.run()
    assert any("--enable-metrics" in i.value for i in at.info)


def test_an_imported_aiperf_run_with_server_metrics_is_shown_the_same_way(
    open_page: OpenPage, isolated_db: Path, tmp_path: Path
) -> None:
    import shutil

    from inferlab.importers import import_file

    fix = Path(__file__).resolve().parents[1] / "fixtures" / "import"
    for f in (fix / "aiperf-c4").iterdir():
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(fix / "aiperf-server-metrics" / "server_metrics_export.jsonl", tmp_path)
    (run,) = import_file(Store(isolated_db), tmp_path)
    at = open_page("runs", {"runs": run.run_id})
    assert not at.exception
    at.session_state["chart_tab"] = "Server's view"
    at.run()
    assert not at.exception
    assert metric(at, "Server TTFT, mean").endswith(" ms")
    assert metric(at, "Client TTFT, mean").endswith(" ms")
    assert any("**vLLM**" in m.value and "24 requests completed" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 2  # breakdown + joined timeline
