"""`inferlab import FILE`: load vLLM, guidellm, AIPerf or inferlab-CSV results into the store."""

from __future__ import annotations

import argparse
import math
from typing import Any

from inferlab import jsonsafe
from inferlab.cli import UsageError
from inferlab.cli._db import StoreFailure, add_db_argument, fail, open_store
from inferlab.importers import (
    FORMATS,
    MAX_LISTED,
    ImportedRun,
    ImportFileError,
    import_file,
    max_upload_bytes,
    tool_comparison_for_run,
)
from inferlab.store import Store, StoreError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "import",
        help="import results of vLLM, guidellm, AIPerf or an inferlab CSV",
        description="Import a result file as one or more runs. The format is detected from "
        "the content unless --format is given. Importing the same file again adds nothing.",
    )
    p.add_argument("file", metavar="FILE", nargs="+", help="result file(s) to import")
    p.add_argument("--format", choices=FORMATS, default=None, help="the file's format")
    add_db_argument(p)
    p.add_argument(
        "--max-mb",
        type=float,
        default=None,
        metavar="MB",
        help="refuse larger files (default: $INFERLAB_MAX_UPLOAD_MB, else 200)",
    )
    p.add_argument(
        "--server-metrics",
        metavar="FILE",
        default=None,
        help="AIPerf's server-metrics export (server_metrics_export.json or .jsonl) of the "
        "AIPerf FILE, when it is not beside it; one beside it is read anyway",
    )
    p.add_argument(
        "--series",
        metavar="NAME",
        help="add the runs to this series (tag series:NAME) so `inferlab trends` follows them",
    )
    p.add_argument("--json", action="store_true", help="print the imported runs' summaries")
    p.set_defaults(func=run)


def _join_series(store: Store, run_id: str, tag: str) -> None:
    info = store.get_run(run_id)
    if info is not None and tag not in info.tags:
        store.update_run(run_id, tags=[*info.tags, tag])


def _agreement(store: Store, run_id: str, tool: str) -> list[str]:
    """One line on how the tool's own numbers compare with inferlab's, plus each difference."""
    cmp = tool_comparison_for_run(store, run_id)
    if cmp is None or cmp.empty:
        return []
    both = cmp[cmp["agrees"].notna()]
    if both.empty:
        return [f"{tool}'s own numbers kept ({len(cmp)} comparable); no per-request data to check"]
    differ = both[~both["agrees"].astype(bool)]
    lines = [
        f"{tool}'s own numbers vs inferlab's recomputed ones: "
        f"{len(both) - len(differ)} agree within 1%, {len(differ)} differ"
    ]
    for rec in differ.to_dict("records"):
        note = f" ({rec['note']})" if rec["note"] else ""
        lines.append(
            f"  {rec['metric']}: inferlab {rec['inferlab']:.4g}, "
            f"{rec['tool_metric']} {rec['tool_value']:.4g}{note}"
        )
    return lines


def _refusal(exc: ImportFileError) -> str:
    """The refusal; several problems one per line (the first MAX_LISTED, then a count)."""
    if exc.count <= 1 or not exc.details:
        return str(exc)
    lines = [f"{exc.path.name} ({exc.tried}): {exc.count:,} problems:"]
    lines += [f"  {d}" for d in exc.details[:MAX_LISTED]]
    if exc.count > MAX_LISTED:
        lines.append(f"  ... and {exc.count - MAX_LISTED:,} more")
    return "\n".join(lines)


def _print_run(store: Store, r: ImportedRun) -> None:
    what = "already imported" if r.duplicate else "imported"
    print(f"{what}: {r.run_id}  {r.label}  ({r.requests:,} requests)  from {r.file}")
    if r.server_metrics_added:
        print("  its server metrics were added to the stored run")
    for note in r.notes if not r.duplicate else ():
        print(f"  note: {note}")
    if not r.duplicate:
        for line in _agreement(store, r.run_id, r.source_tool):
            print(f"  {line}")


def run(args: argparse.Namespace) -> int:
    if args.max_mb is not None and not (args.max_mb > 0 and math.isfinite(args.max_mb)):
        raise UsageError(f"--max-mb must be a positive number, got {args.max_mb}")
    limit = max_upload_bytes(args.max_mb)
    series = None
    if args.series is not None:
        from inferlab.monitor.series import SeriesError, series_tag

        try:
            series = series_tag(args.series)
        except SeriesError as exc:
            raise UsageError(f"--series: {exc}") from None
    if args.server_metrics is not None and len(args.file) != 1:
        raise UsageError("--server-metrics belongs to one AIPerf FILE; import one file at a time")
    try:
        store = open_store(args)
        out: list[dict[str, Any]] = []
        failed = 0
        for file in args.file:
            try:
                runs = import_file(
                    store, file, args.format, max_bytes=limit, server_metrics=args.server_metrics
                )
            except ImportFileError as exc:
                fail(_refusal(exc))
                failed += 1
                continue
            for r in runs:
                if series is not None:
                    _join_series(store, r.run_id, series)
                if args.json:
                    obj = store.summary(r.run_id).to_json()
                    obj["source_tool"] = r.source_tool
                    obj["label"] = r.label
                    obj["already_imported"] = r.duplicate
                    out.append(obj)
                else:
                    _print_run(store, r)
    except (StoreFailure, StoreError) as exc:
        return fail(str(exc))
    if args.json:
        print(jsonsafe.dumps(out, indent=2))
    return 1 if failed else 0
