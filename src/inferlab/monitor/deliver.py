"""Send a fired alert to a command (JSON on stdin) or a webhook (JSON POST).

A delivery that fails is reported, never raised: the monitor keeps measuring.
The webhook goes through the same outbound policy as probes: a client from
`inferlab.outbound.checked_client` (`netpolicy.check_target`: allow-list, no
metadata or link-local addresses; it connects only to the addresses checked
and follows no redirects). Its URL may hold a token (Slack and
similar put one in the path), so it is never printed or stored; outcomes
name it only as "webhook".
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Mapping

import httpx

from inferlab.monitor.alerts import Alert
from inferlab.netpolicy import NetPolicy, PolicyError, TargetError, redirect_refusal
from inferlab.outbound import checked_client

__all__ = ["COMMAND_TIMEOUT_S", "WEBHOOK_TIMEOUT_S", "check_command", "post_webhook", "run_command"]

COMMAND_TIMEOUT_S = 30.0
WEBHOOK_TIMEOUT_S = 10.0


def check_command(command: str) -> list[str]:
    """The command's argv (split like a shell would, no shell involved); ValueError if empty."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"--alert-command {command!r} cannot be split into words: {exc}") from None
    if not argv:
        raise ValueError("--alert-command is empty; give a program, e.g. 'notify-send inferlab'")
    return argv


def _body(alert: Alert) -> bytes:
    return json.dumps(alert.to_json()).encode()


def run_command(alert: Alert, command: str, environ: Mapping[str, str] | None = None) -> str:
    """Run `command` with the alert as JSON on stdin (and its message in INFERLAB_ALERT)."""
    try:
        argv = check_command(command)
        env = {**(os.environ if environ is None else environ), "INFERLAB_ALERT": alert.message}
        done = subprocess.run(
            argv,
            input=_body(alert),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"failed: still running after {COMMAND_TIMEOUT_S:g} s (stopped)"
    except (OSError, ValueError) as exc:
        return f"failed: {exc}"
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        return f"failed: exit code {done.returncode}" + (f" ({err[-1][:200]})" if err else "")
    return "ok"


def post_webhook(alert: Alert, url: str, policy: NetPolicy) -> str:
    """POST the alert as JSON to `url` if the outbound policy allows it; the outcome."""
    try:
        client = checked_client(url, policy, timeout=WEBHOOK_TIMEOUT_S)
    except (TargetError, PolicyError) as exc:
        return f"refused: {exc}"
    try:
        with client:
            response = client.post(
                url,
                content=_body(alert),
                headers={"content-type": "application/json", "user-agent": "inferlab-monitor"},
            )
    except httpx.HTTPError as exc:  # the message would show the URL, which may hold a token
        return f"failed: {type(exc).__name__}"
    if response.is_redirect:
        return "failed: " + redirect_refusal(response.status_code, None)
    if response.is_error:
        return f"failed: HTTP {response.status_code}"
    return f"ok (HTTP {response.status_code})"
