"""Run as a separate process by the store concurrency tests.

python store_worker.py spool DB RUN_ID N [--no-close]   # RunWriter; prints "added k"
python store_worker.py bulk DB PREFIX RUNS N            # create_run + add_requests
python store_worker.py hold DB SECONDS                  # keep the DB file locked
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from inferlab.store import Store
from tests.unit.store_helpers import make_info, make_record


def main(argv: list[str]) -> int:
    mode, db = argv[0], Path(argv[1])
    if mode == "spool":
        run_id, n = argv[2], int(argv[3])
        store = Store(db)
        writer = store.run_writer(make_info(run_id))
        for i in range(n):
            writer.add(make_record(i, ok=i % 7 != 3))
            print(f"added {i + 1}", flush=True)
            time.sleep(0.002)
        if "--no-close" in argv:
            time.sleep(3600)  # wait to be killed
        writer.close("completed")
        print("closed", flush=True)
        return 0
    if mode == "bulk":
        prefix, runs, n = argv[2], int(argv[3]), int(argv[4])
        for r in range(runs):
            store = Store(db)
            run_id = f"{prefix}-{r}"
            store.create_run(make_info(run_id))
            store.add_requests(run_id, [make_record(i) for i in range(n)])
            store.finish_run(run_id, "completed")
        print("done", flush=True)
        return 0
    if mode == "hold":
        import duckdb

        con = duckdb.connect(str(db))
        print("locked", flush=True)
        time.sleep(float(argv[2]))
        con.close()
        return 0
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
