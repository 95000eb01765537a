"""Alert delivery: a command gets the JSON on stdin, a webhook a JSON POST through the
outbound policy; failures are outcomes (never raised) and never show the webhook URL."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from inferlab.monitor import Alert, evaluate_rules, parse_rules, trend_of
from inferlab.monitor.deliver import post_webhook, run_command
from inferlab.netpolicy import NetPolicy
from tests.unit.monitor.helpers import points
from tests.unit.probe_server import free_port

PY = sys.executable


@pytest.fixture
def alert() -> Alert:
    (fired,) = evaluate_rules(
        parse_rules("error_rate>2%"), trend_of("s", points([0, 1], "error_rate")), []
    )
    return fired


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, object]], list[int]]]:
    """A loopback server: POST bodies are collected; answers with the status in `status`."""
    bodies: list[dict[str, object]] = []
    status = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(status[0])
            if status[0] == 302:
                self.send_header("location", "http://169.254.169.254/")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/T0/secret-token", bodies, status
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhook_gets_the_alert_as_json(
    alert: Alert, receiver: tuple[str, list[dict[str, object]], list[int]]
) -> None:
    url, bodies, _ = receiver
    assert post_webhook(alert, url, NetPolicy()) == "ok (HTTP 200)"
    assert bodies == [alert.to_json()]


def test_a_webhook_outside_the_allow_list_is_never_contacted(
    alert: Alert, receiver: tuple[str, list[dict[str, object]], list[int]]
) -> None:
    url, bodies, _ = receiver
    outcome = post_webhook(alert, url, NetPolicy(allowed=("api.example.com",)))
    assert outcome.startswith("refused:") and "secret-token" not in outcome
    assert bodies == []


def test_redirects_and_errors_are_failed_deliveries_not_followed(
    alert: Alert, receiver: tuple[str, list[dict[str, object]], list[int]]
) -> None:
    url, bodies, status = receiver
    status[0] = 302
    assert "redirect" in post_webhook(alert, url, NetPolicy())
    status[0] = 500
    assert post_webhook(alert, url, NetPolicy()) == "failed: HTTP 500"
    assert len(bodies) == 2  # the redirect target was never asked


def test_an_unreachable_webhook_fails_without_showing_its_url(alert: Alert) -> None:
    outcome = post_webhook(alert, f"http://127.0.0.1:{free_port()}/x/secret-token", NetPolicy())
    assert outcome.startswith("failed:") and "secret-token" not in outcome


def test_a_command_gets_the_json_on_stdin_and_the_message_in_the_environment(
    alert: Alert, tmp_path: Path
) -> None:
    out = tmp_path / "got.json"
    script = (
        "import json, os, sys; d = json.load(sys.stdin); "
        f"d['env'] = os.environ['INFERLAB_ALERT']; open({str(out)!r}, 'w').write(json.dumps(d))"
    )
    assert run_command(alert, f"{PY} -c {json.dumps(script)}") == "ok"
    got = json.loads(out.read_text())
    assert got["alert_id"] == alert.alert_id and got["env"] == alert.message


def test_a_failing_or_missing_command_is_an_outcome(alert: Alert) -> None:
    failing = f"{PY} -c \"import sys; print('disk full', file=sys.stderr); sys.exit(3)\""
    assert run_command(alert, failing) == "failed: exit code 3 (disk full)"
    assert run_command(alert, "no-such-program-xyz").startswith("failed:")
