"""Run a Python worker on a small real file system (tmpfs) that it can fill up.

`unshare --user --map-root-user --mount` gives the child its own mount
namespace, so an unprivileged test can mount a tmpfs of a few hundred KB and
meet a real `ENOSPC`, or remount it read-only for a real `EROFS`. The mount
disappears with the child. Tests skip where user namespaces are unavailable.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

__all__ = ["require_unshare", "run_on_tmpfs"]

_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d && rmdir $d"
    try:
        done = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", probe],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def require_unshare() -> None:
    if not _unshare_works():
        pytest.skip("needs `unshare` with user namespaces to mount a small tmpfs")


def run_on_tmpfs(
    worker: Path, mount: Path, size_kb: int, *args: str, read_only_after: Path | None = None
) -> dict[str, Any]:
    """Run `worker mount *args` with a `size_kb` tmpfs at `mount`; its last stdout line as JSON.

    With `read_only_after`, that script runs first on the fresh tmpfs (to lay out
    files), then the file system is remounted read-only before `worker` runs.
    """
    require_unshare()
    mount.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    steps = [f"mount -t tmpfs -o size={size_kb}k tmpfs {mount}"]
    if read_only_after is not None:
        steps.append(f"{py} {read_only_after} {mount} || exit 3")
        steps.append(f"mount -o remount,ro {mount}")
    steps.append(" ".join([py, str(worker), str(mount), *args]))
    path = [p for p in (os.environ.get("PYTHONPATH"), str(_ROOT)) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", " && ".join(steps)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=_ROOT,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"worker failed ({done.returncode}):\n{done.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result
