"""`inferlab monitor` end to end against the real simulator, a real database and real
loopback receivers for alerts.

Done-when of issue 14: a monitor of the sim at 50 ms TTFT, then the same series at
300 ms (the sim restarted on the same port with another setting), gives one detected
TTFT change, one alert delivered to the command and the webhook, and `inferlab trends
--fail-on-change` exits 1; a monitor whose endpoint dies keeps going, records failed
runs, and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from inferlab.cli import main
from inferlab.monitor import MONITOR_TAG, load_series
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store
from tests.unit.probe_server import free_port

PY = sys.executable
SMALL = ["--concurrency", "4", "--requests", "4", "--max-tokens", "8"]


class _Hook(BaseHTTPRequestHandler):
    bodies: list[bytes]

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        type(self).bodies.append(self.rfile.read(length))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback HTTP server collecting the JSON bodies POSTed to it."""
    bodies: list[bytes] = []
    handler = type("Hook", (_Hook,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", bodies
    finally:
        server.shutdown()
        server.server_close()


def monitor(url: str, db: Path, *extra: str) -> int:
    return main(
        ["monitor", "--url", url, "--model", "inferlab-sim", "--db", str(db), *SMALL, *extra]
    )


def test_a_slower_endpoint_is_one_change_one_alert_and_fails_trends(
    tmp_path: Path, webhook: tuple[str, list[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, port = tmp_path / "m.duckdb", free_port()
    received = tmp_path / "alerts.jsonl"
    command = (
        f"{PY} -c \"import sys; open({str(received)!r}, 'a').write(sys.stdin.read() + '\\n')\""
    )
    url, bodies = webhook
    alerting = ["--every", "10ms", "--count", "6", "--alert", "ttft_p95>+20%,error_rate>2%"]
    alerting += ["--alert-command", command, "--webhook", url]
    for ttft_ms in (50, 300):
        with SimServer(SimConfig(ttft_ms=ttft_ms, tpot_ms=1), port=port) as sim:
            assert monitor(sim.base_url, db, *alerting) == 0
    out = capsys.readouterr().out

    store = Store(db)
    ((name, points),) = load_series(store).items()
    assert len(points) == 12 and name.startswith(f"http://127.0.0.1:{port}/v1 · inferlab-sim")
    assert all(MONITOR_TAG in (store.get_run(p.run_id) or ()).tags for p in points)  # type: ignore[union-attr]
    first_slow = points[6].run_id

    trends = subprocess.run(
        [PY, "-m", "inferlab", "trends", "--db", str(db), "--json", "--fail-on-change"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert trends.returncode == 1, trends.stderr
    (series,) = json.loads(trends.stdout)
    ttft = [c for c in series["changes"] if c["metric"] == "ttft_p95"]
    assert len(ttft) == 1 and ttft[0]["run_id"] == first_slow and ttft[0]["worse"]
    assert ttft[0]["before"] >= 50 and ttft[0]["after"] >= 300  # the sim never answers early
    assert "ttft_p95" in series["worse_now"]
    assert "TTFT p95" in trends.stderr

    # One alert for the one change: printed, stored, delivered to the command and the webhook.
    (alert,) = store.alerts(name)
    assert alert["rule"] == "ttft_p95>+20%" and alert["run_id"] == first_slow
    assert alert["deliveries"] == {"command": "ok", "webhook": "ok (HTTP 200)"}
    assert out.count("ALERT ") == 1 and first_slow in out
    (sent,) = [json.loads(line) for line in received.read_text().splitlines() if line]
    assert sent["alert_id"] == alert["alert_id"] and sent["series"] == name
    assert [json.loads(b)["alert_id"] for b in bodies] == [alert["alert_id"]]


def test_a_monitor_whose_endpoint_dies_keeps_going_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    sim = SimServer(SimConfig(ttft_ms=5, tpot_ms=1)).start()
    proc = subprocess.Popen(
        [PY, "-m", "inferlab", "monitor", "--url", sim.base_url, "--model", "inferlab-sim",
         "--db", str(db), "--every", "50ms", "--series", "dies", *SMALL,
         "--alert", "error_rate>2%"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while sum(" run " in line for line in lines) < 2:
            lines.append(proc.stdout.readline())
            assert lines[-1], "monitor ended early: " + (proc.stderr.read() if proc.stderr else "")
        sim.stop()  # the endpoint dies
        failed_runs = 0
        while failed_runs < 2:
            line = proc.stdout.readline()
            assert line, "monitor ended early: " + (proc.stderr.read() if proc.stderr else "")
            lines.append(line)
            failed_runs += " run " in line and "4 failed (100%)" in line
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        sim.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped after" in err and "Traceback" not in err
    assert sum(line.startswith("ALERT ") for line in lines + rest.splitlines()) == 1

    runs = Store(db).list_runs(tag="series:dies")
    assert set(runs["status"]) <= {"completed", "cancelled"}
    done = runs[runs["status"] == "completed"]
    assert (done["error_rate"] == 1.0).sum() >= 2 and (done["error_rate"] == 0.0).sum() >= 2
    (alert,) = Store(db).alerts("dies")
    assert alert["rule"] == "error_rate>2%" and alert["after_value"] == 1.0


def test_json_lines_are_one_object_per_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=1)) as sim:
        assert monitor(sim.base_url, tmp_path / "m.duckdb", "--every", "1ms", "--count", "2",
                       "--json", "--series", "j") == 0  # fmt: skip
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["type"] for o in objs] == ["run", "run"]
    assert all(o["series"] == "j" and o["requests"] == 4 for o in objs)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--every", "5m", "--alert", "ttft_p95>20%"], "ttft_p95>+20%"),
        (["--every", "5m", "--webhook", "http://127.0.0.1:9/h"], "need --alert"),
        (["--every", "5m", "--alert", "error_rate>2%", "--alert-command", " "], "is empty"),
        (["--every", "5m", "--series", "a,b"], "comma"),
        (["--every", "5m", "--alert", "error_rate>2%", "--webhook", "http://169.254.169.254/x"],
         "169.254.169.254"),
    ],
)  # fmt: skip
def test_unusable_settings_are_one_line_and_exit_2(
    extra: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert monitor("http://127.0.0.1:9/v1", tmp_path / "m.duckdb", *extra) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.duckdb").exists()  # refused before anything was opened


def test_a_webhook_outside_the_allow_list_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INFERLAB_ALLOWED_TARGETS", "api.example.com")
    extra = ["--every", "5m", "--alert", "error_rate>2%", "--webhook", "http://127.0.0.1:9/h"]
    assert monitor("http://127.0.0.1:9/v1", tmp_path / "m.duckdb", *extra) == 2
    assert "not on this dashboard's list of allowed targets" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "says"),
    [(["--every", "5x"], "--every '5x'"), (["--every", "5m", "--sweep", "1,2"], "--sweep")],
)
def test_bad_flags_are_argparse_errors(
    extra: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        monitor("http://127.0.0.1:9/v1", tmp_path / "m.duckdb", *extra)
    assert exit_info.value.code == 2 and says in capsys.readouterr().err
