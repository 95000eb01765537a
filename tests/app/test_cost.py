from urllib.parse import urlparse

import pytest

from inferlab.store import Store
from tests.app.calc_fixtures import make_run
from tests.app.conftest import OpenPage, link_query, metric, share_link


def test_default_render_shows_the_three_views_and_the_exercise(open_page: OpenPage) -> None:
    at = open_page("cost")
    assert not at.exception and not at.warning and not at.error
    assert metric(at, "Cost per request") == "$0.005"
    assert metric(at, "Blended per 1M tokens (3:1)") == "$4.375"
    # the price lists' 3:1 beside this request's own 1,000 in / 250 out
    blended = next(m for m in at.metric if m.label == "Blended per 1M tokens (3:1)")
    assert blended.proto.delta == "this request is 4:1"
    assert metric(at, "Session cost, with caching") == "$0.05862"
    assert metric(at, "Without caching") == "$0.07938"
    assert metric(at, "Monthly bill") == "$5,862"
    assert metric(at, "A: cost per satisfied answer") == "$0.05882"
    assert metric(at, "Break-even loss per unhappy user") == "$0.429"
    text = " ".join(m.value for m in at.markdown)
    assert "**Per request** is right" in text and "**Per token** is right" in text
    assert "**Per session** is right" in text
    assert len(at.get("plotly_chart")) == 2
    assert urlparse(share_link(at)).query == ""


def test_picking_a_price_list_fills_the_prices(open_page: OpenPage) -> None:
    at = open_page("cost")
    at.selectbox(key="api").set_value("OpenAI GPT-4o mini").run()
    assert at.number_input(key="in_price").value == 0.15
    assert at.number_input(key="cached_price").value == 0.075
    # 1000 x 0.15 + 250 x 0.60 per 1M
    assert metric(at, "Cost per request") == "$0.0003"
    assert link_query(at) == {
        "api": "OpenAI GPT-4o mini",
        "in_price": "0.15",
        "out_price": "0.6",
        "cached_price": "0.075",
    }


def test_self_hosted_mode_drives_the_monthly_bill(open_page: OpenPage) -> None:
    at = open_page("cost")
    at.radio(key="mode").set_value("Self-hosted").run()
    # 1,000,000 requests/month need one always-on replica: 730 h x $2.99
    assert metric(at, "Monthly bill") == "$2,183"
    assert metric(at, "Per request at the SLO") == "$0.0005537"
    assert metric(at, "Per request") == "$0.0005537"
    assert link_query(at) == {"mode": "Self-hosted"}


def test_chatbot_exercise_preset_loads_numbers(open_page: OpenPage) -> None:
    at = open_page("cost")
    next(b for b in at.button if b.label == "Load the chatbot exercise").click().run()
    assert at.number_input(key="ex_cost").value == 0.05
    assert at.number_input(key="ex_sat_pct").value == 85.0
    assert at.number_input(key="out_tokens").value == 50
    info = " ".join(i.value for i in at.info)
    assert "pays for itself when an unhappy user costs you more than **$0.429**" in info


def test_share_link_round_trip_reopens_the_same_view(open_page: OpenPage) -> None:
    at = open_page("cost")
    for key, value in {
        "in_price": 3.0,
        "out_price": 15.0,
        "turns": 20,
        "hit_pct": 50.0,
        "sessions_pm": 2000,
        "ex_loss": 1.0,
        "gpu_hour": 1.5,
    }.items():
        at.number_input(key=key).set_value(value)
    at.run()
    reopened = open_page("cost", link_query(at))
    assert not reopened.warning
    for label in (
        "Cost per request",
        "Session cost, with caching",
        "Monthly bill",
        "Per request at the SLO",
    ):
        assert metric(reopened, label) == metric(at, label)


def test_bad_link_values_fall_back_with_visible_warnings(open_page: OpenPage) -> None:
    at = open_page(
        "cost",
        {
            "in_price": "-1",
            "n_gpus": "0",
            "turns": "x",
            "mode": "Cloud",
            "api": "Nope",
            "price_edit": "api,X,1",
            "run": "missing",
        },
    )
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "`in_price`" in warnings and "below the minimum 0" in warnings
    assert "`n_gpus`" in warnings and "below the minimum 1" in warnings
    for name in ("turns", "mode", "api", "price_edit", "run"):
        assert f"`{name}`" in warnings, name
    assert metric(at, "Cost per request") == "$0.005"
    assert "run" not in link_query(at) and "price_edit" not in link_query(at)


def test_price_edits_in_the_link_add_a_price_list(open_page: OpenPage) -> None:
    at = open_page(
        "cost", {"price_edit": "api,In-house,1,2,0.5", "api": "In-house", "in_price": "1"}
    )
    assert not at.warning
    assert "In-house" in at.selectbox(key="api").options
    assert at.selectbox(key="api").value == "In-house"
    assert link_query(at)["price_edit"] == "api,In-house,1,2,0.5"


@pytest.mark.parametrize("hit", [0.0, 100.0])
def test_cache_hit_rate_extremes_render(open_page: OpenPage, hit: float) -> None:
    at = open_page("cost", {"hit_pct": str(hit)})
    assert not at.exception
    saved = metric(at, "Saved by caching")
    assert (saved == "0%") if hit == 0 else (saved != "0%")


def test_choosing_a_run_takes_its_throughput_at_the_slo(open_page: OpenPage) -> None:
    store = Store()
    # every 4th request has TTFT 1000 ms and misses the 500 ms TTFT SLO
    make_run(store, "r1", concurrency=4, ttft_ms=100, tpot_ms=8, requests=40, slow_every=4)
    at = open_page("cost")
    at.selectbox(key="run_pick").set_value("r1").run()
    assert not at.exception
    assert "(75% of requests)" in " ".join(m.value for m in at.markdown)
    next(b for b in at.button if b.label == "Use this run's throughput").click().run()
    peak = at.number_input(key="peak_rps").value
    slo = at.number_input(key="slo_rps").value
    assert peak is not None
    assert slo == pytest.approx(peak * 0.75, rel=1e-4)
    assert at.number_input(key="out_tokens").value == 101
    assert link_query(at)["run"] == "r1"


def test_the_throughput_meeting_the_slo_names_the_slo(open_page: OpenPage) -> None:
    at = open_page("cost", {"slo_ttft_ms": "800", "slo_tpot_ms": "40"})
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "meeting the SLO* counts the requests with TTFT ≤ 800 ms and TPOT ≤ 40 ms" in captions
    at.number_input(key="slo_tpot_ms").set_value(60.0).run()
    assert "TTFT ≤ 800 ms and TPOT ≤ 60 ms" in " ".join(c.value for c in at.caption)
