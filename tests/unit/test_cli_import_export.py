"""`inferlab import`, `inferlab export`, `inferlab report` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def _run(*args: str | Path, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inferlab", *map(str, args), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_json_lists_summaries_with_source_tool_and_skips_repeats(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    first = _run("import", FIX / "guidellm-sweep-c1-2-4.json", "--json", db=db)
    assert first.returncode == 0, first.stderr
    runs = json.loads(first.stdout)
    assert [r["source_tool"] for r in runs] == ["guidellm"] * 3
    assert [r["requests"] for r in runs] == [12, 12, 12]
    # The probe --json shape: latency blocks with mean/std/p50/p90/p95/p99.
    assert set(runs[0]["ttft_ms"]) == {"mean", "std", "p50", "p90", "p95", "p99"}
    assert {"rps", "output_tps", "error_rate", "duration_s"} <= set(runs[0])
    assert not any(r["already_imported"] for r in runs)
    again = _run("import", FIX / "guidellm-sweep-c1-2-4.json", "--json", db=db)
    assert again.returncode == 0
    assert all(r["already_imported"] for r in json.loads(again.stdout))

    # Export the sweep as CSV, then a report of it.
    ids = [r["run_id"] for r in runs]
    out = _run("export", *ids, "--format", "csv", "-o", tmp_path / "sweep.csv", db=db)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "sweep.csv").exists() and (tmp_path / "sweep.summaries.csv").exists()
    rep = _run("report", *ids, "-o", tmp_path / "report.html", "--slo-ttft-ms", "102", db=db)
    assert rep.returncode == 0, rep.stderr
    html = (tmp_path / "report.html").read_text()
    assert "Service-level objectives: TTFT ≤ 102 ms" in html and ids[2] in html


def test_bad_files_and_unknown_runs_fail_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    bad = _run("import", junk, "--format", "aiperf", db=db)
    assert bad.returncode == 1
    assert bad.stderr.startswith("inferlab: error: notes.txt (as aiperf): line 1 is not valid JSON")
    assert "Traceback" not in bad.stderr
    assert _run("import", junk, "--max-mb", "-3", db=db).returncode == 2
    missing = _run("export", "no-such-run", db=db)
    assert missing.returncode == 2 and "no run 'no-such-run'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_import_says_where_the_tools_numbers_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from inferlab.cli import main

    db = tmp_path / "cli.duckdb"
    assert main(["import", str(FIX / "guidellm-concurrent-c2.json"), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("imported: guidellm-")
    assert "18 agree within 1%, 2 differ" in out
    assert "TPOT p95 (ms): inferlab 10.23, inter_token_latency_ms [successful] p95 10.54" in out
    assert main(["import", str(FIX / "guidellm-concurrent-c2.json"), "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("already imported: guidellm-")
