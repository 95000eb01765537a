"""`inferlab quality`: an evaluation set against an endpoint, scored and timed.

Checks the endpoint first, sends every prompt `--repeats` times at each
`--temperature`, saves each temperature as a run (tag "quality": timings like
`inferlab probe`, plus the answers), and prints accuracy (exact match,
ROUGE-L), consistency (identical repeats, pairwise similarity) and reliability
(error rate, failure classes) per temperature; `--json` prints them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from inferlab import jsonsafe
from inferlab.cli import UsageError, add_command
from inferlab.cli._db import StoreFailure, add_db_argument, fail, open_store
from inferlab.probe import ConfigError, PreflightError, SinkError, preflight
from inferlab.probe.quality import (
    QualityProbeConfig,
    QualityProgress,
    QualityRunResult,
    list_eval_sets,
    load_eval_set,
    run_quality,
    save_result,
)
from inferlab.records import RunInfo
from inferlab.store import StoreError
from inferlab.store.quality import QualityStore

__all__ = ["build_config", "register", "result_json"]


def _int_in(flag: str, lo: int, hi: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{flag} {value} must be between {lo} and {hi}")
        return value

    return parse


def _temperatures(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--temperature {text!r} must be numbers, e.g. 0 or 0,0.7,1"
        ) from None
    if not values or any(not (math.isfinite(v) and 0 <= v <= 2) for v in values):
        raise argparse.ArgumentTypeError(f"--temperature {text!r}: each must be between 0 and 2")
    return values


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--timeout {text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"--timeout {text} must be a positive number")
    return value


def register(subparsers: Any) -> None:
    shipped = ", ".join(list_eval_sets()) or "none"
    p = add_command(
        subparsers,
        "quality",
        help="score an endpoint's answers on an evaluation set (timed like a probe)",
        description="Send each prompt of an evaluation set (JSONL: prompt, reference) "
        "--repeats times per --temperature, save timings and answers as runs tagged "
        "'quality', and print accuracy (exact match, ROUGE-L), consistency and "
        f"reliability. Shipped sets: {shipped} (see data/evals/README.md).",
    )
    p.add_argument("--url", required=True, help="API root, e.g. http://127.0.0.1:8001/v1")
    p.add_argument("--model", required=True, help="model name to request")
    p.add_argument("--api", choices=("chat", "completions"), default="chat", help="(chat)")
    p.add_argument(
        "--api-key-env", metavar="VAR", help="read the API key from this environment variable"
    )
    p.add_argument(
        "--eval-set",
        required=True,
        metavar="SET",
        help=f"a JSONL file, or the name of a shipped set ({shipped})",
    )
    p.add_argument(
        "--repeats",
        type=_int_in("--repeats", 1, 100),
        default=3,
        metavar="N",
        help="requests per prompt and temperature, for consistency (3)",
    )
    p.add_argument(
        "--temperature",
        type=_temperatures,
        default=(0.0,),
        metavar="T[,T...]",
        help="sampling temperature(s), one run each (0)",
    )
    p.add_argument(
        "--concurrency",
        type=_int_in("--concurrency", 1, 256),
        default=4,
        metavar="C",
        help="requests in flight (4)",
    )
    p.add_argument(
        "--max-tokens",
        type=_int_in("--max-tokens", 1, 100_000),
        default=64,
        metavar="N",
        help="answer length limit (64)",
    )
    p.add_argument("--timeout", type=_timeout, default=60.0, metavar="S", help="per request (60)")
    p.add_argument("--label", default="", metavar="L", help="label of the runs")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print the scores as JSON on stdout")
    p.set_defaults(func=run)


def build_config(
    args: argparse.Namespace, environ: dict[str, str] | None = None
) -> QualityProbeConfig:
    """A validated config from the flags; UsageError for what cannot work."""
    env = os.environ if environ is None else environ
    api_key = None
    if args.api_key_env:
        api_key = env.get(args.api_key_env)
        if not api_key:
            raise UsageError(
                f"--api-key-env {args.api_key_env}: that environment variable is not set or empty"
            )
    try:
        items = load_eval_set(args.eval_set)
    except ValueError as exc:
        raise UsageError(f"--eval-set: {exc}") from None
    cfg = QualityProbeConfig(
        url=args.url,
        model=args.model,
        eval_set=Path(args.eval_set).stem,
        items=tuple(items),
        api=args.api,
        api_key=api_key,
        repeats=args.repeats,
        temperatures=tuple(args.temperature),
        concurrency=args.concurrency,
        max_tokens=args.max_tokens,
        timeout_s=args.timeout,
        label=args.label,
    )
    try:
        cfg.validate()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return cfg


def result_json(result: QualityRunResult) -> dict[str, object]:
    """One temperature's scores as the JSON object `--json` prints (rates 0..1)."""
    t = result.report.by_temperature[0] if result.report.by_temperature else None
    return {
        "run_id": result.info.run_id,
        "group_id": result.info.group_id,
        "status": result.status,
        "eval_set": result.info.settings.get("quality_eval_set"),
        "temperature": result.info.settings.get("temperature"),
        "repeats": result.info.settings.get("quality_repeats"),
        "requests": t.requests if t else 0,
        "failed": t.failed if t else 0,
        "error_rate": t.error_rate if t else None,
        "failure_classes": t.failure_classes if t else {},
        "exact_match": t.exact_match if t else None,
        "rouge_l": t.rouge_l if t else None,
        "identical_share": t.identical_share if t else None,
        "pairwise_similarity": t.pairwise_similarity if t else None,
    }


