"""Shared `--db PATH` handling for commands that touch the store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inferlab.store import Store, StoreError, default_db_path

__all__ = ["StoreFailure", "add_db_argument", "open_store"]


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


def fail(message: str) -> int:
    print(f"inferlab: error: {message}", file=sys.stderr)
    return 1
