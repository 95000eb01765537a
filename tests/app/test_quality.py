import asyncio
import json
import threading
import time
from urllib.parse import urlparse

import pytest
from streamlit.testing.v1 import AppTest

from inferlab.dashboard.jobs import get_manager
from inferlab.quality import Candidate
from inferlab.quality.table import EXAMPLE_CANDIDATES, decode_table, encode_table
from tests.app.conftest import OpenPage, link_query, share_link
from tests.unit.probe_server import Request, ScriptedServer, sse_head, sse_stream


def wait_quality_done(at: AppTest, timeout_s: float = 60) -> AppTest:
    """Let the background quality probe finish, then rerun the page as its timer would."""
    jobs = get_manager().quality_jobs()
    assert jobs, "no quality probe was started"
    deadline = time.monotonic() + timeout_s
    while any(j.active for j in jobs):
        assert time.monotonic() < deadline, "the quality probe did not finish"
        jobs[0].wait(0.2)
    return at.run()


def progress_texts(at: AppTest) -> str:
    """The labels of the page's progress bars."""
    return " ".join(str(p.proto.text) for p in at.get("progress"))


def best(at: AppTest) -> str:
    return " ".join(s.value for s in at.success) + " ".join(w.value for w in at.warning)


def chart_spec(at: AppTest, i: int = 0) -> dict:  # type: ignore[type-arg]
    return json.loads(at.get("plotly_chart")[i].proto.spec)  # type: ignore[no-any-return]


def test_default_render_shows_examples_chart_best_and_q3(open_page: OpenPage) -> None:
    at = open_page("quality")
    assert not at.exception
    assert not at.warning
    assert "Best: Faster GPUs." in best(at) and "highest expected satisfaction (92.8%)" in best(at)
    assert len(at.get("plotly_chart")) == 2
    spec = chart_spec(at)
    assert "Cost per request ($) — lower is better" in json.dumps(
        spec["layout"]["xaxis"], ensure_ascii=False
    )
    names = {t.get("name") for t in spec["data"]}
    assert "Pareto frontier" in names
    assert any("not measurements" in m.value for m in at.caption)
    text = " ".join(m.value for m in at.markdown)
    assert "**Smaller model**: 3.3 s faster" in text and "more than 3.12" in text
    assert urlparse(share_link(at)).query == ""


def test_constraints_change_the_best_option_and_the_link(open_page: OpenPage) -> None:
    at = open_page("quality")
    at.number_input(key="min_quality_pct").set_value(75.0)
    at.number_input(key="max_p95_s").set_value(5.0)
    at.number_input(key="max_cost_usd").set_value(0.06).run()
    assert not at.exception
    text = best(at)
    assert "Best: Prompt caching." in text
    assert (
        "Smaller model (quality 70% < 75%)" in text and "Faster GPUs (cost $0.08 > $0.06)" in text
    )
    query = link_query(at)
    assert query == {"min_quality_pct": "75", "max_p95_s": "5", "max_cost_usd": "0.06"}
    at.number_input(key="min_quality_pct").set_value(99.0).run()
    assert "No option meets quality ≥ 99%" in best(at)


def test_axes_and_goal_change_chart_and_ranking(open_page: OpenPage) -> None:
    at = open_page("quality")
    at.selectbox(key="x").set_value("total_latency_s")
    at.selectbox(key="y").set_value("quality_pct")
    at.selectbox(key="size").set_value("cost_per_request_usd")
    at.selectbox(key="goal").set_value("cost_per_request_usd").run()
    spec = chart_spec(at)
    assert "Total latency TTFT + TPOT × N (s) — lower is better" in json.dumps(
        spec["layout"], ensure_ascii=False
    )
    assert "Quality (%) — higher is better" in json.dumps(spec["layout"], ensure_ascii=False)
    dominated = next(t for t in spec["data"] if t["name"].startswith("Dominated"))
    # On latency vs quality, Faster GPUs (2.6 s, 80%) dominates the other 80% options.
    assert sorted(dominated["text"]) == [
        "Alternative config (Q2)",
        "Baseline (exercise)",
        "Prompt caching",
    ]
    assert "Best: Smaller model." in best(at)
    assert link_query(at) == {
        "x": "Total latency (s)",
        "y": "Quality (%)",
        "size": "Cost per request ($)",
        "goal": "Lowest cost per request",
    }


