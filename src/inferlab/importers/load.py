"""Reading a result file and saving its runs in the store, all or nothing.

A file's runs get ids derived from its content hash (`<format>-<12 hex>[-k]`),
so importing the same file again finds them and adds nothing. A file's new
runs (rows, requests, metadata, final status) are saved in one database
transaction (`Store.save_imported_runs`): a failure or a crash part-way
leaves none of them, never a half-written run.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from inferlab.importers import aiperf, aiperf_server, csv_format, guidellm, vllm
from inferlab.importers.base import (
    FORMATS,
    ImportFileError,
    ParsedRun,
    ToolMetric,
    content_sha256,
    max_upload_bytes,
)
from inferlab.importers.detect import detect_format
from inferlab.importers.reconcile import tool_comparison
from inferlab.store import NewRun, Store, StoreError

__all__ = [
    "ImportInfo",
    "ImportedRun",
    "UploadOutcome",
    "import_file",
    "import_info",
    "import_uploads",
    "parse_file",
    "tool_comparison_for_run",
]


@dataclass(frozen=True)
class ImportedRun:
    """One run of an imported file; `duplicate` when the file had been imported before."""

    run_id: str
    source_tool: str
    label: str
    requests: int
    duplicate: bool
    file: str
    format: str
    notes: tuple[str, ...] = ()
    server_metrics_added: bool = False  # a repeat import gave the stored run its scrapes


@dataclass(frozen=True)
class ImportInfo:
    """What an imported run's metadata says about where it came from."""

    source_tool: str
    format: str
    file: str
    tool_version: str
    per_request: bool
    per_chunk_timings: bool
    send_times_known: bool
    notes: tuple[str, ...]
    tool_metrics: tuple[ToolMetric, ...]


# Narrower than the store's SECRET_KEY on purpose: "time_to_first_token" is a metric.
_CREDENTIAL = re.compile(
    r"api[-_]?key|apikey|secret|passw|authoriz|cookie|bearer|credential|access[-_]?key",
    re.IGNORECASE,
)


def _mb(n_bytes: int) -> str:
    mb = n_bytes / 1048576
    return f"{mb:,.2f}" if mb < 10 else f"{mb:,.0f}"


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ImportFileError(
            path,
            None,
            f"the file is {_mb(size)} MB, over the import limit of {_mb(max_bytes)} MB "
            "(raise it with INFERLAB_MAX_UPLOAD_MB or --max-mb)",
        )


def _checked_path(path: str | Path, fmt: str | None, limit: int) -> Path:
    """The file to read (an AIPerf folder means its JSONL), refused with a reason if unusable."""
    p = Path(path)
    if not p.exists():
        raise ImportFileError(p, fmt, "no such file")
    if p.is_dir() and (p / "profile_export.jsonl").is_file():
        p = p / "profile_export.jsonl"  # an AIPerf artifact directory
    if not p.is_file():
        raise ImportFileError(
            p, fmt, "not a regular file (for AIPerf, give profile_export.jsonl or its folder)"
        )
    size = p.stat().st_size
    _check_size(p, size, limit)
    if size == 0:
        raise ImportFileError(p, fmt, "the file is empty")
    if fmt is not None and fmt not in FORMATS:
        raise ImportFileError(p, fmt, f"unknown format; use one of {', '.join(FORMATS)}")
    return p


def _aiperf_pair(p: Path, limit: int) -> tuple[Path, Path | None]:
    """(per-request JSONL, aggregate JSON or None) for an AIPerf file given either way."""
    if p.name == aiperf.AGGREGATE_NAME or _is_aiperf_aggregate(p):
        jsonl = p.with_name("profile_export.jsonl")
        if jsonl.is_file():
            _check_size(jsonl, jsonl.stat().st_size, limit)
            return jsonl, p
        return p, None
    return p, aiperf.aggregate_beside(p)


_PARSERS: dict[str, Callable[[Path, str], list[ParsedRun]]] = {
    "vllm": vllm.parse_vllm,
    "guidellm": guidellm.parse_guidellm,
    "csv": csv_format.parse_csv,
    "parquet": csv_format.parse_parquet,
    "inferlab-json": csv_format.parse_inferlab_json,
}
# A structure a parser did not expect: still one clear line, never a traceback.
_UNEXPECTED = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    ArithmeticError,  # OverflowError of a number too large for its column
    RecursionError,
    pa.ArrowException,
)


