"""Check inferlab against a real server: llama.cpp's llama-server (too slow for CI).

Run (see docs/PERFORMANCE.md, "Real server check"):
`.venv/bin/python bench/check_llama_server.py --server-bin PATH/llama-server --model M.gguf`
or `--url http://127.0.0.1:8080/v1` for a llama-server already running with `--metrics`
(the check then reads its counters, so nothing else may use it meanwhile).

1. TPOT at c=1: inferlab's mean TPOT over `--requests` streams against the server's
   own decode time per token (the change of `llamacpp:tokens_predicted_seconds_total`
   over `llamacpp:tokens_predicted_total` on /metrics during the run). Target: within 5%.
   llama.cpp divides the generation time by every generated token, the first
   included, while TPOT divides by the gaps (n - 1): the script prints both the raw
   ratio and the one with the server's figure scaled by n / (n - 1).
2. A 1,000-token prompt: `--long` requests must all succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from inferlab.probe import MemorySink, ProbeConfig, run_probe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def llama_server(binary: str, model: str, ctx: int) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [binary, "-m", model, "-np", "1", "-c", str(ctx), "--metrics",
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"llama-server exited with code {proc.returncode}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("llama-server did not become healthy within 120 s")
            time.sleep(0.5)
        yield base + "/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def counters(base_url: str) -> dict[str, float]:
    text = httpx.get(base_url.removesuffix("/v1") + "/metrics", timeout=10).text
    out = {}
    for name in ("tokens_predicted_total", "tokens_predicted_seconds_total"):
        m = re.search(rf"^llamacpp:{name}\s+([0-9.eE+-]+)", text, re.M)
        if m is None:
            raise SystemExit(f"/metrics has no llamacpp:{name}: start llama-server with --metrics")
        out[name] = float(m.group(1))
    return out


def probe(url: str, requests: int, prompt_tokens: int, max_tokens: int) -> MemorySink:
    cfg = ProbeConfig(
        url=url,
        model="llama",
        concurrency=1,
        requests=requests,
        prompt_tokens=prompt_tokens,
        max_tokens=max_tokens,
        ignore_eos=True,  # a random-weight model would stop at random
        timeout_s=600,
    )
    sink = MemorySink()
    asyncio.run(run_probe(cfg, sink))
    return sink


def check(url: str, requests: int, max_tokens: int, long: int) -> None:
    probe(url, 1, 32, 8)  # warm the server
    before = counters(url)
    sink = probe(url, requests, 32, max_tokens)
    after = counters(url)
    tokens = after["tokens_predicted_total"] - before["tokens_predicted_total"]
    seconds = after["tokens_predicted_seconds_total"] - before["tokens_predicted_seconds_total"]
    ok = [r for r in sink.records if r.ok and r.tpot_ms is not None]
    tpots = [r.tpot_ms for r in ok if r.tpot_ms is not None]
    n = statistics.mean(r.output_tokens or 0 for r in ok) if ok else float("nan")
    server_ms = 1000 * seconds / tokens if tokens else float("nan")
    mean_tpot = statistics.mean(tpots) if tpots else float("nan")
    print(f"c=1: {len(ok)}/{len(sink.records)} ok, {n:.0f} output tokens each")
    print(f"inferlab mean TPOT        {mean_tpot:8.3f} ms")
    print(f"server decode per token   {server_ms:8.3f} ms  (/metrics, {tokens:.0f} tokens)")
    print(f"ratio                     {mean_tpot / server_ms:8.3f}")
    scaled = server_ms * n / (n - 1) if n > 1 else float("nan")
    print(f"ratio, server x n/(n-1)   {mean_tpot / scaled:8.3f}  (target within 0.95..1.05)")
    if long:
        sink = probe(url, long, 1000, 16)
        failed = [r for r in sink.records if not r.ok]
        inputs = {r.input_tokens for r in sink.records}
        print(
            f"1,000-token prompt: {len(sink.records) - len(failed)}/{len(sink.records)} ok "
            f"(server counted {sorted(i for i in inputs if i is not None)} prompt tokens)"
        )
        for r in failed:
            print(f"  failed: {r.error_class}: {r.error_message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server-bin", help="llama-server binary to start")
    parser.add_argument("--model", help="GGUF model for --server-bin")
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--url", help="an already running llama-server (with --metrics)")
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--long", type=int, default=3, help="requests with a 1,000-token prompt")
    args = parser.parse_args()
    if args.url:
        check(args.url, args.requests, args.max_tokens, args.long)
        return
    if not (args.server_bin and args.model):
        parser.error("give --url, or --server-bin and --model")
    with llama_server(args.server_bin, args.model, args.ctx) as url:
        check(url, args.requests, args.max_tokens, args.long)


if __name__ == "__main__":
    main()
