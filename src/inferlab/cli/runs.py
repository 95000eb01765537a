"""`inferlab runs`: list the stored runs (a table, or JSON with --json)."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from inferlab import jsonsafe
from inferlab.cli._db import StoreFailure, add_db_argument, fail, open_store
from inferlab.probe.config import describe_load
from inferlab.store import RUN_STATUSES, Store, StoreError

__all__ = ["register", "runs_to_json"]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "runs", help="list stored runs", description="List the runs in the database, newest first."
    )
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument("--tag", help="only runs carrying this tag")
    p.add_argument("--group", help="only runs of this sweep/group id")
    p.add_argument("--status", choices=RUN_STATUSES, help="only runs with this status")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="at most N runs")
    p.add_argument(
        "--recover",
        action="store_true",
        help="first try again to save runs whose spool was set aside as unreadable",
    )
    p.set_defaults(func=run)


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp | datetime):
        ts = pd.Timestamp(v)
        return (ts.tz_localize(UTC) if ts.tzinfo is None else ts).isoformat()
    if hasattr(v, "tolist"):
        return v.tolist()
    if v is pd.NaT or (not isinstance(v, list | tuple | str) and pd.isna(v)):
        return None
    return v


def runs_to_json(df: pd.DataFrame) -> list[dict[str, Any]]:
    """list_runs() rows as plain JSON objects (timestamps ISO 8601 UTC, NaN -> null)."""
    return [{str(k): _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _ms(v: Any) -> str:
    return "-" if v is None else f"{v:,.1f}"


def _num(v: Any, fmt: str = "{:,.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def _recover(store: Store) -> None:
    results = store.recover_spools()
    if not results:
        print("inferlab runs: no set-aside spools to recover", file=sys.stderr)
    for r in results:
        what = "recovered" if r.saved else "not recovered"
        print(f"inferlab runs: {what}: {r.run_id}: {r.message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        from inferlab.cli import UsageError

        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    try:
        store = open_store(args)
        if args.recover:
            _recover(store)
        df = store.list_runs(
            tag=args.tag, group_id=args.group, status=args.status, limit=args.limit
        )
        set_aside = store.set_aside_spools()
    except (StoreFailure, StoreError) as exc:
        return fail(str(exc))
    if set_aside:
        print(
            f"inferlab runs: note: {len(set_aside)} run(s) could not be saved from their "
            f"spool and were set aside in {store.spool_dir} ({', '.join(set_aside)}); "
            "`inferlab runs --recover` tries again",
            file=sys.stderr,
        )
    rows = runs_to_json(df)
    if args.json:
        print(jsonsafe.dumps(rows, indent=2))
        return 0
    console = Console(width=None if sys.stdout.isatty() else 160)
    if not rows:
        console.print(f"No runs in {store.path}. Record one with `inferlab probe`.")
        return 0
    table = Table(title=f"Runs in {store.path}", title_justify="left")
    table.add_column("run id", no_wrap=True)
    table.add_column("status")
    table.add_column("started UTC", no_wrap=True)
    table.add_column("model")
    table.add_column("load", justify="right", no_wrap=True)
    table.add_column("reqs", justify="right")
    table.add_column("err %", justify="right")
    table.add_column("TTFT p50 ms", justify="right")
    table.add_column("TPOT p50 ms", justify="right")
    table.add_column("E2E p50 ms", justify="right")
    table.add_column("req/s", justify="right")
    table.add_column("label / tags")
    for r in rows:
        if r["load_mode"] == "concurrency":
            load = f"c={r['load_value']:g}"
        elif r["load_mode"] in ("sessions", "trace"):
            load = describe_load(r["load_mode"], r["load_value"])
        else:
            load = f"{r['load_value']:g}/s {r['load_mode']}"
        started = (r["started_at"] or "")[:16].replace("T", " ")
        tags = ", ".join(r["tags"] or [])
        table.add_row(
            escape(r["run_id"]),
            r["status"],
            started,
            escape(r["model"]),
            load,
            _num(r["requests"], "{:,}"),
            "-" if not r["requests"] else f"{r['error_rate']:.1%}",
            _ms(r["ttft_p50_ms"]),
            _ms(r["tpot_p50_ms"]),
            _ms(r["e2e_p50_ms"]),
            _num(r["rps"]),
            escape(" ".join(x for x in (r["label"] or "", f"[{tags}]" if tags else "") if x)),
        )
    console.print(table)
    return 0
