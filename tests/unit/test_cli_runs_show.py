"""`inferlab runs` and `inferlab show RUN`: tables, --json, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferlab.cli import main
from inferlab.metrics.summary import Slo, summarize
from inferlab.store import Store
from tests.unit.store_helpers import make_info, make_record


def _seed(db: Path) -> list[object]:
    store = Store(db)
    recs = [make_record(i, ok=i % 4 != 0) for i in range(40)]
    store.create_run(make_info("run-a", label="baseline [fp8]", tags=("t1",)))
    store.add_requests("run-a", recs)
    store.finish_run("run-a", "completed")
    store.create_run(make_info("run-b", load_mode="poisson", load_value=8.0))
    return list(recs)


def test_runs_prints_a_table_of_every_run(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(isolated_db)
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "run-a" in out and "run-b" in out
    assert "baseline [fp8] [t1]" in out  # label and tags, markup-safe
    assert "25.0%" in out  # error rate
    assert "8/s poisson" in out


def test_runs_json_lists_runs_with_key_statistics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "other.duckdb"
    _seed(db)
    assert main(["runs", "--db", str(db), "--json", "--tag", "t1"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in rows] == ["run-a"]
    assert rows[0]["requests"] == 40 and rows[0]["failed"] == 10
    assert rows[0]["started_at"].endswith("+00:00")
    assert rows[0]["tags"] == ["t1"]


def test_runs_on_an_empty_database_says_how_to_record_one(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs"]) == 0
    assert "inferlab probe" in capsys.readouterr().out


def test_show_json_is_the_summary_object(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recs = _seed(isolated_db)
    assert main(["show", "run-a", "--json", "--slo-ttft-ms", "220"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = summarize(recs, Slo(ttft_ms=220), run_id="run-a", status="completed").to_json()  # type: ignore[arg-type]
    assert got.keys() == want.keys() | {"server", "validity"}
    assert got["validity"]["verdict"] == "unknown"  # saved without the probe's facts
    assert got["server"] is None  # a run saved without /metrics scrapes
    for key in ("run_id", "status", "requests", "failed", "errors_by_class"):
        assert got[key] == want[key]
    for key in ("error_rate", "duration_s", "rps", "output_tps", "goodput_rps", "slo_attainment"):
        assert got[key] == pytest.approx(want[key])
    for metric in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
        assert set(got[metric]) == {"mean", "std", "p50", "p90", "p95", "p99"}
        assert got[metric]["p50"] == pytest.approx(want[metric]["p50"])  # type: ignore[index]


def test_show_prints_a_readable_summary(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(isolated_db)
    assert main(["show", "run-a"]) == 0
    out = capsys.readouterr().out
    assert "Run run-a — baseline [fp8]" in out
    assert "40 requests (30 completed, 10 failed, error rate 25.0%)" in out
    assert "errors by class: http_5xx 10 (25.0%)" in out
    assert "TTFT" in out and "ITL (per gap)" in out and "client queue" in out


def test_show_unknown_run_is_one_line_and_non_zero(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(isolated_db)
    assert main(["show", "nope"]) == 2  # a usage error, as in `compare`
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no run 'nope'" in err and "inferlab runs" in err


def test_show_compare_and_export_take_the_first_characters_of_a_run_id(
    isolated_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(isolated_db)
    Store(isolated_db).create_run(make_info("3f9c0a1b2c3d"))
    assert main(["show", "3f9", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == "3f9c0a1b2c3d"
    assert main(["show", "run-a"]) == 0  # an exact id wins over the prefix of run-a...
    assert "Run run-a" in capsys.readouterr().out
    assert main(["compare", "run-a", "3f9c"]) in (0, 1)
    assert "3f9c0a1b2c3d" in capsys.readouterr().out
    out = tmp_path / "x.csv"
    assert main(["export", "run-a", "3f", "--output", str(out)]) == 0
    capsys.readouterr()
    # "run-" begins both run-a and run-b: the user is told which, and to type more.
    assert main(["show", "run-"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "run id 'run-' is ambiguous: it begins run-a, run-b; give more characters" in err


def test_broken_database_file_is_one_line_and_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database\n" * 500)
    assert main(["runs", "--db", str(junk)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not an inferlab database" in err


def test_negative_slo_is_a_usage_error(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(isolated_db)
    assert main(["show", "run-a", "--slo-ttft-ms", "-5"]) == 2
    assert "--slo-ttft-ms must be a positive number" in capsys.readouterr().err