def _server_metrics_alone(p: Path, limit: int) -> tuple[Path, Path] | None:
    """(profile export, server-metrics export) when `p` is AIPerf's server-metrics export:
    its profile_export.jsonl beside it is the run; ImportFileError when there is none."""
    if not _is_aiperf_server_metrics(p):
        return None
    jsonl = p.with_name("profile_export.jsonl")
    if jsonl.is_file():
        _check_size(jsonl, jsonl.stat().st_size, limit)
        return jsonl, p
    raise ImportFileError(
        p,
        "aiperf",
        "this is AIPerf's server-metrics export, not a run: import the profile_export.jsonl "
        "it belongs to (the server metrics beside it come along), or name this file with "
        "--server-metrics",
    )


def _with_server_metrics(run: ParsedRun, path: Path, *, explicit: bool, limit: int) -> ParsedRun:
    """`run` with the scrapes of an AIPerf server-metrics export, on the run's clock.

    A broken file given explicitly refuses the import (ImportFileError naming it); one
    found beside the profile export only adds a note, and the run is imported without it.
    """
    anchor_ns = round(run.info.started_at.timestamp() * 1e9)
    try:
        _check_size(path, path.stat().st_size, limit)
        got = aiperf_server.parse_server_metrics(path, anchor_ns)
    except ImportFileError as exc:
        if explicit:
            raise
        note = f"{path.name} was not imported ({exc.problem}); fix it and import again"
        return replace(run, notes=(*run.notes, note))
    except _UNEXPECTED as exc:
        problem = f"unexpected structure ({type(exc).__name__}: {str(exc)[:300]})"
        if explicit:
            raise ImportFileError(path, aiperf_server.FMT, problem) from exc
        return replace(run, notes=(*run.notes, f"{path.name} was not imported ({problem})"))
    return replace(
        run,
        scrapes=got.scrapes,
        notes=(*run.notes, *got.notes),
        extra={**run.extra, "server_metrics_file": got.file},
    )


def parse_file(
    path: str | Path,
    fmt: str | None = None,
    *,
    max_bytes: int | None = None,
    server_metrics: str | Path | None = None,
) -> tuple[str, str, list[ParsedRun]]:
    """(format, content hash, runs) of a file, without touching the store.

    For AIPerf, `server_metrics` names its server-metrics export (JSON or JSONL);
    without it one found beside the profile export is read.
    """
    limit = max_bytes if max_bytes is not None else max_upload_bytes()
    p = _checked_path(path, fmt, limit)
    explicit = Path(server_metrics) if server_metrics is not None else None
    if explicit is not None and not explicit.is_file():
        raise ImportFileError(explicit, aiperf_server.FMT, "no such file (--server-metrics)")
    alone = _server_metrics_alone(p, limit) if fmt in (None, "aiperf") else None
    if alone is not None:
        p, explicit = alone[0], explicit or alone[1]
    fmt = fmt or detect_format(p)
    if explicit is not None and fmt != "aiperf":
        raise ImportFileError(
            explicit, fmt, "server metrics can only be imported with an AIPerf profile export"
        )
    primary, aggregate = _aiperf_pair(p, limit) if fmt == "aiperf" else (p, None)
    digest = content_sha256(primary)
    prefix = f"{fmt.removeprefix('inferlab-')}-{digest[:12]}"
    try:
        if fmt in _PARSERS:
            runs = _PARSERS[fmt](primary, prefix)
        elif primary is p and aggregate is None and _is_aiperf_aggregate(p):
            runs = aiperf.parse_aggregate_file(p, prefix)
        else:
            runs = aiperf.parse_aiperf(primary, prefix, aggregate)
    except ImportFileError:
        raise
    except _UNEXPECTED as exc:
        raise ImportFileError(
            p, fmt, f"unexpected structure ({type(exc).__name__}: {str(exc)[:300]})"
        ) from exc
    except MemoryError:
        raise ImportFileError(p, fmt, "too large to read into memory") from None
    if fmt == "aiperf" and len(runs) == 1:
        found = explicit or aiperf_server.server_metrics_beside(primary)
        if found is not None:
            runs = [
                _with_server_metrics(runs[0], found, explicit=explicit is not None, limit=limit)
            ]
    return fmt, digest, runs


