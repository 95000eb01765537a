"""A stored run's server view: its scrapes joined with its own requests (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inferlab.records import RequestRecord
from inferlab.server.samples import Scrape
from inferlab.server.summary import ClientTotals, ServerView, server_view

__all__ = [
    "OTHER_TRAFFIC_KEY",
    "client_totals",
    "other_traffic_metadata",
    "server_block",
    "server_views",
]

OTHER_TRAFFIC_KEY = "other_traffic"  # in a run's metadata: why its server was shared
_OTHER_TRAFFIC_NOTE = "other traffic: "


def client_totals(records: Sequence[RequestRecord]) -> ClientTotals:
    """What the probe sent, warm-up included (the scrapes span it too)."""
    prompt = [r.input_tokens for r in records if r.input_tokens is not None]
    output = [r.output_tokens for r in records if r.output_tokens is not None]
    return ClientTotals(
        requests=len(records),
        completed=sum(r.ok for r in records),
        prompt_tokens=sum(prompt) if prompt else None,
        output_tokens=sum(output) if output else None,
    )


def server_views(scrapes: Sequence[Scrape], records: Sequence[RequestRecord]) -> list[ServerView]:
    """One view per scraped endpoint, in the order they were first scraped."""
    endpoints = list(dict.fromkeys(s.endpoint for s in sorted(scrapes, key=lambda s: s.t_ms)))
    totals = client_totals(records)
    return [server_view(e, scrapes, totals) for e in endpoints]


def server_block(
    scrapes: Sequence[Scrape], records: Sequence[RequestRecord]
) -> dict[str, Any] | None:
    """The `server` block of `inferlab show --json`: the first endpoint that told
    something (others listed in its notes); None when the run was never scraped."""
    views = server_views(scrapes, records)
    if not views:
        return None
    main = next((v for v in views if v.kind is not None and v.scrapes >= 2), views[0])
    block = main.to_json()
    for other in views:
        if other is not main:
            block["notes"].append(
                f"also scraped {other.endpoint} ({other.name}, {other.scrapes} scrapes)"
            )
    return block


def other_traffic_metadata(block: dict[str, Any] | None) -> dict[str, str]:
    """What a run keeps in its metadata when its server served others too (the Runs
    page, `compare` and the report then say so without re-reading every scrape); {}
    when the server counted only the probe's own requests."""
    if not block or not block.get("other_traffic"):
        return {}
    reasons = [
        n.removeprefix(_OTHER_TRAFFIC_NOTE)
        for n in block.get("notes", [])
        if n.startswith(_OTHER_TRAFFIC_NOTE)
    ]
    return {OTHER_TRAFFIC_KEY: "; ".join(reasons) or "the server counted more than the probe"}
