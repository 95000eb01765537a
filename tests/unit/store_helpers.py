"""Helpers shared by the store tests: record builders and a worker script for subprocesses."""

from __future__ import annotations

from datetime import UTC, datetime

from inferlab.records import RequestRecord, RunInfo


def make_info(run_id: str, **kw: object) -> RunInfo:
    base: dict[str, object] = {
        "run_id": run_id,
        "started_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "endpoint": "http://127.0.0.1:8001/v1",
        "model": "inferlab-sim",
    }
    base.update(kw)
    return RunInfo(**base)  # type: ignore[arg-type]


def make_record(i: int, ok: bool = True, chunks: int = 4, warmup: bool = False) -> RequestRecord:
    """A plausible request: TTFT 200 + i ms, 20 ms per chunk, one token per chunk."""
    ttft = 200.0 + i
    offs = tuple(ttft + 20.0 * k for k in range(chunks)) if ok else ()
    return RequestRecord(
        index=i,
        scheduled_ms=10.0 * i,
        sent_ms=10.0 * i + 0.5,
        ok=ok,
        ttft_ms=ttft if ok else None,
        e2e_ms=offs[-1] if offs else None,
        chunk_offsets_ms=offs,
        chunk_tokens=tuple(1 for _ in offs),
        input_tokens=100,
        output_tokens=len(offs) if ok else None,
        token_count_source="usage" if ok else "unknown",
        http_status=200 if ok else 500,
        error_class=None if ok else "http_5xx",
        error_message=None if ok else "HTTP 500",
        warmup=warmup,
    )
