"""`inferlab probe`: measure a streaming OpenAI-compatible endpoint and save the run.

Checks the endpoint first (a one-line error within seconds if it cannot be
probed), runs the load with a progress bar on stderr, saves every request in
the store as it completes, and prints the run's summary (a table, or with
`--json` the store's summary object; a list of them for a sweep). Ctrl-C
stops sending and saves the run as `cancelled` with every completed request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import math
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from inferlab import jsonsafe
from inferlab.cli import UsageError
from inferlab.cli._db import StoreFailure, add_db_argument, fail, open_store
from inferlab.cli._sessions import (
    json_extras,
    render_saturation,
    render_sessions,
    sessions_block,
)
from inferlab.cli.show import render_server, render_summary, render_validity
from inferlab.probe import (
    ConfigError,
    PreflightError,
    ProbeConfig,
    ProbeResult,
    ProgressUpdate,
    SinkError,
    make_run_info,
    preflight,
    run_probe,
    run_sweep,
)
from inferlab.probe.config import (
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_REQUESTS,
    LoadMode,
    describe_load,
    sweep_configs,
)
from inferlab.probe.engines.choice import ENGINES, STREAMS_PER_WORKER, choose, run_chosen
from inferlab.probe.engines.pool import EngineUnavailable
from inferlab.probe.runner import prompt_source
from inferlab.records import RunInfo
from inferlab.server.run import other_traffic_metadata, server_block
from inferlab.store import Store, StoreError
from inferlab.validity import judge, validity_json

__all__ = ["add_probe_arguments", "build_config", "check_endpoint", "register"]


class _OneLineParser(argparse.ArgumentParser):
    """Argument mistakes as one line (no usage dump), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"inferlab probe: error: {message} (see `inferlab probe --help`)\n")


def _positive_int(flag: str, minimum: int = 1) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{flag} {value} must be at least {minimum}")
        return value

    return parse


def _positive_float(flag: str) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not a number") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"{flag} {text} must be a positive number")
        return value

    return parse


def _nonnegative_float(flag: str) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not a number") from None
        if not (math.isfinite(value) and value >= 0):
            raise argparse.ArgumentTypeError(f"{flag} {text} must be 0 or more")
        return value

    return parse


def _sweep_values(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--sweep {text!r} must be comma-separated numbers, e.g. 1,4,16,64"
        ) from None
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise argparse.ArgumentTypeError(f"--sweep {text!r} needs positive numbers, e.g. 1,4,16")
    return values


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--header {text!r} must look like Name:value")
    return name.strip(), value.strip()


def register(subparsers: Any) -> None:
    previous = subparsers._parser_class
    subparsers._parser_class = _OneLineParser
    try:
        p = subparsers.add_parser(
            "probe",
            help="measure a streaming OpenAI-compatible endpoint",
            description="Send streaming requests to an OpenAI-compatible endpoint under a "
            "chosen load, measure TTFT, TPOT, ITL and end-to-end latency per request, and "
            "save the run. Exit code 0 when the run completed (even with failed requests).",
        )
    finally:
        subparsers._parser_class = previous
    add_probe_arguments(p)
    p.set_defaults(func=run)


