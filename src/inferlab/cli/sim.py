"""`inferlab sim`: serve the simulated OpenAI-compatible endpoint until Ctrl-C.

The first line on stdout is ``inferlab sim: listening on http://HOST:PORT/v1``
(with the real port when ``--port 0`` asked for any free one), so scripts can
wait for it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from inferlab.cli import UsageError, add_command
from inferlab.sim import SimConfig, check_host, load_answers
from inferlab.sim.server import bind_socket, serve_forever

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = add_command(
        subparsers,
        "sim",
        help="serve the simulated OpenAI-compatible endpoint",
        description="Serve an OpenAI-compatible streaming API on loopback whose timing "
        "you set: TTFT, TPOT, jitter, chunking, a capacity model and injected errors. "
        "Stop with Ctrl-C.",
    )
    net = p.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    net.add_argument(
        "--port", metavar="N", type=int, default=8001, help="port (default 8001; 0 = any free)"
    )
    net.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (exposes the sim to the network)",
    )
    net.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="require `Authorization: Bearer <key>` with the key read from this variable",
    )
    net.add_argument("--access-log", action="store_true", help="log one line per request")
    net.add_argument(
        "--truth-limit",
        type=int,
        metavar="N",
        default=10_000,
        help="requests kept for GET /sim/truth (10000; 0 = none, saves memory on long runs)",
    )
    net.add_argument(
        "--keepalive-timeout-ms",
        type=float,
        metavar="N",
        default=5000.0,
        help="close a keep-alive connection idle for N ms (5000, as uvicorn; llama-server "
        "and proxies close sooner or after a few requests)",
    )
    timing = p.add_argument_group("timing")
    timing.add_argument(
        "--model", metavar="NAME", default="inferlab-sim", help="model name (default inferlab-sim)"
    )
    timing.add_argument(
        "--ttft-ms", metavar="MS", type=float, default=200.0, help="time to first token (200)"
    )
    timing.add_argument(
        "--tpot-ms", metavar="MS", type=float, default=20.0, help="time per output token (20)"
    )
    timing.add_argument(
        "--jitter-ms", metavar="MS", type=float, default=0.0, help="± uniform jitter per gap (0)"
    )
    timing.add_argument(
        "--tokens-per-chunk", metavar="N", type=int, default=1, help="tokens per SSE chunk (1)"
    )
    timing.add_argument(
        "--role-chunk", action="store_true", help="send a role-only first chunk at once (vLLM)"
    )
    timing.add_argument(
        "--default-max-tokens",
        metavar="N",
        type=int,
        default=128,
        help="output tokens without max_tokens (128)",
    )
    timing.add_argument(
        "--metrics-lag-ms",
        metavar="MS",
        type=float,
        default=0.0,
        help="count a finished request in /metrics N ms after its last byte, as servers "
        "that update their stats asynchronously do (0)",
    )
    timing.add_argument(
        "--seed", metavar="N", type=int, default=0, help="seed of jitter, faults, answers (0)"
    )
    cap = p.add_argument_group("capacity model")
    cap.add_argument(
        "--max-batch",
        metavar="N",
        type=int,
        default=256,
        help="active streams before queueing (256)",
    )
    cap.add_argument(
        "--prefill-ms-per-1k",
        metavar="MS",
        type=float,
        default=0.0,
        help="extra TTFT per 1,000 prompt tokens (0; prompt tokens = ceil(chars / 4))",
    )
    cap.add_argument(
        "--tpot-growth-ms",
        metavar="MS",
        type=float,
        default=0.0,
        help="extra TPOT per additional active stream (0)",
    )
    cap.add_argument(
        "--prefix-cache",
        action="store_true",
        help="prompt text seen before (earlier turns, a shared prefix) skips prefill; "
        "reported as usage.prompt_tokens_details.cached_tokens",
    )
    faults = p.add_argument_group("error injection (percent of requests)")
    faults.add_argument(
        "--error-500-pct", metavar="PCT", type=float, default=0.0, help="HTTP 500 at once"
    )
    faults.add_argument(
        "--error-429-pct", metavar="PCT", type=float, default=0.0, help="HTTP 429 + Retry-After"
    )
    faults.add_argument(
        "--retry-after-s", metavar="S", type=int, default=1, help="Retry-After of a 429 (1)"
    )
    faults.add_argument(
        "--disconnect-pct", metavar="PCT", type=float, default=0.0, help="drop mid-stream"
    )
    faults.add_argument(
        "--truncate-pct", metavar="PCT", type=float, default=0.0, help="end without [DONE]"
    )
    faults.add_argument(
        "--malformed-pct", metavar="PCT", type=float, default=0.0, help="one non-JSON chunk"
    )
    answers = p.add_argument_group("answer mode (for the quality probe)")
    answers.add_argument(
        "--answers",
        type=Path,
        metavar="FILE",
        help="JSONL with prompt and reference: known prompts get their reference back",
    )
    answers.add_argument(
        "--answer-accuracy", metavar="P", type=float, default=1.0, help="share correct (1)"
    )
    answers.add_argument(
        "--answer-determinism",
        metavar="P",
        type=float,
        default=1.0,
        help="share of repeats unchanged (1)",
    )
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """The SimConfig the flags describe; UsageError naming the flag when unusable."""
    api_key: str | None = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise UsageError(f"--api-key-env: environment variable {args.api_key_env} is not set")
    answers = None
    if args.answers is not None:
        try:
            answers = load_answers(args.answers)
        except ValueError as exc:
            raise UsageError(f"--answers: {exc}") from None
    try:
        return SimConfig(
            ttft_ms=args.ttft_ms,
            tpot_ms=args.tpot_ms,
            jitter_ms=args.jitter_ms,
            tokens_per_chunk=args.tokens_per_chunk,
            role_first_chunk=args.role_chunk,
            max_batch=args.max_batch,
            prefill_ms_per_1k_tokens=args.prefill_ms_per_1k,
            tpot_growth_per_stream_ms=args.tpot_growth_ms,
            prefix_cache=args.prefix_cache,
            default_max_tokens=args.default_max_tokens,
            error_500_pct=args.error_500_pct,
            error_429_pct=args.error_429_pct,
            disconnect_pct=args.disconnect_pct,
            truncate_pct=args.truncate_pct,
            malformed_pct=args.malformed_pct,
            retry_after_s=args.retry_after_s,
            seed=args.seed,
            model=args.model,
            api_key=api_key,
            answers=answers,
            answer_accuracy=args.answer_accuracy,
            answer_determinism=args.answer_determinism,
            truth_limit=args.truth_limit,
            keepalive_timeout_ms=args.keepalive_timeout_ms,
            metrics_lag_ms=args.metrics_lag_ms,
        )
    except ValueError as exc:
        # Field names map to flags: ttft_ms -> --ttft-ms.
        raise UsageError(_flag_names(str(exc))) from None


_FLAGS = {
    "role_first_chunk": "--role-chunk",
    "prefill_ms_per_1k_tokens": "--prefill-ms-per-1k",
    "tpot_growth_per_stream_ms": "--tpot-growth-ms",
}


def _flag_names(message: str) -> str:
    for field in sorted(SimConfig.__dataclass_fields__, key=len, reverse=True):
        flag = _FLAGS.get(field, "--" + field.replace("_", "-"))
        message = message.replace(f"{field} must", f"{flag} must")
    return message


def run(args: argparse.Namespace) -> int:
    try:
        check_host(args.host, args.allow_remote)
    except ValueError as exc:
        raise UsageError(f"--host: {exc}") from None
    config = config_from_args(args)
    try:
        sock = bind_socket(args.host, args.port)
    except ValueError as exc:
        raise UsageError(f"--port: {exc}") from None
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
            "pick another --port (0 = any free port)"
        ) from None
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"inferlab sim: listening on http://{host}:{port}/v1", flush=True)
    print(
        f"model {config.model}: TTFT {config.ttft_ms:g} ms, TPOT {config.tpot_ms:g} ms, "
        f"jitter ±{config.jitter_ms:g} ms, {config.tokens_per_chunk} token(s)/chunk, "
        f"max batch {config.max_batch}. Ctrl-C to stop.",
        flush=True,
    )
    if args.access_log:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    serve_forever(config, sock, access_log=args.access_log)
    print("inferlab sim: stopped", file=sys.stderr, flush=True)
    return 0