def test_satisfaction_assumption_moves_the_verdict(open_page: OpenPage) -> None:
    at = open_page("quality")
    at.number_input(key="sat_per_s").set_value(4.0).run()
    text = " ".join(m.value for m in at.markdown)
    # 85 + 4 x (5.2 - 2) - 10 = 87.8: now the smaller model beats the baseline.
    assert "expected satisfaction is 87.8% (+2.8 points)" in text
    at.selectbox(key="baseline").set_value("Smaller model").run()
    assert not at.exception
    assert "**Smaller model** is the baseline" in " ".join(m.value for m in at.markdown)
    assert link_query(at) == {"sat_per_s": "4", "baseline": "Smaller model"}


def test_share_link_round_trip_with_a_custom_table(open_page: OpenPage) -> None:
    table = [
        Candidate("Model A", 91.0, 350.0, 25.0, 200, cost_per_request_usd=0.02, source="typed"),
        Candidate("Model B", 84.0, 150.0, 12.0, 200, p95_latency_s=3.1, price_per_mtok_usd=60.0),
    ]
    at = open_page("quality", {"options": encode_table(table)})
    assert not at.exception and not at.warning
    at.selectbox(key="x").set_value("p95_latency_s")
    at.selectbox(key="goal").set_value("quality_pct")
    at.number_input(key="max_cost_usd").set_value(0.015)
    at.number_input(key="fast_enough_s").set_value(1.0).run()
    query = link_query(at)
    assert decode_table(query["options"])[0] == table
    reopened = open_page("quality", query)
    assert not reopened.warning
    for key in ("x", "y", "size", "goal", "baseline"):
        assert reopened.selectbox(key=key).value == at.selectbox(key=key).value
    for key in ("max_cost_usd", "fast_enough_s", "sat_per_s"):
        assert reopened.number_input(key=key).value == at.number_input(key=key).value
    assert best(reopened) == best(at)
    assert "Best: Model B." in best(at)  # 200 x 60 $/1e6 = $0.012 per request
    assert share_link(reopened) == share_link(at)


def test_bad_link_values_warn_and_fall_back(open_page: OpenPage) -> None:
    at = open_page(
        "quality",
        {
            "x": "Colour",
            "sat_per_s": "lots",
            "max_cost_usd": "-1",
            "options": "v1.not-really-a-table",
            "baseline": "Nope",
        },
    )
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "`options`" in warnings and "damaged" in warnings
    assert "`x`" in warnings and "'Colour' is not one of" in warnings
    assert "`sat_per_s`" in warnings and "not a number" in warnings
    assert "`max_cost_usd`" in warnings and "below the minimum" in warnings
    assert "`baseline`" in warnings and "'Nope' is not an option" in warnings
    assert at.selectbox(key="x").value == "cost_per_request_usd"
    assert at.number_input(key="sat_per_s").value == 3.0
    assert at.number_input(key="max_cost_usd").value is None
    assert "Best: Faster GPUs." in " ".join(s.value for s in at.success)


def test_load_exercise_resets_table_and_assumption(open_page: OpenPage) -> None:
    other = [Candidate("Only", 50.0, 100.0, 10.0, 10)]
    at = open_page("quality", {"options": encode_table(other), "sat_per_s": "7"})
    assert "Best: Only." in best(at)
    at.button[0].click().run()
    assert not at.exception
    assert at.number_input(key="sat_per_s").value == 3.0
    assert "Best: Faster GPUs." in best(at)
    assert "options" not in link_query(at)
    assert len(EXAMPLE_CANDIDATES) == 5


