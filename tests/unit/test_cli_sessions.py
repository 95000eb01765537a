"""`inferlab probe --sessions / --trace / --stop-on-saturation` as processes, with the store."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from inferlab.store import Store
from tests.unit.test_cli_probe import PY, inferlab, probe_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cached_sim_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [PY, "-m", "inferlab", "sim", "--port", "0", "--ttft-ms", "20", "--tpot-ms", "1",
         "--prefill-ms-per-1k", "300", "--prefix-cache", "--max-batch", "8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
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


def test_sessions_json_block_shows_the_cache_by_turn(cached_sim_url: str, tmp_path: Path) -> None:
    out = probe_json(
        cached_sim_url, tmp_path / "r.duckdb",
        "--sessions", "4", "--turns", "5", "--system-prompt-tokens", "1000",
        "--user-tokens", "50", "--max-tokens", "40",
    )  # fmt: skip
    block = out["sessions"]
    assert set(block) >= {
        "count", "turns", "ttft_ms_by_turn", "input_tokens_by_turn", "session_duration_s",
        "session_tokens",
    }  # fmt: skip
    assert block["count"] == 4 and block["turns"] == 5 and out["requests"] == 20
    ttft, inputs = block["ttft_ms_by_turn"], block["input_tokens_by_turn"]
    assert ttft[0] > max(ttft[1:])
    assert inputs == sorted(inputs) and len(set(inputs)) == 5
    assert set(block["session_duration_s"]) == {"p50", "p95"}
    assert block["session_tokens"]["input"] == pytest.approx(sum(inputs))
    assert block["session_tokens"]["output"] == 5 * 40


def test_trace_replay_from_the_cli_with_the_shipped_sample(
    cached_sim_url: str, tmp_path: Path
) -> None:
    out = probe_json(
        cached_sim_url, tmp_path / "r.duckdb",
        "--trace", str(ROOT / "data" / "traces" / "sample.jsonl"), "--trace-speed", "4",
        "--requests", "40",
    )  # fmt: skip
    assert out["requests"] == 40 and out["failed"] == 0


def test_saturation_is_stopped_and_stored(tmp_path: Path) -> None:
    sim = subprocess.Popen(
        [PY, "-m", "inferlab", "sim", "--port", "0", "--ttft-ms", "50", "--tpot-ms", "5",
         "--max-batch", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().split("listening on", 1)[1].strip()
        db = tmp_path / "r.duckdb"
        out = inferlab(
            "probe", "--url", url, "--model", "inferlab-sim", "--db", str(db), "--json",
            "--rate", "60", "--arrival", "constant", "--duration", "120", "--max-tokens", "10",
            "--timeout", "120", "--stop-on-saturation",
        )  # fmt: skip
    finally:
        sim.kill()  # its queue holds requests the stopped probe dropped
        sim.wait(10)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["saturation"]["stopped"] is True
    assert "over-saturation" in out.stderr
    meta = Store(db).run_metadata(summary["run_id"])
    assert meta["saturation"]["reason"] == summary["saturation"]["reason"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--sessions", "2", "--requests", "5"], "drop --requests"),
        (["--turns", "3"], "--turns needs --sessions"),
        (["--trace-speed", "2"], "--trace-speed needs --trace"),
        (["--burstiness", "0.5"], "--burstiness needs"),
        (["--concurrency", "2", "--stop-on-saturation"], "--stop-on-saturation needs"),
        (["--sessions", "2", "--api", "completions"], "needs --api chat"),
        (["--trace", "/nonexistent/t.jsonl"], "does not exist"),
        (["--sessions", "2", "--trace", "x"], "not allowed with"),
    ],
)
def test_unusable_mode_flags_exit_2_with_one_line(args: list[str], needle: str) -> None:
    out = inferlab("probe", "--url", "http://127.0.0.1:9/v1", "--model", "m", *args)
    assert out.returncode == 2
    assert needle in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_show_prints_what_probe_printed_for_a_session_run(
    cached_sim_url: str, tmp_path: Path
) -> None:
    db = tmp_path / "r.duckdb"
    out = probe_json(
        cached_sim_url, db, "--sessions", "2", "--turns", "2", "--max-tokens", "8",
        "--think-time-s", "0.05",
    )  # fmt: skip
    shown = inferlab("show", out["run_id"], "--db", str(db), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == out
    table = inferlab("show", out["run_id"], "--db", str(db))
    assert table.returncode == 0 and "2 sessions x 2 turns" in table.stdout
    assert "p50 TTFT ms" in table.stdout
