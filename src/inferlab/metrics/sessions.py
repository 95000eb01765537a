"""Multi-turn session statistics: by turn, and per whole session.

Per turn: the p50 TTFT and the mean input and cached tokens of the turn's
completed requests. Per session (a conversation of one simulated user): its
duration (first send -> last answer's end, think times included) and its
token totals. Requests without a `session_id` are ignored; warm-up never
counts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from inferlab.metrics.percentile import percentile, percentiles
from inferlab.records import RequestRecord

__all__ = ["SessionTotals", "SessionsSummary", "session_totals", "summarize_sessions"]


@dataclass(frozen=True)
class SessionTotals:
    """One session's measured totals."""

    session_id: str
    turns: int  # requests of the session (ok or not)
    completed_turns: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    duration_s: float | None


@dataclass(frozen=True)
class SessionsSummary:
    """The `sessions` block of a session run's summary."""

    count: int
    turns: int  # the longest session's turn count
    completed: int  # sessions whose every turn succeeded
    ttft_ms_by_turn: tuple[float | None, ...]  # p50
    input_tokens_by_turn: tuple[float | None, ...]  # mean
    cached_tokens_by_turn: tuple[float | None, ...]  # mean (None: the server did not say)
    session_duration_p50_s: float | None
    session_duration_p95_s: float | None
    session_input_tokens: float | None  # mean per session
    session_output_tokens: float | None
    session_cached_tokens: float | None

    def to_json(self) -> dict[str, object]:
        return {
            "count": self.count,
            "turns": self.turns,
            "completed": self.completed,
            "ttft_ms_by_turn": list(self.ttft_ms_by_turn),
            "input_tokens_by_turn": list(self.input_tokens_by_turn),
            "cached_tokens_by_turn": list(self.cached_tokens_by_turn),
            "session_duration_s": {
                "p50": self.session_duration_p50_s,
                "p95": self.session_duration_p95_s,
            },
            "session_tokens": {
                "input": self.session_input_tokens,
                "output": self.session_output_tokens,
                "cached": self.session_cached_tokens,
            },
        }


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _by_session(records: Iterable[RequestRecord]) -> dict[str, list[RequestRecord]]:
    out: dict[str, list[RequestRecord]] = defaultdict(list)
    for r in records:
        if r.session_id is not None and not r.warmup:
            out[r.session_id].append(r)
    return out


def session_totals(records: Iterable[RequestRecord]) -> list[SessionTotals]:
    """Totals of every session, in session id order."""
    out = []
    for sid, recs in sorted(_by_session(records).items()):
        recs.sort(key=lambda r: (r.turn or 0, r.sent_ms))
        ends = [r.sent_ms + r.e2e_ms for r in recs if r.ok and r.e2e_ms is not None]
        duration = (max(ends) - recs[0].sent_ms) / 1000.0 if ends else None
        ok = [r for r in recs if r.ok]
        out.append(
            SessionTotals(
                session_id=sid,
                turns=len(recs),
                completed_turns=len(ok),
                input_tokens=sum(r.input_tokens or 0 for r in ok),
                output_tokens=sum(r.output_tokens or 0 for r in ok),
                cached_tokens=sum(r.cached_tokens or 0 for r in ok),
                duration_s=duration,
            )
        )
    return out


def summarize_sessions(
    records: Iterable[RequestRecord], turns: int | None = None
) -> SessionsSummary | None:
    """The sessions block, or None when no request belongs to a session.

    `turns` is the planned turn count (the by-turn lists get that length);
    without it, the longest session's.
    """
    recs = [r for r in records if r.session_id is not None and not r.warmup]
    if not recs:
        return None
    totals = session_totals(recs)
    n_turns = turns or max(r.turn or 0 for r in recs)
    ttft: dict[int, list[float]] = defaultdict(list)
    inputs: dict[int, list[float]] = defaultdict(list)
    cached: dict[int, list[float]] = defaultdict(list)
    for r in recs:
        if not r.ok or r.turn is None:
            continue
        if r.ttft_ms is not None:
            ttft[r.turn].append(r.ttft_ms)
        if r.input_tokens is not None:
            inputs[r.turn].append(float(r.input_tokens))
        if r.cached_tokens is not None:
            cached[r.turn].append(float(r.cached_tokens))
    durations = sorted(t.duration_s for t in totals if t.duration_s is not None)
    p50, p95 = (_none_if_nan(x) for x in percentiles(durations, (50, 95)))
    complete = [t for t in totals if t.completed_turns == n_turns]
    any_cached = any(cached.values())
    return SessionsSummary(
        count=len(totals),
        turns=n_turns,
        completed=len(complete),
        ttft_ms_by_turn=tuple(
            _none_if_nan(percentile(sorted(ttft[t]), 50)) for t in range(1, n_turns + 1)
        ),
        input_tokens_by_turn=tuple(_mean(inputs[t]) for t in range(1, n_turns + 1)),
        cached_tokens_by_turn=tuple(_mean(cached[t]) for t in range(1, n_turns + 1)),
        session_duration_p50_s=p50,
        session_duration_p95_s=p95,
        session_input_tokens=_mean([float(t.input_tokens) for t in totals]),
        session_output_tokens=_mean([float(t.output_tokens) for t in totals]),
        session_cached_tokens=_mean([float(t.cached_tokens) for t in totals])
        if any_cached
        else None,
    )