def add_probe_arguments(
    p: argparse.ArgumentParser, *, default_requests: int = DEFAULT_REQUESTS, sweep: bool = True
) -> None:
    """The probe's flags on `p` (also used by `inferlab monitor`, so both accept the same).

    `default_requests` is only what the help says; the caller applies it (`build_config`).
    """
    target = p.add_argument_group("target")
    target.add_argument("--url", required=True, help="API root, e.g. http://127.0.0.1:8001/v1")
    target.add_argument("--model", required=True, help="model name to request")
    target.add_argument(
        "--api",
        choices=("chat", "completions"),
        default="chat",
        help="POST /chat/completions (default) or /completions",
    )
    target.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="read the API key from this environment variable (sent as a Bearer token)",
    )
    target.add_argument(
        "--header",
        action="append",
        type=_header,
        default=[],
        metavar="K:V",
        help="extra request header (repeatable)",
    )
    target.add_argument(
        "--timeout",
        type=_positive_float("--timeout"),
        default=60.0,
        metavar="S",
        help="per request: connecting, and each wait for the next bytes (60)",
    )
    target.add_argument(
        "--request-deadline",
        type=_positive_float("--request-deadline"),
        default=None,
        metavar="S",
        help="per request: the whole request, send to last byte (default: --timeout + "
        "0.5 s per --max-tokens, at most --duration + --timeout)",
    )
    target.add_argument(
        "--max-event-bytes",
        type=_positive_int("--max-event-bytes"),
        default=DEFAULT_MAX_EVENT_BYTES,
        metavar="N",
        help=f"fail a request whose SSE event grows past N bytes ({DEFAULT_MAX_EVENT_BYTES:,})",
    )
    target.add_argument(
        "--max-response-bytes",
        type=_positive_int("--max-response-bytes"),
        default=None,
        metavar="N",
        help="fail a request whose response grows past N bytes (4 KiB per --max-tokens, "
        "at least 1 MiB)",
    )
    load = p.add_argument_group("load (default: concurrency 1)")
    mode = load.add_mutually_exclusive_group()
    mode.add_argument(
        "--concurrency",
        type=_positive_int("--concurrency"),
        metavar="N",
        help="keep N requests in flight (closed loop)",
    )
    mode.add_argument(
        "--rate",
        type=_positive_float("--rate"),
        metavar="R",
        help="send R requests/s whatever is in flight (open loop)",
    )
    mode.add_argument(
        "--sessions",
        type=_positive_int("--sessions"),
        metavar="N",
        help="N simulated users, each a multi-turn conversation (see --turns)",
    )
    mode.add_argument(
        "--trace",
        metavar="FILE",
        help="replay a JSONL trace (Mooncake format: timestamp ms, input_length, "
        "output_length, hash_ids) on its timestamps",
    )
    load.add_argument(
        "--arrival",
        choices=("poisson", "constant"),
        help="arrival process with --rate or a rate sweep (poisson, seeded)",
    )
    if sweep:
        load.add_argument(
            "--sweep",
            type=_sweep_values,
            metavar="LIST",
            help="one run per value, grouped: concurrencies (e.g. 1,4,16,64), or rates with "
            "--arrival",
        )
    shape = p.add_argument_group("load shape")
    shape.add_argument(
        "--ramp-up-s",
        type=_nonnegative_float("--ramp-up-s"),
        default=0.0,
        metavar="S",
        help="the rate, concurrency or session starts rise linearly to the target over S s",
    )
    shape.add_argument(
        "--burstiness",
        type=_positive_float("--burstiness"),
        default=1.0,
        metavar="K",
        help="with --rate (poisson): gamma inter-arrivals of shape K; 1 = Poisson, "
        "<1 burstier, >1 more even (as vLLM bench serve)",
    )
    shape.add_argument(
        "--stop-on-saturation",
        action="store_true",
        help="with --rate or --trace: stop once the server cannot keep up "
        "(requests in flight or TTFT growing without end)",
    )
    conv = p.add_argument_group("sessions (with --sessions N)")
    conv.add_argument(
        "--turns",
        type=_positive_int("--turns"),
        default=5,
        metavar="T",
        help="turns per conversation; each re-sends the history with the real answers (5)",
    )
    conv.add_argument(
        "--think-time-s",
        type=_nonnegative_float("--think-time-s"),
        default=0.0,
        metavar="S",
        help="pause between an answer and the next question (0)",
    )
    conv.add_argument(
        "--system-prompt-tokens",
        type=_positive_int("--system-prompt-tokens", 0),
        default=0,
        metavar="P",
        help="a system prompt of about P tokens, the same for every session (0)",
    )
    conv.add_argument(
        "--user-tokens",
        type=_positive_int("--user-tokens"),
        default=64,
        metavar="U",
        help="about U tokens per new question (64)",
    )
    conv.add_argument(
        "--trace-speed",
        type=_positive_float("--trace-speed"),
        default=1.0,
        metavar="X",
        help="with --trace: send X times faster than recorded (1)",
    )
    stop = p.add_argument_group("length")
    stop.add_argument(
        "--requests",
        type=_positive_int("--requests"),
        metavar="N",
        help=f"measured requests per run ({default_requests} unless --duration is given)",
    )
    stop.add_argument(
        "--duration",
        type=_positive_float("--duration"),
        metavar="S",
        help="stop sending after S seconds (requests in flight finish)",
    )
    stop.add_argument(
        "--warmup",
        type=_positive_int("--warmup", 0),
        default=0,
        metavar="N",
        help="requests sent first and excluded from the metrics (0)",
    )
    prompts = p.add_argument_group("prompts")
    prompts.add_argument(
        "--prompt-tokens",
        type=_positive_int("--prompt-tokens"),
        default=128,
        metavar="N",
        help="length of synthetic prompts, about N tokens (128)",
    )
    prompts.add_argument(
        "--max-tokens",
        type=_positive_int("--max-tokens"),
        default=128,
        metavar="N",
        help="max_tokens of each request (128)",
    )
    prompts.add_argument(
        "--ignore-eos",
        action="store_true",
        help="ask for exactly --max-tokens tokens (vLLM/SGLang `ignore_eos`)",
    )
    prompts.add_argument(
        "--prompts-file",
        metavar="F",
        help='JSONL, one {"prompt": ...} or {"messages": [...]} per line (cycled)',
    )
    prompts.add_argument(
        "--shared-prefix",
        action="store_true",
        help="synthetic prompts share all but their last words (measures prefix caching)",
    )
    prompts.add_argument("--seed", type=int, default=0, metavar="S", help="prompt/arrival seed (0)")
    server = p.add_argument_group("server metrics (the server's own view, beside the client's)")
    server.add_argument(
        "--server-metrics",
        action="append",
        default=[],
        metavar="URL",
        help="Prometheus /metrics to scrape during the run (repeatable; "
        "default: the API root's host + /metrics)",
    )
    server.add_argument(
        "--no-server-metrics", action="store_true", help="do not scrape the server's /metrics"
    )
    server.add_argument(
        "--server-metrics-interval",
        type=float,
        default=ProbeConfig.server_metrics_interval_s,
        metavar="S",
        help="seconds between scrapes (%(default)s)",
    )
    out = p.add_argument_group("output")
    out.add_argument("--label", default="", metavar="L", help="label of the run")
    out.add_argument(
        "--tag", action="append", default=[], metavar="T", help="tag of the run (repeatable)"
    )
    add_db_argument(out)
    out.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    if not sweep:
        return  # `inferlab monitor` (no sweeps) runs the local engine
    engine = p.add_argument_group("engine")
    engine.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help=f"auto (default): one process up to {STREAMS_PER_WORKER} streams, worker "
        f"processes above (streams/{STREAMS_PER_WORKER}, at most 2 per CPU); local: one "
        "process; "
        "processes: --workers local processes, each with its share of the load; ray: the "
        "same in Ray actors, one per worker CPU (needs pip install 'inferlab[distributed]')",
    )
    engine.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="with --engine ray: the cluster to join, e.g. 10.0.0.5:6379 (default: a local Ray)",
    )
    engine.add_argument(
        "--workers",
        type=_positive_int("--workers"),
        metavar="N",
        help="worker processes (--engine auto/processes; default: from the load, at most "
        "2 per CPU) or Ray actors (--engine ray; default: the cluster's CPUs)",
    )


