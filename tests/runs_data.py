"""Synthetic stored runs for the Runs page and `inferlab compare` tests and the bench.

Requests are generated with a seeded RNG and written through the real Store API,
so the page and CLI read them exactly as they read a probe's runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from inferlab.records import RequestRecord, RunInfo
from inferlab.store import Store

__all__ = ["make_records", "store_run"]


def make_records(
    n: int,
    *,
    ttft_ms: float = 200.0,
    tpot_ms: float = 20.0,
    tokens: int = 32,
    concurrency: int = 4,
    fail_every: int = 0,
    seed: int = 0,
) -> list[RequestRecord]:
    """`n` requests sent `concurrency` at a time, lognormal TTFT and per-chunk gaps."""
    rng = np.random.default_rng(seed)
    free_at = np.zeros(concurrency)
    out = []
    for i in range(n):
        slot = int(np.argmin(free_at))
        sent = float(free_at[slot])
        ttft = float(ttft_ms * rng.lognormal(0, 0.25))
        gaps = tpot_ms * rng.lognormal(0, 0.2, tokens - 1)
        offs = np.concatenate([[ttft], ttft + np.cumsum(gaps)])
        failed = bool(fail_every) and i % fail_every == fail_every - 1
        if failed:
            rec = RequestRecord(
                index=i,
                scheduled_ms=sent,
                sent_ms=sent,
                ok=False,
                http_status=500,
                error_class="http_500",
                error_message="Internal Server Error",
            )
            free_at[slot] = sent + 5.0
        else:
            rec = RequestRecord(
                index=i,
                scheduled_ms=sent,
                sent_ms=sent,
                ok=True,
                ttft_ms=ttft,
                e2e_ms=float(offs[-1]),
                chunk_offsets_ms=tuple(float(x) for x in offs),
                chunk_tokens=(1,) * tokens,
                input_tokens=128,
                output_tokens=tokens,
                token_count_source="usage",
                http_status=200,
            )
            free_at[slot] = sent + float(offs[-1])
        out.append(rec)
    return out


def store_run(
    db: Path | str,
    run_id: str,
    *,
    label: str = "",
    n: int = 200,
    minutes_ago: int = 0,
    tags: tuple[str, ...] = (),
    group_id: str | None = None,
    load_value: float = 4,
    model: str = "test-model",
    **kwargs: float | int,
) -> str:
    """Create, fill and finish one run in the store at `db`; returns its id."""
    store = Store(db)
    store.create_run(
        RunInfo(
            run_id=run_id,
            started_at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC) - timedelta(minutes=minutes_ago),
            endpoint="http://127.0.0.1:9/v1",
            model=model,
            load_mode="concurrency",
            load_value=load_value,
            label=label,
            tags=tags,
            group_id=group_id,
        )
    )
    store.add_requests(
        run_id,
        make_records(n, concurrency=int(load_value), **kwargs),  # type: ignore[arg-type]
    )
    store.finish_run(run_id, "completed")
    return run_id


def store_comparison_runs(db: Path, runs: int = 12, requests: int = 10_000) -> list[str]:
    """`runs` runs of `requests` each at concurrency 16, slightly slower one after another
    (the benches' 12 x 10,000 comparison)."""
    return [
        store_run(
            db,
            f"run{i:02d}",
            label=f"config {i}",
            n=requests,
            ttft_ms=180 + 5 * i,
            tpot_ms=18 + 0.3 * i,
            load_value=16,
            fail_every=200,
            seed=i,
            minutes_ago=runs - i,
        )
        for i in range(runs)
    ]
