"""Shared `--db PATH` handling for commands that touch the store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from inferlab.cli import UsageError
from inferlab.store import Store, StoreError, default_db_path

__all__ = ["StoreFailure", "add_db_argument", "open_store", "resolve_run_ids"]

_SHOWN_MATCHES = 5


class StoreFailure(Exception):
    """The database could not be used; printed as one line, exit code 1."""


def add_db_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="PATH",
        help="DuckDB file (default: $INFERLAB_DB, else data/inferlab.duckdb; created on first use)",
    )


def open_store(args: argparse.Namespace) -> Store:
    """The store named by --db; a broken or locked file becomes a one-line error."""
    path = args.db if args.db is not None else default_db_path()
    try:
        return Store(path)
    except StoreError as exc:
        raise StoreFailure(str(exc)) from exc


def resolve_run_ids(store: Store, given: Sequence[str]) -> list[str]:
    """Each id as given, or the one stored run id it begins (git-style short ids); an id no
    run has, or a prefix several share, is a usage error (exit code 2) naming what to do."""
    resolved = []
    for rid in given:
        if store.get_run(rid) is not None:
            resolved.append(rid)
            continue
        matches = store.run_ids_starting_with(rid, limit=_SHOWN_MATCHES + 1) if rid else []
        if len(matches) == 1:
            resolved.append(matches[0])
        elif not matches:
            raise UsageError(f"no run {rid!r} in {store.path}; `inferlab runs` lists the run ids")
        else:
            shown = ", ".join(matches[:_SHOWN_MATCHES])
            more = ", ..." if len(matches) > _SHOWN_MATCHES else ""
            raise UsageError(
                f"run id {rid!r} is ambiguous: it begins {shown}{more}; give more characters"
            )
    return resolved


def fail(message: str) -> int:
    print(f"inferlab: error: {message}", file=sys.stderr)
    return 1
