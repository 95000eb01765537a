"""AppTest: the Probe page's server-metrics inputs (off / the API root's /metrics /
other URLs, the interval): render, share link, bad input, and a probe that scrapes
the URL it was given."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from inferlab.dashboard.jobs import get_manager
from inferlab.server.samples import is_note
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store
from tests.app.conftest import OpenPage, launch, link_query, share_link, wait_done


def fast_sim(at: AppTest, requests: int = 4) -> None:
    at.number_input(key="sim_ttft_ms").set_value(5.0)
    at.number_input(key="sim_tpot_ms").set_value(1.0)
    at.number_input(key="requests").set_value(requests)
    at.number_input(key="max_tokens").set_value(8)


def test_default_render_scrapes_the_api_roots_metrics_every_second(open_page: OpenPage) -> None:
    at = open_page("probe")
    assert not at.exception and not at.warning and not at.error
    assert at.radio(key="server_metrics").value == "The API root's /metrics"
    assert at.number_input(key="server_metrics_interval_s").value == 1.0
    assert "the simulator's own /metrics" in " ".join(c.value for c in at.caption)
    assert not [t for t in at.text_input if t.key == "metrics_urls"]
    at = open_page(
        "probe", {"target": "Another endpoint", "url": "http://127.0.0.1:9/v1", "model": "m"}
    )
    assert "`http://127.0.0.1:9/metrics`" in " ".join(c.value for c in at.caption)


def test_off_hides_the_inputs_and_custom_asks_for_urls(open_page: OpenPage) -> None:
    at = open_page("probe")
    at.radio(key="server_metrics").set_value("Off").run()
    assert not [n for n in at.number_input if n.key == "server_metrics_interval_s"]
    assert link_query(at) == {"server_metrics": "Off"}
    at.radio(key="server_metrics").set_value("Other URL(s)").run()
    assert at.text_input(key="metrics_urls").value == ""
    launch(at)
    assert "none is given" in at.error[0].value
    assert not get_manager().jobs()


def test_share_link_round_trip(open_page: OpenPage) -> None:
    at = open_page("probe")
    at.radio(key="server_metrics").set_value("Other URL(s)").run()
    at.text_input(key="metrics_urls").set_value(
        "http://127.0.0.1:9001/metrics, http://127.0.0.1:9002/metrics"
    )
    at.number_input(key="server_metrics_interval_s").set_value(0.5)
    at.run()
    query = link_query(at)
    assert query == {
        "server_metrics": "Other URL(s)",
        "metrics_urls": "http://127.0.0.1:9001/metrics, http://127.0.0.1:9002/metrics",
        "server_metrics_interval_s": "0.5",
    }
    again = open_page("probe", query)
    assert not again.warning and not again.exception
    assert again.radio(key="server_metrics").value == "Other URL(s)"
    assert again.text_input(key="metrics_urls").value == query["metrics_urls"]
    assert again.number_input(key="server_metrics_interval_s").value == 0.5
    assert share_link(again) == share_link(at)


def test_bad_link_values_are_named_and_the_defaults_used(open_page: OpenPage) -> None:
    at = open_page("probe", {"server_metrics": "sometimes", "server_metrics_interval_s": "0"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "`server_metrics`" in warnings and "`server_metrics_interval_s`" in warnings
    assert at.radio(key="server_metrics").value == "The API root's /metrics"
    assert at.number_input(key="server_metrics_interval_s").value == 1.0
    at = open_page("probe", {"server_metrics_interval_s": "-3"})
    assert "`server_metrics_interval_s`" in " ".join(w.value for w in at.warning)


def test_a_bad_metrics_url_is_refused_with_a_message(open_page: OpenPage) -> None:
    at = open_page("probe", {"server_metrics": "Other URL(s)", "metrics_urls": "ftp://x/metrics"})
    launch(at)
    assert not at.exception
    assert "'ftp://x/metrics' is not an http(s) URL" in at.error[0].value
    at = open_page(
        "probe",
        {"server_metrics": "Other URL(s)", "metrics_urls": "http://169.254.169.254/metrics"},
    )
    launch(at)
    assert not at.exception
    assert "The metrics URL http://169.254.169.254/metrics cannot be scraped" in at.error[0].value
    assert not get_manager().jobs()


def test_a_metrics_url_on_the_allow_list_is_checked_like_the_endpoint(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERLAB_ALLOWED_TARGETS", "api.example.com")
    at = open_page(
        "probe", {"server_metrics": "Other URL(s)", "metrics_urls": "http://127.0.0.1:9/metrics"}
    )
    fast_sim(at)
    launch(at)
    assert "not on this dashboard's list" in at.error[0].value
    assert not get_manager().jobs()


def test_a_password_in_a_metrics_url_never_reaches_the_link(open_page: OpenPage) -> None:
    secret = "pw-METRICS-4242"
    at = open_page(
        "probe",
        {
            "server_metrics": "Other URL(s)",
            "metrics_urls": f"http://u:{secret}@127.0.0.1:9/metrics",
        },
    )
    assert not at.exception
    assert "user name or password" in " ".join(w.value for w in at.warning)
    assert at.text_input(key="metrics_urls").value == "http://127.0.0.1:9/metrics"
    at.run()
    assert all(secret not in str(v) for v in at.query_params.values())
    assert secret not in share_link(at)


def test_a_dashboard_probe_scrapes_the_custom_metrics_url(
    open_page: OpenPage, isolated_db: Path
) -> None:
    with SimServer(SimConfig()) as other:
        metrics = other.base_url.rsplit("/v1", 1)[0] + "/metrics"
        at = open_page("probe", {"server_metrics": "Other URL(s)", "metrics_urls": metrics})
        fast_sim(at)
        at.number_input(key="server_metrics_interval_s").set_value(0.2)
        launch(at)
        assert not at.exception and not at.error
        (job,) = get_manager().jobs()
        wait_done(at)
    scrapes = Store(isolated_db).server_scrapes(job.run_id)
    assert scrapes and {s.endpoint for s in scrapes} == {metrics}
    attempts = [s for s in scrapes if not is_note(s)]
    assert len(attempts) >= 2 and all(s.ok and s.samples for s in attempts)
    names = {x.name for x in attempts[0].samples}
    assert "vllm:generation_tokens_total" in names
    # That server never saw the probe's requests (they went to the built-in sim): its
    # counters never caught up, and the grace's note says so.
    (note,) = [s for s in scrapes if is_note(s)]
    assert "0 of 4 requests" in (note.error or "")


@pytest.mark.parametrize("typed", ["http://127.0.0.1:99999/v1", "not a url", "http://[::1/v1"])
def test_a_malformed_endpoint_url_does_not_break_the_metrics_caption(
    open_page: OpenPage, typed: str
) -> None:
    at = open_page("probe", {"target": "Another endpoint", "url": typed, "model": "m"})
    assert not at.exception
    assert "the endpoint's host and port with path /metrics" in " ".join(
        c.value for c in at.caption
    )
