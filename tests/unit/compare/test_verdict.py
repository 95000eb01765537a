"""The comparison verdict: one sentence per run, and what to do when no run meets the SLO."""

from __future__ import annotations

import numpy as np
import pandas as pd

from inferlab.compare import RunRequests, Slo, compare_table, little_check, run_names, slo_result
from inferlab.compare.verdict import change_kind, comparison_verdict, first_wave_share, next_step


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
    assert "throughput +75%" in c16.sentence
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
