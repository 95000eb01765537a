"""Words and loading for the Runs page's "Server's view" tab (no Streamlit here)."""

from __future__ import annotations

import math

from inferlab.compare.server import ServerComparison, compare_server
from inferlab.store import Store

__all__ = ["headline", "load_comparison", "ms", "no_view_message", "ttft_caption"]


def load_comparison(store: Store, run_id: str) -> ServerComparison:
    """The run's scrapes, requests and per-response server timings, compared."""
    timings = store.server_timings(run_id)
    prompt_ms = [float(x) for x in timings["prompt_ms"] if x is not None and not math.isnan(x)]
    return compare_server(store.server_scrapes(run_id), store.records(run_id), prompt_ms)


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f} ms"


def no_view_message(cmp: ServerComparison) -> str:
    return (
        "This run has no server metrics. Probes scrape the server's Prometheus /metrics "
        "(the API root's host + /metrics, or --server-metrics URL); llama-server needs "
        "--metrics and SGLang --enable-metrics to expose them. Imported runs carry none."
    )


def headline(cmp: ServerComparison) -> str:
    v = cmp.view
    assert v is not None
    text = (
        f"**{v.name}** at `{v.endpoint}`, {v.scrapes} scrapes: "
        f"{_n(v.requests_completed)} requests completed, "
        f"{_n(v.prompt_tokens)} prompt and {_n(v.generation_tokens)} generated tokens."
    )
    if v.other_traffic:
        text += (
            " :orange[**Other traffic:** the server counted more than this probe sent, "
            "so its figures include someone else's requests.]"
        )
    return text


def _n(x: float | None) -> str:
    return "?" if x is None else f"{x:,.0f}"


def ttft_caption(cmp: ServerComparison) -> str:
    gap = cmp.transport_ms
    if gap is None:
        return (
            "The server reports no TTFT histogram, so client and server TTFT cannot be set "
            "side by side; decode per token is the server's own figure."
        )
    return (
        f"Client TTFT minus server TTFT: {gap:,.1f} ms on average, the time spent in "
        "transport and in the client (the server's clock starts when it received the "
        "request; the client's when it sent it). Server percentiles are bucket estimates."
    )
