"""Runs page: empty store, first run against the simulator, compare, SLO, deep links, bad ids."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from inferlab.compare.loaders import fmt_value
from inferlab.store import Slo, Store
from tests.app.conftest import OpenPage, share_link
from tests.runs_data import store_run


def num(value: float | None) -> float:
    assert value is not None
    return value


@pytest.fixture
def two_runs(isolated_db: Path) -> Path:
    store_run(isolated_db, "base", label="baseline", n=150, minutes_ago=10)
    store_run(isolated_db, "slow", label="slower", n=150, ttft_ms=320, fail_every=25, seed=1)
    return isolated_db


def delta_frame(at: AppTest) -> pd.DataFrame:
    """The comparison grid (metrics x runs) as shown."""
    frame: pd.DataFrame = next(t.value for t in at.table if "TTFT p50 (ms)" in list(t.value.index))
    return frame


def share_query(at: AppTest) -> dict[str, list[str]]:
    return parse_qs(urlparse(share_link(at)).query)


def test_empty_store_shows_first_run_view(open_page: OpenPage) -> None:
    at = open_page("runs")
    assert not at.exception
    assert [s.value for s in at.subheader] == ["No runs yet"]
    assert at.button[0].label == "Probe the built-in simulator"


def test_first_run_button_probes_the_simulator_and_shows_the_run(
    open_page: OpenPage, isolated_db: Path
) -> None:
    at = open_page("runs", timeout=120)
    at.button[0].click().run()
    assert not at.exception
    runs = Store(isolated_db).list_runs()
    assert len(runs) == 1 and runs.iloc[0]["status"] == "completed"
    run_id = str(runs.iloc[0]["run_id"])
    assert "Probed the simulator" in at.success[0].value
    assert at.multiselect(key="runs").value == [run_id]
    grid = delta_frame(at)
    summary = Store(isolated_db).summary(run_id)
    assert grid.loc["TTFT p50 (ms)"].iloc[0] == fmt_value(summary.ttft_ms.p50, "ms")


def test_compare_shows_store_summary_values_and_deltas(open_page: OpenPage, two_runs: Path) -> None:
    at = open_page("runs")
    assert not at.exception and not at.warning
    # the older run is the default baseline
    assert at.selectbox(key="baseline").value == "base"
    grid = delta_frame(at)
    store = Store(two_runs)
    base, slow = store.summary("base"), store.summary("slow")
    assert grid.loc["TTFT p95 (ms)"].iloc[0] == fmt_value(base.ttft_ms.p95, "ms")
    cell = grid.loc["TTFT p95 (ms)"].iloc[1]
    assert cell.startswith(fmt_value(slow.ttft_ms.p95, "ms"))
    pct = 100 * (num(slow.ttft_ms.p95) - num(base.ttft_ms.p95)) / num(base.ttft_ms.p95)
    assert f"{pct:+.1f}%" in cell and "CI +" in cell
    assert grid.loc["Error rate (%)"].iloc[1].startswith(f"{100 * slow.error_rate:.2f} %")
    assert grid.loc["Requests/s (req/s)"].iloc[0] == fmt_value(base.rps, "req/s")
    # Only the open chart tab is built (lazy tabs): the CDF first, then each tab opened.
    assert len(at.get("plotly_chart")) == 1
    for tab in ("Distribution", "Over time", "One request's timeline", "Server's view"):
        at.session_state["chart_tab"] = tab
        at.run()
        assert not at.exception
        assert len(at.get("plotly_chart")) == (0 if tab == "Server's view" else 1), tab
        if tab == "One request's timeline":
            assert at.selectbox(key="one_run").value in ("base", "slow")


def test_runs_of_another_model_and_answer_length_are_pointed_out(
    open_page: OpenPage, two_runs: Path
) -> None:
    store_run(two_runs, "big", label="bigger", n=150, model="qwen-32b", tokens=128, seed=2)
    at = open_page("runs", {"runs": ["base", "slow"]})
    assert not [i for i in at.info if i.value.startswith("Different")]  # alike runs
    at = open_page("runs", {"runs": ["base", "big"]})
    assert not at.exception
    notes = [i.value for i in at.info if i.value.startswith("Different")]
    assert notes[0].startswith("Different models: the baseline baseline ran test-model, bigger")
    assert notes[1].startswith("Different answers: 32 tokens on average in the baseline baseline")
    assert "128 in bigger" in notes[1]


def test_a_run_whose_server_served_others_is_flagged_in_the_verdict(
    open_page: OpenPage, two_runs: Path
) -> None:
    why = "the server completed 190 requests, the probe sent 150"
    Store(two_runs).add_run_metadata("slow", {"other_traffic": why})
    at = open_page("runs")
    assert not at.exception
    assert any(
        w.value.startswith(f"**slower** shared its server with other traffic: {why}")
        for w in at.warning
    )
    verdict = next(m.value for m in at.markdown if m.value.startswith("**Verdict**"))
    assert f"a server shared with other traffic ({why})" in verdict
    assert verdict.count("shared with other traffic") == 1  # the baseline is not


def test_switching_baseline_and_convention(open_page: OpenPage, two_runs: Path) -> None:
    at = open_page("runs")
    at.selectbox(key="baseline").set_value("slow").run()
    grid = delta_frame(at)
    assert grid.columns[0].startswith("slower (baseline)")
    tpot_inferlab = grid.loc["TPOT p50 (ms)"].iloc[0]
    at.segmented_control(key="convention").set_value("guidellm").run()
    assert not at.exception
    grid = delta_frame(at)
    # guidellm's TPOT includes TTFT: larger than inferlab's
    assert float(grid.loc["TPOT p50 (ms)"].iloc[0].split()[0]) > float(tpot_inferlab.split()[0])
    assert any("guidellm's TPOT" in m.value for m in at.markdown)
    assert share_query(at)["convention"] == ["guidellm"]


def test_slo_panel_matches_store_attainment_and_lists_misses(
    open_page: OpenPage, two_runs: Path
) -> None:
    at = open_page("runs")
    at.number_input(key="slo_ttft_ms").set_value(300.0)
    at.number_input(key="slo_tpot_ms").set_value(25.0).run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "Attainment (%)" in d.value.columns)
    expected = Store(two_runs).summary("slow", Slo(ttft_ms=300, tpot_ms=25))
    row = table[table["Run id"] == "slow"].iloc[0]
    assert row["Attainment (%)"] == pytest.approx(100 * num(expected.slo_attainment))
    assert row["Goodput (req/s)"] == pytest.approx(expected.goodput_rps)
    misses = [d.value for d in at.dataframe if "Missed" in d.value.columns]
    assert misses and any("failed: http_500" in set(m["Missed"]) for m in misses)
    q = share_query(at)
    assert q["slo_ttft_ms"] == ["300"] and q["slo_tpot_ms"] == ["25"]
    verdict = next(m.value for m in at.markdown if m.value.startswith("**Verdict**"))
    assert "the 95% SLO" in verdict and "(worse)" in verdict


def test_deep_link_reproduces_the_view(open_page: OpenPage, two_runs: Path) -> None:
    query = {
        "runs": ["slow", "base"],
        "baseline": "base",
        "convention": "aiperf",
        "metric": "E2E",
        "slo_e2e_ms": "1200",
    }
    at = open_page("runs", query)
    assert not at.exception and not at.warning
    assert at.multiselect(key="runs").value == ["slow", "base"]
    assert at.selectbox(key="baseline").value == "base"
    assert at.segmented_control(key="convention").value == "aiperf"
    assert at.selectbox(key="metric").value == "E2E"
    assert at.number_input(key="slo_e2e_ms").value == 1200
    again = open_page("runs", {k: v for k, v in share_query(at).items()})
    assert delta_frame(again).equals(delta_frame(at))


def test_bad_ids_are_reported_and_the_rest_still_shown(open_page: OpenPage, two_runs: Path) -> None:
    at = open_page(
        "runs",
        {"runs": ["ghost", "slow"], "convention": "llmperf", "slo_ttft_ms": "-4"},
    )
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "`ghost`" in warnings and "Showing the other 1" in warnings
    assert "`convention` (llmperf)" in warnings
    assert "`slo_ttft_ms`" in warnings and "below the minimum" in warnings
    assert at.multiselect(key="runs").value == ["slow"]


def test_only_missing_ids_fall_back_to_newest_runs(open_page: OpenPage, two_runs: Path) -> None:
    at = open_page("runs", {"runs": "gone"})
    assert "None of its runs exist" in at.warning[0].value
    assert at.multiselect(key="runs").value == ["base", "slow"]


def test_rename_tag_and_delete_with_confirmation(open_page: OpenPage, two_runs: Path) -> None:
    at = open_page("runs")
    at.selectbox(key="manage_run").set_value("slow").run()
    at.text_input(key="label_slow").set_value("candidate")
    at.text_input(key="tags_slow").set_value("gpu-a, nightly").run()
    next(b for b in at.button if b.label == "Save label and tags").click().run()
    info = Store(two_runs).get_run("slow")
    assert info is not None and info.label == "candidate" and info.tags == ("gpu-a", "nightly")
    next(b for b in at.button if b.label == "Delete this run…").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    assert Store(two_runs).get_run("slow") is not None  # nothing deleted before confirming
    next(b for b in at.button if b.label == "Yes, delete it").click().run()
    assert Store(two_runs).get_run("slow") is None
    assert not at.exception
    assert at.subheader[0].value == "All runs (1)"


def test_filter_by_text_and_tag(open_page: OpenPage, isolated_db: Path) -> None:
    store_run(isolated_db, "a", label="llama on h100", tags=("h100",))
    store_run(isolated_db, "b", label="qwen on a10", tags=("a10",), minutes_ago=5)
    at = open_page("runs")
    at.text_input(key="filter_text").set_value("qwen").run()
    table = at.dataframe[0].value
    assert list(table["Run id"]) == ["b"]
    at.text_input(key="filter_text").set_value("").run()
    at.multiselect(key="filter_tags").set_value(["h100"]).run()
    assert list(at.dataframe[0].value["Run id"]) == ["a"]


def test_sweep_view_marks_knee_and_highest_load_meeting_slo(
    open_page: OpenPage, isolated_db: Path
) -> None:
    for i, c in enumerate((1, 2, 4, 8, 16)):
        store_run(
            isolated_db,
            f"c{c}",
            label=f"c={c}",
            n=60,
            group_id="sweep-1",
            load_value=c,
            tpot_ms=10 + 0.4 * c * c,
            seed=c,
            minutes_ago=i,
        )
    at = open_page("runs", {"slo_tpot_ms": "30"})
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "**Knee** at concurrency 4 (" in text and "grows only 2%" in text
    assert "**Highest load meeting the SLO**" in text and ": concurrency 4 (" in text


def test_run_without_requests_is_explained_not_an_error(
    open_page: OpenPage, two_runs: Path
) -> None:
    from datetime import UTC, datetime

    from inferlab.records import RunInfo

    store = Store(two_runs)
    store.create_run(
        RunInfo("agg", datetime(2026, 11, 28, tzinfo=UTC), "http://x/v1", "m", label="aggregates")
    )
    store.finish_run("agg", "completed")
    at = open_page("runs", {"runs": ["base", "agg"], "slo_ttft_ms": "300"})
    assert not at.exception
    assert any("No per-request data in **aggregates** (agg)" in i.value for i in at.info)
    assert delta_frame(at).loc["TTFT p50 (ms)"].iloc[1].startswith("—")


def test_link_from_another_page_wins_over_an_earlier_selection(two_runs: Path) -> None:
    from tests.conftest import APP

    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("pages/runs.py")
    at.run()
    assert at.multiselect(key="runs").value == ["base", "slow"]
    at.switch_page("pages/home.py")
    at.run()
    at.query_params.clear()
    at.query_params["runs"] = "slow"  # what the Probe page's "Open in Runs" link carries
    at.switch_page("pages/runs.py")
    at.run()
    assert at.multiselect(key="runs").value == ["slow"]


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def test_upload_imports_a_guidellm_file_even_into_an_empty_store(
    open_page: OpenPage, isolated_db: Path
) -> None:
    at = open_page("runs")
    content = (FIXTURES / "guidellm-concurrent-c2.json").read_bytes()
    at.file_uploader(key="import_files").set_value(
        ("guidellm-concurrent-c2.json", content, "application/json")
    ).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    runs = Store(isolated_db).list_runs()
    assert len(runs) == 1 and runs.iloc[0]["source_tool"] == "guidellm"
    assert at.success, "a success message names the imported run"


def test_broken_upload_is_refused_with_a_message_and_saves_nothing(
    open_page: OpenPage, isolated_db: Path
) -> None:
    at = open_page("runs")
    at.file_uploader(key="import_files").set_value(
        ("profile_export.jsonl", b'{"metadata": {"request_start_ns": 1', "application/json")
    ).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert at.error and "profile_export.jsonl" in at.error[0].value
    assert Store(isolated_db).list_runs().empty


def test_imported_run_shows_the_tools_own_numbers_next_to_inferlabs(
    open_page: OpenPage, isolated_db: Path
) -> None:
    from inferlab.importers.load import import_file

    imported = import_file(Store(isolated_db), FIXTURES / "aiperf-c4" / "profile_export.jsonl")
    run_id = imported[0].run_id
    at = open_page("runs", {"runs": run_id})
    assert not at.exception
    titles = [e.label for e in at.expander]
    assert any("the tool's own numbers vs inferlab's" in t for t in titles)
    assert any(t == "Download these runs" for t in titles)


def test_a_suspect_run_is_flagged_in_the_list_and_in_the_comparison(
    open_page: OpenPage, two_runs: Path
) -> None:
    from inferlab.validity import ValidityFacts
    from tests.unit.store_helpers import make_info, make_record

    store = Store(two_runs)
    with store.run_writer(make_info("laggy", label="laggy client")) as writer:
        writer.add_many([make_record(i) for i in range(30)])
        writer.set_validity(ValidityFacts(loop_lag_p50_ms=5.0, loop_lag_p99_ms=40.0))
    at = open_page("runs", query={"runs": ["base", "laggy"]})
    assert not at.exception
    listed = next(d.value for d in at.dataframe if "Validity" in d.value.columns)
    verdicts = dict(zip(listed["Run id"], listed["Validity"], strict=True))
    assert verdicts == {"base": "unknown", "slow": "unknown", "laggy": "suspect"}
    (warning,) = [w.value for w in at.warning]
    assert "involves a suspect run" in warning and "laggy client is suspect" in warning
    assert "lagged 40 ms at p99" in warning


@pytest.fixture
def sweep_runs(isolated_db: Path) -> Path:
    """A sweep of three steps sharing the label "sweep" (c=1 ran first)."""
    for i, c in enumerate((1, 4, 16)):
        store_run(
            isolated_db,
            f"s{c}",
            label="sweep",
            n=48,
            group_id="g1",
            load_value=c,
            seed=c,
            minutes_ago=10 - i,
        )
    return isolated_db


def test_one_run_has_one_name_everywhere_on_the_page(open_page: OpenPage, sweep_runs: Path) -> None:
    """Issue 16: verdict, table headers, legends, baseline picker and chips all used to
    name the same run differently ("sweep", "sweep · s1", "sweep · c=1", ...)."""
    at = open_page("runs", {"runs": ["s16", "s4", "s1"]})
    assert not at.exception
    names = {"s1": "sweep · c=1", "s4": "sweep · c=4", "s16": "sweep · c=16"}
    picker = at.selectbox(key="baseline")
    assert list(picker.options) == [names["s16"], names["s4"], names["s1"]]
    assert list(delta_frame(at).columns) == [
        "sweep · c=1 (baseline)",
        names["s16"],
        names["s4"],
    ]
    verdict = next(m.value for m in at.markdown if m.value.startswith("**Verdict**"))
    for name in names.values():
        assert f"{name}:" in verdict
    cdf = json.loads(at.get("plotly_chart")[0].proto.spec)
    legend = {t["name"] for t in cdf["data"] if t.get("showlegend", True) and t.get("name")}
    assert set(names.values()) <= legend
    assert not any("· s1" in str(n) for n in legend)
    chips = list(at.multiselect(key="runs").options)
    for rid, name in names.items():
        (chip,) = [c for c in chips if c.endswith(f"({rid})")]
        assert chip.startswith(f"{name} · test-model · ")
    assert len(set(chips)) == len(chips)
    assert list(at.selectbox(key="manage_run").options) == chips  # the same texts


def test_default_baseline_is_the_oldest_run_and_a_sweeps_lowest_load(
    open_page: OpenPage, sweep_runs: Path
) -> None:
    at = open_page("runs", {"runs": ["s16", "s4", "s1"]})
    assert at.selectbox(key="baseline").value == "s1"
    assert "baseline" not in share_query(at)  # the page picks it again by itself
    assert "baseline" not in at.query_params  # and the address bar says the same
    # An explicit baseline in the link is kept, and the share link keeps it.
    at = open_page("runs", {"runs": ["s1", "s4", "s16"], "baseline": "s16"})
    assert at.selectbox(key="baseline").value == "s16"
    assert share_query(at)["baseline"] == ["s16"]
    assert at.query_params["baseline"] == "s16"
    at.selectbox(key="baseline").set_value("s1").run()
    assert "baseline" not in share_query(at) and "baseline" not in at.query_params


def test_slo_below_the_unloaded_server_says_so_not_lower_the_load(
    open_page: OpenPage, sweep_runs: Path
) -> None:
    at = open_page("runs", {"runs": ["s1", "s4", "s16"], "slo_ttft_ms": "1"})
    assert not at.exception
    (advice,) = [w.value for w in at.warning if "No run meets" in w.value]
    assert "The closest is sweep · c=1" in advice
    assert "the 1 ms TTFT limit is below what this server does unloaded" in advice
    assert "lower the concurrency" not in advice
