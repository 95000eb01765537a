"""AIPerf's server-metrics exports, read as the scrapes inferlab's own probes store.

AIPerf scrapes the server's Prometheus /metrics during a run and writes
(docs/server-metrics/server-metrics.md, "Output Files"; JSON schema "1.0"):

- `server_metrics_export.jsonl` (opt-in, `--server-metrics-formats ... jsonl`): one
  line per scrape of one endpoint: `endpoint_url`, `timestamp_ns` (epoch ns),
  `metrics: {name: [{labels?, value} | {labels?, buckets: {le: cumulative}, sum,
  count}]}` under the family name (a counter without `_total`). These are raw
  scrapes: each line becomes one `Scrape` at its time on the run's clock.
- `server_metrics_export.json` (default): per metric `type` and `series` of
  `{endpoint_url, labels, stats, buckets?}` over the profiling period: a counter's
  `stats.total`, a histogram's `stats.count` / `stats.sum` and `buckets` (delta
  counts per upper bound, `+Inf` the total), a gauge's `stats.avg` / `stats.max`.
  Each endpoint becomes two scrapes (the period's start and end) whose deltas are
  exactly those: counters and histograms from 0 to their totals, and a gauge at its
  mean then its max (so its time-weighted mean and max are AIPerf's; no timeline).

Times are placed on the run's clock: `anchor_ns` is the epoch ns that the
imported requests' `sent_ms` count from. Endpoint URLs are kept without
user:password, query or fragment.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inferlab.importers.base import MAX_LISTED, ImportFileError, read_json_document
from inferlab.probe.config import endpoint_for_display
from inferlab.server.adapters import ADAPTERS
from inferlab.server.samples import Sample, Scrape, labels_key, note_scrape

__all__ = [
    "JSONL_NAME",
    "JSON_NAME",
    "ServerMetricsImport",
    "looks_like_server_metrics",
    "parse_server_metrics",
    "server_metrics_beside",
]

FMT = "aiperf server metrics"
JSONL_NAME = "server_metrics_export.jsonl"
JSON_NAME = "server_metrics_export.json"
_MAX_LINE_PROBLEMS = 1000


def _counter_names() -> frozenset[str]:
    """Sample names of the counters inferlab's adapters read (`..._total`)."""
    names: set[str] = set()
    for a in ADAPTERS:
        groups = (a.prompt_tokens, a.generation_tokens, a.cached_prompt_tokens)
        for series in (*groups, a.requests_completed):
            names.update(s.name for s in series)
        for pair in (*a.decode_seconds_per_token, *a.queue_us_per_request):
            names.update(s.name for s in pair)
    return frozenset(n for n in names if n.endswith("_total"))


_COUNTERS = _counter_names()


@dataclass(frozen=True)
class ServerMetricsImport:
    """The scrapes read from one export file, and what the reader could not map."""

    file: str
    scrapes: tuple[Scrape, ...]
    notes: tuple[str, ...] = ()


def server_metrics_beside(path: Path) -> Path | None:
    """The server-metrics export in the folder of a profile export: the JSONL (raw
    scrapes) if present, else the aggregated JSON; None when there is neither."""
    for name in (JSONL_NAME, JSON_NAME):
        cand = path.with_name(name)
        if cand.is_file() and cand != path:
            return cand
    return None


