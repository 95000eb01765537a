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
    "label": ["runs", "--json"],  # replaced below by a write through the API
}
results: dict[str, list[object]] = {}
for name, args in commands.items():
    if name == "label":
        continue
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
print(json.dumps(results))
