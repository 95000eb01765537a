"""`inferlab sim` as a user runs it: a real subprocess, stopped by a signal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from inferlab.cli import main

CMD = [sys.executable, "-m", "inferlab", "sim"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CMD, *args], capture_output=True, text=True, timeout=60, env=env or dict(os.environ)
    )


def first_line(proc: subprocess.Popen[str], timeout_s: float = 30) -> str:
    assert proc.stdout is not None
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    return out[0] if out else ""


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_signalled(stop: signal.Signals) -> None:
    proc = subprocess.Popen(
        [*CMD, "--port", "0", "--ttft-ms", "5", "--tpot-ms", "1", "--model", "tiny"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = first_line(proc)
        match = re.fullmatch(r"inferlab sim: listening on (http://127\.0\.0\.1:\d+/v1)\n", line)
        assert match, line
        base = match.group(1)
        assert httpx.get(f"{base}/models").json()["data"][0]["id"] == "tiny"
        reply = httpx.post(
            f"{base}/chat/completions",
            json={
                "model": "tiny",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 3,
            },
        )
        assert reply.json()["usage"]["completion_tokens"] == 3
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "stopped" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--ttft-ms", "abc"], "--ttft-ms: invalid float value"),
        (["--tpot-ms", "-5"], "--tpot-ms must be between"),
        (["--tokens-per-chunk", "0"], "--tokens-per-chunk must be between"),
        (["--error-500-pct", "80", "--disconnect-pct", "30"], "add up to 110"),
        (["--prefill-ms-per-1k", "-1"], "--prefill-ms-per-1k must be between"),
        (["--host", "0.0.0.0"], "not a loopback address"),
        (["--port", "70000"], "--port: port must be between"),
        (["--answers", "/no/such/file.jsonl"], "--answers: cannot read"),
        (["--api-key-env", "INFERLAB_SIM_TEST_UNSET_VAR"], "is not set"),
        (["--keepalive-timeout-ms", "0"], "--keepalive-timeout-ms must be between"),
        (["--metrics-lag-ms", "-1"], "--metrics-lag-ms must be between"),
    ],
)
def test_cli_bad_flags_give_one_line(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["sim", *args])
    except SystemExit as exc:  # argparse's own checks exit directly
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1, err


def test_cli_bad_flag_in_a_real_process_has_no_traceback() -> None:
    result = run_cli("--max-batch", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "inferlab: error: --max-batch must be between 1 and 1000000, got 0"
    )


def test_cli_port_in_use_is_a_clear_error() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "pick another --port" in result.stderr


def test_cli_reads_answers_and_key_from_environment(tmp_path: Path) -> None:
    answers = tmp_path / "evals.jsonl"
    answers.write_text('{"prompt": "Capital of Italy?", "reference": "Rome"}\n', "utf-8")
    env = {**os.environ, "SIM_KEY": "k-123"}
    args = ["--port", "0", "--ttft-ms", "1", "--answers", str(answers), "--api-key-env", "SIM_KEY"]
    proc = subprocess.Popen(
        [*CMD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base = first_line(proc).strip().rsplit(" ", 1)[-1]
        body = {"messages": [{"role": "user", "content": "Capital of Italy?"}]}
        url = f"{base}/chat/completions"
        assert httpx.post(url, json=body).status_code == 401
        reply = httpx.post(url, json=body, headers={"authorization": "Bearer k-123"})
        assert reply.json()["choices"][0]["message"]["content"] == "Rome"
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_metrics_lag_flag_reaches_the_config() -> None:
    from inferlab.cli import build_parser
    from inferlab.cli.sim import config_from_args

    args = build_parser("sim").parse_args(["sim", "--metrics-lag-ms", "300"])
    assert config_from_args(args).metrics_lag_ms == 300.0
    assert config_from_args(build_parser("sim").parse_args(["sim"])).metrics_lag_ms == 0.0
