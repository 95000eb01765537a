"""`inferlab probe` end to end: real `inferlab sim` and `inferlab probe` processes and a DB file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.probe_server import free_port

PY = sys.executable


def inferlab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "inferlab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [PY, "-m", "inferlab", "sim", "--port", "0", "--ttft-ms", "20", "--tpot-ms", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening on" in line, line + (proc.stderr.read() if proc.stderr else "")
    try:
        yield line.split("listening on", 1)[1].strip()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def probe_json(sim_url: str, db: Path, *extra: str) -> Any:
    out = inferlab(
        "probe", "--url", sim_url, "--model", "inferlab-sim", "--db", str(db), "--json", *extra
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_probe_writes_a_run_that_show_reads(sim_url: str, tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    summary = probe_json(
        sim_url,
        db,
        "--concurrency", "4", "--requests", "12", "--warmup", "2", "--max-tokens", "16",
        "--label", "smoke", "--tag", "ci", "--tag", "sim",
    )  # fmt: skip
    assert summary["status"] == "completed"
    assert summary["requests"] == 12 and summary["failed"] == 0
    assert summary["warmup_requests"] == 2
    assert summary["output_tokens"] == 12 * 16
    for metric in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
        assert set(summary[metric]) >= {"mean", "p50", "p90", "p95", "p99"}
    # A lower bound only: the sim never sends before its deadline (no timing assertions).
    assert summary["ttft_ms"]["p50"] >= 20
    shown = inferlab("show", summary["run_id"], "--db", str(db), "--json")
    assert shown.returncode == 0, shown.stderr
    shown_json = json.loads(shown.stdout)
    # both carry the server's view (the sim's /metrics, scraped during the probe).
    server = shown_json["server"]
    assert server["kind"] == "vllm" and server["generation_tokens"] == 14 * 16
    assert shown_json == summary
    table = inferlab("show", summary["run_id"], "--db", str(db))
    assert "smoke" in table.stdout and "concurrency 4" in table.stdout
    runs = json.loads(inferlab("runs", "--db", str(db), "--json").stdout)
    assert [r["run_id"] for r in runs] == [summary["run_id"]]


def test_sweep_prints_one_object_per_step_sharing_a_group(sim_url: str, tmp_path: Path) -> None:
    db = tmp_path / "sweep.duckdb"
    steps = probe_json(sim_url, db, "--sweep", "1,3", "--requests", "3", "--max-tokens", "4")
    assert isinstance(steps, list) and len(steps) == 2
    runs = json.loads(inferlab("runs", "--db", str(db), "--json").stdout)
    groups = {r.get("group_id") for r in runs}
    assert len(runs) == 2 and len(groups) == 1 and None not in groups


def test_table_output_and_api_key_from_the_environment(sim_url: str, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    out = inferlab(
        "probe", "--url", sim_url, "--model", "inferlab-sim", "--db", str(db),
        "--requests", "3", "--max-tokens", "4", "--api-key-env", "MY_KEY",
        env={"MY_KEY": "sk-cli-secret-value"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "TTFT" in out.stdout and "E2E" in out.stdout
    assert "sk-cli-secret-value" not in out.stdout + out.stderr
    with open(db, "rb") as f:
        assert b"sk-cli-secret-value" not in f.read()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--url", "localhost:8001", "--model", "m"], "not an http(s) URL"),
        (["--url", "http://127.0.0.1:1/v1 x", "--model", "m"], "contains a space"),
        (["--url", "http://127.0.0.1:1/v1", "--model", "m", "--concurrency", "-2"], "--concurrency"),
        (["--url", "http://127.0.0.1:1/v1", "--model", "m", "--concurrency", "2", "--rate", "3"], "not allowed"),
        (["--url", "http://127.0.0.1:1/v1", "--model", "m", "--arrival", "poisson"], "--arrival needs"),
        (["--url", "http://127.0.0.1:1/v1", "--model", "m", "--header", "nocolon"], "Name:value"),
        (["--url", "http://127.0.0.1:1/v1", "--model", "m", "--prompts-file", "/nonexistent.jsonl"], "does not exist"),
        (["--url", "http://127.0.0.1:1/v1", "--model", "m", "--api-key-env", "UNSET_VAR_X"], "not set"),
        (["--url", "http://127.0.0.1:1/v1", "--model", "m", "--request-deadline", "0"], "--request-deadline"),
        (["--url", "http://127.0.0.1:1/v1", "--model", "m", "--max-event-bytes", "100"], "--max-event-bytes 100 must be at least 1024"),
    ],
)  # fmt: skip
def test_unusable_arguments_exit_2_with_one_line(args: list[str], needle: str) -> None:
    out = inferlab("probe", *args)
    assert out.returncode == 2
    assert needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_user_info_in_the_url_is_refused_pointing_to_api_key_env(tmp_path: Path) -> None:
    for command, *extra in (["probe"], ["quality", "--eval-set", "arithmetic"]):
        out = inferlab(
            command, "--url", "http://user:pw-CLI-31337@127.0.0.1:1/v1", "--model", "m",
            "--db", str(tmp_path / "t.duckdb"), *extra,
        )  # fmt: skip
        assert out.returncode == 2, (command, out.stderr)
        assert "user name or password" in out.stderr and "--api-key-env" in out.stderr
        assert "pw-CLI-31337" not in out.stdout + out.stderr and "Traceback" not in out.stderr


def test_unreachable_endpoint_fails_the_preflight(tmp_path: Path) -> None:
    out = inferlab(
        "probe", "--url", f"http://127.0.0.1:{free_port()}/v1", "--model", "m",
        "--db", str(tmp_path / "x.duckdb"),
    )  # fmt: skip
    assert out.returncode == 1
    assert "connection refused" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_ctrl_c_saves_the_run_as_cancelled(sim_url: str, tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    proc = subprocess.Popen(
        [
            PY, "-m", "inferlab", "probe", "--url", sim_url, "--model", "inferlab-sim",
            "--db", str(db), "--concurrency", "4", "--requests", "100000",
            "--max-tokens", "8", "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    spool = db.parent / (db.name + ".spool")
    deadline = time.monotonic() + 60
    # Wait until requests are being saved (the records file, not the /metrics scrapes), then interrupt.
    while time.monotonic() < deadline and not any(
        p.stat().st_size > 2000
        for p in spool.glob("**/*.jsonl")
        if p.is_file() and not p.name.endswith(".server.jsonl")
    ):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    summary = json.loads(stdout)
    assert summary["status"] == "cancelled"
    assert 0 < summary["requests"] < 100_000 and summary["failed"] == 0
    assert "cancelled" in stderr
    shown = json.loads(inferlab("show", summary["run_id"], "--db", str(db), "--json").stdout)
    assert shown["status"] == "cancelled" and shown["requests"] == summary["requests"]
