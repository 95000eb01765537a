"""The server's view of one run: the `server` block of `inferlab show --json` (pure).

Built from the run's scrapes of one endpoint and the client's own totals, so
the two can be checked against each other: when the server counted more
requests or tokens than the probe sent, something else was using the server
during the run (`other_traffic`) and the server's numbers are not the probe's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inferlab.server.adapters import (
    SIM_INFO_METRIC,
    Adapter,
    ServerKind,
    adapter_for,
    detect_kind,
    server_name,
)
from inferlab.server.deltas import (
    GaugeStats,
    HistogramDelta,
    counter_total,
    first_present,
    gauge_stats,
    histogram_delta,
)
from inferlab.server.samples import NOTE_PREFIX, Scrape, is_note, names_of, ok_scrapes

__all__ = ["ClientTotals", "ServerView", "server_view"]

# Slack of the other-traffic check: servers count a cancelled request's tokens
# that the client never saw, and counters settle a moment after the last byte.
_TOKEN_SLACK = 0.02


@dataclass(frozen=True)
class ClientTotals:
    """What the probe itself sent and received (warm-up included: it was scraped too)."""

    requests: int
    completed: int
    prompt_tokens: int | None
    output_tokens: int | None


@dataclass(frozen=True)
class ServerView:
    """Everything the server said about one run; None where it does not say."""

    kind: ServerKind | None
    endpoint: str
    scrapes: int
    failed_scrapes: int
    prompt_tokens: float | None
    generation_tokens: float | None
    cached_prompt_tokens: float | None
    requests_completed: float | None
    ttft: HistogramDelta | None
    itl: HistogramDelta | None
    e2e: HistogramDelta | None
    queue: HistogramDelta | None
    prefill: HistogramDelta | None
    decode_ms_per_token: float | None
    queue_mean_ms: float | None
    running: GaugeStats | None
    waiting: GaugeStats | None
    kv_cache: GaugeStats | None  # fraction 0..1
    other_traffic: bool
    notes: tuple[str, ...]
    simulated: bool = False  # the built-in simulator (vLLM's names, simulated timings)

    @property
    def name(self) -> str:
        """The server as a person calls it: 'vLLM', 'inferlab simulator (...)'."""
        return server_name(self.kind, self.simulated)

    def to_json(self) -> dict[str, Any]:
        """The block as the issue lists it (times in ms, KV cache in percent)."""
        return {
            "kind": self.kind,
            "simulated": self.simulated,
            "endpoint": self.endpoint,
            "scrapes": self.scrapes,
            "prompt_tokens": _num(self.prompt_tokens),
            "generation_tokens": _num(self.generation_tokens),
            "requests_completed": _num(self.requests_completed),
            "ttft_ms": _hist_json(self.ttft),
            "decode_ms_per_token": _round(self.decode_ms_per_token),
            "queue_ms": _hist_json(self.queue, self.queue_mean_ms),
            "waiting_max": _num(self.waiting.max) if self.waiting else None,
            "running_max": _num(self.running.max) if self.running else None,
            "kv_cache_max_pct": _round(self.kv_cache.max * 100) if self.kv_cache else None,
            "other_traffic": self.other_traffic,
            "notes": list(self.notes),
        }


def _round(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


def _num(x: float | None) -> float | int | None:
    if x is None:
        return None
    return int(x) if float(x).is_integer() else round(x, 3)


def _hist_json(h: HistogramDelta | None, mean_ms: float | None = None) -> dict[str, Any] | None:
    if h is None or h.count <= 0:
        if mean_ms is None:
            return None
        return {"mean": _round(mean_ms), "p50_estimate": None, "p99_estimate": None}
    return {
        "mean": _round(h.mean_ms),
        "p50_estimate": _round(h.quantile_ms(0.5)),
        "p99_estimate": _round(h.quantile_ms(0.99)),
    }


def _ratio_ms(
    scrapes: Sequence[Scrape], pairs: Sequence[tuple[Any, Any]], scale: float
) -> float | None:
    for num, den in pairs:
        if first_present(scrapes, [num]) is None or first_present(scrapes, [den]) is None:
            continue
        n, d = counter_total(scrapes, [num]), counter_total(scrapes, [den])
        if n is not None and d:
            return n / d * scale
    return None


def _decode_ms_per_token(
    adapter: Adapter, scrapes: Sequence[Scrape], itl: HistogramDelta | None
) -> float | None:
    ratio = _ratio_ms(scrapes, adapter.decode_seconds_per_token, 1000.0)
    if ratio is not None:
        return ratio
    return itl.mean_ms if itl is not None else None


def _other_traffic(view: dict[str, float | None], client: ClientTotals) -> list[str]:
    why = []
    served = view["requests_completed"]
    if served is not None and served > client.requests:
        why.append(f"the server completed {served:g} requests, the probe sent {client.requests}")
    gen = view["generation_tokens"]
    if gen is not None and client.output_tokens is not None:
        limit = client.output_tokens * (1 + _TOKEN_SLACK) + client.requests
        if gen > limit:
            why.append(
                f"the server generated {gen:g} tokens, the probe received {client.output_tokens}"
            )
    return why


def server_view(endpoint: str, scrapes: Sequence[Scrape], client: ClientTotals) -> ServerView:
    """Summarise one endpoint's scrapes of a run next to the client's totals."""
    good = ok_scrapes([s for s in scrapes if s.endpoint == endpoint])
    mine = [s for s in scrapes if s.endpoint == endpoint]
    failed = [s for s in mine if not s.ok and not is_note(s)]
    notes = _failure_notes(failed)
    notes += list(
        dict.fromkeys((s.error or "").removeprefix(NOTE_PREFIX) for s in mine if is_note(s))
    )
    kind = detect_kind(names_of(good))
    empty = ServerView(
        kind,
        endpoint,
        len(good),
        len(failed),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        False,
        (),
        SIM_INFO_METRIC in names_of(good),
    )
    if kind is None:
        if good:
            notes.append(f"{endpoint} answered, but with no metric names inferlab knows")
        return _with(empty, notes)
    if len(good) < 2:
        notes.append(
            f"{len(good)} successful scrape of {endpoint}; deltas need one before and one after"
        )
        return _with(empty, notes)
    adapter = adapter_for(kind, names_of(good))
    itl = histogram_delta(good, adapter.itl)
    totals = {
        "prompt_tokens": counter_total(good, adapter.prompt_tokens),
        "generation_tokens": counter_total(good, adapter.generation_tokens),
        "cached_prompt_tokens": counter_total(good, adapter.cached_prompt_tokens),
        "requests_completed": counter_total(good, adapter.requests_completed),
    }
    reasons = _other_traffic(totals, client)
    notes.extend(f"other traffic: {r}" for r in reasons)
    if kind == "llamacpp":
        notes.append("llama.cpp exposes counters and gauges only: no TTFT or queue histograms")
    if adapter.ttft and histogram_delta(good, adapter.ttft) is not None:
        notes.append(
            "p50/p99 are interpolated inside histogram buckets (estimates); means are exact"
        )
    return ServerView(
        kind=kind,
        endpoint=endpoint,
        scrapes=len(good),
        failed_scrapes=len(failed),
        prompt_tokens=totals["prompt_tokens"],
        generation_tokens=totals["generation_tokens"],
        cached_prompt_tokens=totals["cached_prompt_tokens"],
        requests_completed=totals["requests_completed"],
        ttft=histogram_delta(good, adapter.ttft),
        itl=itl,
        e2e=histogram_delta(good, adapter.e2e),
        queue=histogram_delta(good, adapter.queue),
        prefill=histogram_delta(good, adapter.prefill),
        decode_ms_per_token=_decode_ms_per_token(adapter, good, itl),
        queue_mean_ms=_ratio_ms(good, adapter.queue_us_per_request, 1e-3),
        running=gauge_stats(good, adapter.running),
        waiting=gauge_stats(good, adapter.waiting),
        kv_cache=gauge_stats(good, adapter.kv_cache_fraction, combine="max"),
        other_traffic=bool(reasons),
        notes=tuple(notes),
        simulated=empty.simulated,
    )


def _with(view: ServerView, notes: list[str]) -> ServerView:
    from dataclasses import replace

    return replace(view, notes=tuple(notes))


def _failure_notes(failed: Sequence[Scrape]) -> list[str]:
    """One note per distinct reason a scrape failed, with how often."""
    counts: dict[str, int] = {}
    for s in failed:
        counts[s.error or "unknown error"] = counts.get(s.error or "unknown error", 0) + 1
    return [f"{n} scrape{'s' if n > 1 else ''} failed: {why}" for why, n in counts.items()]