def looks_like_server_metrics(obj: Any) -> bool:
    """Whether a parsed JSON document (or JSONL line) is an AIPerf server-metrics export."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metrics"), dict):
        return False
    summary = obj.get("summary")
    aggregated = isinstance(summary, dict) and "endpoints_configured" in summary
    return aggregated or ("endpoint_url" in obj and "timestamp_ns" in obj)


def _sample_name(name: str, kind: str | None) -> str:
    """The Prometheus sample name of a family: counters carry `_total` (as parsed text does)."""
    if name.endswith("_total"):
        return name
    if kind == "counter" or (kind is None and name + "_total" in _COUNTERS):
        return name + "_total"
    return name


def _number(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise ValueError(f"{what} should be a finite number, got {json.dumps(x)[:60]}")
    return float(x)


def _labels(entry: dict[str, Any], what: str) -> tuple[tuple[str, str], ...]:
    raw = entry.get("labels")
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ValueError(f"{what}: labels should be an object")
    return labels_key({str(k): str(v) for k, v in raw.items()})


def _le(key: str, what: str) -> float:
    try:
        le = float(key)  # "+Inf" parses to inf
    except ValueError:
        raise ValueError(f"{what}: bucket bound {key!r} is not a number") from None
    if math.isnan(le):
        raise ValueError(f"{what}: bucket bound {key!r} is not a number")
    return le


def _buckets(raw: Any, what: str, count: float) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) sorted by bound, as Prometheus buckets are.

    AIPerf documents cumulative counts (`+Inf` holds the total); a map of per-bucket
    counts (adding up to `count`) is accumulated, anything else is refused.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"{what}: buckets should be an object of bound: count")
    pairs = sorted((_le(str(k), what), _number(v, f"{what} bucket {k}")) for k, v in raw.items())
    counts = [c for _, c in pairs]
    if not pairs or (
        all(b >= a for a, b in itertools.pairwise(counts)) and math.isclose(counts[-1], count)
    ):
        return pairs
    if math.isclose(sum(counts), count):
        return list(zip([le for le, _ in pairs], itertools.accumulate(counts), strict=True))
    raise ValueError(
        f"{what}: the bucket counts match neither the count {count:g} (cumulative, +Inf "
        "the total) nor add up to it"
    )


def _histogram_samples(
    name: str, labels: tuple[tuple[str, str], ...], buckets: Iterable[tuple[float, float]],
    count: float, total: float,
) -> list[Sample]:  # fmt: skip
    out = [Sample(name + "_bucket", labels, c, le) for le, c in buckets]
    out.append(Sample(name + "_count", labels, count))
    out.append(Sample(name + "_sum", labels, total))
    return out


def _line_samples(metrics: dict[str, Any], where: str) -> list[Sample]:
    """The samples of one JSONL snapshot."""
    out: list[Sample] = []
    for name, entries in metrics.items():
        what = f"{where}, metric {name!r}"
        if not isinstance(entries, list):
            raise ValueError(f"{what} should be a list of series")
        for entry in entries:
            if not isinstance(entry, dict):
                raise ValueError(f"{what}: a series should be an object")
            labels = _labels(entry, what)
            if "buckets" in entry:
                count = _number(entry.get("count"), f"{what} count")
                out += _histogram_samples(
                    name,
                    labels,
                    _buckets(entry["buckets"], what, count),
                    count,
                    _number(entry.get("sum"), f"{what} sum"),
                )
            elif "value" in entry:
                out.append(Sample(_sample_name(name, None), labels, _number(entry["value"], what)))
            else:
                raise ValueError(f"{what}: a series needs a value or buckets")
    return out


def _jsonl_scrapes(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, scrape object or what is wrong with the line), one line at a time:
    a long run's export is never held in memory as text."""
    try:
        with path.open(encoding="utf-8-sig") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield lineno, f"line {lineno}: not JSON ({exc.msg} at column {exc.colno})"
                    continue
                if not (isinstance(obj, dict) and isinstance(obj.get("metrics"), dict)):
                    yield (
                        lineno,
                        (
                            f"line {lineno}: not a scrape (needs endpoint_url, timestamp_ns, metrics)"
                        ),
                    )
                    continue
                yield lineno, obj
    except UnicodeDecodeError:
        raise ImportFileError(path, FMT, "not UTF-8 text") from None


def _first_ns(path: Path) -> int:
    """The earliest scrape time in the file (the time origin when no profile anchors it)."""
    stamps = [
        t
        for _, obj in _jsonl_scrapes(path)
        if isinstance(obj, dict)
        and isinstance(t := obj.get("timestamp_ns"), int)
        and not isinstance(t, bool)
    ]
    return min(stamps) if stamps else 0


def _read_jsonl(path: Path, anchor_ns: int | None) -> ServerMetricsImport:
    scrapes: list[Scrape] = []
    problems: list[str] = []
    count = 0
    lines = 0
    first_ns = anchor_ns if anchor_ns is not None else _first_ns(path)
    for lineno, obj in _jsonl_scrapes(path):
        lines += 1
        where = f"line {lineno}"
        try:
            if isinstance(obj, str):
                raise ValueError(obj)
            url, t_ns = obj.get("endpoint_url"), obj.get("timestamp_ns")
            if not isinstance(url, str) or not url.strip():
                raise ValueError(f"{where}: endpoint_url should be the scraped URL")
            if isinstance(t_ns, bool) or not isinstance(t_ns, int) or t_ns <= 0:
                raise ValueError(f"{where}: timestamp_ns should be epoch nanoseconds")
            samples = _line_samples(obj["metrics"], where)
        except ValueError as exc:
            count += 1
            if len(problems) < _MAX_LINE_PROBLEMS:
                problems.append(str(exc))
            continue
        t_ms = (t_ns - first_ns) / 1e6
        scrapes.append(Scrape(endpoint_for_display(url), t_ms, True, None, tuple(samples)))
    if not lines:
        raise ImportFileError(path, FMT, "no scrapes in the file")
    if count:
        shown = "; ".join(problems[:MAX_LISTED])
        more = f"; and {count - MAX_LISTED:,} more" if count > MAX_LISTED else ""
        head = problems[0] if count == 1 else f"{count:,} problems: {shown}{more}"
        raise ImportFileError(path, FMT, head, problems, count)
    scrapes.sort(key=lambda s: s.t_ms)
    return ServerMetricsImport(path.name, tuple(scrapes))


def _epoch_ns(summary: dict[str, Any], url: str, key: str, iso_key: str) -> int | None:
    info = summary.get("endpoint_info")
    entry = info.get(url) if isinstance(info, dict) else None
    value = entry.get(key) if isinstance(entry, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raw = summary.get(iso_key)
    if isinstance(raw, str):
        try:
            dt = datetime.fromisoformat(raw)
        except ValueError:
            return None
        return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp() * 1e9)
    return None


