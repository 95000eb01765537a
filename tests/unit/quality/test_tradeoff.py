import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferlab.quality import (
    METRICS,
    Candidate,
    Constraints,
    QualityOutput,
    SatisfactionModel,
    best_option,
    compare_to_baseline,
    consistency,
    exact_match,
    first_dominators,
    metric_value,
    normalize_answer,
    pareto_front,
    rouge_l,
    score_outputs,
    violations,
)

# ---------------------------------------------------------------- Pareto front


def brute_force_front(points: list[tuple[float, ...]], senses: list[str]) -> list[bool]:
    def better_or_equal(a: float, b: float, sense: str) -> bool:
        return a >= b if sense == "max" else a <= b

    def strictly_better(a: float, b: float, sense: str) -> bool:
        return a > b if sense == "max" else a < b

    out = []
    for i, p in enumerate(points):
        dominated = False
        for j, q in enumerate(points):
            if i == j:
                continue
            if all(
                better_or_equal(qk, pk, s) for qk, pk, s in zip(q, p, senses, strict=True)
            ) and any(strictly_better(qk, pk, s) for qk, pk, s in zip(q, p, senses, strict=True)):
                dominated = True
        out.append(not dominated)
    return out


coords = st.integers(min_value=-5, max_value=5).map(float)  # small range: many ties


@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda d: st.tuples(
            st.lists(st.tuples(*[coords] * d), min_size=0, max_size=25),
            st.lists(st.sampled_from(["max", "min"]), min_size=d, max_size=d),
        )
    )
)
def test_pareto_front_matches_brute_force(case: tuple[list[tuple[float, ...]], list[str]]) -> None:
    points, senses = case
    assert pareto_front(points, senses) == brute_force_front(points, senses)  # type: ignore[arg-type]


@given(st.lists(st.tuples(coords, coords), min_size=1, max_size=20))
def test_every_dominated_point_names_an_optimal_dominator(
    points: list[tuple[float, float]],
) -> None:
    senses = ["min", "max"]
    front = pareto_front(points, senses)  # type: ignore[arg-type]
    for i, j in enumerate(first_dominators(points, senses)):  # type: ignore[arg-type]
        if front[i]:
            assert j is None
        else:
            assert j is not None and front[j]
            (x, y), (dx, dy) = points[i], points[j]
            assert dx <= x and dy >= y and (dx, dy) != (x, y)


def test_pareto_front_hand_example_cost_against_quality() -> None:
    # (cost $, quality %): B costs more for less quality than A; C and D are copies.
    pts = [(0.05, 80.0), (0.06, 75.0), (0.01, 70.0), (0.01, 70.0), (0.08, 90.0)]
    assert pareto_front(pts, ["min", "max"]) == [True, False, True, True, True]
    assert first_dominators(pts, ["min", "max"])[1] == 0


def test_pareto_front_rejects_missing_values_and_wrong_width() -> None:
    with pytest.raises(ValueError, match="missing or infinite"):
        pareto_front([(1.0, math.nan)], ["min", "min"])
    with pytest.raises(ValueError, match="2 values for 3 criteria"):
        pareto_front([(1.0, 2.0)], ["min", "min", "max"])


# ---------------------------------------------------------------- candidates

BASE = Candidate("Base", 80.0, 1200.0, 80.0, 50, cost_per_request_usd=0.05)
SMALL = Candidate("Small", 70.0, 400.0, 30.0, 50, cost_per_request_usd=0.01)
GPU = Candidate("GPU", 80.0, 600.0, 40.0, 50, cost_per_request_usd=0.08)


def test_candidate_derives_latency_and_cost() -> None:
    assert BASE.total_latency_s == pytest.approx(5.2)  # 1.2 + 0.08 x 50
    priced = Candidate("P", ttft_ms=100, tpot_ms=10, output_tokens=500, price_per_mtok_usd=2.0)
    assert priced.cost_usd == pytest.approx(0.001)  # 2 $ x 500 / 1e6
    assert priced.slo_latency_s == pytest.approx(5.1)
    assert priced.latency_basis == "typical" and "not a p95" in priced.latency_note
    measured = Candidate("M", ttft_ms=100, tpot_ms=10, output_tokens=500, p95_latency_s=7.5)
    assert measured.slo_latency_s == 7.5 and measured.latency_basis == "p95"
    assert Candidate("X").latency_basis is None
    assert Candidate("X").total_latency_s is None and Candidate("X").cost_usd is None


def test_metric_value_covers_every_metric() -> None:
    model = SatisfactionModel()
    for key in METRICS:
        metric_value(BASE, key, model)
    assert metric_value(BASE, "satisfaction_pct", None) is None
    with pytest.raises(KeyError):
        metric_value(BASE, "nope")


# ---------------------------------------------------------------- satisfaction