def build_config(
    args: argparse.Namespace,
    environ: dict[str, str] | None = None,
    *,
    default_requests: int = DEFAULT_REQUESTS,
) -> ProbeConfig:
    """A validated ProbeConfig from the parsed flags; UsageError for what cannot work."""
    env = os.environ if environ is None else environ
    sweep = getattr(args, "sweep", None)
    api_key = None
    if args.api_key_env:
        api_key = env.get(args.api_key_env)
        if not api_key:
            raise UsageError(
                f"--api-key-env {args.api_key_env}: that environment variable is not set or empty"
            )
    if sweep is not None and args.concurrency is not None:
        raise UsageError("--sweep replaces --concurrency; give one of them")
    if sweep is not None and args.rate is not None:
        raise UsageError("--sweep replaces --rate; for a rate sweep give --arrival and --sweep")
    if args.arrival is not None and args.rate is None and sweep is None:
        raise UsageError("--arrival needs --rate R (or --sweep of rates)")
    engine = getattr(args, "engine", "local")
    if engine != "ray" and getattr(args, "ray_address", None):
        raise UsageError("--ray-address needs --engine ray")
    if engine == "local" and getattr(args, "workers", None):
        raise UsageError(
            "--workers needs --engine processes, auto or ray (--engine local is one process)"
        )
    rate_mode = args.rate is not None or (sweep is not None and args.arrival is not None)
    _check_mode_flags(args)
    load_mode: LoadMode = "concurrency"
    if args.sessions is not None:
        load_mode = "sessions"
    elif args.trace is not None:
        load_mode = "trace"
    elif rate_mode:
        load_mode = args.arrival or "poisson"
    requests = args.requests
    if requests is None and args.duration is None and load_mode not in ("sessions", "trace"):
        requests = default_requests
    cfg = ProbeConfig(
        url=args.url,
        model=args.model,
        api=args.api,
        api_key=api_key,
        headers=dict(args.header),
        load_mode=load_mode,
        concurrency=0 if load_mode != "concurrency" else (args.concurrency or 1),
        rate_rps=args.rate if args.rate is not None else (1.0 if rate_mode else None),
        requests=requests,
        duration_s=args.duration,
        warmup=args.warmup,
        timeout_s=args.timeout,
        request_deadline_s=args.request_deadline,
        max_event_bytes=args.max_event_bytes,
        max_response_bytes=args.max_response_bytes,
        prompt_tokens=args.prompt_tokens,
        max_tokens=args.max_tokens,
        ignore_eos=args.ignore_eos,
        seed=args.seed,
        prompts_file=args.prompts_file,
        shared_prefix=args.shared_prefix,
        label=args.label,
        tags=tuple(t for t in args.tag if t),
        server_metrics=tuple(args.server_metrics),
        server_metrics_enabled=not args.no_server_metrics,
        server_metrics_interval_s=args.server_metrics_interval,
        ramp_up_s=args.ramp_up_s,
        burstiness=args.burstiness,
        sessions=args.sessions or 0,
        turns=args.turns,
        think_time_s=args.think_time_s,
        system_prompt_tokens=args.system_prompt_tokens,
        user_tokens=args.user_tokens,
        trace_file=args.trace,
        trace_speed=args.trace_speed,
        stop_on_saturation=args.stop_on_saturation,
    )
    if args.no_server_metrics and args.server_metrics:
        raise UsageError("--no-server-metrics and --server-metrics contradict; give one of them")
    try:
        cfg.validate()
        if sweep is not None:
            sweep_configs(cfg, sweep)
        prompt_source(cfg)  # a broken prompts or trace file fails here, before anything is sent
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return cfg


