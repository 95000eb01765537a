"""Run the sim: uvicorn on a loopback socket, in a background thread or a child process.

Thread mode (default) shares the caller's process: ``truth()`` reads the log
directly. Process mode (``process=True``) gives the sim its own interpreter,
so a heavy client in the caller does not delay the sim's writes (the GIL);
``truth()`` then fetches ``GET /sim/truth``. Either way the stamps are
``perf_counter_ns`` on the machine-wide monotonic clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from inferlab.sim.app import SimState, build_app
from inferlab.sim.config import SimConfig
from inferlab.sim.truth import TruthRecord

__all__ = ["SimServer", "bind_socket", "check_host", "make_uvicorn_server"]

_START_TIMEOUT_S = 20.0


def check_host(host: str, allow_remote: bool = False) -> None:
    """Refuse a non-loopback address unless `allow_remote` (ValueError with the reason)."""
    if allow_remote:
        return
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"host {host!r} is not an IP address; use 127.0.0.1 (or pass --allow-remote "
            "to serve a name, which exposes the sim to the network)"
        ) from None
    if not address.is_loopback:
        raise ValueError(
            f"host {host} is not a loopback address; the sim serves 127.0.0.1 or ::1 only "
            "unless you pass --allow-remote (anyone who can reach the port can use it)"
        )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 = any free port); OSError when taken."""
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be between 0 and 65535, got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(4096)  # accept into the backlog from now on, before uvicorn runs
    except OSError:
        sock.close()
        raise
    return sock


def _readline(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """The child's first stdout line, or "" when it says nothing within `timeout_s`."""
    assert proc.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    return result[0] if result else ""


class _Server(uvicorn.Server):
    """uvicorn that stops on SIGINT/SIGTERM without re-raising the signal afterwards."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, frame: object) -> None:
            if self.should_exit:
                self.force_exit = True
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def make_uvicorn_server(state: SimState, access_log: bool = False) -> uvicorn.Server:
    """A uvicorn server for `state` that leaves logging setup to its host process."""
    config = uvicorn.Config(
        build_app(state),
        loop="none",
        http="h11",
        lifespan="off",
        log_config=None,
        log_level="warning" if not access_log else "info",
        access_log=access_log,
        timeout_graceful_shutdown=1,
        backlog=4096,
        # uvicorn's setting is in seconds and takes a fraction (a loop.call_later delay).
        timeout_keep_alive=state.config.keepalive_timeout_ms / 1000,  # type: ignore[arg-type]
    )
    return _Server(config)


def serve_forever(config: SimConfig, sock: socket.socket, access_log: bool = False) -> None:
    """Serve on `sock` in this thread until SIGINT/SIGTERM (main thread) or forever."""
    server = make_uvicorn_server(SimState(config), access_log=access_log)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()


def child_main() -> int:
    """Process mode's child: config as JSON on stdin, ``PORT n`` (or ``ERROR msg``) on stdout.

    The parent keeps stdin open; end-of-file means it is gone, and the child stops too,
    so a killed parent never leaves an orphan sim holding its port.
    """
    try:
        request = json.loads(sys.stdin.readline())
        config = SimConfig(**request["config"])
        sock = bind_socket(request["host"], int(request["port"]))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        print(f"ERROR {exc}", flush=True)
        return 1
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # nobody reads the pipe from here on

    def stop_with_parent() -> None:
        sys.stdin.read()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_with_parent, daemon=True).start()
    serve_forever(config, sock)
    return 0


class SimServer:
    """The sim on a free loopback port: ``with SimServer(cfg) as sim: sim.base_url``."""

    def __init__(
        self,
        config: SimConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        process: bool = False,
        allow_remote: bool = False,
    ) -> None:
        check_host(host, allow_remote)
        self.config = config or SimConfig()
        self.host = host
        self.port = port
        self.process = process
        self._state: SimState | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:8001``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI base URL, e.g. ``http://127.0.0.1:8001/v1``."""
        return f"{self.url}/v1"

    @property
    def running(self) -> bool:
        if self._child is not None:
            return self._child.poll() is None
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SimServer:
        """Start serving; returns once the port accepts connections."""
        if self.running:
            return self
        if self.process:
            self._start_process()
        else:
            self._start_thread()
        return self

    def _start_thread(self) -> None:
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._state = SimState(self.config)
        server = make_uvicorn_server(self._state)
        self._server = server

        def run() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=run, name=f"inferlab-sim:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("the simulated endpoint did not start")
            time.sleep(0.005)

    def _start_process(self) -> None:
        # A fresh interpreter via -m (not multiprocessing): no __main__ guard needed by callers.
        proc = subprocess.Popen(
            [sys.executable, "-m", "inferlab.sim._child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        config = asdict(self.config)
        if config["answers"] is not None:
            config["answers"] = dict(config["answers"])
        request = {"config": config, "host": self.host, "port": self.port}
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()  # stdin stays open: the child stops when it closes (we are gone)
        line = _readline(proc, _START_TIMEOUT_S)
        if not line.startswith("PORT "):
            proc.kill()
            proc.wait()
            proc.stdin.close()
            proc.stdout.close()
            raise OSError(line.removeprefix("ERROR ").strip() or "the sim process did not start")
        self.port = int(line.split()[1])
        self._child = proc
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                httpx.get(f"{self.url}/health", timeout=1.0).raise_for_status()
                return
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the simulated endpoint process did not answer") from None
                time.sleep(0.02)

    @property
    def pid(self) -> int | None:
        """Process id of the sim's own process (process mode), else None."""
        return None if self._child is None else self._child.pid

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving (open streams are cut after about a second)."""
        if self._child is not None:
            self._child.terminate()
            try:
                self._child.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait(timeout_s)
            for pipe in (self._child.stdin, self._child.stdout):
                if pipe is not None:
                    pipe.close()
            self._child = None
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout_s)
            self._thread = None

    def truth(self) -> list[TruthRecord]:
        """Ground truth of every request served so far (most recent `truth_limit`)."""
        if self._state is not None and not self.process:
            return self._state.truth.snapshot()
        response = httpx.get(f"{self.url}/sim/truth", timeout=30.0)
        response.raise_for_status()
        return [TruthRecord.from_json(item) for item in response.json()]

    def clear_truth(self) -> None:
        """Forget the ground truth gathered so far."""
        if self._state is not None and not self.process:
            self._state.truth.clear()
            return
        httpx.delete(f"{self.url}/sim/truth", timeout=10.0).raise_for_status()

    def stats(self) -> dict[str, Any]:
        """Requests served, active and queued streams, settings (no secrets)."""
        response = httpx.get(f"{self.url}/sim/stats", timeout=10.0)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