def test_satisfaction_hand_worked_exercise_numbers() -> None:
    m = SatisfactionModel(
        85.0, 5.2, 80.0, pct_per_s=3.0, fast_enough_s=2.0, pct_per_quality_pct=1.0
    )
    assert m.expected_pct(BASE) == pytest.approx(85.0)
    # 1.9 s is below "fast enough" (2 s): 3 x (5.2 - 2.0) = 9.6 gained, 10 quality points lost.
    assert m.expected_pct(SMALL) == pytest.approx(84.6)
    # 2.6 s: 3 x 2.6 = 7.8 gained.
    assert m.expected_pct(GPU) == pytest.approx(92.8)
    # Small ties the baseline when 3.2 s saved are worth the 10 points: 10 / 3.2 = 3.125 per s.
    assert m.breakeven_pct_per_s(SMALL) == pytest.approx(3.125)
    assert m.breakeven_pct_per_s(GPU) is None  # no trade: faster and as good
    flipped = SatisfactionModel(85.0, 5.2, 80.0, pct_per_s=3.125, fast_enough_s=2.0)
    assert flipped.expected_pct(SMALL) == pytest.approx(85.0)


def test_satisfaction_is_clipped_and_skips_unknown_quality() -> None:
    m = SatisfactionModel(95.0, 10.0, None, pct_per_s=10.0, fast_enough_s=0.0)
    assert m.expected_pct(Candidate("fast", None, 0.0, 0.0, 1)) == 100.0
    assert m.expected_pct(Candidate("slow", 0.0, 60_000.0, 0.0, 1)) == 0.0
    assert m.expected_pct(Candidate("?")) is None
    assert "unknown" in m.describe()
    assert "3 percentage points" in SatisfactionModel().describe()


def test_compare_to_baseline_explains_without_picking() -> None:
    m = SatisfactionModel(85.0, 5.2, 80.0, pct_per_s=3.0, fast_enough_s=2.0)
    text = compare_to_baseline(SMALL, BASE, m)
    assert "3.3 s faster" in text and "$0.04 cheaper" in text and "10 quality points worse" in text
    assert "84.6%" in text and "more than 3.12" in text
    gpu = compare_to_baseline(GPU, BASE, m)
    assert "$0.03 dearer" in gpu and "+7.8 points" in gpu
    # 0.03 $ / 7.8 points x 1000 = 3.85 $ per point per 1,000 requests
    assert "costs $3.85 per 1,000 requests" in gpu
    # satisfaction is a share of requests: the cost is per satisfied request, not user
    assert "Cost per satisfied request: $" in gpu and "satisfied user" not in gpu
    assert "baseline" in compare_to_baseline(BASE, BASE, m)


# ---------------------------------------------------------------- constraints


def test_violations_name_each_failed_limit() -> None:
    c = Constraints(min_quality_pct=75, max_p95_latency_s=5, max_cost_usd=0.06)
    assert violations(SMALL, c) == ["quality 70% < 75%"]
    assert violations(BASE, c) == ["typical latency 5.2 s > 5 s (no p95 known)"]
    slow_tail = Candidate("T", 80.0, 400.0, 30.0, 50, p95_latency_s=6.0)
    assert violations(slow_tail, c)[0] == "p95 6 s > 5 s"  # the p95, not the typical 1.9 s
    assert violations(GPU, c) == ["cost $0.08 > $0.06"]
    assert violations(Candidate("?"), c) == ["quality unknown", "latency unknown", "cost unknown"]
    assert violations(Candidate("?"), Constraints()) == []


def test_best_option_gives_reason_and_ruled_out() -> None:
    m = SatisfactionModel()
    choice = best_option([BASE, SMALL, GPU], Constraints(max_cost_usd=0.06), "satisfaction_pct", m)
    assert choice.best == "Base"
    assert "Of the 2 options that meet cost ≤ $0.06 per request" in choice.reason
    assert "highest expected satisfaction (85.0%)" in choice.reason
    assert "runner-up, Small, has 84.6%" in choice.reason
    assert "GPU (cost $0.08 > $0.06)" in choice.reason
    cheapest = best_option([BASE, SMALL, GPU], Constraints(), "cost_per_request_usd", m)
    assert cheapest.best == "Small" and "lowest cost per request ($0.01)" in cheapest.reason


def test_best_option_breaks_ties_and_reports_none() -> None:
    twin = Candidate("Twin", 80.0, 1200.0, 80.0, 50, cost_per_request_usd=0.04)
    choice = best_option([BASE, twin], Constraints(), "quality_pct")
    assert choice.best == "Twin" and "tie is broken by cost per request" in choice.reason
    none = best_option([BASE, SMALL], Constraints(min_quality_pct=99), "quality_pct")
    assert none.best is None and "No option meets quality ≥ 99%" in none.reason
    assert "Small: quality 70% < 99%" in none.reason
    assert best_option([], Constraints(), "quality_pct").best is None
    unknown = best_option([Candidate("X", 90.0)], Constraints(), "cost_per_request_usd")
    assert unknown.best is None and "cost per request unknown" in unknown.reason


