"""What every importer shares: the parsed-run type, the tool's own numbers, errors, limits.

A parser turns one file into `ParsedRun`s without touching the store: the
run's `RunInfo`, its requests as an Arrow table with the store's request
columns (possibly empty, for files holding only aggregates), and the tool's
own aggregate numbers under their original names (`ToolMetric`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from inferlab.records import RequestRecord, RunInfo, RunStatus
from inferlab.store import records_to_arrow

__all__ = [
    "DEFAULT_MAX_UPLOAD_MB",
    "FORMATS",
    "ImportFileError",
    "ParsedRun",
    "ToolMetric",
    "content_sha256",
    "empty_requests",
    "finite",
    "http_error_class",
    "max_upload_bytes",
    "read_json_document",
]

FORMATS: tuple[str, ...] = ("vllm", "guidellm", "aiperf", "csv", "parquet", "inferlab-json")
DEFAULT_MAX_UPLOAD_MB = 200.0


class ImportFileError(Exception):
    """A file cannot be imported; the message names the file, the format tried and the problem."""

    def __init__(self, path: str | os.PathLike[str], fmt: str | None, problem: str) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.problem = problem
        tried = f"as {fmt}" if fmt else "format detection"
        super().__init__(f"{self.path.name} ({tried}): {problem}")


@dataclass(frozen=True)
class ToolMetric:
    """One aggregate number exactly as the tool reported it (original name, stat and unit)."""

    name: str  # e.g. "inter_token_latency" (AIPerf), "mean_tpot_ms" (vLLM)
    stat: str  # "avg", "mean", "median", "p99", "std", "value", ...
    value: float
    unit: str = ""
    scope: str = ""  # guidellm: "successful" / "errored" / ...; else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stat": self.stat,
            "value": self.value,
            "unit": self.unit,
            "scope": self.scope,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ToolMetric:
        return cls(str(d["name"]), str(d["stat"]), float(d["value"]), str(d.get("unit", "")),
                   str(d.get("scope", "")))  # fmt: skip


@dataclass(frozen=True, eq=False)
class ParsedRun:
    """One run read from a file, ready to be written to the store in one go."""

    info: RunInfo
    requests: pa.Table  # store request columns (see inferlab.store.records_to_arrow)
    tool_metrics: tuple[ToolMetric, ...] = ()
    status: RunStatus = "completed"
    tool_version: str = ""
    per_chunk_timings: bool = False  # every chunk's arrival known (ITL per gap computable)
    send_times_known: bool = True  # sent_ms are real offsets (RPS / duration meaningful)
    notes: tuple[str, ...] = ()  # what the importer could not map, in plain words
    extra: dict[str, Any] = field(default_factory=dict)  # tool settings kept as metadata

    @property
    def n_requests(self) -> int:
        return int(self.requests.num_rows)


def empty_requests() -> pa.Table:
    return records_to_arrow([])


def requests_table(records: Sequence[RequestRecord]) -> pa.Table:
    return records_to_arrow(records)


def read_json_document(
    path: Path, fmt: str, *, what: str = "the file", truncation_hint: bool = False
) -> Any:
    """The one JSON document in `path`; ImportFileError for non-UTF-8 text or bad JSON.

    `what` names the file in the UTF-8 message; `truncation_hint` adds "(the file looks
    truncated)" when the parser ran out of input.
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ImportFileError(path, fmt, f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if truncation_hint and "Expecting" in exc.msg else ""
        raise ImportFileError(
            path, fmt, f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{hint}"
        ) from None


def content_sha256(*paths: Path) -> str:
    """Hash of the files' bytes (read in blocks): the identity of an import."""
    h = hashlib.sha256()
    for p in paths:
        with p.open("rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def max_upload_bytes(max_mb: float | None = None) -> int:
    """The size limit: `max_mb`, else $INFERLAB_MAX_UPLOAD_MB, else 200 MB."""
    if max_mb is None:
        raw = os.environ.get("INFERLAB_MAX_UPLOAD_MB", "").strip()
        try:
            max_mb = float(raw) if raw else DEFAULT_MAX_UPLOAD_MB
        except ValueError:
            max_mb = DEFAULT_MAX_UPLOAD_MB
        if not max_mb > 0 or not math.isfinite(max_mb):
            max_mb = DEFAULT_MAX_UPLOAD_MB
    return int(max_mb * 1024 * 1024)


def finite(x: Any) -> float | None:
    """x as a float if it is a finite number, else None."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def http_error_class(code: Any, fallback: str = "client_error") -> str:
    """The probe's vocabulary for an HTTP status: http_500, ... (see inferlab.probe.errors)."""
    try:
        c = int(code)
    except (TypeError, ValueError):
        return fallback
    return f"http_{c}" if 100 <= c <= 599 else fallback
