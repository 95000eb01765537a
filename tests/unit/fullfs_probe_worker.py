"""Worker for the full-disk test: probe into a store on a tiny tmpfs until it is full.

argv: MOUNT URL. Prints one JSON line with what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, cast

from inferlab.probe import ProbeConfig, SinkError, run_probe
from inferlab.probe.config import make_run_info
from inferlab.store import Store, StoreError


def main() -> None:
    mount, url = Path(sys.argv[1]), sys.argv[2]
    db = mount / "inferlab.duckdb"
    store = Store(db)
    cfg = ProbeConfig(url=url, model="m", requests=100_000, concurrency=4, timeout_s=5)
    info = make_run_info(cfg)
    writer = store.run_writer(info)
    # Leave a few tens of KB: room for a couple of hundred spool lines.
    filler = mount / "filler"
    st = os.statvfs(mount)
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 48 * 1024))
    out: dict[str, object] = {"run_id": info.run_id}
    try:
        result = asyncio.run(run_probe(cfg, cast(Any, writer), info=info))
        out["status"] = result.status
    except SinkError as exc:
        out["error"] = str(exc)
    spool = store.spool_dir
    lines = spool / f"{info.run_id}.jsonl"
    out["spool_lines"] = lines.read_bytes().count(b"\n") if lines.exists() else None
    out["spool_files"] = sorted(p.name for p in spool.iterdir())
    # A store opened while the disk is still full must keep the spool.
    try:
        out["status_while_full"] = Store(db).run_status(info.run_id)
    except Exception as exc:
        out["status_while_full"] = f"error: {exc}"
    out["spool_files_while_full"] = sorted(p.name for p in spool.iterdir())
    filler.unlink()  # free the space
    again = Store(db)
    out["status_after"] = again.run_status(info.run_id)
    out["requests_after"] = len(again.records(info.run_id))
    out["spool_files_after"] = sorted(p.name for p in spool.iterdir()) if spool.is_dir() else []
    # A probe that starts on a full disk is refused before it sends anything.
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    try:
        again.run_writer(make_run_info(cfg))
        out["start_on_full_disk"] = "started"
    except StoreError as exc:
        out["start_on_full_disk"] = str(exc)
    out["spool_files_after_refused_start"] = sorted(p.name for p in spool.iterdir())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