# ---------------------------------------------------------------- answer scores


def test_normalize_and_exact_match() -> None:
    assert normalize_answer("  The  Eiffel Tower! ") == "eiffel tower"
    assert exact_match("Paris.", "paris")
    assert exact_match("an apple", "Apple")
    assert exact_match("Brasilia", "Brasília")
    assert not exact_match("The answer is 42.", "42")
    assert not exact_match("3.5", "35")  # decimal points survive normalisation
    assert exact_match("1,000 m.", "1000 m")
    assert not exact_match("-3.25", "3.25")  # the sign survives normalisation


def test_rouge_l_hand_worked() -> None:
    # LCS of "the cat sat on the mat" / "the cat was sitting on a mat": the cat sit on mat = 5
    # (stemmed "sat" != "sit", so: the cat on mat = 4). P = 4/7, R = 4/6, F = 2PR/(P+R) = 8/13.
    assert rouge_l("the cat was sitting on a mat", "the cat sat on the mat") == pytest.approx(
        8 / 13
    )
    assert rouge_l("Paris", "paris.") == 1.0
    assert rouge_l("", "Paris") == 0.0
    assert rouge_l("Berlin", "Paris") == 0.0


def test_consistency_hand_worked() -> None:
    same, sim = consistency(["Paris", "paris.", "Paris"])
    assert same == 1.0 and sim == 1.0
    same, sim = consistency(["a b", "a b", "c d"])
    # modal answer "b" (articles dropped) twice of 3; pairs: (ab,ab)=1, (ab,cd)=0, (ab,cd)=0
    assert same == pytest.approx(2 / 3) and sim == pytest.approx(1 / 3)
    assert consistency(["x"]) == (1.0, None)
    with pytest.raises(ValueError):
        consistency([])


def out(
    pid: str, rep: int, temp: float, text: str | None, ok: bool = True, err: str | None = None
) -> QualityOutput:
    return QualityOutput(pid, rep, temp, f"q {pid}", {"p1": "4", "p2": "Paris"}[pid], text, ok, err)


def test_score_outputs_per_temperature() -> None:
    outputs = [
        out("p1", 0, 0.0, "4"),
        out("p1", 1, 0.0, "4"),
        out("p2", 0, 0.0, "Paris"),
        out("p2", 1, 0.0, "Lyon"),
        out("p1", 0, 1.0, "5"),
        out("p1", 1, 1.0, None, ok=False, err="http_500"),
        out("p2", 0, 1.0, "  "),
        out("p2", 1, 1.0, "Paris"),
    ]
    report = score_outputs(outputs)
    t0, t1 = report.by_temperature
    assert (t0.temperature, t0.requests, t0.failed, t0.answered) == (0.0, 4, 0, 4)
    assert t0.exact_match == pytest.approx(3 / 4)
    assert t0.rouge_l == pytest.approx(3 / 4)
    # p1: both "4" -> 1.0; p2: Paris/Lyon -> 0.5; mean 0.75
    assert t0.identical_share == pytest.approx(0.75)
    assert t0.pairwise_similarity == pytest.approx(0.5)
    assert t0.error_rate == 0.0 and t0.failure_classes == {}
    assert (t1.requests, t1.failed, t1.answered) == (4, 2, 2)
    assert t1.error_rate == 0.5
    assert t1.failure_classes == {"http_500": 1, "empty_answer": 1}
    assert t1.exact_match == pytest.approx(1 / 2)  # "5" wrong, "Paris" right
    assert t1.identical_share is None  # no prompt has two answers at T = 1
    assert report.overall_exact_match == pytest.approx(4 / 6)
    p2_t0 = next(r for r in report.per_prompt if r["prompt_id"] == "p2" and r["temperature"] == 0.0)
    assert p2_t0["exact_match"] == 0.5 and p2_t0["identical_share"] == 0.5


def test_exact_match_keeps_the_sign_of_numbers() -> None:
    from inferlab.quality import exact_match, normalize_answer

    assert not exact_match("-3.25", "3.25")
    assert exact_match(" -3.25.", "-3.25")
    assert normalize_answer("well-known -5") == "wellknown -5"


# ---------------------------------------------------------------- what the Quality page tabulates


