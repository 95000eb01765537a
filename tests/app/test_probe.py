"""AppTest: the Probe page (form, launch against the built-in sim, errors, share link)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from inferlab.dashboard.jobs import dashboard_sim_config, get_manager
from inferlab.dashboard.probe import ray_engine_available
from inferlab.netpolicy import NetPolicy
from inferlab.probe import ProbeConfig
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store
from tests.app.conftest import OpenPage, launch, link_query, metric, share_link, wait_done


def texts(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.error, *at.info])


def fast_sim(at: AppTest, requests: int = 12) -> None:
    at.number_input(key="sim_ttft_ms").set_value(5.0)
    at.number_input(key="sim_tpot_ms").set_value(1.0)
    at.number_input(key="requests").set_value(requests)
    at.number_input(key="max_tokens").set_value(8)
    at.number_input(key="prompt_tokens").set_value(16)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_default_render_offers_the_simulator(open_page: OpenPage) -> None:
    at = open_page("probe")
    assert not at.exception and not at.warning and not at.error
    assert at.radio(key="target").value == "Built-in simulator"
    assert at.number_input(key="sim_ttft_ms").value == 200.0
    assert at.number_input(key="sim_tpot_ms").value == 20.0
    assert any(b.label == "Launch probe" for b in at.button)
    assert "You have not launched a probe in this browser session yet" in texts(at)
    assert share_link(at).endswith("/probe")  # defaults: a link without parameters


def test_probe_against_the_simulator_start_to_finish(
    open_page: OpenPage, isolated_db: Path
) -> None:
    at = open_page("probe")
    fast_sim(at)
    at.text_input(key="label").set_value("apptest run")
    at.text_input(key="tags").set_value("ci, sim")
    launch(at)
    assert not at.exception and not at.error
    (job,) = get_manager().jobs()
    at = wait_done(at)
    assert "completed" in texts(at) and "apptest run" in texts(at)
    assert metric(at, "Done") == "12" and metric(at, "Failed") == "0"
    store = Store(isolated_db)
    info = store.get_run(job.run_id)
    assert info is not None and info.label == "apptest run" and info.tags == ("ci", "sim")
    assert store.run_status(job.run_id) == "completed"
    summary: Any = store.summary(job.run_id).to_json()
    assert metric(at, "TTFT p50") == f"{summary['ttft_ms']['p50']:,.1f} ms"
    assert metric(at, "TPOT p95") == f"{summary['tpot_ms']['p95']:,.1f} ms"
    link = at.get("page_link")[0].proto
    assert link.page.endswith("runs") and job.run_id in link.query_string
    assert len(at.get("plotly_chart")) == 1
    # The finished run's validity verdict is shown (valid, or suspect with its reason).
    verdict = store.validity(job.run_id)
    assert verdict.verdict in ("valid", "suspect")
    shown = texts(at) + " ".join(str(w.value) for w in at.warning)
    assert f"Validity: {verdict.verdict}" in shown


def test_live_chart_shows_only_the_latest_requests(open_page: OpenPage, isolated_db: Path) -> None:
    import json

    at = open_page("probe")
    fast_sim(at, requests=320)
    launch(at)
    assert not at.exception and not at.error
    at = wait_done(at)
    assert metric(at, "Done") == "320"
    assert "Chart: the latest 300 of 320 requests." in texts(at)
    (chart,) = at.get("plotly_chart")
    figure = json.loads(chart.proto.spec)
    assert [len(trace["x"]) for trace in figure["data"]] == [300, 300]  # TTFT, TPOT panels


def test_ray_engine_is_offered_only_with_the_distributed_extra(open_page: OpenPage) -> None:
    at = open_page("probe")
    assert not at.exception
    offered = any(t.key == "ray_engine" for t in at.toggle)
    assert offered == ray_engine_available()
    if offered:
        assert at.toggle(key="ray_engine").value is False  # the local engine by default
        assert at.number_input(key="ray_workers").value == 2


def test_malformed_url_gets_a_clear_message(open_page: OpenPage) -> None:
    at = open_page("probe")
    at.radio(key="target").set_value("Another endpoint").run()
    at.text_input(key="url").set_value("localhost:8000/v1")
    at.text_input(key="model").set_value("m")
    launch(at)
    assert not at.exception
    assert "must start with http:// or https://" in at.error[0].value
    assert get_manager().jobs() == []


def test_unreachable_endpoint_is_reported_not_launched(open_page: OpenPage) -> None:
    at = open_page("probe")
    at.radio(key="target").set_value("Another endpoint").run()
    at.text_input(key="url").set_value(f"http://127.0.0.1:{free_port()}/v1")
    at.text_input(key="model").set_value("m")
    launch(at)
    assert not at.exception
    assert "Nothing is listening" in at.error[0].value
    assert "--" not in at.error[0].value
    assert get_manager().jobs() == []


def test_a_failed_launch_message_goes_once_its_settings_change(open_page: OpenPage) -> None:
    at = open_page("probe")
    at.radio(key="target").set_value("Another endpoint").run()
    at.text_input(key="url").set_value("localhost:8000/v1")
    at.text_input(key="model").set_value("m")
    launch(at)
    assert "must start with http:// or https://" in at.error[0].value
    at.run()  # a rerun with the same settings keeps it
    assert "must start with http:// or https://" in at.error[0].value
    at.text_input(key="url").set_value("http://localhost:8000/v1").run()
    assert not [e for e in at.error if "must start with" in e.value]  # stale: gone


def test_link_local_target_is_refused(open_page: OpenPage) -> None:
    at = open_page(
        "probe", {"target": "Another endpoint", "url": "http://169.254.169.254/v1", "model": "m"}
    )
    launch(at)
    assert "never contacts" in at.error[0].value


def test_models_are_offered_from_the_server_list(open_page: OpenPage) -> None:
    with SimServer(SimConfig(model="served-model")) as sim:
        at = open_page("probe", {"target": "Another endpoint", "url": sim.base_url})
        next(b for b in at.button if b.label == "List the server's models").click().run()
        assert at.text_input(key="model").value == "served-model"  # the empty field is filled
        pick = at.selectbox(key="model_pick")
        assert pick.options == ["served-model"]
        at.text_input(key="model").set_value("other").run()
        at.selectbox(key="model_pick").select("served-model").run()
        assert at.text_input(key="model").value == "served-model"


def test_empty_model_is_refused_with_a_message(open_page: OpenPage) -> None:
    at = open_page("probe", {"target": "Another endpoint", "url": "http://127.0.0.1:9/v1"})
    launch(at)
    assert "model is empty" in at.error[0].value


def test_share_link_round_trip(open_page: OpenPage) -> None:
    at = open_page("probe")
    at.radio(key="load_mode").set_value("Poisson arrivals").run()
    at.number_input(key="rate_rps").set_value(12.5)
    at.number_input(key="sim_tpot_ms").set_value(35.0)
    at.number_input(key="requests").set_value(300)
    at.text_input(key="label").set_value("nightly")
    at.run()
    query = link_query(at)
    assert query == {
        "load_mode": "Poisson arrivals",
        "rate_rps": "12.5",
        "sim_tpot_ms": "35",
        "requests": "300",
        "label": "nightly",
    }
    again = open_page("probe", query)
    assert not again.warning
    assert again.radio(key="load_mode").value == "Poisson arrivals"
    assert again.number_input(key="rate_rps").value == 12.5
    assert again.number_input(key="sim_tpot_ms").value == 35.0
    assert again.number_input(key="requests").value == 300
    assert again.text_input(key="label").value == "nightly"
    assert share_link(again) == share_link(at)


def test_bad_link_values_are_named(open_page: OpenPage) -> None:
    at = open_page(
        "probe", {"target": "gpu", "requests": "-5", "sim_ttft_ms": "fast", "api_key": "sk-x"}
    )
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "`target`" in warnings and "`requests`" in warnings and "`sim_ttft_ms`" in warnings
    assert "API key parameter; it was ignored" in warnings
    assert "api_key" not in at.query_params
    assert at.radio(key="target").value == "Built-in simulator"
    assert at.number_input(key="requests").value == 50


def test_an_unusual_or_refused_concurrency_in_a_link_is_said_before_launch(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERLAB_MAX_CONCURRENCY", "256")
    at = open_page("probe", {"concurrency": "100000"})
    text = " ".join(w.value for w in at.warning)
    assert "above this dashboard's limit of 256" in text and "Launch will refuse it" in text
    # not also "unusually large ... It is used as given": it is not
    assert "unusually large" not in text and "used as given" not in text
    at = open_page("probe", {"concurrency": "64"})
    assert not [w for w in at.warning if "Launch will refuse" in w.value]
    monkeypatch.setenv("INFERLAB_MAX_CONCURRENCY", "10000")  # a roomier deployment
    at = open_page("probe", {"concurrency": "5000"})
    text = " ".join(w.value for w in at.warning)
    assert "5,000 is unusually large for Concurrency" in text and "refuse" not in text


def test_a_repeated_link_parameter_is_pointed_out(open_page: OpenPage) -> None:
    at = open_page("probe", {"requests": ["10", "30"]})
    text = " ".join(w.value for w in at.warning)
    assert "gives `requests` (Requests) 2 times (10, 30): using the last, 30" in text


def test_api_key_stays_out_of_the_url_db_and_share_link(
    open_page: OpenPage, isolated_db: Path
) -> None:
    key = "sk-apptest-SECRET-31337"
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=1, api_key=key)) as sim:
        at = open_page(
            "probe", {"target": "Another endpoint", "url": sim.base_url, "model": "inferlab-sim"}
        )
        at.radio(key="key_source").set_value("Type it in").run()
        at.text_input(key="api_key_value").set_value(key)
        at.number_input(key="requests").set_value(4)
        at.number_input(key="max_tokens").set_value(4)
        launch(at)
        assert not at.error, at.error[0].value
        at = wait_done(at)
    assert metric(at, "Done") == "4" and metric(at, "Failed") == "0"
    assert all(key not in str(v) for v in at.query_params.values())
    assert key not in share_link(at) and "key_source=Type+it+in" in share_link(at)
    files = [p for p in isolated_db.parent.rglob("*") if p.is_file()]
    assert files and all(key.encode() not in p.read_bytes() for p in files)


def test_wrong_key_is_reported_within_the_run(open_page: OpenPage) -> None:
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=1, api_key="right-key")) as sim:
        at = open_page(
            "probe", {"target": "Another endpoint", "url": sim.base_url, "model": "inferlab-sim"}
        )
        at.radio(key="key_source").set_value("Type it in").run()
        at.text_input(key="api_key_value").set_value("wrong-key")
        launch(at)
        at = wait_done(at)
    message = " ".join(e.value for e in at.error)
    assert "rejected the credentials" in message and "check the API key" in message


def test_env_key_source_refuses_non_key_variables(open_page: OpenPage) -> None:
    at = open_page(
        "probe", {"target": "Another endpoint", "url": "http://127.0.0.1:9/v1", "model": "m"}
    )
    at.radio(key="key_source").set_value("Environment variable").run()
    at.text_input(key="key_env").set_value("HOME")
    launch(at)
    assert "does not look like an API key variable" in at.error[0].value


def test_cancel_button_stops_the_probe(open_page: OpenPage, isolated_db: Path) -> None:
    at = open_page("probe")
    at.number_input(key="sim_ttft_ms").set_value(5.0)
    at.number_input(key="sim_tpot_ms").set_value(20.0)
    at.number_input(key="concurrency").set_value(2)
    at.number_input(key="requests").set_value(1000)
    at.number_input(key="max_tokens").set_value(20)
    launch(at)
    (job,) = get_manager().jobs()
    deadline = time.monotonic() + 30
    while job.snapshot().done < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    at.run()
    next(b for b in at.button if b.label == "Cancel").click().run()
    at = wait_done(at)
    assert "cancelled" in texts(at) and "they are saved" in texts(at)
    assert Store(isolated_db).run_status(job.run_id) == "cancelled"


def test_allow_list_refuses_other_targets_but_not_the_simulator(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERLAB_ALLOWED_TARGETS", "api.example.com")
    monkeypatch.setenv("INFERLAB_MAX_REQUESTS", "20")
    at = open_page(
        "probe", {"target": "Another endpoint", "url": "http://127.0.0.1:9/v1", "model": "m"}
    )
    assert "Allowed targets: api.example.com" in texts(at)
    launch(at)
    assert "not on this dashboard's list" in at.error[0].value
    at = open_page("probe", {"requests": "30"})
    launch(at)
    assert "above this dashboard's limit of 20" in at.error[0].value
    at.number_input(key="requests").set_value(4)
    fast_sim(at, requests=4)
    launch(at)
    assert not at.error
    at = wait_done(at)
    assert metric(at, "Done") == "4"


def test_poisson_probe_with_simulated_errors_counts_failures(open_page: OpenPage) -> None:
    at = open_page("probe", {"load_mode": "Poisson arrivals", "rate_rps": "200"})
    fast_sim(at, requests=30)
    at.number_input(key="sim_error_pct").set_value(30.0)
    launch(at)
    assert not at.error
    (job,) = get_manager().jobs()
    assert job.cfg.load_mode == "poisson" and job.cfg.rate_rps == 200.0
    at = wait_done(at)
    snap = job.snapshot()
    assert metric(at, "Done") == str(snap.done) and metric(at, "Failed") == str(snap.failed)
    assert snap.error is None and snap.done == 30 and 0 < snap.failed < 30
    chart = at.get("plotly_chart")[0]
    assert "failed" in str(chart.proto.spec)


def test_user_info_in_a_link_is_removed_and_never_kept(open_page: OpenPage) -> None:
    secret = "pw-LINK-31337"
    at = open_page(
        "probe",
        {"target": "Another endpoint", "url": f"http://user:{secret}@127.0.0.1:9/v1", "model": "m"},
    )
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "user name or password" in warnings and "API key field" in warnings
    assert at.text_input(key="url").value == "http://127.0.0.1:9/v1"
    at.run()
    assert all(secret not in str(v) for v in at.query_params.values())
    assert secret not in share_link(at) and "127.0.0.1%3A9" in share_link(at)


def test_user_info_typed_into_the_url_is_removed_before_it_is_kept(open_page: OpenPage) -> None:
    secret = "pw-TYPED-31337"
    at = open_page("probe")
    at.radio(key="target").set_value("Another endpoint").run()
    at.text_input(key="url").set_value(f"http://admin:{secret}@127.0.0.1:9/v1").run()
    assert not at.exception
    assert "user name or password" in " ".join(w.value for w in at.warning)
    assert at.text_input(key="url").value == "http://127.0.0.1:9/v1"
    assert all(secret not in str(v) for v in at.query_params.values())
    assert secret not in share_link(at)
    at.run()  # the warning was for that edit only
    assert not any("user name or password" in w.value for w in at.warning)


def test_a_visitor_sees_only_their_own_probes_unless_the_list_is_shared(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = get_manager()
    url = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=1))
    other = manager.start(
        ProbeConfig(
            url=url,
            model="inferlab-sim",
            requests=2,
            max_tokens=4,
            label="someone else's probe",
        ),
        policy=NetPolicy(),
        session_id="another-visitor",
    )
    assert other.wait(60)
    at = open_page("probe")
    assert "someone else's probe" not in texts(at)
    assert "You have not launched a probe" in texts(at)
    monkeypatch.setenv("INFERLAB_SHARED_PROBES", "true")
    at = open_page("probe")
    assert "someone else's probe" in texts(at)
