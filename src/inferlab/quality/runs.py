"""Candidates from stored runs: speed and errors measured, quality from a quality run.

`candidate_from_summary` is pure: it takes the store's `RunSummary` (and
optionally a quality score and the run's metadata) and returns a `Candidate`
whose `source` says which numbers were measured and which must still be typed
in. `candidates_from_runs` and `candidates_from_quality_runs` read those from
the store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from inferlab.compare.runs import row_name_entry, unique_names
from inferlab.metrics.summary import RunSummary
from inferlab.quality.tradeoff import Candidate

if TYPE_CHECKING:
    from inferlab.store import Store

__all__ = [
    "candidate_from_summary",
    "candidates_from_quality_runs",
    "candidates_from_runs",
    "round_sig",
    "run_names",
]

_COST_KEYS = ("cost_per_request_usd",)
_PRICE_KEYS = ("price_per_mtok_usd", "price_per_mtok")


def _first_number(meta: Mapping[str, object], keys: tuple[str, ...]) -> float | None:
    for k in keys:
        v = meta.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0:
            return float(v)
    return None


def round_sig(value: float | None, digits: int = 4) -> float | None:
    """`value` to `digits` significant digits (102.5292015 -> 102.5, 0.42231394969 -> 0.4223):
    measured figures keep what the measurement supports, and the table stays readable."""
    if value is None or not math.isfinite(value) or value == 0:
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def run_names(rows: Sequence[Mapping[Any, Any]]) -> dict[str, str]:
    """Run id -> the name the run has on every page (:func:`inferlab.compare.unique_names`):
    its label, with its load when the label is shared ('sweep · c=4'), then its id."""
    return unique_names([row_name_entry(r) for r in rows])


def candidate_from_summary(
    summary: RunSummary,
    name: str,
    quality_pct: float | None = None,
    metadata: Mapping[str, object] | None = None,
) -> Candidate:
    """A candidate from one run: TTFT and TPOT medians, mean output tokens, p95 E2E, errors.

    Cost comes from the run's metadata (`cost_per_request_usd`, or
    `price_per_mtok_usd`) when someone recorded it; a run does not measure cost.
    """
    meta = metadata or {}
    tokens = summary.output_tokens / summary.completed if summary.completed else None
    p95 = summary.e2e_ms.p95
    measured = ["TTFT/TPOT p50", "p95 E2E", "error rate"]
    missing = []
    if quality_pct is not None:
        measured.append("quality (exact match of its quality run)")
    else:
        missing.append("quality")
    cost = _first_number(meta, _COST_KEYS)
    price = _first_number(meta, _PRICE_KEYS)
    if cost is None and price is None:
        missing.append("cost")
    else:
        measured.append("cost from run metadata")
    source = f"run {summary.run_id}: measured {', '.join(measured)}"
    if missing:
        source += f"; type in {' and '.join(missing)}"
    return Candidate(
        name=name,
        quality_pct=round_sig(quality_pct),
        ttft_ms=round_sig(summary.ttft_ms.p50),
        tpot_ms=round_sig(summary.tpot_ms.p50),
        output_tokens=round(tokens, 1) if tokens is not None else None,
        p95_latency_s=None if p95 is None else round_sig(p95 / 1000.0),
        cost_per_request_usd=cost,
        price_per_mtok_usd=price if cost is None else None,
        error_rate_pct=round_sig(summary.error_rate * 100.0, 3) if summary.requests else None,
        source=source,
    )


def candidates_from_runs(
    store: Store, run_ids: Sequence[str], names: Mapping[str, str] | None = None
) -> tuple[list[Candidate], list[str]]:
    """One candidate per stored run, named by `names` (see `run_names`) or else its label; a
    note for each run that cannot be read.

    Quality is the run's exact-match accuracy when it is a quality run.
    """
    from inferlab.store import StoreError
    from inferlab.store.quality import QualityStore

    added, notes = [], []
    for run_id in run_ids:
        try:
            info = store.get_run(run_id)
            summary = store.summary(run_id)
            meta = store.run_metadata(run_id)
            quality = QualityStore(store).exact_match_pct(run_id)
        except StoreError as exc:
            notes.append(f"Run {run_id} could not be read: {exc}")
            continue
        name = (names or {}).get(run_id) or (info.label if info and info.label else run_id)
        added.append(candidate_from_summary(summary, name, quality, meta))
    return added, notes


def candidates_from_quality_runs(
    store: Store, scores: Sequence[Mapping[Any, Any]]
) -> list[Candidate]:
    """One candidate per quality run (a row of `QualityStore.scores`): quality = exact match."""
    added = []
    for row in scores:
        run_id = str(row["run_id"])
        em = row["exact_match"]
        quality = None if not isinstance(em, int | float) or em != em else float(em) * 100
        temperature = row["temperature"]
        assert isinstance(temperature, int | float)
        name = f"{row['model']} · {row['eval_set']} · T={float(temperature):g}"
        added.append(
            candidate_from_summary(store.summary(run_id), name, quality, store.run_metadata(run_id))
        )
    return added
