"""Dashboard probes = CLI probes: the same c=8 probe of the simulator from both, first wave.

Run: `.venv/bin/python bench/bench_dashboard_vs_cli.py [--rounds 3]` (about a minute).

The sim runs in its own process at the dashboard's defaults (TTFT 200 ms, TPOT
20 ms). Each round runs, alternately, `inferlab probe --concurrency 8 --requests 8`
(a subprocess, as a user types it) and the same settings through the dashboard's
engine (`JobManager.start`, the probe in its own spawned process, as the Probe
page's Launch button does). 8 requests at concurrency 8 are all first wave: no
warm-up, nothing to hide a cold start behind. Target: the two TTFT p50s within 3 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from inferlab.dashboard.jobs import JobManager, dashboard_sim_config
from inferlab.netpolicy import NetPolicy
from inferlab.probe import ProbeConfig
from inferlab.sim import SimServer
from inferlab.store import Store

SETTINGS = {"concurrency": 8, "requests": 8, "prompt_tokens": 128, "max_tokens": 16}


def cli_probe(url: str, db: Path) -> tuple[float, str]:
    out = subprocess.run(
        [sys.executable, "-m", "inferlab", "probe", "--url", url, "--model", "inferlab-sim",
         "--concurrency", "8", "--requests", "8", "--prompt-tokens", "128",
         "--max-tokens", "16", "--db", str(db), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    summary = json.loads(out)
    summary = summary[0] if isinstance(summary, list) else summary
    run_id = str(summary["run_id"])
    validity = Store(db).validity(run_id).verdict
    return float(summary["ttft_ms"]["p50"]), validity


def dashboard_probe(manager: JobManager, url: str, db: Path) -> tuple[float, str]:
    cfg = ProbeConfig(url=url, model="inferlab-sim", **SETTINGS)  # type: ignore[arg-type]
    job = manager.start(cfg, policy=NetPolicy(), check_endpoint=False, db_path=db)
    assert job.wait(120), "the dashboard job did not finish"
    store = Store(db)
    p50 = store.summary(job.run_id).ttft_ms.p50
    assert p50 is not None
    return p50, store.validity(job.run_id).verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    db = Path(tempfile.mkdtemp()) / "bench.duckdb"
    os.environ["INFERLAB_DB"] = str(db)
    manager = JobManager()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"sim in its own process at the dashboard defaults; load average {load}")
    print("round | CLI TTFT p50 | dashboard TTFT p50 | difference | validity CLI / dashboard")
    diffs = []
    try:
        with SimServer(dashboard_sim_config(), process=True) as sim:
            for i in range(args.rounds):
                cli, cli_v = cli_probe(sim.base_url, db)
                dash, dash_v = dashboard_probe(manager, sim.base_url, db)
                diffs.append(dash - cli)
                print(
                    f"{i + 1:5d} | {cli:9.2f} ms | {dash:15.2f} ms | {dash - cli:+7.2f} ms | "
                    f"{cli_v} / {dash_v}",
                    flush=True,
                )
    finally:
        manager.shutdown()
    print(f"largest |difference|: {max(abs(d) for d in diffs):.2f} ms (target < 3 ms)")


if __name__ == "__main__":
    main()