def _check_mode_flags(args: argparse.Namespace) -> None:
    """Flags that belong to another load mode, named before anything is sent."""
    if args.sessions is not None and args.requests is not None:
        raise UsageError("--sessions sends --sessions x --turns requests; drop --requests")
    if args.sessions is None:
        for flag, value, default in (
            ("--think-time-s", args.think_time_s, 0.0),
            ("--system-prompt-tokens", args.system_prompt_tokens, 0),
            ("--user-tokens", args.user_tokens, 64),
            ("--turns", args.turns, 5),
        ):
            if value != default:
                raise UsageError(f"{flag} needs --sessions N")
    if args.trace is None and args.trace_speed != 1.0:
        raise UsageError("--trace-speed needs --trace FILE")
    if (args.sessions is not None or args.trace is not None) and (
        args.arrival is not None or getattr(args, "sweep", None) is not None
    ):
        raise UsageError("--arrival and --sweep do not combine with --sessions or --trace")


class _Bar:
    """The rich progress bar on stderr: done/errors/live p50 TTFT per run."""

    def __init__(self, enabled: bool) -> None:
        self.console = Console(stderr=True)
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.saturation_said: set[str] = set()
        self.run_id = ""
        if enabled and self.console.is_terminal:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )

    def __enter__(self) -> _Bar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, u: ProgressUpdate) -> None:
        if u.saturation and u.run_id not in self.saturation_said:
            self.saturation_said.add(u.run_id)
            self.console.print(
                f"inferlab probe: over-saturation (run {u.run_id}, after "
                f"{u.elapsed_s:.0f} s): {u.saturation}",
                highlight=False,
                markup=False,
            )
        if self.progress is None:
            return
        step = f"[{u.step + 1}/{u.steps}] " if u.steps > 1 else ""
        what = "warm-up" if u.phase == "warmup" else f"run {u.run_id}"
        if self.task is None or u.run_id != self.run_id:
            self.run_id = u.run_id
            self.task = self.progress.add_task("", total=None, status="")
        if u.planned is not None:
            total, completed = float(u.planned), float(u.done)
        elif u.duration_s is not None:
            total, completed = u.duration_s, min(u.elapsed_s, u.duration_s)
        else:
            total, completed = None, float(u.done)
        ttft = "-" if u.ttft_p50_ms is None else f"{u.ttft_p50_ms:,.1f} ms"
        tpot = "-" if u.tpot_p50_ms is None else f"{u.tpot_p50_ms:,.2f} ms"
        status = (
            f"{u.done:,} done · {u.failed:,} errors · {u.in_flight} in flight · "
            f"p50 TTFT {ttft} · p50 TPOT {tpot}"
        )
        if u.saturation:
            status += " · SATURATED"
        self.progress.update(
            self.task,
            description=f"{step}{what}",
            total=total,
            completed=completed,
            status=status,
        )


