"""What connecting to the checked address costs per request (inferlab.outbound).

Run: `.venv/bin/python bench/bench_outbound.py` (a few seconds, no network).
Sends fresh requests to one URL, as a run does, through an httpx.MockTransport
(answers at once) bare and wrapped by the guard: with the dashboard's pins
(check, URL at the pinned address, request copy keeping Host and SNI) and
without pins (the CLI: only the user-info check). Prints the guard's extra
time per request (wrapped minus bare, best of 7 interleaved rounds).
"""

from __future__ import annotations

import time

import httpx

from inferlab.netpolicy import Pins
from inferlab.outbound import guarded_sync

N = 20_000
ROUNDS = 7
URL = "http://box.test:8000/v1/chat/completions"
PINS = Pins((("box.test", 8000, ("127.0.0.2",)),))
HEADERS = {"Authorization": "Bearer k", "Content-Type": "application/json"}


def once_us(transport: httpx.BaseTransport) -> float:
    requests = [httpx.Request("POST", URL, content=b"x" * 500, headers=HEADERS) for _ in range(N)]
    start = time.perf_counter()
    for request in requests:
        transport.handle_request(request)
    return (time.perf_counter() - start) / N * 1e6


def main() -> None:
    transports = {
        "bare": httpx.MockTransport(lambda r: httpx.Response(200)),
        "pins": guarded_sync(httpx.MockTransport(lambda r: httpx.Response(200)), PINS),
        "none": guarded_sync(httpx.MockTransport(lambda r: httpx.Response(200)), None),
    }
    best = dict.fromkeys(transports, float("inf"))
    for _ in range(ROUNDS):  # interleaved, best of each: the machine is shared
        for name, transport in transports.items():
            best[name] = min(best[name], once_us(transport))
    print(f"bare MockTransport:          {best['bare']:.1f} us per request")
    print(f"guard with pins (dashboard): +{best['pins'] - best['bare']:.1f} us per request")
    print(f"guard without pins (CLI):    +{best['none'] - best['bare']:.1f} us per request")


if __name__ == "__main__":
    main()
