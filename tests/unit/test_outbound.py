"""Outbound requests go to the checked addresses only (real loopback servers, injected DNS)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from inferlab.netpolicy import NetPolicy, Pins, TargetError
from inferlab.outbound import checked_async_client, checked_client, guarded, guarded_sync
from inferlab.probe.errors import classify_exception
from tests.unit.probe_server import Request, ScriptedServer

OPEN = NetPolicy()
ONLY_2 = NetPolicy(allowed=("127.0.0.2/32",), source="INFERLAB_ALLOWED_TARGETS")


async def answer_ok(request: Request, writer: asyncio.StreamWriter) -> None:
    body = json.dumps({"object": "list", "data": [{"id": "m"}]}).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()


def port_free_on_both() -> int:
    """A port free on 127.0.0.1 and on 127.0.0.2."""
    for _ in range(50):
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.2", 0))
            port: int = a.getsockname()[1]
            try:
                b.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no common free port")


@contextmanager
def checked_and_decoy() -> Iterator[tuple[ScriptedServer, ScriptedServer]]:
    """The allowed server on 127.0.0.2 and a decoy on 127.0.0.1, on the same port."""
    port = port_free_on_both()
    with (
        ScriptedServer(answer_ok, host="127.0.0.2", port=port) as good,
        ScriptedServer(answer_ok, host="127.0.0.1", port=port) as decoy,
    ):
        yield good, decoy


class RebindingDns:
    """Answers 127.0.0.2 the first time and 127.0.0.1 afterwards (DNS rebinding)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = set(names)
        self.calls: list[str] = []

    def __call__(self, host: str) -> Sequence[str]:
        if host not in self.names:
            raise OSError("name does not resolve")
        self.calls.append(host)
        return ["127.0.0.2"] if len(self.calls) == 1 else ["127.0.0.1"]


def test_requests_go_to_the_checked_address_with_the_host_header_kept() -> None:
    with checked_and_decoy() as (good, decoy):
        dns = RebindingDns(["xn--strae-oqa.evil.test"])
        url = f"http://straße.evil.test:{good.port}/v1"
        with checked_client(url, ONLY_2, resolve=dns, timeout=5) as client:
            for _ in range(3):
                assert client.get(url + "/models").json()["data"] == [{"id": "m"}]
        assert dns.calls == ["xn--strae-oqa.evil.test"]  # one lookup: the checked one
        assert len(good.requests) == 3 and decoy.requests == []
        assert good.requests[0].headers["host"] == f"xn--strae-oqa.evil.test:{good.port}"


def test_the_async_client_connects_to_the_checked_address_too() -> None:
    with checked_and_decoy() as (good, decoy):
        dns = RebindingDns(["box.test"])
        url = f"http://box.test:{good.port}/v1"

        async def go() -> int:
            async with checked_async_client(url, OPEN, resolve=dns, timeout=5) as client:
                await client.get(url + "/models")
                return (await client.get(url + "/models")).status_code

        assert asyncio.run(go()) == 200
        assert len(good.requests) == 2 and decoy.requests == []


def test_a_host_that_was_not_checked_is_refused_without_a_connection() -> None:
    with checked_and_decoy() as (good, decoy):
        url = f"http://127.0.0.2:{good.port}/v1"
        with checked_client(url, OPEN, timeout=5) as client:
            with pytest.raises(httpx.ConnectError, match="not the target that was checked"):
                client.get(f"http://127.0.0.1:{good.port}/v1/models")
            with pytest.raises(httpx.ConnectError, match="not the target"):
                client.get(f"http://127.0.0.2:{good.port + 1}/v1/models")
        assert good.requests == [] and decoy.requests == []


def test_a_name_that_did_not_resolve_when_checked_is_never_looked_up_again() -> None:
    with checked_and_decoy() as (good, _decoy):
        url = f"http://late.test:{good.port}/v1"
        with (
            checked_client(url, OPEN, resolve=RebindingDns([]), timeout=5) as client,
            pytest.raises(httpx.ConnectError, match="did not resolve") as err,
        ):
            client.get(url + "/models")
    # reported like any name that does not resolve
    assert classify_exception(err.value, response_started=False)[0] == "dns_error"


def test_a_refused_target_gives_no_client() -> None:
    with pytest.raises(TargetError, match="not on this dashboard's list"):
        checked_client("http://127.0.0.1:9/v1", ONLY_2)


def test_user_info_is_never_sent_as_basic_auth() -> None:
    with checked_and_decoy() as (good, _decoy):
        url = f"http://user:pw@127.0.0.2:{good.port}/v1/models"
        pins = Pins((("127.0.0.2", good.port, ("127.0.0.2",)),))
        for p in (pins, None):  # with the dashboard's pins and without (the CLI)
            transport = guarded_sync(httpx.HTTPTransport(trust_env=False), p)
            with httpx.Client(transport=transport) as client:
                with pytest.raises(httpx.ConnectError, match="--api-key-env") as err:
                    client.get(url)
                assert "pw" not in str(err.value)
        assert good.requests == []


def test_without_pins_requests_pass_unchanged() -> None:
    with checked_and_decoy() as (good, decoy):

        async def go() -> int:
            transport = guarded(httpx.AsyncHTTPTransport(trust_env=False), None)
            async with httpx.AsyncClient(transport=transport) as client:
                return (await client.get(f"http://127.0.0.1:{good.port}/v1/models")).status_code

        assert asyncio.run(go()) == 200
        assert len(decoy.requests) == 1 and good.requests == []


def test_a_second_checked_address_is_used_when_the_first_refuses() -> None:
    with checked_and_decoy() as (good, _decoy):
        closed = socket.socket()
        closed.bind(("127.0.0.3", good.port))  # bound, not listening: connection refused
        try:
            pins = Pins((("two.test", good.port, ("127.0.0.3", "127.0.0.2")),))
            transport = guarded_sync(httpx.HTTPTransport(trust_env=False), pins)
            with httpx.Client(transport=transport, timeout=5) as client:
                assert client.get(f"http://two.test:{good.port}/v1/models").status_code == 200
        finally:
            closed.close()
        assert len(good.requests) == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_to_a_pinned_address_keeps_the_name_for_sni_and_the_certificate(
    tmp_path: Path,
) -> None:
    from inferlab.probe.worker import build_client

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=api.test",
         "-addext", "subjectAltName=DNS:api.test"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    names: list[str | None] = []

    def sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        names.append(name)

    server_ctx.sni_callback = sni
    client_ctx = ssl.create_default_context(cafile=str(cert))
    hosts: list[bytes] = []

    async def main() -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            hosts.extend(line for line in head.split(b"\r\n") if line.lower().startswith(b"host:"))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.2", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        pins = Pins((("api.test", port, ("127.0.0.2",)),))
        async with server, build_client(5.0, 2, client_ctx, pins) as client:
            return (await client.get(f"https://api.test:{port}/v1/models")).status_code

    assert asyncio.run(main()) == 200
    assert names == ["api.test"] and hosts and hosts[0].startswith(b"Host: api.test:")
