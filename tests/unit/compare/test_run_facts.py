import pytest

from inferlab.compare.run_facts import (
    list_run_choices,
    load_run_facts,
    save_hardware,
    sweep_facts,
    try_load_run_facts,
)
from inferlab.store import Slo, Store
from tests.app.calc_fixtures import make_run


def test_facts_of_a_run_with_hardware_metadata() -> None:
    store = Store()
    make_run(store, "r8", concurrency=8, tpot_ms=7.4, ttft_ms=100, output_tokens=101, requests=40)
    facts = load_run_facts(store, "r8")
    assert not facts.has_hardware and facts.concurrency == 8
    assert facts.tpot_p50_ms == pytest.approx(7.4)
    assert facts.mean_input_tokens == 1000 and facts.mean_output_tokens == 101
    # 40 requests in 5 waves of 8, each 100 + 7.4 x 100 = 840 ms
    assert facts.rps == pytest.approx(40 / 4.2)
    save_hardware(store, "r8", "H100 SXM", 8.0, "BF16", 1)
    facts = load_run_facts(store, "r8")
    assert facts.has_hardware and facts.gpu == "H100 SXM" and facts.precision == "BF16"
    assert "concurrency 8" in list_run_choices(store)["r8"]


def test_goodput_follows_the_slo() -> None:
    store = Store()
    make_run(store, "slow", concurrency=4, ttft_ms=100, requests=40, slow_every=4)
    facts = load_run_facts(store, "slow", Slo(ttft_ms=500))
    assert facts.slo_attainment == pytest.approx(0.75)
    assert facts.rps is not None
    assert facts.goodput_rps == pytest.approx(facts.rps * 0.75)


def test_sweep_facts_are_sorted_by_concurrency() -> None:
    store = Store()
    for c in (32, 1, 8):
        make_run(store, f"c{c}", concurrency=c, group_id="g")
    make_run(store, "other", concurrency=2)
    facts = sweep_facts(store, load_run_facts(store, "c8"))
    assert [f.concurrency for f in facts] == [1, 8, 32]


def test_bad_hardware_is_refused_with_a_message() -> None:
    store = Store()
    make_run(store, "r")
    with pytest.raises(ValueError, match="precision must be one of"):
        save_hardware(store, "r", "H100 SXM", 8.0, "FP4", 1)
    with pytest.raises(ValueError, match="number of GPUs"):
        save_hardware(store, "r", "H100 SXM", 8.0, "BF16", 0)


def test_unreadable_run_becomes_a_message() -> None:
    facts, problem = try_load_run_facts(Store(), "missing")
    assert facts is None
    assert problem is not None and problem.startswith("Cannot read run 'missing'")
