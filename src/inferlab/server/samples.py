"""Prometheus samples and scrapes: what one GET of /metrics gave, parsed.

Parsing uses prometheus-client's own text parser (the reference implementation
of the exposition format), so escaping, `+Inf` buckets and comments are read as
Prometheus itself reads them. A sample keeps its full name (`..._bucket`,
`..._sum`, `..._total`), its labels without `le`, and `le` as a float.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "NOTE_PREFIX",
    "MetricsParseError",
    "Sample",
    "Scrape",
    "is_note",
    "labels_key",
    "note_scrape",
    "parse_metrics_text",
]

Labels = tuple[tuple[str, str], ...]

# A "scrape" row that is a note about the run's scraping (the grace ran out, an
# import's limits), not an attempt: ok=False, error starting with this prefix.
NOTE_PREFIX = "note: "


class MetricsParseError(ValueError):
    """The body is not Prometheus text format; the message says where."""


@dataclass(frozen=True)
class Sample:
    """One sample line: `name{labels} value` (`le` split out of the labels)."""

    name: str
    labels: Labels
    value: float
    le: float | None = None

    @property
    def labels_json(self) -> str:
        return json.dumps(dict(self.labels), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Scrape:
    """One GET of one endpoint; `t_ms` counts from the run's anchor (like `sent_ms`)."""

    endpoint: str
    t_ms: float
    ok: bool
    error: str | None = None
    samples: tuple[Sample, ...] = field(default=(), repr=False)


def note_scrape(endpoint: str, t_ms: float, text: str) -> Scrape:
    """A note about `endpoint`'s scrapes, stored beside them (shown in the server's notes)."""
    return Scrape(endpoint, t_ms, False, NOTE_PREFIX + text)


def is_note(scrape: Scrape) -> bool:
    """Whether `scrape` is a note rather than a scrape attempt."""
    return not scrape.ok and (scrape.error or "").startswith(NOTE_PREFIX)


def labels_key(labels: dict[str, str]) -> Labels:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "le"))


def _le(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)  # "+Inf" parses to inf
    except ValueError:
        return None


def parse_metrics_text(text: str) -> list[Sample]:
    """Every sample in a Prometheus text-format body; MetricsParseError if it is not one."""
    from prometheus_client.parser import text_string_to_metric_families

    out: list[Sample] = []
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                value = float(s.value)
                if math.isnan(value):
                    continue
                out.append(Sample(s.name, labels_key(s.labels), value, _le(s.labels.get("le"))))
    except (ValueError, TypeError, IndexError) as exc:
        raise MetricsParseError(f"not Prometheus text format: {exc}") from None
    return out


def names_of(scrapes: Iterable[Scrape]) -> set[str]:
    """All sample names seen in `scrapes`."""
    return {s.name for scrape in scrapes for s in scrape.samples}


def ok_scrapes(scrapes: Sequence[Scrape]) -> list[Scrape]:
    return sorted((s for s in scrapes if s.ok), key=lambda s: s.t_ms)