def test_pareto_optimal_names_only_complete_undominated_options() -> None:
    from inferlab.quality.tradeoff import pareto_optimal

    good = Candidate("good", quality_pct=90, p95_latency_s=1.0, cost_per_request_usd=0.01)
    worse = Candidate("worse", quality_pct=80, p95_latency_s=2.0, cost_per_request_usd=0.02)
    cheap = Candidate("cheap", quality_pct=70, p95_latency_s=1.0, cost_per_request_usd=0.001)
    unknown = Candidate("unknown", quality_pct=99)
    complete, optimal = pareto_optimal([good, worse, cheap, unknown])
    assert [c.name for c in complete] == ["good", "worse", "cheap"]
    assert optimal == {"good", "cheap"}


def test_unplotted_lists_options_missing_a_value_on_either_axis() -> None:
    from inferlab.quality.tradeoff import unplotted

    a = Candidate("a", quality_pct=90, cost_per_request_usd=0.01)
    b = Candidate("b", quality_pct=90)
    assert unplotted([a, b], "cost_per_request_usd", "quality_pct", None) == ["b"]
    assert unplotted([a], "satisfaction_pct", "quality_pct", None) == ["a"]  # no model


def test_satisfaction_rows_compare_every_option_with_the_baseline() -> None:
    from inferlab.quality.tradeoff import satisfaction_rows

    base = Candidate(
        "A", quality_pct=80, ttft_ms=1200, tpot_ms=80, output_tokens=50, cost_per_request_usd=0.05
    )
    fast = Candidate(
        "B", quality_pct=70, ttft_ms=200, tpot_ms=20, output_tokens=50, cost_per_request_usd=0.08
    )
    model = SatisfactionModel(85.0, 5.2, 80.0, pct_per_s=3.0, fast_enough_s=2.0)
    a, b = satisfaction_rows([base, fast], base, model)
    assert a.delta_cost_per_1k_usd == 0 and a.delta_satisfaction_pct == 0
    assert a.usd_per_satisfied_request == pytest.approx(0.05 / 0.85)
    # B: 1.2 s total -> capped at 2 s: +3 x 3.2 points; 10 quality points below: -10
    assert b.total_latency_s == pytest.approx(1.2)
    assert b.satisfaction_pct == pytest.approx(85 + 9.6 - 10)
    assert b.delta_cost_per_1k_usd == pytest.approx(30.0)
    assert b.breakeven_pct_per_s == pytest.approx(10 / 3.2)
    no_cost = satisfaction_rows(
        [Candidate("C", ttft_ms=1, tpot_ms=1, output_tokens=1)], base, model
    )
    assert no_cost[0].usd_per_satisfied_request is None and no_cost[0].delta_cost_per_1k_usd is None


def test_a_p95_limit_met_only_by_a_typical_estimate_says_so() -> None:
    # The limit is a p95; an option without one passes on its typical latency,
    # which a p95 exceeds: the reason must not present that as a met p95.
    m = SatisfactionModel()
    limit = Constraints(max_p95_latency_s=5.0)
    choice = best_option([BASE, SMALL, GPU], limit, "satisfaction_pct", m)
    assert "No p95 is known for GPU and Small" in choice.reason
    assert "checked against the typical TTFT + TPOT × N" in choice.reason
    measured = Candidate("M", 80.0, 600.0, 40.0, 50, 3.0, cost_per_request_usd=0.08)
    only = best_option([measured], limit, "satisfaction_pct", m)
    assert only.best == "M" and "No p95 is known" not in only.reason
    assert "No p95 is known" not in best_option([BASE, GPU], Constraints(), "quality_pct").reason


def test_an_option_missing_values_others_have_is_never_best() -> None:
    # a stored run: fast (so top expected satisfaction) but quality and cost unknown
    run = Candidate("run c4", None, 102.5, 4.2, 32, p95_latency_s=0.42)
    m = SatisfactionModel()
    choice = best_option([BASE, SMALL, GPU, run], Constraints(), "satisfaction_pct", m)
    assert choice.best == "GPU"
    assert "run c4 (quality, cost unknown, so it cannot be compared)" in choice.reason
    # a criterion no option has does not rule anyone out
    alone = best_option([Candidate("A", 80.0, 100, 10, 50)], Constraints(), "quality_pct")
    assert alone.best == "A"
    only_runs = [run, Candidate("run c1", None, 90.0, 4.0, 32, p95_latency_s=0.3)]
    assert best_option(only_runs, Constraints(), "p95_latency_s").best == "run c1"


def test_unknown_values_keep_the_baseline_comparison_from_claiming_dominance() -> None:
    run = Candidate("run c4", None, 102.5, 4.2, 32, p95_latency_s=0.42)
    text = compare_to_baseline(run, BASE, SatisfactionModel())
    assert "dominates" not in text.replace("whether either option dominates", "")
    assert "no worse on what is known" in text
    assert "Unknown: cost, quality, so whether either option dominates cannot be said" in text
    assert "from latency alone (quality unknown)" in text
