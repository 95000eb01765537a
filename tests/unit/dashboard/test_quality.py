"""The Quality page's state: the table from a link, the tables it shows, stored quality runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from inferlab.dashboard.quality import (
    BASELINE_PARAM,
    OPTIONS_HELP,
    SATISFACTION_HELP,
    UNKNOWN,
    answers_frame,
    baseline_comparison,
    exercise_state,
    find_option,
    initial_table,
    load_quality_group,
    options_frame,
    quality_group_labels,
    satisfaction_frame,
    share_defaults,
    stored_run_labels,
    temperature_frame,
)
from inferlab.quality import Candidate, Constraints, QualityOutput, SatisfactionModel
from inferlab.quality.runs import candidates_from_quality_runs, candidates_from_runs
from inferlab.quality.table import EXAMPLE_CANDIDATES, TABLE_PARAM, encode_table
from inferlab.quality.tradeoff import satisfaction_rows
from inferlab.store import Store
from inferlab.store.quality import QualityStore
from tests.unit.store_helpers import make_info, make_record


def test_the_table_comes_from_the_link_or_the_examples() -> None:
    assert initial_table({}) == (list(EXAMPLE_CANDIDATES), [])
    mine = [Candidate("mine", quality_pct=50.0)]
    assert initial_table({TABLE_PARAM: ["junk", encode_table(mine)]}) == (mine, [])
    table, notes = initial_table({TABLE_PARAM: "not-a-table"})
    assert table == list(EXAMPLE_CANDIDATES)
    assert notes and notes[0].startswith(f"The link's `{TABLE_PARAM}` (the options table)")


def test_exercise_state_resets_every_input_to_the_exercise() -> None:
    state = exercise_state()
    assert state["sat_base_pct"] == pytest.approx(85.0)
    assert state["min_quality_pct"] is None and state["goal"] == "satisfaction_pct"
    assert state[BASELINE_PARAM] == EXAMPLE_CANDIDATES[0].name


def test_options_frame_marks_pareto_optimal_options_and_broken_constraints() -> None:
    good = Candidate("good", quality_pct=90, p95_latency_s=1.0, cost_per_request_usd=0.01)
    worse = Candidate("worse", quality_pct=80, p95_latency_s=2.0, cost_per_request_usd=0.02)
    vague = Candidate("vague", quality_pct=95)
    frame = options_frame([good, worse, vague], Constraints(min_quality_pct=85))
    assert list(frame["Pareto-optimal"]) == ["yes", "no", UNKNOWN]
    assert list(frame["Statistic"]) == ["p95", "p95", UNKNOWN]
    assert frame["Constraints"][0] == "✓ meets all"
    assert frame["Constraints"][1].startswith("✗ quality 80% < 85%")


def test_options_frame_never_shows_none_and_names_the_statistic_checked() -> None:
    # Example rows have no error rate and no p95: a dash, and "typical" (not "p95").
    frame = options_frame(list(EXAMPLE_CANDIDATES), Constraints(max_p95_latency_s=5.0))
    cells = frame.astype(str).to_numpy().ravel().tolist()
    assert not any(c in ("None", "nan", "NaN", "<NA>") for c in cells)
    assert set(frame["Errors (%)"]) == {UNKNOWN}
    assert set(frame["Statistic"]) == {"typical"}
    assert frame["Latency (s)"][0] == "5.2"
    assert "typical latency 5.2 s > 5 s (no p95 known)" in frame["Constraints"][0]
    assert list(frame.columns) == list(OPTIONS_HELP)


def test_satisfaction_frame_and_the_comparison_in_words() -> None:
    base, other = EXAMPLE_CANDIDATES[0], EXAMPLE_CANDIDATES[1]
    model = SatisfactionModel(85.0, base.total_latency_s or 0.0, base.quality_pct)
    frame = satisfaction_frame(satisfaction_rows([base, other], base, model))
    assert list(frame["Option"]) == [base.name, other.name]
    assert frame["Δ satisfaction"][0] == "+0.0"
    assert list(frame.columns) == list(SATISFACTION_HELP)
    # Neither option trades speed for quality: no break-even, shown as a dash, never "None".
    assert set(frame["Break-even (pts/s)"]) == {UNKNOWN}
    text = baseline_comparison([base, other], base, model)
    assert text.count("\n\n") == 1
    assert find_option([base, other], other.name) is other and find_option([base], "x") is None


def test_picker_labels() -> None:
    runs = pd.DataFrame(
        {
            "run_id": ["r1", "r2", "s1", "s4", "s4b"],
            "label": ["A", "", "sweep", "sweep", "sweep"],
            "model": ["m"] * 5,
            "status": ["completed", "failed", "completed", "completed", "completed"],
            "started_at": [datetime(2026, 12, 4, 3, 56)] * 5,
            "load_mode": ["concurrency"] * 5,
            "load_value": [1.0, 1.0, 1.0, 4.0, 4.0],
        }
    )
    # a sweep's runs share the label "sweep": the load, then the id, tells them apart
    assert stored_run_labels(runs) == {
        "r1": "A · m · 2026-12-04 03:56",
        "r2": "r2 · m · 2026-12-04 03:56 · failed",
        "s1": "sweep · c=1 · m · 2026-12-04 03:56",
        "s4": "sweep · c=4 (s4) · m · 2026-12-04 03:56",
        "s4b": "sweep · c=4 (s4b) · m · 2026-12-04 03:56",
    }
    assert len(set(stored_run_labels(runs).values())) == 5
    scores = pd.DataFrame(
        {
            "group_id": ["g", "g"],
            "created_at": [datetime(2026, 1, 2, 3, 4)] * 2,
            "model": ["m", "m"],
            "eval_set": ["units", "units"],
        }
    )
    assert quality_group_labels(scores) == {"g": "2026-01-02 03:04 · m · units"}


def test_share_defaults_leave_unchanged_values_out_of_the_link() -> None:
    defaults = share_defaults(["first", "second"], ["arithmetic", "units"])
    assert defaults[BASELINE_PARAM] == "first" and defaults["q_eval"] == "arithmetic"
    assert defaults["q_temps"] == "0, 1" and defaults["q_repeats"] == 3
    assert share_defaults([], [])[BASELINE_PARAM] is None


def save_quality_group(db: Path) -> Store:
    from inferlab.quality import score_outputs

    store = Store(db)
    for run_id, temp in (("t1", 1.0), ("t0", 0.0)):
        store.create_run(make_info(run_id, group_id="g", label=f"T={temp:g}"))
        store.add_requests(run_id, [make_record(0), make_record(1, ok=False)])
        store.finish_run(run_id)
        outputs = [
            (0, QualityOutput("p0", 0, temp, "Capital of France?", "Paris", "Paris", True)),
            (1, QualityOutput("p1", 0, temp, "Capital of Peru?", "Lima", None, False, "http_5xx")),
        ]
        report = score_outputs([o for _, o in outputs])
        QualityStore(store).save(
            run_id,
            group_id="g",
            eval_set="capitals",
            repeats=1,
            outputs=outputs,
            scores=report.by_temperature[0],
        )
    return store


def test_a_stored_quality_group_with_its_answers_scores_and_speed(tmp_path: Path) -> None:
    store = save_quality_group(tmp_path / "q.duckdb")
    scores = QualityStore(store).scores()
    assert load_quality_group(store, scores, "nope") is None
    group = load_quality_group(store, scores, "g")
    assert group is not None and group.speed_error is None
    assert group.run_ids == ("t0", "t1")  # by temperature
    assert group.heading == "**Quality run g**: inferlab-sim on *capitals*, 1 repeat per prompt."
    frame = temperature_frame(group)
    assert list(frame["Temperature"]) == [0.0, 1.0]
    assert list(frame["Exact match (%)"]) == [100.0, 100.0]
    assert list(frame["Error rate (%)"]) == [50.0, 50.0]
    assert frame["Failures"][0] == "http_5xx: 1"
    assert frame["TTFT p50 (ms)"][0] == store.summary("t0").ttft_ms.p50
    answers = answers_frame(group.outputs)
    assert list(answers["Answer"])[:2] == ["Paris", "(failed: http_5xx)"]
    assert list(answers["Exact match"])[:2] == [True, None]


def test_stored_runs_become_options(tmp_path: Path) -> None:
    store = save_quality_group(tmp_path / "q.duckdb")
    added, notes = candidates_from_runs(store, ["t0"])
    assert notes == [] and added[0].name == "T=0" and added[0].quality_pct == 100.0
    assert added[0].error_rate_pct == 50.0
    scores = QualityStore(store).scores()
    rows = scores[scores["run_id"] == "t1"].to_dict("records")
    (option,) = candidates_from_quality_runs(store, rows)
    assert option.name == "inferlab-sim · capitals · T=1" and option.quality_pct == 100.0
    info = make_info("plain", started_at=datetime(2026, 1, 1, tzinfo=UTC))
    store.create_run(info)
    store.finish_run("plain")
    added, _ = candidates_from_runs(store, ["plain"])
    assert added[0].quality_pct is None and added[0].name == "plain"


def test_a_stored_run_is_checked_against_its_own_p95(tmp_path: Path) -> None:
    # Per-request latencies are stored: the p95 limit sees their p95, not TTFT + TPOT × N.
    from inferlab.metrics.percentile import percentile

    store = Store(tmp_path / "p.duckdb")
    store.create_run(make_info("tail", label="tail"))
    records = [make_record(i, chunks=4 if i < 18 else 40) for i in range(20)]  # a slow tail
    store.add_requests("tail", records)
    store.finish_run("tail")
    (option,), _ = candidates_from_runs(store, ["tail"])
    p95_s = percentile(sorted(r.e2e_ms or 0.0 for r in records), 95) / 1000
    # stored to 4 significant digits, as the table shows it
    assert option.latency_basis == "p95" and option.slo_latency_s == pytest.approx(p95_s, rel=1e-3)
    assert option.total_latency_s is not None and option.total_latency_s < p95_s
    frame = options_frame([option], Constraints(max_p95_latency_s=p95_s / 2))
    assert frame["Statistic"][0] == "p95"
    assert frame["Constraints"][0].startswith(f"✗ p95 {p95_s:.3g} s >")
