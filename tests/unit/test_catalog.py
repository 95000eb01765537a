import dataclasses

import pandas as pd
import pytest

from inferlab.capacity import GpuSpec
from inferlab.catalog import (
    EDITED_SOURCE,
    apply_gpu_edits,
    apply_price_edits,
    encode_gpu_edits,
    encode_price_edits,
    gpus_from_frame,
    gpus_to_frame,
    load_gpus,
    load_prices,
    prices_from_frame,
    prices_to_frame,
)
from inferlab.cost import ApiPrices


def test_shipped_gpu_catalog_has_the_datasheet_figures_with_sources() -> None:
    gpus = {g.name: g for g in load_gpus()}
    assert set(gpus) >= {"H100 SXM", "H200 SXM", "A100 SXM 80GB", "L4", "L40S", "MI300X"}
    h100 = gpus["H100 SXM"]
    assert (h100.memory_gb, h100.bandwidth_tb_s, h100.bf16_tflops) == (80, 3.35, 989)
    assert gpus["A100 SXM 80GB"].fp8_tflops is None
    for g in gpus.values():
        assert g.source_url.startswith("https://") and g.as_of


def test_shipped_price_catalog_has_api_and_gpu_hour_examples_with_sources() -> None:
    cat = load_prices()
    assert len(cat.api) >= 2 and len(cat.gpu_hours) >= 1
    rows = [(a.source_url, a.as_of) for a in cat.api] + [
        (h.source_url, h.as_of) for h in cat.gpu_hours
    ]
    for source_url, as_of in rows:
        assert source_url.startswith("https://") and as_of
    assert {h.gpu for h in cat.gpu_hours} <= {g.name for g in load_gpus()}


def test_gpu_edits_round_trip_through_the_link_value() -> None:
    base = load_gpus()
    edited = [
        dataclasses.replace(g, bandwidth_tb_s=3.0) if g.name == "H100 SXM" else g for g in base
    ]
    edited = [g for g in edited if g.name != "L4"] + [GpuSpec("My GPU", 100, 10, 1000, None)]
    encoded = encode_gpu_edits(base, edited)
    assert encoded == "H100 SXM,80,3,989,1979;My GPU,100,10,1000,;-L4"
    applied = {g.name: g for g in apply_gpu_edits(base, encoded)}
    assert set(applied) == {g.name for g in edited}
    assert applied["H100 SXM"].bandwidth_tb_s == 3.0
    assert applied["H100 SXM"].source_url == EDITED_SOURCE
    assert applied["My GPU"].fp8_tflops is None
    assert encode_gpu_edits(base, base) == ""
    assert apply_gpu_edits(base, "") == base


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("X,1,2", "needs 5 fields"),
        ("X,abc,1,1,1", "memory_gb 'abc' is not a number"),
        ("X,80,-1,1,1", "bandwidth_tb_s must be a number of at least 0"),
        ("X,80,0,1,1", "bandwidth"),
        (",80,1,1,1", "name is empty"),
    ],
)
def test_bad_gpu_edits_name_the_problem(encoded: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_gpu_edits(load_gpus(), encoded)


def test_deleting_every_gpu_is_refused() -> None:
    base = load_gpus()
    with pytest.raises(ValueError, match="delete every GPU"):
        apply_gpu_edits(base, ";".join(f"-{g.name}" for g in base))


def test_gpu_frame_round_trip_and_row_errors() -> None:
    base = load_gpus()
    assert gpus_from_frame(gpus_to_frame(base)) == base
    frame = gpus_to_frame(base)
    frame.loc[1, "name"] = "H100 SXM"
    with pytest.raises(ValueError, match="row 2: GPU 'H100 SXM' appears twice"):
        gpus_from_frame(frame)
    with pytest.raises(ValueError, match="lacks the column"):
        gpus_from_frame(pd.DataFrame({"name": ["x"]}))
    frame = gpus_to_frame(base)
    frame.loc[0, "memory_gb"] = None
    with pytest.raises(ValueError, match="row 1: memory_gb is empty"):
        gpus_from_frame(frame)


def test_price_edits_round_trip() -> None:
    base = load_prices()
    first = base.api[0]
    edited = dataclasses.replace(
        base,
        api=(
            dataclasses.replace(first, prices=ApiPrices(1.0, 2.0, 0.5)),
            *base.api[2:],
        ),
        gpu_hours=(dataclasses.replace(base.gpu_hours[0], usd_per_gpu_hour=2.0),),
    )
    encoded = encode_price_edits(base, edited)
    assert f"api,{first.name},1,2,0.5" in encoded
    assert f"gpu,{base.gpu_hours[0].name},2" in encoded
    assert f"-{base.api[1].name}" in encoded
    applied = apply_price_edits(base, encoded)
    assert [a.name for a in applied.api] == [a.name for a in edited.api]
    assert applied.api[0].prices == ApiPrices(1.0, 2.0, 0.5)
    assert applied.gpu_hours[0].usd_per_gpu_hour == 2.0
    assert len(applied.gpu_hours) == 1
    assert prices_from_frame(prices_to_frame(base)) == base


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("api,X,1,2", "must be 'api,name,input,output,cached'"),
        ("api,X,-1,2,", "input_per_mtok must be a number of at least 0"),
        ("gpu,X,abc", "usd_per_gpu_hour 'abc' is not a number"),
        ("tpu,X,1", "must be 'api,name"),
    ],
)
def test_bad_price_edits_name_the_problem(encoded: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_price_edits(load_prices(), encoded)


def test_price_frame_with_unknown_kind_is_refused() -> None:
    frame = prices_to_frame(load_prices())
    frame.loc[0, "kind"] = "tpu"
    with pytest.raises(ValueError, match="row 1: kind must be 'api' or 'gpu_hour'"):
        prices_from_frame(frame)
