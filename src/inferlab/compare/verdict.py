"""A verdict at the top of every comparison: one sentence per run, and what to do next.

Built from the comparison table (:func:`inferlab.compare.runs.compare_table`), the SLO
results and the Little's-law checks, so the page, `inferlab compare` and the HTML
report say the same thing: what changed beyond noise, whether the run meets the SLO
(and where it misses: its first wave, or which limit), and what limits it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from inferlab.compare.runs import (
    NEGLIGIBLE_PCT,
    LittleCheck,
    RunRequests,
    Slo,
    SloResult,
    load_phrase,
    negligible,
)
from inferlab.metrics.percentile import percentile
from inferlab.server.run import OTHER_TRAFFIC_KEY

__all__ = [
    "ChangeKind",
    "RunVerdict",
    "change_kind",
    "comparison_verdict",
    "first_wave_share",
    "next_step",
    "setup_notes",
    "shared_servers",
]

# Mean prompt or answer lengths further apart than this (relative to the baseline's) make
# latency and request rates differ for that reason alone.
LENGTH_TOLERANCE = 0.15

ChangeKind = Literal["same", "noise", "negligible", "better", "worse"]
# The metrics a sentence talks about, with the words it uses for them.
HEADLINE: tuple[tuple[str, str], ...] = (
    ("output_tps", "output tokens/s"),  # not "throughput": requests/s is one too
    ("ttft_p95", "TTFT p95"),
    ("tpot_p95", "TPOT p95"),
    ("e2e_p95", "E2E p95"),
    ("error_rate", "error rate"),
)
# Always said when unchanged within noise: what a reader looks for first.
ALWAYS_SAID = ("output_tps", "ttft_p95")
ADVICE = {
    "failed": "fix the failing requests first (see the error classes)",
    "TTFT": "TTFT misses point at queueing or prefill: lower the concurrency or add replicas",
    "TPOT": "TPOT misses point at decoding slowing with the batch: lower the concurrency, "
    "or use a faster GPU or a smaller model",
    "E2E": "E2E misses: shorten answers (max tokens) or lower the concurrency",
}


def change_kind(
    is_better: bool | None, pct_delta: float, has_ci: bool, significant: bool | None
) -> ChangeKind:
    """How one metric moved against the baseline (the CLI's Verdict column, the sentences)."""
    if is_better is None:
        return "same"
    if has_ci and not significant:
        return "noise"
    if negligible(pct_delta):
        return "negligible"
    return "better" if is_better else "worse"


def first_wave_share(run: RunRequests, misses: pd.DataFrame) -> float | None:
    """Share of a run's SLO misses among its first wave (the first `concurrency` requests
    sent); None when the run has no wave (rate-driven) or no misses."""
    if run.load_mode != "concurrency" or math.isnan(run.load_value) or misses.empty:
        return None
    wave = int(run.load_value)
    if wave < 1 or wave * 2 > run.n:  # a "first wave" must be a small part of the run
        return None
    order = np.argsort(np.where(np.isnan(run.sent_ms), np.inf, run.sent_ms), kind="stable")
    first = {int(i) for i in run.index[order[:wave]]}
    in_first = sum(int(i) in first for i in misses["request"])
    return in_first / len(misses)


def _main_reason(misses: pd.DataFrame) -> str | None:
    """The limit most misses broke ("TTFT", "TPOT", "E2E"), or "failed"."""
    if misses.empty or "missed" not in misses:
        return None
    counts: Counter[str] = Counter()
    for text in misses["missed"]:
        text = str(text)
        if text.startswith("failed"):
            counts["failed"] += 1
            continue
        for part in text.removesuffix(" over the limit").split(","):
            counts[part.strip()] += 1
    return counts.most_common(1)[0][0] if counts else None


@dataclass(frozen=True)
class RunVerdict:
    run_id: str
    name: str
    is_baseline: bool
    changes: tuple[str, ...]  # "output tokens/s +75%", "TTFT p95 within noise"
    meets_slo: bool | None  # None: no SLO set
    attainment_pct: float | None
    slo_note: str | None  # "fails the 95% SLO (61%), mostly in its first wave"
    limits: tuple[str, ...]  # "client overload", "3.1% errors"
    main_miss: str | None  # "TTFT", "TPOT", "E2E" or "failed"
    load_mode: str = ""
    load_value: float = math.nan
    # The main missed metric's median and its value at the target percentile (ms):
    # what a limit must allow for this run to meet the SLO.
    main_p50_ms: float | None = None
    main_needed_ms: float | None = None

    @property
    def sentence(self) -> str:
        parts: list[str] = []
        if self.is_baseline:
            parts.append("the baseline")
        else:
            parts.append(", ".join(self.changes) if self.changes else "no change beyond noise")
        if self.slo_note:
            parts.append(self.slo_note)
        if self.limits:
            parts.append("limited by " + " and ".join(self.limits))
        return f"{self.name}: " + ", ".join(parts) + "."


def _changes(table: pd.DataFrame, run_id: str) -> tuple[str, ...]:
    rows = table[table["run_id"] == run_id].set_index("metric")
    out: list[str] = []
    for key, words in HEADLINE:
        if key not in rows.index:
            continue
        r: Any = rows.loc[key]
        has_ci = r["ci_low"] is not None and not pd.isna(r["ci_low"])
        kind = change_kind(r["is_better"], float(r["pct_delta"]), has_ci, r["significant"])
        if kind in ("better", "worse"):
            pct = float(r["pct_delta"])
            if key == "error_rate" or math.isnan(pct):
                change = f"{float(r['abs_delta']):+.2g} pp" if key == "error_rate" else ""
            else:
                change = f"{pct:+.0f}%"
            out.append(f"{words} {change}".strip() + ("" if kind == "better" else " (worse)"))
        elif kind == "noise" and key in ALWAYS_SAID:
            out.append(f"{words} within noise")
    return tuple(out)


def _miss_values(run: RunRequests, metric: str) -> np.ndarray:
    """The completed requests' values of the metric an SLO limit checks."""
    values = {"TTFT": run.ttft_ms, "TPOT": run.tpot_ms(), "E2E": run.e2e_ms}[metric]
    v: np.ndarray = values[run.ok & ~np.isnan(values)]
    return v


def comparison_verdict(
    table: pd.DataFrame,
    runs: Sequence[RunRequests],
    baseline_id: str,
    names: Mapping[str, str],
    *,
    slo_results: Mapping[str, SloResult] | None = None,
    slo_target_pct: float = 95.0,
    little: Mapping[str, LittleCheck] | None = None,
    suspect: Mapping[str, str] | None = None,
    shared: Mapping[str, str] | None = None,
) -> list[RunVerdict]:
    """One verdict per run, the baseline first. `suspect` maps run ids whose own client
    measurements are in doubt to the reason (the run's validity verdict); `shared` those
    whose server also served other traffic to why (the server counted more)."""
    verdicts = []
    ordered = sorted(runs, key=lambda r: r.run_id != baseline_id)
    for run in ordered:
        rid = run.run_id
        meets = attainment = note = main = None
        p50 = needed = None
        if slo_results and rid in slo_results:
            res = slo_results[rid]
            attainment = 100.0 * res.attainment
            meets = attainment >= slo_target_pct - 1e-9
            verb = "meets" if meets else "fails"
            note = f"{verb} the {slo_target_pct:g}% SLO ({attainment:.1f}% of requests)"
            if not meets:
                main = _main_reason(res.misses)
                share = first_wave_share(run, res.misses)
                if share is not None and share >= 0.5:
                    note += f", {share:.0%} of its misses in its first wave"
                elif main:
                    note += f", mostly on {main}" if main != "failed" else ", mostly failures"
                if main in ("TTFT", "TPOT", "E2E"):
                    v = np.sort(_miss_values(run, main))
                    if v.size:
                        p50 = percentile(v, 50)
                        needed = percentile(v, min(slo_target_pct, 100.0))
        limits: list[str] = []
        if suspect and rid in suspect:
            limits.append(f"its own client ({suspect[rid]})")
        if shared and rid in shared:
            limits.append(f"a server shared with other traffic ({shared[rid]})")
        check = little.get(rid) if little else None
        if check is not None and check.short_of_target:
            limits.append(
                f"the client keeping only {check.measured_concurrency:.1f} of "
                f"{check.configured_concurrency:g} in flight"
            )
        failed = int((~run.ok).sum())
        if failed:
            limits.append(f"{failed / max(run.n, 1):.1%} failed requests")
        verdicts.append(
            RunVerdict(
                rid,
                names.get(rid, rid),
                rid == baseline_id,
                () if rid == baseline_id else _changes(table, rid),
                meets,
                attainment,
                note,
                tuple(limits),
                main,
                run.load_mode,
                run.load_value,
                p50,
                needed,
            )
        )
    return verdicts


def next_step(
    verdicts: Sequence[RunVerdict], slo_target_pct: float = 95.0, slo: Slo | None = None
) -> str | None:
    """What to do when the SLO is set and no run meets it (None otherwise).

    When the closest run already ran at the lightest load (one request at a time), lower
    load cannot help: the limit is below what the server does unloaded, so say by how
    much (`slo`, when given, names the limit).
    """
    judged = [v for v in verdicts if v.meets_slo is not None]
    if not judged or any(v.meets_slo for v in judged):
        return None
    closest = max(judged, key=lambda v: v.attainment_pct or 0.0)
    head = (
        f"No run meets the {slo_target_pct:g}% SLO. The closest is {closest.name} at "
        f"{(closest.attainment_pct or 0):.1f}%"
    )
    if "first wave" in (closest.slo_note or ""):
        return (
            head + "; most of its misses are in its first wave, a cold start: add warm-up "
            "requests (they are left out of the numbers) and measure again."
        )
    floor = _at_the_floor(closest, judged, slo_target_pct, slo)
    if floor:
        return f"{head}, {floor}"
    advice = ADVICE.get(closest.main_miss or "", "lower the load or relax the limits")
    return f"{head}; {advice}."


_UNLOADED_MODES = ("concurrency", "sessions")
_FASTER = {
    "TTFT": "a faster model or hardware (or shorter prompts, prefix caching)",
    "TPOT": "a faster model or hardware (or a smaller or quantised model)",
    "E2E": "a faster model or hardware, or shorter answers (max tokens)",
}


def _at_the_floor(
    closest: RunVerdict, judged: Sequence[RunVerdict], target_pct: float, slo: Slo | None
) -> str | None:
    """The advice when lower load cannot help (or must be tried first); None otherwise."""
    main = closest.main_miss
    if main not in _FASTER or math.isnan(closest.load_value):
        return None
    load = load_phrase(closest.load_mode, closest.load_value)
    if closest.load_mode in _UNLOADED_MODES and closest.load_value <= 1:
        limit = {"TTFT": slo.ttft_ms, "TPOT": slo.tpot_ms, "E2E": slo.e2e_ms}[main] if slo else None
        needed = closest.main_needed_ms
        said = (
            f": {target_pct:g}% of its requests needed up to {needed:,.0f} ms of {main} "
            f"(median {closest.main_p50_ms:,.0f} ms)"
            if needed is not None and closest.main_p50_ms is not None
            else ""
        )
        limit_words = f"the {limit:g} ms {main} limit" if limit is not None else f"the {main} limit"
        loosen = f" to at least {needed:,.0f} ms" if needed is not None else ""
        return (
            f"and it already ran at the lightest load ({load}){said}. So {limit_words} is "
            "below what this server does unloaded; lowering the load will not help. Use "
            f"{_FASTER[main]}, or loosen the {main} limit{loosen}."
        )
    same_mode = [v for v in judged if v.load_mode == closest.load_mode]
    loads = {v.load_value for v in same_mode if not math.isnan(v.load_value)}
    if len(loads) >= 2 and closest.load_value <= min(loads):
        lightest = "concurrency 1" if closest.load_mode == "concurrency" else "a lighter load"
        return (
            f"already the lightest load compared ({load}): measure at {lightest}; if it "
            "still misses there, the target is below what this server does unloaded "
            f"({_FASTER[main]}, or a looser {main} limit)."
        )
    return None


NOISE_NOTE = (
    "'within noise': the 95% bootstrap interval of the change includes 0; changes under "
    f"{NEGLIGIBLE_PCT:g}% are not mentioned."
)


def _mean_ok(values: np.ndarray, ok: np.ndarray) -> float | None:
    if values.size != ok.size:
        return None
    kept = values[ok & ~np.isnan(values)]
    return float(kept.mean()) if kept.size else None


def setup_notes(
    runs: Sequence[RunRequests], baseline_id: str, names: Mapping[str, str]
) -> list[str]:
    """What the runs differ in besides the load: the model, the endpoint, the prompt and
    answer lengths. A comparison across them is still shown, but a reader must know that
    E2E, TTFT and requests/s then move for that reason too (one sentence per difference)."""
    base = next((r for r in runs if r.run_id == baseline_id), None)
    if base is None or len(runs) < 2:
        return []
    others = [r for r in runs if r.run_id != baseline_id]
    notes = []
    models = {r.run_id: str(r.meta.get("model") or "") for r in runs}
    differ = [r for r in others if models[r.run_id] and models[r.run_id] != models[base.run_id]]
    if models[base.run_id] and differ:
        listed = ", ".join(
            f"{names.get(r.run_id, r.run_id)} ran {models[r.run_id]}" for r in differ
        )
        notes.append(
            f"Different models: the baseline {names.get(baseline_id, baseline_id)} ran "
            f"{models[baseline_id]}, {listed}; every difference includes the model's."
        )
    ends = {r.run_id: str(r.meta.get("endpoint") or "").rstrip("/") for r in runs}
    elsewhere = [r for r in others if ends[r.run_id] and ends[r.run_id] != ends[baseline_id]]
    if ends[baseline_id] and elsewhere:
        listed = ", ".join(f"{names.get(r.run_id, r.run_id)} {ends[r.run_id]}" for r in elsewhere)
        notes.append(
            f"Different endpoints: the baseline {names.get(baseline_id, baseline_id)} probed "
            f"{ends[baseline_id]}, {listed}; every difference includes the server's (its "
            "hardware, engine or settings), not only the load."
        )
    for what, attr, advice in (
        ("answers", "output_tokens", "compare TPOT and TTFT; E2E and requests/s follow the length"),
        ("prompts", "input_tokens", "TTFT grows with the prompt (prefill)"),
    ):
        base_mean = _mean_ok(getattr(base, attr), base.ok)
        if base_mean is None or base_mean <= 0:
            continue
        apart = []
        for r in others:
            mean = _mean_ok(getattr(r, attr), r.ok)
            if mean is not None and abs(mean - base_mean) > LENGTH_TOLERANCE * base_mean:
                apart.append(f"{mean:,.0f} in {names.get(r.run_id, r.run_id)}")
        if apart:
            notes.append(
                f"Different {what}: {base_mean:,.0f} tokens on average in the baseline "
                f"{names.get(baseline_id, baseline_id)}, {', '.join(apart)}; {advice}."
            )
    return notes


def shared_servers(metadata: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Run id -> why its server also served other traffic, from the runs' metadata (the
    probe keeps it there: `inferlab.server.run.other_traffic_metadata`)."""
    return {
        rid: str(m[OTHER_TRAFFIC_KEY]) for rid, m in metadata.items() if m.get(OTHER_TRAFFIC_KEY)
    }
