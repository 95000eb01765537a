"""The server's own view of a probe: Prometheus /metrics scrapes, adapters, deltas.

`scraper` GETs /metrics during a run; `samples` parses the text format;
`adapters` maps each server kind's names to logical fields; `deltas` turns a
run's scrapes into counter, histogram and gauge figures; `summary` builds the
`server` block shown beside the client's numbers; `timings` reads per-response
server timings (llama.cpp `timings`, Ollama durations).
"""

from inferlab.server.adapters import ADAPTERS, Adapter, Series, ServerKind, detect_kind
from inferlab.server.samples import MetricsParseError, Sample, Scrape, parse_metrics_text
from inferlab.server.summary import ClientTotals, ServerView, server_view

__all__ = [
    "ADAPTERS",
    "Adapter",
    "ClientTotals",
    "MetricsParseError",
    "Sample",
    "Scrape",
    "Series",
    "ServerKind",
    "ServerView",
    "detect_kind",
    "parse_metrics_text",
    "server_view",
]
