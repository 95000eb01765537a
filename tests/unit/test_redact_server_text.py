"""A key passed as a header never reaches stored or exported text when a server echoes it
(issue 18 item 3): one redaction place, inferlab/redaction.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from inferlab.export import export_runs
from inferlab.probe import ProbeConfig, run_probe
from inferlab.probe.config import make_run_info
from inferlab.probe.worker import Target
from inferlab.redaction import redact, secret_values
from inferlab.store import Store
from tests.unit.probe_server import Request, ScriptedServer

KEY = "sk-proj-" + "A1b2C3d4" * 6  # 56 characters, like a real key


def echo_key_server() -> ScriptedServer:
    """Answers 401 with the token it was sent, the way OpenAI's API does."""

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        token = req.headers.get("authorization", "").removeprefix("Bearer ")
        body = json.dumps(
            {"error": {"message": f"Incorrect API key provided: {token}. You can find..."}}
        ).encode()
        w.write(
            b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await w.drain()

    return ScriptedServer(handler)


def test_the_bearer_part_of_a_header_is_a_secret() -> None:
    assert secret_values(["Bearer " + KEY]) == ("Bearer " + KEY, KEY)
    assert secret_values([None, "", "abc"]) == ()


def test_a_key_cut_off_at_the_end_of_a_message_is_redacted_too() -> None:
    assert redact("bad key: " + KEY[:30], [KEY]) == "bad key: ***"
    assert redact("a normal message", [KEY]) == "a normal message"


def test_a_header_key_echoed_by_the_server_is_not_stored_or_exported(
    isolated_db: Path, tmp_path: Path
) -> None:
    store = Store()
    with echo_key_server() as srv:
        cfg = ProbeConfig(
            url=srv.base_url,
            model="m",
            requests=2,
            timeout_s=5,
            headers={"Authorization": f"Bearer {KEY}"},
        )
        info = make_run_info(cfg)
        sink: Any = store.run_writer(info)  # a Sink (close returns whether it ingested)
        result = asyncio.run(run_probe(cfg, sink, info=info))
    assert srv.requests[0].headers["authorization"] == f"Bearer {KEY}"
    records = store.records(result.info.run_id)
    assert [r.error_class for r in records] == ["http_401", "http_401"]
    for r in records:
        assert KEY[:12] not in (r.error_message or "")
        assert "***" in (r.error_message or "")
    out = export_runs(store, [info.run_id], "csv", tmp_path / "x.csv")
    for path in out:
        assert KEY[:12] not in path.read_text(encoding="utf-8")


def test_the_target_knows_header_secrets_and_their_bearer_part() -> None:
    cfg = ProbeConfig(url="http://127.0.0.1:1/v1", model="m", headers={"X-Key": f"Token {KEY}"})
    assert KEY in Target.from_config(cfg).secrets