def check_endpoint(cfg: ProbeConfig) -> Any:
    """The probe's preflight of `cfg`'s endpoint (PreflightError when it cannot be used)."""
    return asyncio.run(
        preflight(
            cfg.url,
            cfg.model,
            api=cfg.api,
            api_key=cfg.api_key,
            headers=dict(cfg.headers),
            timeout_s=min(cfg.timeout_s, 5.0),
        )
    )


def run(args: argparse.Namespace) -> int:
    cfg = build_config(args)
    try:
        check = check_endpoint(cfg)
    except PreflightError as exc:
        return fail(str(exc))
    for warning in check.warnings:
        print(f"inferlab probe: warning: {warning}", file=sys.stderr)
    try:
        store = open_store(args)
    except StoreFailure as exc:
        return fail(str(exc))

    opened: list[RunInfo] = []

    try:
        with _engine(args) as (probe, prepare), _Bar(enabled=True) as bar:

            def open_sink(info: RunInfo) -> Any:
                info = prepare(info)
                opened.append(info)
                return store.run_writer(info)

            results = asyncio.run(_run(cfg, args.sweep, open_sink, bar, probe))
    except (StoreError, SinkError) as exc:
        return fail(str(exc))
    except (_EngineFailure, EngineUnavailable) as exc:
        return fail(str(exc))
    for info in opened:
        note = info.settings.get("engine_note")
        if note:
            print(f"inferlab probe: note: run {info.run_id} {note}", file=sys.stderr)
    return _report(store, results, args.json)


class _EngineFailure(Exception):
    """The chosen engine cannot run (Ray missing or unreachable)."""


