"""The Runs page's views: comparison values, scatter, one request, sweep sentences, tables."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from inferlab.charts.runs import order_statistics
from inferlab.compare import RunRequests, Slo, SweepAnalysis, SweepPoint, request_values
from inferlab.dashboard.runs import (
    chip_names,
    comparison_view,
    default_baseline,
    first_sweep_with,
    metric_label,
    parse_tags,
    request_position,
    request_title,
    rows_by_run_id,
    run_name,
    run_version,
    runs_share_url,
    runs_without_requests,
    scatter_series,
    selection_names,
    slo_frame,
    slowest_completed,
    sweep_group_label,
    sweep_groups,
    sweep_sentences,
    tags_text,
)
from inferlab.metrics.requests import mean_chunk_gap_ms_array
from tests.unit.compare.test_runs import example


def test_mean_chunk_gap_is_e2e_minus_ttft_over_gaps() -> None:
    gaps = mean_chunk_gap_ms_array(
        np.array([100.0, 200.0, 50.0]), np.array([1000.0, 1100.0, 60.0]), np.array([3, 2, 1])
    )
    assert gaps[0] == 450 and gaps[1] == 900 and math.isnan(gaps[2])


def test_request_values_per_convention_in_the_worked_example() -> None:
    run = example()
    # inferlab: the ITL a request saw is its mean chunk gap (450, 900, 1900; failed: NaN)
    itl = request_values(run, "itl", "inferlab")
    assert list(itl[:3]) == [450, 900, 1900] and math.isnan(itl[3])
    # guidellm's ITL is inferlab's TPOT: (E2E - TTFT) / (N - 1)
    assert list(request_values(run, "itl", "guidellm")[:3]) == [100, 100, 190]
    assert list(request_values(run, "tpot", "guidellm")[:3]) == [100, 110, 200]
    assert list(request_values(run, "ttft", "inferlab")[:3]) == [100, 200, 300]
    with pytest.raises(KeyError):
        request_values(run, "rps", "inferlab")


def test_scatter_series_start_at_zero_and_keep_failures() -> None:
    (series,) = scatter_series([example()], "e2e", "inferlab")
    assert series.name == "example"  # the run's unique name, as in the tables
    assert list(series.start_s) == [0.0, 0.1, 0.2, 0.3]
    assert list(series.ok) == [True, True, True, False]
    assert list(series.latency_ms[:3]) == [1000, 1100, 2200]
    assert series.error[3] == "http_500"


def test_order_statistics_keep_the_extremes_and_at_most_the_budget() -> None:
    v = np.arange(100_001, dtype=float)
    thin = order_statistics(v, 1000)
    assert thin.size == 1000 and thin[0] == 0 and thin[-1] == 100_000
    assert np.all(np.diff(thin) > 0)
    small = np.array([1.0, 2.0])
    assert order_statistics(small, 1000) is small


def test_comparison_view_gives_the_table_and_sorted_values_per_run() -> None:
    a, b = example("a"), example("b")
    table, values = comparison_view([a, b], "a", "inferlab")
    assert set(values) == {"ttft", "tpot", "itl", "e2e"}
    # keyed by the runs' unique names: the legends say what the tables and verdict say
    assert list(values["itl"]["example · concurrency (a)"]) == [450, 450, 900, 1900]
    assert list(values["ttft"]["example · concurrency (b)"]) == [100, 200, 300]
    assert not table.empty
    assert set(table["run_label"]) == {"example · concurrency (a)", "example · concurrency (b)"}


def test_metric_label_follows_the_convention() -> None:
    assert metric_label("ttft", "guidellm") == "TTFT"
    assert metric_label("tpot", "guidellm") == "TPOT (guidellm)"
    assert metric_label("itl", "aiperf") == "ITL (AIPerf)"


def test_one_request_defaults_to_the_slowest_and_names_its_outcome() -> None:
    run = example()
    assert slowest_completed(run) == 2
    assert request_position(run, 1) == 1
    assert request_position(run, 99) is None
    assert request_title(run, 2) == "Request 2 of example: completed, 11 output tokens"
    assert request_title(run, 3) == "Request 3 of example: failed (http_500), ? output tokens"
    empty = RunRequests.from_frame("e", pd.DataFrame({"sent_ms": [0.0], "ok": [False]}))
    assert slowest_completed(empty) is None


RUNS = pd.DataFrame(
    {
        "run_id": ["s3", "s2", "s1", "solo", "plain"],
        "group_id": ["g", "g", "g", "h", None],
        "label": ["sweep", "sweep", "", "one", ""],  # s1: no label
        "model": ["m"] * 5,
        "load_mode": ["concurrency"] * 5,
        "load_value": [4.0, 2.0, 1.0, 8.0, 1.0],
        "status": ["completed"] * 4 + ["running"],
        "requests": [10, 10, 10, 0, 3],
        "tags": [["a", "b"], ["b"], None, [], ["c"]],
        "source_tool": ["inferlab"] * 5,
    }
)


def test_run_rows_names_versions_and_tags() -> None:
    rows = rows_by_run_id(RUNS)
    assert run_name(rows, "s3") == "sweep" and run_name(rows, "s1") == "s1"
    assert run_version(rows["plain"]) == "running:3"
    assert runs_without_requests(rows, ["s3", "solo", "plain"]) == ["solo"]
    assert tags_text(rows["s3"]) == "a, b" and tags_text(rows["s1"]) == ""
    assert parse_tags(" x, ,y ,") == ["x", "y"]


def test_sweep_groups_need_two_runs_and_the_selection_picks_one() -> None:
    groups = sweep_groups(RUNS)
    assert groups == {"g": ["s3", "s2", "s1"]}
    assert first_sweep_with(groups, ["plain"]) == "g"
    rows = rows_by_run_id(RUNS)
    # Named after the group's oldest run (lists are newest first); it has no label.
    assert sweep_group_label(rows, groups["g"], "g") == "sweep · m · concurrency 1–4 · 3 steps (g)"
    rows["s1"]["label"] = "first step"
    assert sweep_group_label(rows, groups["g"], "g").startswith("first step · m")


def point(load: float, tps: float, ttft_p99: float, meets: bool | None) -> SweepPoint:
    return SweepPoint(f"r{load:g}", "r", load, tps, 100, ttft_p99, 20, 30, None, meets)


def test_sweep_sentences_name_the_knee_and_the_highest_load_meeting_the_slo() -> None:
    pts = (point(1, 100, 200, True), point(2, 190, 250, True), point(4, 200, 900, False))
    sweep = SweepAnalysis(pts, knee=1, best_under_slo=1, target=0.95)
    knee, best = sweep_sentences(sweep, Slo(ttft_ms=500), 95)
    assert knee == (
        "**Knee** at concurrency 2 (190 output tokens/s): beyond it throughput grows only 5% "
        "(at most 200 tokens/s, at concurrency 4) while TTFT p99 goes from 250 ms to 900 ms "
        "at concurrency 4: more load mostly adds waiting."
    )
    assert best.startswith("**Highest load meeting the SLO** (") and best.endswith(
        "for 95% of requests): concurrency 2 (190 output tokens/s)."
    )


def test_sweep_sentences_without_a_knee_or_an_slo() -> None:
    sweep = SweepAnalysis((point(1, 100, 200, None),), knee=None, best_under_slo=None, target=0.9)
    no_knee, no_slo = sweep_sentences(sweep, Slo(), 90)
    assert no_knee.startswith("No knee: throughput grows steadily")  # one step only
    growing = SweepAnalysis(
        (point(1, 60, 150, None), point(4, 180, 160, None), point(16, 294, 990, None)),
        knee=None,
        best_under_slo=None,
        target=0.9,
    )
    assert sweep_sentences(growing, Slo(), 90)[0] == (
        "No knee: throughput still grows +63% from concurrency 4 to concurrency 16 "
        "(180 → 294 output tokens/s): sweep higher loads to find where it saturates."
    )
    assert no_slo == "Set SLO limits above to find the highest load that meets them."
    _, none_meet = sweep_sentences(sweep, Slo(ttft_ms=1), 90)
    assert none_meet.startswith("No step meets the SLO (") and none_meet.endswith("for 90%.")
    last = SweepAnalysis((point(1, 100, 200, None),), knee=0, best_under_slo=None, target=0.9)
    assert sweep_sentences(last, Slo(), 90)[0] == (
        "**Knee** at concurrency 1 (100 output tokens/s), the sweep's last step: sweep higher "
        "loads to confirm it."
    )


def test_slo_frame_says_which_runs_meet_the_target() -> None:
    from inferlab.compare import slo_result

    result = slo_result(example(), Slo(ttft_ms=250))
    frame = slo_frame([result], {"a": "A"}, 50)
    assert frame.iloc[0]["Run"] == "A" and frame.iloc[0]["Met the SLO"] == 2
    assert frame.iloc[0]["Attainment (%)"] == 50
    assert frame.iloc[0]["Meets the 50% target"] == "yes"


def _row(
    rid: str, label: str, load: float, minute: int, group: str | None = None
) -> dict[str, Any]:
    return {
        "run_id": rid,
        "label": label,
        "load_mode": "concurrency",
        "load_value": load,
        "started_at": pd.Timestamp(f"2026-12-04 03:{minute:02d}", tz="UTC"),
        "model": "sim",
        "group_id": group,
        "requests": 10,
    }


def test_selection_and_chip_names_match_the_tables_names() -> None:
    rows = {
        "a": _row("a", "sweep", 1, 56, "g"),
        "b": _row("b", "sweep", 4, 57, "g"),
        "c": _row("c", "other", 4, 58),
    }
    assert selection_names(rows, ["a", "b", "c"]) == {
        "a": "sweep · c=1",
        "b": "sweep · c=4",
        "c": "other",
    }
    assert selection_names(rows, ["a", "c"]) == {"a": "sweep", "c": "other"}
    chips = chip_names(rows, ["a", "b", "c"])
    assert chips["a"] == "sweep · c=1 · sim · 2026-12-04 03:56 (a)"
    assert chips["c"].startswith("other · sim · ")


def test_default_baseline_is_the_oldest_run_or_its_sweeps_lowest_load() -> None:
    rows = {
        "c16": _row("c16", "sweep", 16, 55, "g"),  # a sweep run from high to low load
        "c1": _row("c1", "sweep", 1, 57, "g"),
        "new": _row("new", "new", 4, 59),
        "old": _row("old", "old", 4, 50),
    }
    assert default_baseline(rows, ["new", "c16", "c1"]) == "c1"
    assert default_baseline(rows, ["new", "old"]) == "old"
    assert default_baseline(rows, ["c1", "new"]) == "c1"
    rows["old"]["requests"] = 0  # an aggregate-only import is no baseline
    assert default_baseline(rows, ["new", "old"]) == "new"


def test_share_link_leaves_out_the_baseline_the_page_picks_itself() -> None:
    url = runs_share_url("http://h/runs", ["c16", "c1"], "c1", "inferlab", "ttft", {}, "c1")
    assert "baseline" not in url
    url = runs_share_url("http://h/runs", ["c16", "c1"], "c16", "inferlab", "ttft", {}, "c1")
    assert "baseline=c16" in url
