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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from inferlab.records import RequestRecord, RunInfo, RunStatus
from inferlab.server.samples import Scrape
from inferlab.store import SESSION_COLUMNS, records_to_arrow

__all__ = [
    "DEFAULT_MAX_UPLOAD_MB",
    "FORMATS",
    "MAX_COUNT",
    "MAX_LISTED",
    "ImportFileError",
    "JsonError",
    "ParsedRun",
    "Problems",
    "ToolMetric",
    "as_count",
    "content_sha256",
    "dict_at",
    "empty_requests",
    "finite",
    "http_error_class",
    "list_at",
    "max_upload_bytes",
    "parse_json",
    "read_json_document",
]

FORMATS: tuple[str, ...] = ("vllm", "guidellm", "aiperf", "csv", "parquet", "inferlab-json")
DEFAULT_MAX_UPLOAD_MB = 200.0


MAX_LISTED = 10  # problems named in one message; the rest are counted


class ImportFileError(Exception):
    """A file cannot be imported; the message names the file (once), the format tried and
    the problem. `details` lists every problem found when there were several."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        fmt: str | None,
        problem: str,
        details: Sequence[str] = (),
        count: int = 0,
    ) -> None:
        self.path = Path(path)
        self.fmt = fmt
        # A library's message may quote the full path: the file is named once, in front.
        self.problem = problem.replace(str(self.path), "the file") if str(self.path) else problem
        self.details = tuple(details)
        self.count = max(count, len(self.details), 1)  # problems found (details may be capped)
        super().__init__(f"{self.path.name} ({self.tried}): {self.problem}")

    @property
    def tried(self) -> str:
        return f"as {self.fmt}" if self.fmt else "format detection"


class Problems:
    """Problems found in a file's rows or records, reported together in one ImportFileError.

    `add("row 3", "column ok should be true or false, got 'maybe'")`; `check()` raises
    when any was added, naming the first MAX_LISTED and counting the rest.
    """

    KEEP = 1000  # never hold more than this many messages for a hostile file

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self.items: list[str] = []
        self.count = 0

    def add(self, where: str, problem: str) -> None:
        """One problem at `where` ("row 3", "line 12"; "" for the whole file)."""
        self.count += 1
        if len(self.items) < self.KEEP:
            self.items.append(f"{where}: {problem}" if where else problem)

    def add_uncounted(self, n: int) -> None:
        """`n` more problems, counted in the message but not listed."""
        self.count += n

    def __bool__(self) -> bool:
        return self.count > 0

    def check(self) -> None:
        if not self.count:
            return
        self.items.sort(key=_natural)  # "row 3" before "row 12", whole-file problems first
        if self.count == 1:
            raise ImportFileError(self.path, self.fmt, self.items[0], self.items)
        shown = "; ".join(self.items[:MAX_LISTED])
        rest = self.count - min(self.count, MAX_LISTED)
        more = f"; and {rest:,} more" if rest else ""
        raise ImportFileError(
            self.path, self.fmt, f"{self.count:,} problems: {shown}{more}", self.items, self.count
        )


def _natural(item: str) -> list[tuple[int, int | str]]:
    where = item.split(": ", 1)[0] if ": " in item else ""
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", where)]


class JsonError(ValueError):
    """Text that is not one readable JSON document; the message says where and why.

    `reason` is the short why (for a message that names the line itself).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


_TOO_DEEP = "nested too deeply to read (over about 1,000 levels of [ or {)"


def parse_json(text: str) -> Any:
    """json.loads, with JsonError naming the byte for bad JSON and refusing absurd nesting."""
    try:
        return json.loads(text)
    except RecursionError:
        # json's C scanner recurses per level: 50,000 `[` exhaust the stack.
        raise JsonError(f"JSON {_TOO_DEEP}; no result file nests like that", _TOO_DEEP) from None
    except json.JSONDecodeError as exc:
        raise JsonError(json_problem(exc, text), exc.msg) from None


def json_problem(exc: json.JSONDecodeError, text: str) -> str:
    """'truncated JSON ... at byte N' when the text ends inside the document, else 'invalid'."""
    end = len(text.rstrip())
    if exc.pos >= end or exc.msg.startswith("Unterminated string"):
        n = len(text[:end].encode("utf-8", errors="replace"))
        line = text.count("\n", 0, end) + 1
        return (
            f"truncated JSON: the document stops unfinished at byte {n:,} (line {line:,}); "
            "the file looks cut off"
        )
    byte = len(text[: exc.pos].encode("utf-8", errors="replace"))
    return f"invalid JSON at byte {byte:,} (line {exc.lineno:,}, column {exc.colno:,}): {exc.msg}"


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
    scrapes: tuple[Scrape, ...] = ()  # the server's /metrics as the tool scraped them

    @property
    def n_requests(self) -> int:
        return int(self.requests.num_rows)


def empty_requests() -> pa.Table:
    """No requests, with the columns peer files can fill (the store leaves the
    session columns, which no peer file has, empty)."""
    return records_to_arrow([]).drop_columns(list(SESSION_COLUMNS))


def requests_table(records: Sequence[RequestRecord]) -> pa.Table:
    return records_to_arrow(records)


def read_json_document(path: Path, fmt: str, *, what: str = "the file") -> Any:
    """The one JSON document in `path`; ImportFileError for non-UTF-8 text or bad JSON.

    `what` names the file in the messages (an AIPerf aggregate read beside its records).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(path, fmt, f"{what} is not UTF-8 text") from None
    try:
        return parse_json(text)
    except JsonError as exc:
        prefix = "" if what == "the file" else f"{what}: "
        raise ImportFileError(path, fmt, f"{prefix}{exc}") from None


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


def dict_at(obj: Any, *keys: str) -> dict[str, Any]:
    """obj[k1][k2]... when every step is an object, else {} (optional metadata of any shape)."""
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else {}


def list_at(obj: Any, *keys: str) -> list[Any]:
    """obj[k1][k2]... when every step is an object and the last a list, else []."""
    found = dict_at(obj, *keys[:-1]).get(keys[-1]) if keys else obj
    return found if isinstance(found, list) else []


def finite(x: Any) -> float | None:
    """x as a float if it is a finite number, else None."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON integer like 10**400
        return None
    return v if math.isfinite(v) else None


MAX_COUNT = 2**31 - 1  # the store's token and index columns are 32-bit


def as_count(x: Any) -> int | None:
    """x as a token count (a whole number from 0 to MAX_COUNT), else None."""
    v = finite(x)
    return int(v) if v is not None and v.is_integer() and 0 <= v <= MAX_COUNT else None


def http_error_class(code: Any, fallback: str = "client_error") -> str:
    """The probe's vocabulary for an HTTP status: http_500, ... (see inferlab.probe.errors)."""
    try:
        c = int(code)
    except (TypeError, ValueError):
        return fallback
    return f"http_{c}" if 100 <= c <= 599 else fallback
