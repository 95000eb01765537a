"""A full disk never loses a run: the probe stops, the spool is kept and saved later."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.unit.fullfs import run_on_tmpfs
from tests.unit.probe_server import Request, ScriptedServer, sse_head, sse_stream

_WORKER = Path(__file__).with_name("fullfs_probe_worker.py")


def test_a_full_disk_stops_the_probe_and_keeps_every_saved_request(tmp_path: Path) -> None:
    served = 0

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        nonlocal served
        served += 1
        usage = {"prompt_tokens": 5, "completion_tokens": 3}
        for part in [sse_head(), *sse_stream(["a", "b", "c"], usage=usage)]:
            w.write(part)
        await w.drain()

    with ScriptedServer(handler) as server:
        out = run_on_tmpfs(_WORKER, tmp_path / "mnt", 2048, server.base_url)
    assert "No space left on device" in out["error"], out
    assert "interrupted" in out["error"]
    saved = out["spool_lines"]
    assert saved and saved > 10, out
    assert f"keeps the {saved} requests saved so far" in out["error"]
    # Stopped at the first refused line, not after the 100,000 planned requests.
    assert served < saved + 50, (served, saved)
    # While the disk is full the spool stays as it is (never set aside as unreadable).
    assert not any(name.endswith(".unreadable") for name in out["spool_files_while_full"])
    assert f"{out['run_id']}.jsonl" in out["spool_files_while_full"]
    # Once there is space, the next open stores every saved request as `interrupted`.
    assert out["status_after"] == "interrupted"
    assert out["requests_after"] == saved
    assert out["spool_files_after"] == []
    assert "cannot start the spool" in out["start_on_full_disk"]
    assert "No space left on device" in out["start_on_full_disk"]
    assert out["spool_files_after_refused_start"] == []


_JOB_WORKER = Path(__file__).with_name("fullfs_job_worker.py")


def test_a_dashboard_probe_on_a_full_disk_says_interrupted_like_its_saved_run(
    tmp_path: Path,
) -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        usage = {"prompt_tokens": 5, "completion_tokens": 3}
        for part in [sse_head(), *sse_stream(["a", "b", "c"], usage=usage)]:
            w.write(part)
        await w.drain()

    with ScriptedServer(handler) as server:
        out = run_on_tmpfs(_JOB_WORKER, tmp_path / "mnt", 2048, server.base_url)
    # The page's state matches the run's: interrupted, not "failed".
    assert out["state"] == "interrupted", out
    assert out["error"].startswith("The probe stopped: saving the run failed"), out
    assert "No space left on device" in out["error"]
    assert out["status_after"] == "interrupted"
    assert 0 < out["requests_after"] <= out["done"], out
