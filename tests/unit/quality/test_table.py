import base64
import zlib

import pandas as pd
import pytest

from inferlab.charts.quality import quality_scores_chart, satisfaction_curve, tradeoff_scatter
from inferlab.dashboard.quality import check_quality_params
from inferlab.quality import Candidate, QualityOutput, SatisfactionModel, score_outputs
from inferlab.quality.table import (
    EXAMPLE_CANDIDATES,
    EXAMPLE_SOURCE,
    candidates_from_frame,
    candidates_to_frame,
    decode_table,
    encode_table,
    parse_csv,
    to_csv,
)


def test_examples_are_labelled_as_examples() -> None:
    assert EXAMPLE_CANDIDATES
    for c in EXAMPLE_CANDIDATES:
        assert c.source.startswith(EXAMPLE_SOURCE) and "not a measurement" in c.source


def test_csv_round_trip_with_labels_and_keys() -> None:
    for labels in (True, False):
        text = to_csv(EXAMPLE_CANDIDATES, labels=labels)
        back, problems = parse_csv(text.encode())
        assert back == list(EXAMPLE_CANDIDATES) and problems == []


def test_csv_import_reports_bad_cells_and_unknown_columns() -> None:
    text = (
        "name,quality_pct,cost_per_request_usd,colour\n"
        "A,85%,$0.02,red\n"
        "B,abc,-1,blue\n"
        ",70,0.01,\n"
        "A,90,0.03,\n"
    )
    cands, problems = parse_csv(text)
    assert [c.name for c in cands] == ["A", "B", "Option 3", "A (2)"]
    assert cands[0].quality_pct == 85.0 and cands[0].cost_per_request_usd == 0.02
    assert cands[1].quality_pct is None and cands[1].cost_per_request_usd is None
    joined = "\n".join(problems)
    assert "Column 'colour' is not a known column" in joined
    assert "Row 2 (B), Quality (%): 'abc' is not a number" in joined
    assert "Row 2 (B), Cost per request ($): -1 is below 0" in joined
    assert "Row 3 has no name" in joined and "used twice" in joined


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"quality_pct\n80\n", "no 'name' column"),
        (b"name,quality_pct\n", "no rows"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"x" * 1_000_001, "limit"),
    ],
)
def test_unusable_csv_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_csv(data)


def test_link_form_round_trips_and_rejects_damage() -> None:
    cands = [*EXAMPLE_CANDIDATES, Candidate('Ünïcode, "quoted"', 50.0, p95_latency_s=3.5)]
    code = encode_table(cands)
    assert code.startswith("v1.") and "=" not in code
    assert decode_table(code)[0] == cands
    with pytest.raises(ValueError, match="v1"):
        decode_table("abc")
    with pytest.raises(ValueError, match="damaged"):
        decode_table(code[:-10])
    bomb = base64.urlsafe_b64encode(zlib.compress(b"name\n" + b"x" * 5_000_000, 9)).decode()
    with pytest.raises(ValueError, match="damaged"):
        decode_table("v1." + bomb)


def test_frame_round_trip_and_editor_blank_row_dropped() -> None:
    frame = candidates_to_frame(EXAMPLE_CANDIDATES)
    assert str(frame["quality_pct"].dtype) == "Float64"
    frame = pd.concat([frame, pd.DataFrame([{"name": None}])], ignore_index=True)
    back, problems = candidates_from_frame(frame)
    assert back == list(EXAMPLE_CANDIDATES) and problems == []


def test_check_params_names_bad_values() -> None:
    assert check_quality_params({}, ["A"]) == []
    assert (
        check_quality_params({"x": "Quality (%)", "max_cost_usd": "", "baseline": "A"}, ["A"]) == []
    )
    warnings = check_quality_params(
        {"sat_per_s": "lots", "max_cost_usd": "-1", "x": "Colour", "baseline": "Z"}, ["A"]
    )
    text = "\n".join(warnings)
    assert "`sat_per_s`" in text and "not a number" in text and "default 3" in text
    assert "`max_cost_usd`" in text and "No limit" in text
    assert "`x`" in text and "'Colour' is not one of" in text
    assert "`baseline`" in text and "'Z' is not an option" in text


def test_tradeoff_scatter_greys_dominated_and_draws_frontier() -> None:
    model = SatisfactionModel()
    fig = tradeoff_scatter(
        EXAMPLE_CANDIDATES,
        "cost_per_request_usd",
        "satisfaction_pct",
        "quality_pct",
        model,
        best="Faster GPUs",
    )
    names = {t.name: t for t in fig.data}
    assert set(names) == {
        "Pareto frontier",
        "Dominated (another option is better on both axes)",
        "Pareto-optimal (red ring: best under your constraints)",
    }
    assert list(names["Dominated (another option is better on both axes)"].text) == [
        "Baseline (exercise)",
        "Alternative config (Q2)",
    ]
    assert "lower is better" in fig.layout.xaxis.title.text
    assert "higher is better" in fig.layout.yaxis.title.text
    empty = tradeoff_scatter([Candidate("X")], "cost_per_request_usd", "quality_pct", "quality_pct")
    assert not empty.data and empty.layout.annotations


def test_satisfaction_and_scores_charts_have_labelled_axes() -> None:
    fig = satisfaction_curve(SatisfactionModel(), EXAMPLE_CANDIDATES, "Baseline (exercise)")
    assert fig.layout.xaxis.title.text.endswith("(s)") and "%" in fig.layout.yaxis.title.text
    report = score_outputs([QualityOutput("p", 0, 0.0, "q", "a", "a", True)])
    bars = quality_scores_chart(report)
    assert len(bars.data) == 5 and bars.layout.yaxis.title.text == "Share (%)"
