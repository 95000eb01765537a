"""`inferlab export RUN... --format csv|parquet|json`: per-request data and summaries."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from inferlab.cli._db import StoreFailure, add_db_argument, fail, open_store, resolve_run_ids
from inferlab.export import EXPORT_FORMATS, export_runs
from inferlab.store import StoreError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "export",
        help="export runs' per-request data and summaries (CSV, Parquet, JSON)",
        description="Write the runs' requests (one row each) and summaries. CSV and Parquet "
        "write two files, PATH and PATH's name + '.summaries'; JSON writes one document. "
        "No secrets are written. An exported CSV imports back with `inferlab import`.",
    )
    p.add_argument(
        "run_ids",
        metavar="RUN",
        nargs="+",
        help="run ids, or their first characters (see `inferlab runs`)",
    )
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv", help="default: csv")
    p.add_argument(
        "-o", "--output", type=Path, default=None, metavar="PATH",
        help="output file (default: inferlab-export.<format> in the current folder)",
    )  # fmt: skip
    add_db_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = args.output or Path(f"inferlab-export.{args.format}")
    if out.is_dir():
        out = out / f"inferlab-export.{args.format}"
    try:
        store = open_store(args)
        paths = export_runs(store, resolve_run_ids(store, args.run_ids), args.format, out)
    except (StoreFailure, StoreError) as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot write {out}: {exc.strerror or exc}")
    for p in paths:
        print(f"wrote {p}")
    return 0