@contextlib.contextmanager
def _engine(args: argparse.Namespace) -> Iterator[Any]:
    """The function that runs one probe and the one that records its engine in the run's
    info: `run_chosen` (auto, local, processes), or the Ray engine with its session."""
    engine = getattr(args, "engine", "local")
    if engine != "ray":
        workers = getattr(args, "workers", None)
        yield (
            functools.partial(run_chosen, engine=engine, workers=workers),
            functools.partial(choose, engine=engine, workers=workers),
        )
        return
    from inferlab.probe.engines import ray as ray_engine

    try:
        session = ray_engine.ray_session(args.ray_address, args.workers)
        workers = session.__enter__()
    except ray_engine.RayUnavailable as exc:
        raise _EngineFailure(str(exc)) from None
    try:
        yield (
            functools.partial(ray_engine.run_probe_ray, workers=workers),
            functools.partial(ray_engine.engine_info, workers=workers),
        )
    finally:
        session.__exit__(None, None, None)


async def _run(
    cfg: ProbeConfig, sweep: list[float] | None, open_sink: Any, bar: _Bar, probe: Any = run_probe
) -> list[ProbeResult]:
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, cancel.set)
    loop.add_signal_handler(signal.SIGTERM, cancel.set)
    try:
        if sweep is not None:
            return await run_sweep(cfg, sweep, open_sink, progress=bar, cancel=cancel, probe=probe)
        info = make_run_info(cfg)
        return [await probe(cfg, open_sink(info), info=info, progress=bar, cancel=cancel)]
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)


def _report(store: Store, results: list[ProbeResult], as_json: bool) -> int:
    try:
        for r in results:
            if r.saturation_metadata():
                store.add_run_metadata(r.info.run_id, r.saturation_metadata())
        summaries = [store.summary(r.info.run_id) for r in results]
        extras = [json_extras(store, r.info) if as_json else {} for r in results]
        blocks = [None if as_json else sessions_block(store, r.info) for r in results]
        servers = [
            server_block(store.server_scrapes(r.info.run_id), store.records(r.info.run_id))
            if as_json or r.scrapes
            else None
            for r in results
        ]
        for r, srv in zip(results, servers, strict=True):
            if shared := other_traffic_metadata(srv):  # kept: Runs and compare say so
                store.add_run_metadata(r.info.run_id, shared)
    except StoreError as exc:
        ids = ", ".join(r.info.run_id for r in results)
        return fail(f"run {ids} is saved but its summary cannot be read now: {exc}")
    cancelled = any(r.status == "cancelled" for r in results)
    # The verdict from the run's own facts (the store may not have ingested them yet).
    validities = [judge(r.validity) for r in results]
    if as_json:
        objs = []
        for s, v, srv, extra in zip(summaries, validities, servers, extras, strict=True):
            # the same keys as `inferlab show --json`
            objs.append({**s.to_json(), "validity": validity_json(v), "server": srv, **extra})
        print(jsonsafe.dumps(objs if len(results) > 1 or _is_sweep(results) else objs[0], indent=2))
    else:
        console = Console(width=None if sys.stdout.isatty() else 120)
        for r, s, block, srv in zip(results, summaries, blocks, servers, strict=True):
            info = r.info
            load = describe_load(info.load_mode, info.load_value)
            render_summary(s, console, title=f"Run {info.run_id} — {info.model}, {load}")
            render_validity(judge(r.validity), console)
            if srv is not None:
                render_server(srv, console)
            if block is not None:
                render_sessions(block, console)
            render_saturation(r.saturation_metadata().get("saturation"), console)
        if results and results[0].info.group_id:
            console.print(f"sweep group {results[0].info.group_id}", highlight=False)
    if cancelled:
        print("inferlab probe: cancelled; completed requests were saved", file=sys.stderr)
        return 130
    return 0


def _is_sweep(results: list[ProbeResult]) -> bool:
    return bool(results) and results[0].info.group_id is not None