def _aggregate_series(
    name: str, kind: str, series: dict[str, Any], what: str
) -> tuple[list[Sample], list[Sample]]:
    """(samples at the period's start, at its end) of one series of the aggregated export."""
    labels = _labels(series, what)
    stats = series.get("stats")
    if not isinstance(stats, dict):
        raise ValueError(f"{what}: stats should be an object")
    if kind == "counter":
        total = _number(stats.get("total"), f"{what} stats.total")
        sample = _sample_name(name, "counter")
        return [Sample(sample, labels, 0.0)], [Sample(sample, labels, total)]
    if kind == "histogram":
        count = _number(stats.get("count"), f"{what} stats.count")
        total = _number(stats.get("sum", 0.0), f"{what} stats.sum")
        raw = series.get("buckets")
        buckets = _buckets(raw, what, count) if raw is not None else []
        zero = [(le, 0.0) for le, _ in buckets]
        return (
            _histogram_samples(name, labels, zero, 0.0, 0.0),
            _histogram_samples(name, labels, buckets, count, total),
        )
    # gauge, or "unknown" (untyped; AIPerf treats it as a gauge)
    avg = _number(stats.get("avg"), f"{what} stats.avg")
    peak = _number(stats.get("max", avg), f"{what} stats.max")
    return [Sample(name, labels, avg)], [Sample(name, labels, max(avg, peak))]


def _read_json(path: Path, anchor_ns: int | None) -> ServerMetricsImport:
    doc = read_json_document(path, FMT)
    if not looks_like_server_metrics(doc):
        raise ImportFileError(
            path, FMT, "not an AIPerf server-metrics export (needs summary and metrics objects)"
        )
    summary = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    start: dict[str, list[Sample]] = {}
    end: dict[str, list[Sample]] = {}
    problems: list[str] = []
    for name, metric in doc["metrics"].items():
        what = f"metric {name!r}"
        try:
            if not isinstance(metric, dict) or not isinstance(metric.get("series"), list):
                raise ValueError(f"{what} should have a list of series")
            kind = str(metric.get("type") or "unknown")
            if kind not in ("counter", "gauge", "histogram", "unknown"):
                raise ValueError(f"{what}: type {kind!r} is not counter, gauge or histogram")
            for i, series in enumerate(metric["series"]):
                where = f"{what} series {i + 1}"
                if not isinstance(series, dict) or not isinstance(series.get("endpoint_url"), str):
                    raise ValueError(f"{where} should name its endpoint_url")
                a, b = _aggregate_series(name, kind, series, where)
                start.setdefault(series["endpoint_url"], []).extend(a)
                end.setdefault(series["endpoint_url"], []).extend(b)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        shown = "; ".join(problems[:MAX_LISTED])
        head = problems[0] if len(problems) == 1 else f"{len(problems):,} problems: {shown}"
        raise ImportFileError(path, FMT, head, problems, len(problems))
    if not end:
        raise ImportFileError(path, FMT, "no metric series in the file")
    scrapes: list[Scrape] = []
    notes: list[str] = []
    for url in end:
        t0 = _epoch_ns(summary, url, "first_fetch_ns", "start_time")
        t1 = _epoch_ns(summary, url, "last_fetch_ns", "end_time")
        if t0 is None or t1 is None or t1 <= t0:
            raise ImportFileError(
                path, FMT, f"no collection period for {endpoint_for_display(url)} "
                "(summary.endpoint_info first/last_fetch_ns or start_time/end_time)",
            )  # fmt: skip
        base = anchor_ns if anchor_ns is not None else t0
        shown = endpoint_for_display(url)
        scrapes.append(Scrape(shown, (t0 - base) / 1e6, True, None, tuple(start[url])))
        scrapes.append(Scrape(shown, (t1 - base) / 1e6, True, None, tuple(end[url])))
        note = (
            f"imported from AIPerf's aggregated {path.name}: totals, histograms and each "
            "gauge's mean and max over its profiling period, no timeline (AIPerf's "
            f"--server-metrics-formats jsonl writes one: {JSONL_NAME})"
        )
        scrapes.append(note_scrape(shown, (t1 - base) / 1e6, note))
        notes.append(f"{shown}: {note}")
    return ServerMetricsImport(path.name, tuple(scrapes), tuple(dict.fromkeys(notes)))


def parse_server_metrics(path: Path, anchor_ns: int | None = None) -> ServerMetricsImport:
    """The scrapes of an AIPerf server-metrics export (JSONL or JSON, by content).

    Raises ImportFileError naming the file and what is wrong with it.
    """
    try:
        with path.open("rb") as f:
            head = f.read(4096).lstrip()
    except OSError as exc:
        raise ImportFileError(path, FMT, f"cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise ImportFileError(path, FMT, "the file is empty")
    if path.suffix == ".json" or (b'"summary"' in head and not head.startswith(b'{"endpoint_url"')):
        return _read_json(path, anchor_ns)
    return _read_jsonl(path, anchor_ns)
