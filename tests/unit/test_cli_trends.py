"""`inferlab trends` over stored series: changes listed, --fail-on-change, imported runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferlab.cli import main
from inferlab.monitor import load_series
from inferlab.store import Store
from tests.runs_data import store_run

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def series_runs(db: Path, name: str, ttfts: list[float], prefix: str = "r") -> list[str]:
    """One stored run per TTFT level, five minutes apart, tagged series:`name`."""
    return [
        store_run(
            db,
            f"{prefix}{i:02d}",
            n=40,
            ttft_ms=ttft,
            seed=i,
            tags=("monitor", f"series:{name}"),
            minutes_ago=5 * (len(ttfts) - i),
        )
        for i, ttft in enumerate(ttfts)
    ]


def trends(db: Path, *extra: str) -> int:
    return main(["trends", "--db", str(db), *extra])


def test_a_slower_series_lists_its_change_and_fails_on_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.duckdb"
    ids = series_runs(db, "prod", [50.0] * 6 + [300.0] * 6)
    assert trends(db) == 0
    out = capsys.readouterr().out
    assert "prod — 12 runs" in out and f"from run {ids[6]}" in out and "TTFT p95" in out
    assert trends(db, "--fail-on-change") == 1
    assert "prod: worse since the last change" in capsys.readouterr().err

    assert trends(db, "--json") == 0
    (obj,) = json.loads(capsys.readouterr().out)
    (ttft,) = [c for c in obj["changes"] if c["metric"] == "ttft_p95"]
    assert ttft["run_id"] == ids[6] and ttft["worse"] and ttft["change_pct"] > 200
    assert obj["runs"] == 12 and obj["latest_run_id"] == ids[-1]
    assert obj["latest"]["ttft_p95"] > 250


def test_a_faster_series_has_a_change_but_does_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.duckdb"
    series_runs(db, "better", [300.0] * 6 + [50.0] * 6)
    assert trends(db, "--fail-on-change", "--json") == 0
    (obj,) = json.loads(capsys.readouterr().out)
    assert any(c["metric"] == "ttft_p95" and not c["worse"] for c in obj["changes"])
    assert obj["worse_now"] == []


def test_series_filter_and_unknown_series(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.duckdb"
    series_runs(db, "a", [50.0] * 3, prefix="a")
    series_runs(db, "b", [50.0] * 3, prefix="b")
    assert trends(db, "--series", "b", "--json") == 0
    assert [o["series"] for o in json.loads(capsys.readouterr().out)] == ["b"]
    assert trends(db, "--series", "c") == 2
    assert "--series 'c' has no runs (series: a; b)" in capsys.readouterr().err


def test_an_empty_store_says_how_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert trends(tmp_path / "t.duckdb", "--fail-on-change") == 0
    assert "inferlab monitor" in capsys.readouterr().out


def test_a_bad_min_effect_is_an_argument_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        trends(tmp_path / "t.duckdb", "--min-effect", "-1")
    assert exit_info.value.code == 2 and "--min-effect" in capsys.readouterr().err


def test_imported_runs_join_a_series(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.duckdb"
    path = FIX / "guidellm-sweep-c1-2-4.json"
    assert main(["import", str(path), "--db", str(db), "--series", "guidellm nightly"]) == 0
    ((name, points),) = load_series(Store(db)).items()
    assert name == "guidellm nightly" and len(points) == 3
    assert {p.source_tool for p in points} == {"guidellm"}
    # importing again keeps one series tag per run
    assert main(["import", str(path), "--db", str(db), "--series", "guidellm nightly"]) == 0
    assert all(
        list(Store(db).get_run(p.run_id).tags).count("series:guidellm nightly") == 1  # type: ignore[union-attr]
        for p in points
    )
    assert main(["import", str(path), "--db", str(db), "--series", "a,b"]) == 2
    assert "comma" in capsys.readouterr().err


def test_alerts_round_trip_through_the_store(tmp_path: Path) -> None:
    from inferlab.monitor import evaluate_rules, parse_rules, trend_of
    from inferlab.monitor.alerts import alert_from_row, alert_row

    db = tmp_path / "t.duckdb"
    series_runs(db, "s", [50.0] * 6 + [300.0] * 6)
    store = Store(db)
    trend = trend_of("s", load_series(store)["s"])
    (alert,) = evaluate_rules(parse_rules("ttft_p95>+20%"), trend, [])
    store.add_alert(alert_row(alert))
    store.set_alert_deliveries(alert.alert_id, {"webhook": "ok (HTTP 200)"})
    (row,) = store.alerts("s")
    assert alert_from_row(row) == alert and row["deliveries"] == {"webhook": "ok (HTTP 200)"}
    assert store.alerts("other") == []
    # the stored alert stops the same change from firing again
    assert evaluate_rules(parse_rules("ttft_p95>+20%"), trend, [alert_from_row(row)]) == []