def _is_aiperf_aggregate(p: Path) -> bool:
    """An AIPerf aggregate JSON rather than per-request JSON lines."""
    with p.open("rb") as f:
        head = f.read(65536)
    first = head.lstrip().split(b"\n", 1)[0]
    if b'"request_start_ns"' in first:
        return False
    return b'"aiperf_version"' in head or b'"benchmark_duration"' in head


def _is_aiperf_server_metrics(p: Path) -> bool:
    """AIPerf's server-metrics export (JSON or JSONL) rather than a profile export."""
    if p.name in (aiperf_server.JSON_NAME, aiperf_server.JSONL_NAME):
        return True
    with p.open("rb") as f:
        head = f.read(65536)
    first = head.lstrip().split(b"\n", 1)[0]
    if b'"request_start_ns"' in first or b'"request_throughput"' in head:
        return False  # a profile export (its telemetry section has endpoints too)
    return b'"endpoints_configured"' in head or (
        b'"endpoint_url"' in first and b'"timestamp_ns"' in first and b'"metrics"' in first
    )


def _metadata(run: ParsedRun, fmt: str, file: str, digest: str) -> dict[str, Any]:
    return {
        "import": {
            "format": fmt,
            "file": file,
            "content_sha256": digest,
            "tool_version": run.tool_version,
            "per_request": run.n_requests > 0,
            "per_chunk_timings": run.per_chunk_timings,
            "send_times_known": run.send_times_known,
            "notes": list(run.notes),
            "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **run.extra,
        },
        # A number named like a credential (vLLM --metadata api_key=...) is never kept.
        "tool_metrics": [m.to_json() for m in run.tool_metrics if not _CREDENTIAL.search(m.name)],
    }


def import_file(
    store: Store,
    path: str | Path,
    fmt: str | None = None,
    *,
    max_bytes: int | None = None,
    display_name: str | None = None,
    server_metrics: str | Path | None = None,
) -> list[ImportedRun]:
    """Parse `path` and save its runs (all of them, or none); a repeat import adds nothing
    but the server metrics of an AIPerf run stored without them."""
    p = Path(path)
    fmt, digest, runs = parse_file(p, fmt, max_bytes=max_bytes, server_metrics=server_metrics)
    if p.is_dir():
        p = p / "profile_export.jsonl"
    name = display_name or p.name
    out: list[ImportedRun] = []
    todo: list[ParsedRun] = []
    for run in runs:
        if store.run_status(run.info.run_id) is not None:
            attached = bool(run.scrapes) and _attach_scrapes(store, run, p, fmt)
            out.append(_result(run, True, name, fmt, server_metrics_added=attached))
        else:
            todo.append(run)
    if todo:
        items = [
            NewRun(
                info=run.info,
                requests=run.requests if run.n_requests else None,
                metadata=_metadata(run, fmt, name, digest),
                status=run.status,
                scrapes=run.scrapes,
            )
            for run in todo
        ]
        try:
            # Another process may import the same file between the check above and
            # this save: its runs then count as already imported, not as a conflict.
            skipped = store.save_imported_runs(items, skip_existing=True)
        except StoreError as exc:
            raise ImportFileError(p, fmt, f"nothing was imported: {exc}") from exc
        out.extend(_result(run, run.info.run_id in skipped, name, fmt) for run in todo)
    order = {r.info.run_id: i for i, r in enumerate(runs)}
    return sorted(out, key=lambda r: order[r.run_id])


def _attach_scrapes(store: Store, run: ParsedRun, p: Path, fmt: str) -> bool:
    """Give an already stored run (imported before its server metrics) the scrapes."""
    try:
        return store.add_server_scrapes(run.info.run_id, run.scrapes)
    except StoreError as exc:
        raise ImportFileError(p, fmt, f"the server metrics were not added: {exc}") from exc


