"""Client beside server for one run: TTFT both ways, a TTFT breakdown, the joined timeline.

The client's TTFT runs from its send to the first content byte; the server's
from when it received the request to when it emitted the first token. The
difference is transport plus the client's own reading. The breakdown splits
the client's wait for a first token into: the load generator's dispatch lag
(scheduled -> sent), the server's queue, its prefill, and the rest (network,
tokenisation, the first decode step, the client).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from inferlab.metrics.percentile import percentile
from inferlab.records import RequestRecord
from inferlab.server.deltas import GaugeStats
from inferlab.server.run import server_views
from inferlab.server.samples import Scrape
from inferlab.server.summary import ServerView

__all__ = ["ServerComparison", "TtftPart", "compare_server"]


@dataclass(frozen=True)
class TtftPart:
    name: str
    ms: float
    source: str  # where the number comes from


@dataclass(frozen=True)
class ServerComparison:
    """Everything the Runs page shows about the server's view of one run."""

    view: ServerView | None
    client_ttft_mean_ms: float | None
    client_ttft_p50_ms: float | None
    client_tpot_mean_ms: float | None
    server_ttft_mean_ms: float | None
    breakdown: tuple[TtftPart, ...]
    # The client's requests on the scrapes' clock: sent (s since the run began), TTFT, ok.
    sent_s: tuple[float, ...]
    ttft_ms: tuple[float | None, ...]
    ok: tuple[bool, ...]

    @property
    def transport_ms(self) -> float | None:
        """Client TTFT minus server TTFT (means): the network and the client."""
        if self.client_ttft_mean_ms is None or self.server_ttft_mean_ms is None:
            return None
        return self.client_ttft_mean_ms - self.server_ttft_mean_ms

    def gauges(self) -> dict[str, GaugeStats]:
        """The server's gauges that were present, by what they count."""
        v = self.view
        if v is None:
            return {}
        found = {"running": v.running, "waiting": v.waiting, "KV cache": v.kv_cache}
        return {k: g for k, g in found.items() if g is not None}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _prefill_ms(view: ServerView, timings_prompt_ms: Sequence[float]) -> tuple[float, str] | None:
    if view.prefill is not None and view.prefill.mean_ms is not None:
        return view.prefill.mean_ms, "server prefill histogram (mean)"
    mean = _mean(timings_prompt_ms)
    if mean is not None:
        return mean, "server timings per response (mean prompt_ms)"
    return None


def compare_server(
    scrapes: Sequence[Scrape],
    records: Sequence[RequestRecord],
    timings_prompt_ms: Sequence[float] = (),
) -> ServerComparison:
    """The comparison of one run: its stored scrapes and records (warm-up included) and
    the prefill times its server reported per response (`Store.server_timings`)."""
    measured = [r for r in records if not r.warmup]
    ok_ttfts = [r.ttft_ms for r in measured if r.ok and r.ttft_ms is not None]
    tpots = [t for r in measured if r.ok and (t := r.tpot_ms) is not None]
    views = server_views(scrapes, records)
    view = next((v for v in views if v.kind is not None and v.scrapes >= 2), None)
    client_ttft = _mean(ok_ttfts)
    server_ttft = view.ttft.mean_ms if view and view.ttft else None
    parts: list[TtftPart] = []
    lags = [r.client_queue_ms for r in measured]
    if client_ttft is not None and lags:
        parts.append(TtftPart("client dispatch lag", max(_mean(lags) or 0.0, 0.0), "client"))
        inside = 0.0
        if view is not None and view.queue is not None and view.queue.mean_ms is not None:
            parts.append(TtftPart("server queue", view.queue.mean_ms, "server histogram (mean)"))
            inside += view.queue.mean_ms
        elif view is not None and view.queue_mean_ms is not None:
            parts.append(TtftPart("server queue", view.queue_mean_ms, "server counters (mean)"))
            inside += view.queue_mean_ms
        timings = [t for t in timings_prompt_ms if not math.isnan(t)]
        prefill = _prefill_ms(view, timings) if view is not None else None
        if prefill is None and timings:
            prefill = (sum(timings) / len(timings), "server timings per response (mean prompt_ms)")
        if prefill is not None:
            parts.append(TtftPart("prefill", prefill[0], prefill[1]))
            inside += prefill[0]
        parts.append(
            TtftPart("rest", max(client_ttft - inside, 0.0), "client TTFT minus the server's parts")
        )
    p50 = percentile(sorted(ok_ttfts), 50) if ok_ttfts else None
    return ServerComparison(
        view=view,
        client_ttft_mean_ms=client_ttft,
        client_ttft_p50_ms=None if p50 is None or math.isnan(p50) else p50,
        client_tpot_mean_ms=_mean(tpots),
        server_ttft_mean_ms=server_ttft,
        breakdown=tuple(parts),
        sent_s=tuple(r.sent_ms / 1000 for r in measured),
        ttft_ms=tuple(r.ttft_ms if r.ok else None for r in measured),
        ok=tuple(r.ok for r in measured),
    )