def _pct(v: object) -> str:
    return "n/a" if not isinstance(v, int | float) else f"{v * 100:.1f}%"


def run(args: argparse.Namespace) -> int:
    cfg = build_config(args)
    try:
        check = asyncio.run(
            preflight(cfg.url, cfg.model, api=cfg.api, api_key=cfg.api_key, timeout_s=5.0)
        )
    except PreflightError as exc:
        return fail(str(exc))
    for warning in check.warnings:
        print(f"inferlab quality: warning: {warning}", file=sys.stderr)
    try:
        store = open_store(args)
    except StoreFailure as exc:
        return fail(str(exc))
    qstore = QualityStore(store)

    def open_sink(info: RunInfo) -> Any:
        return store.run_writer(info)

    err = Console(stderr=True)
    show = err.is_terminal

    def progress(u: QualityProgress) -> None:
        if show and (u.done == u.planned or u.done % 10 == 0):
            err.print(
                f"T={u.temperature:g} [{u.step + 1}/{u.steps}]: {u.done}/{u.planned} done, "
                f"{u.failed} errors",
                highlight=False,
            )

    try:
        save = functools.partial(save_result, qstore, cfg)
        results = asyncio.run(_run(cfg, open_sink, save, progress))
    except (StoreError, SinkError) as exc:
        return fail(str(exc))
    objs = [result_json(r) for r in results]
    if args.json:
        print(jsonsafe.dumps(objs, indent=2))
    else:
        console = Console(width=None if sys.stdout.isatty() else 120)
        table = Table(title=f"Quality of {cfg.model} on {cfg.eval_set} ({len(cfg.items)} prompts)")
        for col in (
            "T",
            "run",
            "requests",
            "exact match",
            "ROUGE-L",
            "identical repeats",
            "pairwise sim.",
            "error rate",
            "failures",
        ):
            table.add_column(col)
        for o in objs:
            fails = o["failure_classes"]
            assert isinstance(fails, dict)
            table.add_row(
                f"{o['temperature']:g}" if isinstance(o["temperature"], int | float) else "?",
                str(o["run_id"]),
                str(o["requests"]),
                _pct(o["exact_match"]),
                _pct(o["rouge_l"]),
                _pct(o["identical_share"]),
                _pct(o["pairwise_similarity"]),
                _pct(o["error_rate"]),
                ", ".join(f"{k} {v}" for k, v in fails.items()) or "none",
            )
        console.print(table)
        console.print(
            "Exact match and ROUGE-L count answered requests; failures are in the error rate.",
            highlight=False,
        )
    if any(r.status == "cancelled" for r in results):
        print("inferlab quality: cancelled; completed requests were saved", file=sys.stderr)
        return 130
    return 0


async def _run(
    cfg: QualityProbeConfig, open_sink: Any, save: Any, progress: Any
) -> list[QualityRunResult]:
    cancel = threading.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, cancel.set)
    loop.add_signal_handler(signal.SIGTERM, cancel.set)
    try:
        return await run_quality(cfg, open_sink, save=save, progress=progress, cancel=cancel)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