def click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def test_quality_probe_on_the_sim_stores_scores_and_links_them(open_page: OpenPage) -> None:
    at = open_page(
        "quality",
        {"q_eval": "units", "q_repeats": "2", "q_temps": "0, 1", "sim_accuracy_pct": "100"},
    )
    assert not at.warning
    click(at, "Run the quality probe")
    assert not at.exception and not at.error
    at = wait_quality_done(at)
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.markdown)
    assert "**Quality run " in text and "on *units*, 2 repeats per prompt" in text
    tables = [d.value for d in at.dataframe]
    scores = next(t for t in tables if "Exact match (%)" in t.columns)
    assert list(scores["Temperature"]) == [0.0, 1.0]
    assert list(scores["Exact match (%)"]) == [100.0, 100.0]  # accuracy 100%: always the reference
    assert list(scores["Requests"]) == [30, 30]
    query = link_query(at)
    assert query["q_eval"] == "units" and "qrun" in query
    reopened = open_page("quality", query)
    assert not reopened.warning
    assert f"**Quality run {query['qrun']}**" in " ".join(m.value for m in reopened.markdown)
    click(reopened, "Add these runs to the options table")
    assert not reopened.exception
    options = decode_table(link_query(reopened)["options"])[0]
    added = [c for c in options if "units" in c.name]
    assert [c.quality_pct for c in added] == [100.0, 100.0]
    assert all(c.ttft_ms and c.ttft_ms >= 100 and c.error_rate_pct == 0.0 for c in added)


def test_quality_probe_bad_links_and_unreachable_endpoint(open_page: OpenPage) -> None:
    at = open_page(
        "quality", {"q_temps": "hot", "q_eval": "nope", "qrun": "abc123", "q_repeats": "0"}
    )
    warnings = " ".join(w.value for w in at.warning)
    assert "`q_temps`" in warnings and "'hot' is not a number" in warnings
    assert "`q_eval`" in warnings and "'nope' is not one of" in warnings
    assert "`qrun`" in warnings and "abc123" in warnings
    assert "`q_repeats`" in warnings and "below the minimum" in warnings
    click(at, "Run the quality probe")
    assert "Temperatures: 'hot' is not a number" in " ".join(e.value for e in at.error)
    at = open_page("quality", {"q_target": "Another endpoint", "q_repeats": "1", "q_temps": "0"})
    at.text_input(key="q_url").set_value("http://127.0.0.1:1/v1")
    at.text_input(key="q_model").set_value("m")
    click(at, "Run the quality probe")
    assert not at.exception
    assert "connection refused" in " ".join(e.value for e in at.error)
    at.text_input(key="q_url").set_value("http://169.254.169.254/v1")
    click(at, "Run the quality probe")
    assert "never contacts" in " ".join(e.value for e in at.error)


def test_add_stored_runs_fills_speed_and_errors(open_page: OpenPage) -> None:
    from datetime import UTC, datetime

    from inferlab.records import RequestRecord, RunInfo
    from inferlab.store import Store

    store = Store()
    info = RunInfo("run0000abcd", datetime.now(UTC), "http://127.0.0.1:1/v1", "m", label="vLLM A")
    store.create_run(info)
    records = [
        RequestRecord(
            i,
            0.0,
            0.0,
            True,
            ttft_ms=100.0 + i,
            e2e_ms=100.0 + i + 9 * 10.0,
            chunk_offsets_ms=tuple(100.0 + i + 10.0 * k for k in range(10)),
            chunk_tokens=(1,) * 10,
            output_tokens=10,
            token_count_source="usage",
        )
        for i in range(9)
    ] + [RequestRecord(9, 0.0, 0.0, False, error_class="http_500")]
    store.add_requests(info.run_id, records)
    store.finish_run(info.run_id, "completed")
    at = open_page("quality")
    at.multiselect(key="q_runs_pick").select("run0000abcd").run()
    at.button(key="q_runs_add").click().run()
    assert not at.exception
    options = decode_table(link_query(at)["options"])[0]
    added = options[-1]
    assert added.name == "vLLM A"
    assert added.ttft_ms == 104.0 and added.tpot_ms == 10.0 and added.output_tokens == 10
    assert added.error_rate_pct == 10.0 and added.quality_pct is None
    assert "type in quality and cost" in added.source


