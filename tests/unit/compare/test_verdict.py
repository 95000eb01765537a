"""The comparison verdict: one sentence per run, and what to do when no run meets the SLO."""

from __future__ import annotations

import numpy as np
import pandas as pd

from inferlab.compare import RunRequests, Slo, compare_table, little_check, run_names, slo_result
from inferlab.compare.verdict import (
    change_kind,
    comparison_verdict,
    first_wave_share,
    next_step,
    setup_notes,
)


def closed_loop(
    run_id: str, concurrency: int, waves: int, e2e_ms: float, tokens: int, first_ttft_ms: float
) -> RunRequests:
    """`waves` waves of `concurrency` requests, each `e2e_ms` long; TTFT 100 ms with tiny
    jitter, except the first wave's (`first_ttft_ms`: a cold start)."""
    rng = np.random.default_rng(7)
    rows = []
    for w in range(waves):
        for k in range(concurrency):
            ttft = first_ttft_ms if w == 0 else 100.0 + rng.normal(0, 2)
            rows.append(
                {
                    "index": w * concurrency + k,
                    "scheduled_ms": w * e2e_ms,
                    "sent_ms": w * e2e_ms,
                    "ok": True,
                    "ttft_ms": ttft,
                    "e2e_ms": e2e_ms,
                    "output_tokens": tokens,
                    "chunk_offsets_ms": [ttft, e2e_ms],
                }
            )
    return RunRequests.from_frame(
        run_id, pd.DataFrame(rows), label="sweep", load_mode="concurrency", load_value=concurrency
    )


BASE = closed_loop("c4", 4, 20, 1000.0, 100, 100.0)
C16 = closed_loop("c16", 16, 10, 1000.0 * 16 / 4 / 1.75, 100, 900.0)  # 1.75x throughput


def verdicts(slo: Slo | None = None, target: float = 95.0) -> list:  # type: ignore[type-arg]
    runs = [BASE, C16]
    table = compare_table(runs, "c4", resamples=300)
    return comparison_verdict(
        table,
        runs,
        "c4",
        run_names(runs),
        slo_results={r.run_id: slo_result(r, slo) for r in runs} if slo else None,
        slo_target_pct=target,
        little={r.run_id: little_check(r) for r in runs},
    )


def test_change_kinds() -> None:
    assert change_kind(None, 0.0, True, None) == "same"
    assert change_kind(True, 30.0, True, False) == "noise"
    assert change_kind(False, 0.5, False, None) == "negligible"
    assert change_kind(True, 30.0, True, True) == "better"
    assert change_kind(False, 30.0, False, None) == "worse"


def test_sentence_names_what_changed_beyond_noise() -> None:
    base, c16 = verdicts()
    assert base.is_baseline and base.sentence == "sweep · c=4: the baseline."
    assert c16.name == "sweep · c=16"
    assert "output tokens/s +75%" in c16.sentence
    assert c16.meets_slo is None and "SLO" not in c16.sentence


def test_first_wave_misses_are_named_and_the_next_step_says_warm_up() -> None:
    base, c16 = verdicts(Slo(ttft_ms=500.0))
    assert base.meets_slo and "meets the 95% SLO (100.0% of requests)" in base.sentence
    # c16's first wave (16 of 160 requests) all missed on TTFT: 90% attainment
    assert c16.meets_slo is False
    assert "fails the 95% SLO (90.0% of requests), 100% of its misses in its first wave" in (
        c16.sentence
    )
    assert next_step([base, c16]) is None  # the baseline meets it


def test_no_run_meets_the_slo_says_what_to_do() -> None:
    _, c16 = verdicts(Slo(ttft_ms=50.0))  # every request misses TTFT
    advice = next_step([c16])
    assert advice is not None and advice.startswith("No run meets the 95% SLO")
    assert "lower the concurrency" in advice


def test_first_wave_share_needs_a_closed_loop_run() -> None:
    misses = pd.DataFrame({"request": [0, 1, 50], "missed": ["TTFT over the limit"] * 3})
    assert first_wave_share(C16, misses) == 2 / 3
    rate = RunRequests.from_frame("r", pd.DataFrame({"sent_ms": [0.0]}), load_mode="rate")
    assert first_wave_share(rate, misses) is None


def _judge(runs: list[RunRequests], slo: Slo) -> list:  # type: ignore[type-arg]
    table = compare_table(runs, runs[0].run_id, resamples=200)
    return comparison_verdict(
        table,
        runs,
        runs[0].run_id,
        run_names(runs),
        slo_results={r.run_id: slo_result(r, slo) for r in runs},
    )


