"""Lays out a database with two runs on the (still writable) tmpfs; argv: MOUNT."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from inferlab.store import NewRun, Store, records_to_arrow
from tests.unit.store_helpers import make_info, make_record

store = Store(Path(sys.argv[1]) / "inferlab.duckdb")
for rid in ("base", "next"):
    store.save_imported_runs(
        [NewRun(make_info(rid), records_to_arrow([make_record(i) for i in range(20)]))]
    )
# A probe that died mid-run: its spool waits for a writable open to ingest it.
w = store.run_writer(make_info("pending"))
w.add(make_record(0))
os._exit(0)
