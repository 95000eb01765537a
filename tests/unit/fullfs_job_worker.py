"""Worker for the dashboard full-disk test: a dashboard probe job into a store on a tiny tmpfs.

argv: MOUNT URL. Prints one JSON line with what the job said and what was kept.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from inferlab.dashboard.jobs import JobManager
from inferlab.netpolicy import NetPolicy
from inferlab.probe import ProbeConfig
from inferlab.store import Store


def main() -> None:
    mount, url = Path(sys.argv[1]), sys.argv[2]
    db = mount / "inferlab.duckdb"
    Store(db)  # the database exists before the job starts, as on a dashboard
    manager = JobManager(sim_process=False, job_process=False)
    cfg = ProbeConfig(url=url, model="m", requests=5_000, concurrency=4, timeout_s=5)
    job = manager.start(cfg, policy=NetPolicy(), check_endpoint=False, db_path=db)
    # Leave a few tens of KB: room for a couple of hundred spool lines.
    filler = mount / "filler"
    st = os.statvfs(mount)
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 48 * 1024))
    assert job.wait(120)
    snap = job.snapshot()
    out: dict[str, object] = {"state": snap.state, "error": snap.error, "done": snap.done}
    filler.unlink()  # free the space: the next open stores what the spool kept
    again = Store(db)
    out["status_after"] = again.run_status(job.run_id)
    out["requests_after"] = len(again.records(job.run_id))
    manager.shutdown()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