def _result(
    run: ParsedRun, duplicate: bool, file: str, fmt: str, *, server_metrics_added: bool = False
) -> ImportedRun:
    return ImportedRun(
        run_id=run.info.run_id,
        source_tool=run.info.source_tool,
        label=run.info.label,
        requests=run.n_requests,
        duplicate=duplicate,
        file=file,
        format=fmt,
        notes=run.notes,
        server_metrics_added=server_metrics_added,
    )


@dataclass(frozen=True)
class UploadOutcome:
    """One uploaded file: its runs, or why it was not imported.

    `error` is the whole message (naming the file once); `problem` the same without
    the file's name and `tried` ("as guidellm", "format detection"), for a page that
    names the file itself.
    """

    name: str
    runs: tuple[ImportedRun, ...] = ()
    error: str | None = None
    problem: str | None = None
    tried: str = ""
    details: tuple[str, ...] = ()  # the problems one by one, when there were several
    count: int = 0  # how many problems (details may list fewer)


def _refused(name: str, exc: ImportFileError) -> UploadOutcome:
    return UploadOutcome(
        name,
        error=f"{name} ({exc.tried}): {exc.problem}",
        problem=exc.problem,
        tried=exc.tried,
        details=exc.details if exc.count > 1 else (),
        count=exc.count,
    )


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def import_uploads(
    store: Store,
    files: Sequence[tuple[str, bytes]],
    fmt: str | None = None,
    *,
    max_bytes: int | None = None,
) -> list[UploadOutcome]:
    """Import uploaded files (name, bytes); an AIPerf aggregate uploaded with its JSONL pairs up.

    Each file is its own transaction: one bad file does not stop the others.
    """
    limit = max_bytes if max_bytes is not None else max_upload_bytes()
    outcomes: list[UploadOutcome] = []
    with tempfile.TemporaryDirectory(prefix="inferlab-upload-") as tmp:
        folder = Path(tmp)
        saved: list[tuple[str, Path]] = []
        for name, data in files:
            base = _SAFE_NAME.sub("_", Path(name).name) or "upload"
            if len(data) > limit:
                try:
                    _check_size(Path(base), len(data), limit)
                except ImportFileError as exc:
                    outcomes.append(_refused(name, exc))
                continue
            target = folder / base
            target.write_bytes(data)
            saved.append((name, target))
        names = {t.name for _, t in saved}
        for name, target in saved:
            companions = (aiperf.AGGREGATE_NAME, aiperf_server.JSON_NAME, aiperf_server.JSONL_NAME)
            if target.name in companions and "profile_export.jsonl" in names:
                continue  # imported together with its JSONL
            try:
                runs = import_file(store, target, fmt, max_bytes=limit, display_name=name)
                outcomes.append(UploadOutcome(name, tuple(runs)))
            except ImportFileError as exc:
                outcomes.append(_refused(name, exc))
            except Exception as exc:  # a bug of ours must not hide the other files' results
                bug = ImportFileError(
                    target, fmt, f"an unexpected error ({type(exc).__name__}: {str(exc)[:300]})"
                )
                outcomes.append(_refused(name, bug))
    return outcomes


def import_info(store: Store, run_id: str) -> ImportInfo | None:
    """Where an imported run came from and the tool's own numbers; None for inferlab's runs."""
    meta = store.run_metadata(run_id)
    imp = meta.get("import")
    if not isinstance(imp, dict):
        return None
    info = store.get_run(run_id)
    metrics = tuple(
        ToolMetric.from_json(m) for m in meta.get("tool_metrics") or [] if isinstance(m, dict)
    )
    return ImportInfo(
        source_tool=info.source_tool if info else "",
        format=str(imp.get("format", "")),
        file=str(imp.get("file", "")),
        tool_version=str(imp.get("tool_version", "")),
        per_request=bool(imp.get("per_request")),
        per_chunk_timings=bool(imp.get("per_chunk_timings")),
        send_times_known=bool(imp.get("send_times_known")),
        notes=tuple(str(n) for n in imp.get("notes") or []),
        tool_metrics=metrics,
    )


def tool_comparison_for_run(store: Store, run_id: str) -> pd.DataFrame | None:
    """`reconcile.tool_comparison` for a stored run; None when it was not imported."""
    info = import_info(store, run_id)
    if info is None:
        return None
    return tool_comparison(info.source_tool, info.tool_metrics, store.summary(run_id))
