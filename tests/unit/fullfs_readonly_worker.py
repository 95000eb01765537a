"""Runs reading and writing commands against a database on a read-only file system.

argv: MOUNT OUT_DIR. Prints one JSON line {command: [exit code, stdout, stderr]}.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

mount, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
db = str(mount / "inferlab.duckdb")
commands = {
    "runs": ["runs", "--json"],
    "show": ["show", "base", "--json"],
    "compare": ["compare", "base", "next", "--json"],
    "export": ["export", "base", "--format", "json", "-o", str(out_dir / "base.json")],
    "report": ["report", "base", "next", "-o", str(out_dir / "report.html")],
}
results: dict[str, list[object]] = {}
for name, args in commands.items():
    done = subprocess.run(
        [sys.executable, "-m", "inferlab", *args, "--db", db],
        capture_output=True,
        text=True,
        timeout=120,
    )
    results[name] = [done.returncode, done.stdout, done.stderr]

from inferlab.store import Store, StoreError  # noqa: E402

try:
    Store(db).update_run("base", label="new")
    results["write"] = [0, "", ""]
except StoreError as exc:
    results["write"] = [1, "", str(exc)]
# The dashboard's read path: the Runs page comparing the two runs.
import os  # noqa: E402

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.conftest import APP  # noqa: E402

os.environ["INFERLAB_DB"] = db
at = AppTest.from_file(APP, default_timeout=60)
at.switch_page("pages/runs.py")
at.query_params.update({"runs": "base,next"})
at.run()
results["page"] = [len(at.exception), [e.value for e in at.error], len(at.table)]
print(json.dumps(results))
