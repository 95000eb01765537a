"""Stored runs for the calculator page tests, created through the Store API."""

from __future__ import annotations

from datetime import UTC, datetime

from inferlab.records import RequestRecord, RunInfo
from inferlab.store import Store


def make_run(
    store: Store,
    run_id: str,
    *,
    concurrency: int = 8,
    ttft_ms: float = 100.0,
    tpot_ms: float = 8.0,
    output_tokens: int = 101,
    input_tokens: int = 1000,
    requests: int = 40,
    slow_every: int = 0,
    group_id: str | None = None,
    label: str = "",
) -> None:
    """A completed concurrency-mode run whose requests all take TTFT + TPOT x (N - 1).

    With `slow_every` = k, every k-th request has a TTFT ten times larger (it misses a
    TTFT SLO between the two).
    """
    store.create_run(
        RunInfo(
            run_id=run_id,
            started_at=datetime(2026, 1, 1, tzinfo=UTC),
            endpoint="http://127.0.0.1:1/v1",
            model="test-model",
            load_mode="concurrency",
            load_value=float(concurrency),
            label=label,
            group_id=group_id,
        )
    )
    records = []
    e2e_each = ttft_ms + tpot_ms * (output_tokens - 1)
    for i in range(requests):
        ttft = ttft_ms * (10 if slow_every and i % slow_every == 0 else 1)
        e2e = ttft + tpot_ms * (output_tokens - 1)
        sent = (i // concurrency) * e2e_each
        offsets = tuple(ttft + tpot_ms * k for k in range(output_tokens))
        records.append(
            RequestRecord(
                index=i,
                scheduled_ms=sent,
                sent_ms=sent,
                ok=True,
                ttft_ms=ttft,
                e2e_ms=e2e,
                chunk_offsets_ms=offsets,
                chunk_tokens=(1,) * output_tokens,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                token_count_source="usage",
            )
        )
    store.add_requests(run_id, records)
    store.finish_run(run_id, "completed")
