"""The comparison core against hand-worked examples."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from inferlab.compare import (
    CONVENTIONS,
    KNEE_MAX_GAIN,
    RunRequests,
    Slo,
    bootstrap_delta_ci,
    compare_table,
    confirmed_knee,
    delta,
    evaluate_conditions,
    knee_index,
    little_check,
    parse_conditions,
    run_metrics,
    run_names,
    slo_result,
    sweep_analysis,
)
from inferlab.compare.runs import _bootstrap_percentiles as bootstrap_percentiles
from inferlab.metrics.summary import Slo as SummarySlo
from inferlab.metrics.summary import summarize
from inferlab.records import RequestRecord


def frame(records: list[RequestRecord]) -> pd.DataFrame:
    return pd.DataFrame([dataclasses.asdict(r) for r in records])


def ok(
    i: int, sent: float, ttft: float, e2e: float, tokens: int, chunks: tuple[float, ...]
) -> RequestRecord:
    return RequestRecord(
        index=i,
        scheduled_ms=sent,
        sent_ms=sent,
        ok=True,
        ttft_ms=ttft,
        e2e_ms=e2e,
        chunk_offsets_ms=chunks,
        chunk_tokens=tuple(1 for _ in chunks),
        output_tokens=tokens,
    )


# Worked example (ms):
#   r0 sent 0,   TTFT 100, E2E 1000, 10 tokens, chunks 100/550/1000 -> gaps 450, 450; TPOT 900/9 = 100
#   r1 sent 100, TTFT 200, E2E 1100, 10 tokens, chunks 200/1100     -> gap 900;       TPOT 100
#   r2 sent 200, TTFT 300, E2E 2200, 11 tokens, chunks 300/2200     -> gap 1900;      TPOT 1900/10 = 190
#   r3 sent 300, failed (no timings)
#   a warm-up request that must be ignored
# duration = 0 -> 200 + 2200 = 2.4 s; RPS = 3 / 2.4 = 1.25; output TPS = 31 / 2.4; errors 1/4 = 25 %.
EXAMPLE = [
    ok(0, 0, 100, 1000, 10, (100, 550, 1000)),
    ok(1, 100, 200, 1100, 10, (200, 1100)),
    ok(2, 200, 300, 2200, 11, (300, 2200)),
    RequestRecord(index=3, scheduled_ms=300, sent_ms=300, ok=False, error_class="http_500"),
    dataclasses.replace(ok(4, -500, 5, 9999, 10, (5, 9999)), warmup=True),
]


def example(run_id: str = "a") -> RunRequests:
    return RunRequests.from_frame(run_id, frame(EXAMPLE), label="example")


def test_run_metrics_of_the_worked_example() -> None:
    m = run_metrics(example())
    assert m["ttft_p50"] == 200
    assert m["ttft_p90"] == pytest.approx(280)  # h = 2 x 0.9 = 1.8 -> 200 + 0.8 x 100
    assert m["tpot_p50"] == 100
    assert m["tpot_p99"] == pytest.approx(188.2)  # 100 + 0.98 x 90
    assert m["itl_p50"] == pytest.approx(675)  # gaps 450, 450, 900, 1900
    assert m["e2e_p50"] == 1100
    assert m["rps"] == pytest.approx(1.25)
    assert m["output_tps"] == pytest.approx(31 / 2.4)
    assert m["error_rate"] == 25.0


def test_run_metrics_equal_the_reference_summary_on_random_data() -> None:
    rng = np.random.default_rng(3)
    recs = []
    for i in range(300):
        n = int(rng.integers(1, 40))
        ttft = float(rng.uniform(50, 500))
        gaps = rng.exponential(20, n - 1)
        chunks = tuple(float(x) for x in ttft + np.concatenate([[0], np.cumsum(gaps)]))
        rec = ok(i, float(i * 7), ttft, chunks[-1], n, chunks)
        if i % 17 == 0:
            rec = dataclasses.replace(rec, ok=False, error_class="timeout")
        recs.append(rec)
    ref = summarize(recs)
    m = run_metrics(RunRequests.from_frame("r", frame(recs)))
    for name in ("ttft", "tpot", "itl", "e2e"):
        stats = getattr(ref, f"{name}_ms")
        for p in (50, 90, 95, 99):
            assert m[f"{name}_p{p}"] == pytest.approx(getattr(stats, f"p{p}"))
    assert m["rps"] == pytest.approx(ref.rps)
    assert m["output_tps"] == pytest.approx(ref.output_tps)
    assert m["error_rate"] == pytest.approx(100 * ref.error_rate)
    slo = Slo(ttft_ms=300, tpot_ms=25, e2e_ms=900)
    res = slo_result(RunRequests.from_frame("r", frame(recs)), slo)
    ref_slo = summarize(recs, SummarySlo(300, 25, 900))
    assert res.attainment == pytest.approx(ref_slo.slo_attainment)
    assert res.goodput_rps == pytest.approx(ref_slo.goodput_rps)


def test_conventions_recompute_tpot_and_itl() -> None:
    run = example()
    guide = run_metrics(run, "guidellm")
    # guidellm TPOT = E2E / N: 100, 110, 200; its ITL = inferlab's TPOT: 100, 100, 190
    assert guide["tpot_p50"] == pytest.approx(110)
    assert guide["itl_p50"] == 100
    assert guide["ttft_p50"] == 200
    aiperf = run_metrics(run, "aiperf")
    assert math.isnan(aiperf["tpot_p50"])
    assert aiperf["itl_p99"] == pytest.approx(188.2)
    assert run_metrics(run, "vllm") == run_metrics(run, "inferlab")
    for conv in CONVENTIONS.values():
        assert conv.tpot_words and conv.itl_words


def test_delta_direction_per_metric() -> None:
    worse = delta(120.0, 100.0, "lower")
    assert (worse.abs, worse.pct, worse.better) == (20.0, 20.0, False)
    better = delta(120.0, 100.0, "higher")
    assert better.better is True
    assert delta(5.0, 5.0, "lower").better is None
    assert math.isnan(delta(1.0, 0.0, "lower").pct)


def test_compare_table_marks_baseline_and_deltas() -> None:
    a = example("a")
    recs_b = [
        dataclasses.replace(r, ttft_ms=r.ttft_ms + 50) if r.ttft_ms is not None else r
        for r in EXAMPLE
    ]
    b = RunRequests.from_frame("b", frame(recs_b), label="slower TTFT")
    table = compare_table([a, b], "a")
    row = table[(table.metric == "ttft_p50") & (table.run_id == "b")].iloc[0]
    assert row.value == 250 and row.baseline == 200
    assert row.abs_delta == 50 and row.pct_delta == 25
    assert not row.is_better
    base_row = table[(table.metric == "ttft_p50") & (table.run_id == "a")].iloc[0]
    assert base_row.abs_delta == 0 and math.isnan(base_row.ci_low)
    assert len(table) == 19 * 2


def test_compare_table_rejects_more_than_12_runs() -> None:
    runs = [example(str(i)) for i in range(13)]
    with pytest.raises(ValueError, match="at most 12"):
        compare_table(runs, "0")


def test_order_statistic_bootstrap_matches_naive_resampling() -> None:
    rng = np.random.default_rng(1)
    sample = np.sort(rng.lognormal(3, 0.7, 60))
    fast = bootstrap_percentiles(sample, 90, 20000, np.random.default_rng(2))
    idx = np.random.default_rng(3).integers(0, sample.size, (20000, sample.size))
    naive = np.percentile(sample[idx], 90, axis=1)
    assert fast.mean() == pytest.approx(naive.mean(), rel=0.01)
    assert fast.std() == pytest.approx(naive.std(), rel=0.05)
    assert np.quantile(fast, 0.025) == pytest.approx(np.quantile(naive, 0.025), rel=0.02)


def test_bootstrap_ci_is_seeded_and_separates_a_real_shift_from_noise() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(200, 20, 2000)
    same = rng.normal(200, 20, 2000)
    lo, hi = bootstrap_delta_ci(base, same, 95)
    assert lo < 0 < hi
    assert bootstrap_delta_ci(base, same, 95) == (lo, hi)
    lo2, hi2 = bootstrap_delta_ci(base, base + 10, 95)
    assert lo2 < 10 < hi2 and lo2 > 0


def test_rate_ci_tells_one_extra_error_from_a_real_error_increase() -> None:
    def run(run_id: str, n: int, failures: int) -> RunRequests:
        recs = [ok(i, i * 100.0, 50.0, 500.0, 10, (50.0, 500.0)) for i in range(n)]
        for i in range(failures):
            recs[i * (n // failures)] = dataclasses.replace(
                recs[i * (n // failures)], ok=False, ttft_ms=None, e2e_ms=None
            )
        return RunRequests.from_frame(run_id, frame(recs))

    table = compare_table([run("a", 80, 1), run("b", 80, 2), run("c", 1000, 50)], "a")
    err = {r["run_id"]: r for r in table[table.metric == "error_rate"].to_dict("records")}
    assert err["b"]["value"] == 2.5 and err["b"]["significant"] is False
    assert err["c"]["value"] == 5.0 and err["c"]["significant"] is True
    assert float(err["c"]["ci_low"]) < 5.0 - 1.25 < float(err["c"]["ci_high"])
    rps = {r["run_id"]: r for r in table[table.metric == "rps"].to_dict("records")}
    assert float(rps["b"]["ci_low"]) < float(rps["b"]["abs_delta"]) < float(rps["b"]["ci_high"])


def test_slo_attainment_goodput_and_misses() -> None:
    res = slo_result(example(), Slo(ttft_ms=250, tpot_ms=150))
    # r0, r1 meet; r2 misses TTFT (300) and TPOT (190); r3 failed
    assert (res.requests, res.met) == (4, 2)
    assert res.attainment == 0.5
    assert res.goodput_rps == pytest.approx(2 / 2.4)
    assert list(res.misses.request) == [2, 3]
    assert list(res.misses.missed) == ["TTFT, TPOT over the limit", "failed: http_500"]


def test_knee_of_a_hockey_stick() -> None:
    # normalised: x 0, .25, .5, .75, 1; y 0, .02, .04, .2, 1 -> distance below y = x is
    # 0, .23, .46, .55, 0 -> the knee is the 4th point
    assert knee_index([10, 20, 30, 40, 50], [10, 11, 12, 20, 60]) == 3
    assert knee_index([1, 2, 3, 4], [1, 2, 3, 4]) is None  # straight line
    assert knee_index([1, 2], [1, 5]) is None  # too few points
    # concave: throughput 55, 105, 176, 275, 395, 398, 395 at log2 load 0..6 -> normalised
    # above-chord distance is largest at the 5th step (load 16), where it stops growing
    tps = [55, 105, 176, 275, 395, 398, 395]
    assert knee_index([0, 1, 2, 3, 4, 5, 6], tps, curve="concave") == 4


def test_sweep_analysis_orders_by_load_and_finds_highest_load_meeting_slo() -> None:
    runs = []
    for load, ttft in ((8, 300.0), (1, 100.0), (4, 150.0), (2, 110.0)):
        recs = [ok(i, i * 10.0, ttft, ttft + 20 * 9 * load, 10, (ttft,)) for i in range(20)]
        runs.append(
            RunRequests.from_frame(f"c{load}", frame(recs), load_value=load, label=f"c={load}")
        )
    sweep = sweep_analysis(runs, Slo(ttft_ms=200))
    assert [p.load_value for p in sweep.points] == [1, 2, 4, 8]
    assert sweep.best_under_slo == 2  # load 4 is the last with TTFT <= 200
    assert [p.meets_slo for p in sweep.points] == [True, True, True, False]
    assert sweep.points[3].tpot_p50_ms == pytest.approx(160)


def test_sweep_knee_is_where_throughput_stops_growing() -> None:
    # one 10-token request per step; E2E chosen so output TPS is 55, 105, ... 395 tokens/s
    runs = []
    for load, tps in zip((1, 2, 4, 8, 16, 32, 64), (55, 105, 176, 275, 395, 398, 395), strict=True):
        e2e = 10_000 / tps
        recs = [ok(0, 0.0, 50.0, e2e, 10, (50.0, e2e))]
        runs.append(RunRequests.from_frame(f"c{load}", frame(recs), load_value=load))
    sweep = sweep_analysis(runs)
    assert [round(p.output_tps) for p in sweep.points] == [55, 105, 176, 275, 395, 398, 395]
    assert sweep.knee is not None and sweep.points[sweep.knee].load_value == 16
    assert sweep.best_under_slo is None  # no SLO set


def _tps_sweep(loads: tuple[int, ...], tps: tuple[float, ...]) -> list[RunRequests]:
    runs = []
    for load, t in zip(loads, tps, strict=True):
        e2e = 10_000 / t
        recs = [ok(0, 0.0, 50.0, e2e, 10, (50.0, e2e))]
        runs.append(RunRequests.from_frame(f"c{load}", frame(recs), load_value=load))
    return runs


def test_no_knee_while_more_load_still_adds_much_throughput() -> None:
    """Issue 16: "Knee at load 4 (180 tokens/s): beyond it more load adds little
    throughput" while load 16 gave 294 tokens/s (+63%). A knee needs the gain beyond it
    to be small (at most KNEE_MAX_GAIN)."""
    sweep = sweep_analysis(_tps_sweep((1, 4, 16), (52, 180, 294)))
    assert knee_index([0, 2, 4], [52, 180, 294], curve="concave") == 1  # Kneedle's bend
    assert sweep.knee is None
    head, rest = sweep.knee_sentence()
    assert head == "No knee" and "+63% from concurrency 4 to concurrency 16" in rest
    # flat beyond: a knee, and the sentence says how little throughput lies beyond it
    flat = sweep_analysis(_tps_sweep((1, 4, 16), (52, 180, 190)))
    assert flat.knee == 1
    head, rest = flat.knee_sentence()
    assert head == "Knee" and "grows only 6% (at most 190 tokens/s, at concurrency 16)" in rest


def test_confirmed_knee_moves_to_the_first_step_with_little_gain_beyond() -> None:
    assert pytest.approx(0.15) == KNEE_MAX_GAIN
    assert confirmed_knee([100, 180, 294, 300], 1) == 2  # 300 is within 15% of 294
    assert confirmed_knee([100, 180, 294], 1) is None  # only the last step is left
    assert confirmed_knee([100, 180, 200], None) is None
    assert confirmed_knee([100, 200, 225, 220], 1) == 1  # +12.5% beyond: still a knee


def test_little_law_agrees_when_all_requests_complete_and_flags_held_slots() -> None:
    check = little_check(example())
    # in flight: 1000 + 1100 + 2200 = 4300 ms over 2400 ms; RPS x mean E2E is the same
    assert check.measured_concurrency == pytest.approx(4300 / 2400)
    assert check.little_concurrency == pytest.approx(4300 / 2400)
    assert check.agrees
    held = [*EXAMPLE[:3], dataclasses.replace(EXAMPLE[3], e2e_ms=2000.0)]
    check2 = little_check(RunRequests.from_frame("h", frame(held)))
    assert check2.measured_concurrency == pytest.approx(6300 / 2400)
    assert not check2.agrees and "disagree" in check2.message


def test_little_law_flags_client_that_cannot_keep_configured_concurrency() -> None:
    run = RunRequests.from_frame("c", frame(EXAMPLE[:3]), load_mode="concurrency", load_value=16)
    check = little_check(run)
    assert check.short_of_target and "client overload" in check.message


def test_little_law_blames_the_tail_not_the_client_when_slots_stayed_busy() -> None:
    # Closed loop, 2 slots, 5 requests of 1000 ms: two waves of 2, then one request alone.
    recs = [
        ok(i, sent, 100.0, 1000.0, 10, (100.0, 1000.0))
        for i, sent in enumerate([0.0, 0.0, 1000.0, 1000.0, 2000.0])
    ]
    run = RunRequests.from_frame("t", frame(recs), load_mode="concurrency", load_value=2)
    check = little_check(run)
    assert check.measured_concurrency == pytest.approx(5000 / 3000)  # below 2 ...
    assert not check.short_of_target  # ... only because of the tail
    assert "tail" in check.message and "client overload" not in check.message
    # the table cell must not just say "ok" next to text that calls the shortfall a problem
    assert check.below_configured_in_tail
    assert check.verdict == "ok (below configured only in the tail)"


def test_little_law_verdict_words() -> None:
    assert little_check(example()).verdict == "ok"
    run = RunRequests.from_frame("c", frame(EXAMPLE[:3]), load_mode="concurrency", load_value=16)
    assert little_check(run).verdict == "below configured: client overload"


def test_run_names_make_shared_labels_unique() -> None:
    runs = [
        RunRequests.from_frame(f"r{c}", frame(EXAMPLE), label="sweep", load_value=c)
        for c in (1, 4, 16)
    ]
    runs.append(RunRequests.from_frame("solo", frame(EXAMPLE), label="baseline", load_value=8))
    runs.append(RunRequests.from_frame("twin", frame(EXAMPLE), label="sweep", load_value=16))
    names = run_names(runs)
    assert names["r1"] == "sweep · c=1" and names["r4"] == "sweep · c=4"
    assert names["solo"] == "baseline"
    assert names["r16"] == "sweep · c=16 (r16)" and names["twin"] == "sweep · c=16 (twin)"
    assert len(set(names.values())) == len(names)


def test_fail_on_parsing_and_evaluation() -> None:
    conds = parse_conditions("ttft_p95>+10%, error_rate>1%,e2e_p99>+0.5s,error_rate>+2pp")
    assert [(c.metric, c.kind, c.threshold) for c in conds] == [
        ("ttft_p95", "relative", 10.0),
        ("error_rate", "level", 1.0),
        ("e2e_p99", "absolute_delta", 500.0),
        ("error_rate", "absolute_delta", 2.0),
    ]
    base = {"ttft_p95": 200.0, "error_rate": 0.5, "e2e_p99": 1000.0}
    cand = {"ttft_p95": 221.0, "error_rate": 0.5, "e2e_p99": 1400.0}
    results = evaluate_conditions(conds, cand, base)
    assert [r.tripped for r in results] == [True, False, False, False]
    assert results[0].observed == pytest.approx(10.5)
    assert results[0].describe() == "FAIL: ttft_p95 changed +10.5% (condition ttft_p95>+10%)"


def test_conditions_within_noise_do_not_trip_when_significance_is_given() -> None:
    conds = parse_conditions("ttft_p95>+10%,error_rate>1%")
    base = {"ttft_p95": 200.0, "error_rate": 0.0}
    cand = {"ttft_p95": 240.0, "error_rate": 2.0}
    res = evaluate_conditions(conds, cand, base, {"ttft_p95": False, "error_rate": False})
    assert [r.tripped for r in res] == [False, True]  # a level condition ignores noise
    assert res[0].within_noise and "within noise" in res[0].describe()
    res = evaluate_conditions(conds, cand, base, {"ttft_p95": True, "error_rate": None})
    assert [r.tripped for r in res] == [True, True]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ttft_p42>+10%", "unknown metric 'ttft_p42'"),
        ("ttft_p95 grows", "cannot read condition"),
        ("ttft_p95>10%", "only error_rate is a percentage"),
        ("rps>+5ms", "not a time"),
        ("", "empty"),
    ],
)
def test_fail_on_errors_name_the_bad_part(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_conditions(text)


def test_missing_value_trips_the_gate() -> None:
    (cond,) = parse_conditions("tpot_p95>+10%")
    assert cond.evaluate(math.nan, 10.0)[0]


def test_changes_under_one_percent_are_negligible() -> None:
    from inferlab.compare import negligible

    assert negligible(0.4) and negligible(-0.99)
    assert not negligible(1.0) and not negligible(-2.3)
    assert not negligible(float("nan"))


def test_stored_rows_get_the_same_names_as_loaded_runs() -> None:
    """The Quality page names runs from store rows; the Runs page from loaded runs: the
    same run must have the same name on both (one naming function)."""
    from inferlab.quality.runs import run_names as row_names

    specs = [("r1", "sweep", 1.0), ("r4", "sweep", 4.0), ("a", "", None), ("t", "sweep", 4.0)]
    rows = [
        {"run_id": rid, "label": label, "load_mode": "concurrency", "load_value": load}
        for rid, label, load in specs
    ]
    runs = [
        RunRequests.from_frame(
            rid,
            frame(EXAMPLE),
            label=label,
            load_mode="concurrency",
            load_value=load if load is not None else math.nan,
        )
        for rid, label, load in specs
    ]
    assert row_names(rows) == run_names(runs)
    assert row_names(rows)["r4"] == "sweep · c=4 (r4)" and row_names(rows)["a"] == "a"
