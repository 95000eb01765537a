"""Ground truth: what the sim did with each request, stamped with ``perf_counter_ns``.

On Linux ``time.perf_counter_ns`` reads CLOCK_MONOTONIC, which every process
on the machine shares, so these stamps compare directly with a client's own
``perf_counter_ns`` stamps, in-process or not.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["TruthLog", "TruthRecord"]


@dataclass
class TruthRecord:
    """One request as the sim served it. Content chunks only (no role/finish/usage chunks).

    `chunk_deadline_ns[i]` is when content chunk i was due, `chunk_sent_ns[i]`
    when the sim started writing it (stamped just before the bytes go to the socket,
    so a client never receives them before that stamp; the write itself takes tens
    of microseconds), `tokens[i]` how many tokens it carried. `admitted_ns` is where the request's schedule starts: its arrival when a
    batch slot was free, else the moment a finishing stream freed one (so
    ``admitted_ns - arrival_ns`` is its queueing time). `fault` is the injected fault
    (see ``inferlab.sim.FAULTS``) or None.
    """

    index: int
    request_id: str
    api: str  # chat | completions
    stream: bool
    arrival_ns: int
    client_request_id: str | None = None
    admitted_ns: int | None = None
    role_chunk_sent_ns: int | None = None
    chunk_deadline_ns: list[int] = field(default_factory=list)
    chunk_sent_ns: list[int] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens the prefix cache held (prefix_cache only)
    completion_tokens: int = 0
    status: int = 200
    fault: str | None = None
    client_disconnected: bool = False
    finished_ns: int | None = None
    answer_correct: bool | None = None

    @property
    def ttft_ns(self) -> int | None:
        """Arrival -> first content chunk written."""
        return self.chunk_sent_ns[0] - self.arrival_ns if self.chunk_sent_ns else None

    @property
    def queue_ns(self) -> int | None:
        """Arrival -> admission (time spent waiting for a batch slot)."""
        return None if self.admitted_ns is None else self.admitted_ns - self.arrival_ns

    @property
    def lag_ns(self) -> list[int]:
        """Per content chunk: written minus due (the sim's own schedule error).

        Slightly negative values are expected: the sim aims 0.5 ms early because
        asyncio wakes on whole-millisecond ticks, which centres the error on zero.
        """
        return [s - d for s, d in zip(self.chunk_sent_ns, self.chunk_deadline_ns, strict=False)]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TruthRecord:
        return cls(**data)


class TruthLog:
    """Thread-safe store of the most recent `limit` records (oldest dropped first)."""

    def __init__(self, limit: int) -> None:
        self._records: deque[TruthRecord] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, record: TruthRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[TruthRecord]:
        """Copies of the records, so a reader never sees one change under it."""
        with self._lock:
            records = list(self._records)
        return [
            TruthRecord(
                **{
                    **r.__dict__,
                    "chunk_deadline_ns": list(r.chunk_deadline_ns),
                    "chunk_sent_ns": list(r.chunk_sent_ns),
                    "tokens": list(r.tokens),
                }
            )
            for r in records
        ]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
