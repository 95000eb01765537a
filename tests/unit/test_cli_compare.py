"""`inferlab compare`: delta table, JSON, the --fail-on gate and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferlab.cli import main
from inferlab.store import Store
from tests.runs_data import store_run


@pytest.fixture
def db(isolated_db: Path) -> Path:
    store_run(isolated_db, "base", label="baseline", n=120)
    store_run(isolated_db, "slow", label="slower", n=120, ttft_ms=300, fail_every=20, seed=1)
    return isolated_db


def test_table_shows_both_runs_and_changes(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "base", "slow", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "slower (slow) vs baseline baseline (base)" in out
    assert "TTFT p95" in out and "Error rate" in out and "worse" in out
    # the verdict comes first: one sentence per run
    assert out.index("baseline: the baseline.") < out.index("TTFT p95")
    assert "slower: " in out and "TTFT p95 +" in out and "(worse)" in out
    assert "failed requests" in " ".join(out.split())  # rich wraps the sentence at 120


def test_json_numbers_equal_the_store_summary(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "base", "slow", "--db", str(db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    metrics = {m["metric"]: m for m in data["metrics"]}
    store = Store(db)
    base, slow = store.summary("base"), store.summary("slow")
    assert metrics["ttft_p95"]["baseline"] == pytest.approx(base.ttft_ms.p95)
    assert metrics["ttft_p95"]["value"] == pytest.approx(slow.ttft_ms.p95)
    assert metrics["itl_p99"]["value"] == pytest.approx(slow.itl_ms.p99)
    assert metrics["rps"]["value"] == pytest.approx(slow.rps)
    assert metrics["error_rate"]["value"] == pytest.approx(100 * slow.error_rate)
    assert metrics["ttft_p95"]["significant"] is True and metrics["ttft_p95"]["is_better"] is False
    assert data["passed"] is True and data["conditions"] == []
    assert data["verdict"][0] == "baseline: the baseline."
    assert data["verdict"][1].startswith("slower: ")


def test_runs_of_another_model_and_length_carry_a_note(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", "base", "slow", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["setup_notes"] == []
    store_run(db, "big", label="bigger", n=120, model="qwen-32b", tokens=128, seed=2)
    assert main(["compare", "base", "big", "--db", str(db)]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert (
        "Note: Different models: the baseline baseline ran test-model, bigger ran qwen-32b" in out
    )
    assert "Note: Different answers: 32 tokens on average in the baseline baseline, 128 in" in out
    assert main(["compare", "base", "big", "--db", str(db), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["setup_notes"]
    assert [n.split(":")[0] for n in notes] == ["Different models", "Different answers"]


def test_fail_on_exits_1_when_a_condition_holds(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["compare", "base", "slow", "--db", str(db), "--fail-on", "ttft_p95>+10%,error_rate>1%"]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL: ttft_p95 changed +" in out and "FAIL: error_rate is 5 %" in out
    assert "2 of 2 conditions failed" in out


def test_fail_on_passes_when_no_condition_holds(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["compare", "slow", "base", "--db", str(db), "--fail-on", "ttft_p95>+10%,error_rate>1%"]
    )
    assert code == 0
    assert "All 2 conditions passed" in capsys.readouterr().out


def test_unknown_run_id_is_one_line_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "base", "nope", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no run 'nope'" in err and "inferlab runs" in err


def test_bad_condition_is_one_line_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "base", "slow", "--db", str(db), "--fail-on", "latency>5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown metric 'latency'" in err


def test_broken_database_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.duckdb"
    bad.write_text("not a database")
    assert main(["compare", "a", "b", "--db", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an inferlab database" in err


def test_ignore_noise_lets_a_change_within_noise_pass(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_run(isolated_db, "a", n=40, seed=1)
    store_run(isolated_db, "b", n=40, seed=2)  # same settings, other seed: noise only
    args = ["compare", "a", "b", "--db", str(isolated_db), "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    tpot = next(m for m in data["metrics"] if m["metric"] == "tpot_p50")
    assert tpot["significant"] is False
    # a condition any change trips: fails without --ignore-noise, passes with it
    cond = "tpot_p50>-100%"
    assert main(["compare", "a", "b", "--db", str(isolated_db), "--fail-on", cond]) == 1
    capsys.readouterr()
    code = main(
        ["compare", "a", "b", "--db", str(isolated_db), "--fail-on", cond, "--ignore-noise"]
    )
    assert code == 0
    assert "within noise" in capsys.readouterr().out


def test_two_steps_of_a_sweep_are_named_as_in_the_verdict(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_run(isolated_db, "s1", label="sweep", n=40, load_value=1, group_id="g")
    store_run(isolated_db, "s4", label="sweep", n=40, load_value=4, group_id="g", seed=2)
    assert main(["compare", "s1", "s4", "--db", str(isolated_db)]) == 0
    out = capsys.readouterr().out
    assert "sweep · c=4 (s4) vs baseline sweep · c=1 (s1)" in out
    assert "sweep · c=1: the baseline." in out