class HeldEndpoint:
    """An OpenAI-style endpoint on loopback whose answers wait until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()

    async def handler(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if request.method == "GET":
            body = json.dumps({"object": "list", "data": [{"id": "m"}]}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return
        if request.json()["messages"][-1]["content"] != "Hello":  # the preflight's request
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        writer.write(sse_head())
        for part in sse_stream(["42"], usage={"completion_tokens": 1}):
            writer.write(part)
        await writer.drain()


def test_quality_probe_runs_in_the_background_survives_a_page_switch_and_cancels(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = HeldEndpoint()
    with ScriptedServer(endpoint.handler) as srv:
        at = open_page(
            "quality",
            {"q_target": "Another endpoint", "q_eval": "units", "q_repeats": "1", "q_temps": "0"},
        )
        at.text_input(key="q_url").set_value(srv.base_url)
        at.text_input(key="q_model").set_value("m")
        click(at, "Run the quality probe")
        assert not at.exception and not at.error
        (job,) = get_manager().quality_jobs()
        assert job.active  # the answers are held: the script run ended while it measures
        assert any(b.label == "Cancel the quality probe" for b in at.button)
        assert next(b for b in at.button if b.label == "Run the quality probe").disabled
        assert "Starting…" in progress_texts(at) or "T = 0:" in progress_texts(at)
        at.switch_page("pages/runs.py").run()
        at.switch_page("pages/quality.py").run()
        assert not at.exception and job.active
        other = open_page("quality")  # another visitor (or a refresh): not shown by default
        assert not any(b.label == "Cancel the quality probe" for b in other.button)
        monkeypatch.setenv("INFERLAB_SHARED_PROBES", "true")
        shared = open_page("quality")  # a dashboard that shares its probes shows it to all
        assert any(b.label == "Cancel the quality probe" for b in shared.button)
        monkeypatch.delenv("INFERLAB_SHARED_PROBES")
        click(at, "Cancel the quality probe")
        endpoint.release.set()
        at = wait_quality_done(at)
    assert not at.exception and not at.error
    assert "Cancelled after 4 of 15 requests." in progress_texts(at)
    assert not any(b.label == "Cancel the quality probe" for b in at.button)
    assert not next(b for b in at.button if b.label == "Run the quality probe").disabled
    assert link_query(at)["qrun"] == job.snapshot().group_id
    assert f"**Quality run {job.snapshot().group_id}**" in " ".join(m.value for m in at.markdown)


def test_tables_fit_show_dashes_and_say_which_latency_the_p95_limit_checked(
    open_page: OpenPage,
) -> None:
    at = open_page("quality", {"max_p95_s": "5"})
    assert not at.exception
    editor, options, q3 = at.dataframe
    # Less useful columns are behind a toggle, so the editor fits 1400 px; they come back.
    assert "source" not in list(editor.proto.column_order)
    at.toggle(key="q_all_columns").set_value(True).run()
    assert "source" in list(at.dataframe[0].proto.column_order)
    # No cell of a result table reads "None": unknown is a dash.
    for frame in (options.value, q3.value):
        assert "None" not in frame.astype(str).to_numpy().ravel().tolist()
    assert set(options.value["Errors (%)"]) == {"—"}
    # The examples have no p95: the table and the verdict say what was compared.
    assert set(options.value["Statistic"]) == {"typical"}
    text = best(at)
    assert "typical latency 5.2 s > 5 s (no p95 known)" in text
    assert "No p95 is known for" in text


def test_a_run_with_unknown_quality_and_cost_is_not_named_best(open_page: OpenPage) -> None:
    from inferlab.store import Store
    from tests.app.calc_fixtures import make_run

    store = Store()
    # a sweep: every step is labelled "sweep"; fast enough to top expected satisfaction
    for c in (1, 4):
        make_run(
            store,
            f"sweep-c{c}",
            concurrency=c,
            ttft_ms=102.5292015,
            tpot_ms=4.223139496999998,
            output_tokens=32,
            label="sweep",
        )
    at = open_page("quality")
    picker = at.multiselect(key="q_runs_pick")
    assert len(set(picker.options)) == len(picker.options)
    assert any(o.startswith("sweep · c=4 · test-model · 2026-01-01") for o in picker.options)
    picker.select("sweep-c4").run()
    at.button(key="q_runs_add").click().run()
    assert not at.exception
    added = decode_table(link_query(at)["options"])[0][-1]
    assert added.name == "sweep · c=4"
    assert added.ttft_ms == 102.5 and added.tpot_ms == 4.223  # 4 significant digits
    success = " ".join(s.value for s in at.success)
    assert "Best: sweep" not in success
    assert "sweep · c=4 (quality, cost unknown, so it cannot be compared)" in success
