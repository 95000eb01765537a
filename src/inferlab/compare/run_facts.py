"""What the calculators take from a stored run: throughput, TPOT, goodput and hardware metadata.

Reads through :class:`inferlab.store.Store` only. Hardware comes from the run's
free-form metadata (keys `gpu`, `model_params_b`, `precision`, `n_gpus`),
which the Throughput page lets the user enter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from inferlab.capacity import PRECISIONS
from inferlab.probe.config import describe_load
from inferlab.store import Slo, Store

__all__ = [
    "HARDWARE_KEYS",
    "RunFacts",
    "describe_run",
    "list_run_choices",
    "load_run_facts",
    "save_hardware",
    "sweep_facts",
    "try_load_run_facts",
]

HARDWARE_KEYS = ("gpu", "model_params_b", "precision", "n_gpus")


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    label: str
    model: str
    status: str
    load_mode: str
    load_value: float
    group_id: str | None
    completed: int
    rps: float | None
    output_tps: float | None
    goodput_rps: float | None
    slo_attainment: float | None
    ttft_p50_ms: float | None
    tpot_p50_ms: float | None
    tpot_mean_ms: float | None
    e2e_mean_ms: float | None
    e2e_p95_ms: float | None
    mean_input_tokens: float | None
    mean_output_tokens: float | None
    gpu: str | None
    model_params_b: float | None
    precision: str | None
    n_gpus: int

    @property
    def has_hardware(self) -> bool:
        return (
            self.gpu is not None and self.model_params_b is not None and self.precision is not None
        )

    @property
    def concurrency(self) -> int | None:
        """The run's fixed concurrency, when it was a concurrency-mode run."""
        if self.load_mode != "concurrency" or self.load_value < 1:
            return None
        return int(self.load_value)


def _opt_float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def describe_run(row: Mapping[Any, Any]) -> str:
    """One line to pick a run by: label or id, model, load and status."""
    name = str(row.get("label") or row["run_id"])
    mode, value = row.get("load_mode"), _opt_float(row.get("load_value"))
    load = ""
    if value is not None:
        load = (
            describe_load(str(mode), value)
            if mode in ("sessions", "trace")
            else (f"concurrency {value:g}" if mode == "concurrency" else f"{value:g} req/s")
        )
    parts = [name, str(row.get("model") or ""), load, str(row.get("status") or "")]
    return " · ".join(p for p in parts if p)


def list_run_choices(store: Store) -> dict[str, str]:
    """run_id -> description, newest first."""
    frame = store.list_runs()
    return {str(r["run_id"]): describe_run(r) for r in frame.to_dict("records")}


def _mean(frame: pd.DataFrame, column: str) -> float | None:
    if column not in frame.columns:
        return None
    ok = frame[frame["ok"].astype(bool) & ~frame["warmup"].astype(bool)] if "ok" in frame else frame
    values = pd.to_numeric(ok[column], errors="coerce").dropna()
    return float(values.mean()) if len(values) else None


def load_run_facts(store: Store, run_id: str, slo: Slo | None = None) -> RunFacts:
    """Summary, token lengths and hardware metadata of one run (UnknownRunError if absent)."""
    summary = store.summary(run_id, slo)
    info = store.get_run(run_id)
    meta = store.run_metadata(run_id)
    frame = store.requests_frame(run_id)
    precision = str(meta["precision"]).upper() if meta.get("precision") else None
    n_gpus = _opt_float(meta.get("n_gpus"))
    return RunFacts(
        run_id=run_id,
        label=info.label if info else "",
        model=info.model if info else "",
        status=summary.status,
        load_mode=info.load_mode if info else "",
        load_value=float(info.load_value) if info else 0.0,
        group_id=info.group_id if info else None,
        completed=summary.completed,
        rps=summary.rps,
        output_tps=summary.output_tps,
        goodput_rps=summary.goodput_rps,
        slo_attainment=summary.slo_attainment,
        ttft_p50_ms=summary.ttft_ms.p50,
        tpot_p50_ms=summary.tpot_ms.p50,
        tpot_mean_ms=summary.tpot_ms.mean,
        e2e_mean_ms=summary.e2e_ms.mean,
        e2e_p95_ms=summary.e2e_ms.p95,
        mean_input_tokens=_mean(frame, "input_tokens"),
        mean_output_tokens=_mean(frame, "output_tokens"),
        gpu=str(meta["gpu"]) if meta.get("gpu") else None,
        model_params_b=_opt_float(meta.get("model_params_b")),
        precision=precision if precision in PRECISIONS else None,
        n_gpus=int(n_gpus) if n_gpus and n_gpus >= 1 else 1,
    )


def try_load_run_facts(
    store: Store, run_id: str, slo: Slo | None = None
) -> tuple[RunFacts | None, str | None]:
    """(facts, None), or (None, a message saying what went wrong) for the page to show."""
    try:
        return load_run_facts(store, run_id, slo), None
    except Exception as exc:  # the database is outside our control: never a traceback
        return None, f"Cannot read run '{run_id}' from the database: {exc}"


def sweep_facts(store: Store, run: RunFacts) -> list[RunFacts]:
    """The concurrency-mode runs of `run`'s sweep group (just `run` without a group)."""
    if run.group_id is None:
        return [run] if run.concurrency is not None else []
    ids = [str(r) for r in store.list_runs(group_id=run.group_id)["run_id"]]
    facts = [run if i == run.run_id else load_run_facts(store, i) for i in ids]
    return sorted((f for f in facts if f.concurrency is not None), key=lambda f: f.load_value)


def save_hardware(
    store: Store, run_id: str, gpu: str, model_params_b: float, precision: str, n_gpus: int
) -> None:
    """Record the hardware a run was measured on, as run metadata."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if not math.isfinite(model_params_b) or model_params_b <= 0:
        raise ValueError(
            f"model size must be greater than 0 billion parameters, got {model_params_b:g}"
        )
    if n_gpus < 1:
        raise ValueError(f"number of GPUs must be at least 1, got {n_gpus}")
    store.add_run_metadata(
        run_id,
        {"gpu": gpu, "model_params_b": model_params_b, "precision": precision, "n_gpus": n_gpus},
    )