def test_no_run_meets_the_slo_at_the_lightest_load_says_the_target_is_too_tight() -> None:
    """Issue 16: "closest is sweep · c=1 at 0.0% … lower the concurrency" though c=1 is
    the lowest load and its TTFT the server's floor."""
    c1 = closed_loop("c1", 1, 40, 1000.0, 100, 100.0)  # TTFT ~100 ms, unloaded
    c4 = closed_loop("c4", 4, 10, 1500.0, 100, 100.0)
    slo = Slo(ttft_ms=50.0)
    advice = next_step(_judge([c1, c4], slo), 95.0, slo)
    assert advice is not None
    assert "The closest is sweep · c=1 at 0.0%" in advice
    assert "already ran at the lightest load (concurrency 1)" in advice
    assert "the 50 ms TTFT limit is below what this server does unloaded" in advice
    assert "lower the concurrency" not in advice
    assert "loosen the TTFT limit to at least 10" in advice  # ~103 ms: its p95
    assert "faster model or hardware" in advice


def test_lightest_compared_load_above_one_says_measure_lower_first() -> None:
    c4 = closed_loop("c4", 4, 10, 1500.0, 100, 100.0)
    c16 = closed_loop("c16", 16, 5, 3000.0, 100, 100.0)
    slo = Slo(ttft_ms=50.0)
    advice = next_step(_judge([c4, c16], slo), 95.0, slo)
    assert advice is not None
    assert "already the lightest load compared (concurrency 4): measure at concurrency 1" in (
        advice
    )


def shaped(run_id: str, model: str, output_tokens: int, input_tokens: int | None) -> RunRequests:
    frame = pd.DataFrame(
        {
            "sent_ms": [0.0, 10.0, 20.0],
            "ok": [True, True, False],
            "ttft_ms": [100.0, 110.0, None],
            "e2e_ms": [900.0, 950.0, None],
            # the failed request's lengths must not count
            "output_tokens": [output_tokens, output_tokens, 10_000],
            "input_tokens": [input_tokens, input_tokens, 10_000],
        }
    )
    return RunRequests.from_frame(run_id, frame, meta={"model": model})


def test_setup_notes_name_a_different_model_and_lengths_beyond_15_percent() -> None:
    base = shaped("a", "llama-8b", 128, 500)
    alike = shaped("b", "llama-8b", 140, 540)  # within 15%: not worth a note
    assert setup_notes([base, alike], "a", {"a": "A", "b": "B"}) == []
    other = shaped("c", "qwen-32b", 512, 2000)
    notes = setup_notes([base, alike, other], "a", {"a": "A", "b": "B", "c": "C"})
    assert notes == [
        "Different models: the baseline A ran llama-8b, C ran qwen-32b; every difference "
        "includes the model's.",
        "Different answers: 128 tokens on average in the baseline A, 512 in C; compare TPOT "
        "and TTFT; E2E and requests/s follow the length.",
        "Different prompts: 500 tokens on average in the baseline A, 2,000 in C; TTFT grows "
        "with the prompt (prefill).",
    ]


def test_setup_notes_say_nothing_where_a_run_does_not_know() -> None:
    base = shaped("a", "", 128, None)  # imported: no model name, no prompt lengths
    other = shaped("b", "qwen-32b", 128, 2000)
    assert setup_notes([base, other], "a", {}) == []
    assert setup_notes([base], "a", {}) == []


def test_setup_notes_name_another_endpoint() -> None:
    def at(run_id: str, endpoint: str) -> RunRequests:
        run = shaped(run_id, "m", 128, 500)
        return RunRequests.from_frame(
            run_id,
            pd.DataFrame({"ok": run.ok, "output_tokens": run.output_tokens}),
            meta={"model": "m", "endpoint": endpoint},
        )

    same = [at("a", "http://h:8000/v1"), at("b", "http://h:8000/v1/")]  # a slash is no change
    assert setup_notes(same, "a", {}) == []
    other = [at("a", "http://h:8000/v1"), at("c", "http://other:8000/v1")]
    assert setup_notes(other, "a", {"a": "A", "c": "C"}) == [
        "Different endpoints: the baseline A probed http://h:8000/v1, C http://other:8000/v1; "
        "every difference includes the server's (its hardware, engine or settings), not "
        "only the load."
    ]
