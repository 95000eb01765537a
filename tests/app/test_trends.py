"""Trends page: empty store, a series with a change, changed inputs, share link, bad links."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from inferlab.cli import main
from tests.app.conftest import OpenPage, share_link
from tests.conftest import APP
from tests.unit.test_cli_trends import FIX, series_runs


@pytest.fixture
def two_series(isolated_db: Path) -> list[str]:
    series_runs(isolated_db, "flat", [80.0] * 6, prefix="f")  # older: ends 5 minutes earlier
    ids = series_runs(isolated_db, "prod", [50.0] * 6 + [300.0] * 6, prefix="p")
    return ids


def share_query(at: AppTest) -> dict[str, list[str]]:
    return parse_qs(urlparse(share_link(at)).query)


def frames(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def figure(at: AppTest) -> dict[str, object]:
    spec: dict[str, object] = json.loads(at.get("plotly_chart")[0].proto.spec)
    return spec


def annotation_texts(at: AppTest) -> list[str]:
    layout: dict[str, list[dict[str, str]]] = figure(at)["layout"]  # type: ignore[assignment]
    return [a.get("text", "") for a in layout.get("annotations", [])]


def test_an_empty_store_says_how_to_start_a_monitor(open_page: OpenPage) -> None:
    at = open_page("trends")
    assert not at.exception
    assert [s.value for s in at.subheader] == ["No series yet"]
    assert "inferlab monitor" in at.markdown[-1].value


def test_a_link_to_a_series_on_an_empty_store_says_where_it_went(open_page: OpenPage) -> None:
    at = open_page("trends", {"series": "prod"})
    assert not at.exception
    assert "series 'prod', but this database has no series yet" in at.warning[0].value
    assert [s.value for s in at.subheader] == ["No series yet"]


def test_a_link_of_only_unknown_metrics_says_the_defaults_are_shown(
    open_page: OpenPage, two_series: list[str]
) -> None:
    at = open_page("trends", {"metrics": ["TTFT p99", "ITL p99"]})
    warning = at.warning[0].value
    assert "The link's `metrics` was ignored: 'TTFT p99', 'ITL p99' are not one of" in warning
    assert "Showing the default metrics (TTFT p95, E2E p95, Error rate) instead." in warning
    assert at.multiselect(key="metrics").value == ["TTFT p95", "E2E p95", "Error rate"]
    at = open_page("trends", {"metrics": ["TTFT p99", "TTFT p50"]})
    assert "'TTFT p99' is not one of" in at.warning[0].value
    assert "The other metrics linked are shown." in at.warning[0].value
    assert at.multiselect(key="metrics").value == ["TTFT p50"]


def test_default_view_shows_the_newest_series_with_its_change_marked(
    open_page: OpenPage, two_series: list[str]
) -> None:
    at = open_page("trends")
    assert not at.exception and not at.warning
    assert at.selectbox(key="series").value == "prod"
    assert at.multiselect(key="metrics").value == ["TTFT p95", "E2E p95", "Error rate"]
    assert at.error[0].value.startswith(f"Worse since run [{two_series[6]}](")
    changes = frames(at)[0]
    ttft = changes[changes["Metric"] == "TTFT p95"]
    assert len(ttft) == 1 and ttft["First run"].item().endswith(f"/runs?runs={two_series[6]}")
    runs = frames(at)[1]
    assert len(runs) == 12 and runs["Run"].iloc[0].endswith(f"/runs?runs={two_series[-1]}")
    assert [t for t in annotation_texts(at) if "→" in t and "ms" in t]  # the change is annotated
    assert share_query(at) == {"series": ["prod"]}


def test_changed_inputs_change_the_chart_and_the_share_link(
    open_page: OpenPage, two_series: list[str]
) -> None:
    at = open_page("trends")
    at.selectbox(key="series").set_value("flat").run()
    assert not at.error  # a flat series is not worse
    assert "No change detected in any metric." in [c.value for c in at.caption]
    at.multiselect(key="metrics").set_value(["TTFT p50"]).run()
    at.number_input(key="slo_ttft_ms").set_value(100.0).run()
    assert not at.exception
    assert share_query(at) == {"series": ["flat"], "metrics": ["TTFT p50"], "slo_ttft_ms": ["100"]}
    assert any(t.startswith("SLO 100.0 ms") for t in annotation_texts(at))
    assert [m.label for m in at.metric] == ["TTFT p50 (latest)"]
    at.multiselect(key="metrics").set_value([]).run()
    assert "Pick at least one metric" in at.info[0].value


def test_a_share_link_reopens_the_same_view(two_series: list[str]) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("pages/trends.py")
    at.query_params["series"] = "flat"
    at.query_params["metrics"] = ["TTFT p50", "Error rate"]
    at.query_params["slo_error_pct"] = "2"
    at.run()
    assert not at.exception and not at.warning
    assert at.selectbox(key="series").value == "flat"
    assert at.multiselect(key="metrics").value == ["TTFT p50", "Error rate"]
    assert at.number_input(key="slo_error_pct").value == 2.0
    assert share_query(at) == {
        "series": ["flat"],
        "metrics": ["TTFT p50", "Error rate"],
        "slo_error_pct": ["2"],
    }


def test_bad_link_values_are_warnings_and_the_defaults_are_used(
    open_page: OpenPage, two_series: list[str]
) -> None:
    at = open_page("trends", {"series": "gone", "metrics": "TTFT p99", "slo_ttft_ms": "-1"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "`series`" in warnings and "`metrics`" in warnings and "`slo_ttft_ms`" in warnings
    assert at.selectbox(key="series").value == "prod"
    assert at.number_input(key="slo_ttft_ms").value == 0.0
    assert "gone" not in share_link(at) and "slo_ttft_ms" not in share_link(at)


def test_imported_runs_of_a_series_are_shown(open_page: OpenPage, isolated_db: Path) -> None:
    path = FIX / "guidellm-sweep-c1-2-4.json"
    assert main(["import", str(path), "--db", str(isolated_db), "--series", "nightly"]) == 0
    at = open_page("trends")
    assert not at.exception
    assert at.selectbox(key="series").value == "nightly"
    assert "sources: guidellm" in at.caption[0].value
    assert len(frames(at)[-1]) == 3
