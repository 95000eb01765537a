"""An independent OpenAI-compatible streaming server that logs the truth with kernel stamps.

Run by bench/bench_probe_accuracy.py in its own process:
`python bench/truth_server.py [--ttft-ms 200] [--tpot-ms 20]`; it prints `PORT n`
and serves until stdin closes.

Only the standard library, one selector loop, no inferlab code: it shares no
code, process or event loop with the client it judges. Per request it logs

- `arrival_ns`: when the kernel received the last byte of the request (the
  socket's SO_TIMESTAMPNS on the `recvmsg` that completed it), so the server's
  own lag in getting to a readable socket is not counted against the client;
- `chunk_sent_ns[i]`: stamped just before content chunk i is handed to the
  kernel (a client can never see it earlier), whenever the server got to it.

Chunk i is due at arrival + TTFT + i x TPOT. `GET /truth` answers the log as
JSON (matched by the client's X-Request-Id), `DELETE /truth` clears it. Both
stamps read CLOCK_MONOTONIC (`time.perf_counter_ns`), as the client does.
"""

from __future__ import annotations

import argparse
import heapq
import json
import selectors
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field

_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@ll")
_ANC = socket.CMSG_SPACE(_TIMESPEC.size)


def kernel_ns(anc: list[tuple[int, int, bytes]], now_ns: int) -> int:
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
            sec, nsec = _TIMESPEC.unpack_from(data)
            return int(sec) * 1_000_000_000 + int(nsec) - (time.time_ns() - now_ns)
    return now_ns


@dataclass
class Stream:
    request_id: str
    arrival_ns: int
    tokens: int
    prompt_tokens: int
    chunk_sent_ns: list[int] = field(default_factory=list)


class Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.stream: Stream | None = None


def chunk(payload: bytes) -> bytes:
    return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"


def sse(obj: object) -> bytes:
    return chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")


def delta(content: str | None, role: bool = False, finish: str | None = None) -> bytes:
    d: dict[str, str] = {}
    if role:
        d["role"] = "assistant"
    if content is not None:
        d["content"] = content
    return sse(
        {
            "id": "chatcmpl-truth",
            "object": "chat.completion.chunk",
            "model": "truth",
            "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
        }
    )


class Server:
    def __init__(self, ttft_ns: int, tpot_ns: int) -> None:
        self.ttft_ns, self.tpot_ns = ttft_ns, tpot_ns
        self.sel = selectors.DefaultSelector()
        self.due: list[tuple[int, int, Conn, int]] = []  # (due_ns, seq, conn, chunk index)
        self.seq = 0
        self.log: list[Stream] = []
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, None)

    def send(self, conn: Conn, data: bytes) -> None:
        conn.sock.setblocking(True)
        try:
            conn.sock.sendall(data)
        except OSError:
            self.close(conn)
        finally:
            if conn.sock.fileno() >= 0:
                conn.sock.setblocking(False)

    def close(self, conn: Conn) -> None:
        if conn.sock.fileno() >= 0:
            self.sel.unregister(conn.sock)
            conn.sock.close()

    def accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            self.sel.register(sock, selectors.EVENT_READ, Conn(sock))

    def read(self, conn: Conn) -> None:
        try:
            data, anc, _, _ = conn.sock.recvmsg(65536, _ANC)
        except BlockingIOError:
            return
        except OSError:
            self.close(conn)
            return
        if not data:
            self.close(conn)
            return
        arrival = kernel_ns(anc, time.perf_counter_ns())
        conn.buf += data
        while (end := conn.buf.find(b"\r\n\r\n")) >= 0:
            head = conn.buf[:end].decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])
            }
            length = int(headers.get("content-length", "0"))
            if len(conn.buf) < end + 4 + length:
                return  # the body is still coming
            body, conn.buf = conn.buf[end + 4 : end + 4 + length], conn.buf[end + 4 + length :]
            self.handle(conn, head[0], headers, body, arrival)

    def handle(
        self, conn: Conn, line: str, headers: dict[str, str], body: bytes, arrival: int
    ) -> None:
        method, path, _ = line.split(" ", 2)
        if path == "/truth":
            if method == "DELETE":
                self.log.clear()
            payload = (
                json.dumps([s.__dict__ for s in self.log]).encode() if method == "GET" else b"{}"
            )
            self.send(
                conn,
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                + payload,
            )
            return
        req = json.loads(body or b"{}")
        stream = Stream(
            request_id=headers.get("x-request-id", ""),
            arrival_ns=arrival,
            tokens=int(req.get("max_tokens") or 128),
            prompt_tokens=len(str(req.get("messages", req.get("prompt", ""))).split()),
        )
        self.log.append(stream)
        conn.stream = stream
        self.send(
            conn,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n" + delta("", role=True),
        )
        self.seq += 1
        heapq.heappush(self.due, (arrival + self.ttft_ns, self.seq, conn, 0))

    def fire(self, conn: Conn, i: int) -> None:
        stream = conn.stream
        if stream is None or conn.sock.fileno() < 0:
            return
        stream.chunk_sent_ns.append(time.perf_counter_ns())
        self.send(conn, delta(f"t{i} "))
        if i + 1 < stream.tokens:
            self.seq += 1
            due = stream.arrival_ns + self.ttft_ns + (i + 1) * self.tpot_ns
            heapq.heappush(self.due, (due, self.seq, conn, i + 1))
            return
        usage = {"prompt_tokens": stream.prompt_tokens, "completion_tokens": stream.tokens}
        tail = delta(None, finish="stop") + sse(
            {"id": "chatcmpl-truth", "choices": [], "usage": usage}
        )
        self.send(conn, tail + chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        conn.stream = None

    def serve(self, stop: threading.Event) -> None:
        while not stop.is_set():
            now = time.perf_counter_ns()
            while self.due and self.due[0][0] <= now:
                _, _, conn, i = heapq.heappop(self.due)
                self.fire(conn, i)
                now = time.perf_counter_ns()
            timeout = 0.05 if not self.due else max(0.0, (self.due[0][0] - now) / 1e9)
            for key, _ in self.sel.select(min(timeout, 0.05)):
                if key.data is None:
                    self.accept()
                else:
                    self.read(key.data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ttft-ms", type=float, default=200.0)
    parser.add_argument("--tpot-ms", type=float, default=20.0)
    args = parser.parse_args()
    server = Server(int(args.ttft_ms * 1e6), int(args.tpot_ms * 1e6))
    print(f"PORT {server.listener.getsockname()[1]}", flush=True)
    stop = threading.Event()

    def stop_with_parent() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=stop_with_parent, daemon=True).start()
    server.serve(stop)


if __name__ == "__main__":
    main()
