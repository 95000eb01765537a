"""`inferlab show RUN`: one run's settings and summary (a table, or JSON with --json)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from inferlab import jsonsafe
from inferlab.cli import UsageError
from inferlab.cli._db import StoreFailure, add_db_argument, fail, open_store, resolve_run_ids
from inferlab.cli._sessions import json_extras, render_saturation, render_sessions, sessions_block
from inferlab.metrics.summary import RunSummary, Stats
from inferlab.probe.config import describe_load
from inferlab.probe.engines.choice import engine_label
from inferlab.server.adapters import server_name
from inferlab.server.run import server_block
from inferlab.store import Slo, StoreError, UnknownRunError
from inferlab.validity import Validity, validity_json

__all__ = ["register", "render_server", "render_summary", "render_validity"]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "show",
        help="print a run's summary",
        description="Print one run's settings and summary statistics.",
    )
    p.add_argument(
        "run_id", metavar="RUN", help="run id, or its first characters (see `inferlab runs`)"
    )
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--slo-ttft-ms", type=float, metavar="MS", help="TTFT SLO for goodput")
    p.add_argument("--slo-tpot-ms", type=float, metavar="MS", help="TPOT SLO for goodput")
    p.add_argument("--slo-e2e-ms", type=float, metavar="MS", help="end-to-end SLO for goodput")
    p.set_defaults(func=run)


def _slo(args: argparse.Namespace) -> Slo | None:
    for flag in ("slo_ttft_ms", "slo_tpot_ms", "slo_e2e_ms"):
        v = getattr(args, flag)
        if v is not None and not v > 0:
            raise UsageError(f"--{flag.replace('_', '-')} must be a positive number of ms, got {v}")
    slo = Slo(args.slo_ttft_ms, args.slo_tpot_ms, args.slo_e2e_ms)
    return slo if slo.is_set else None


def _f(v: float | None, fmt: str = "{:,.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def render_summary(summary: RunSummary, console: Console, title: str = "") -> None:
    """Counts, rates and the latency table of one summary."""
    lines = [
        f"status {summary.status}; {summary.requests:,} requests "
        f"({summary.completed:,} completed, {summary.failed:,} failed, "
        f"error rate {summary.error_rate:.1%}); {summary.warmup_requests:,} warm-up excluded",
        f"duration {_f(summary.duration_s, '{:,.3f}')} s; {_f(summary.rps)} req/s; "
        f"{_f(summary.output_tps, '{:,.1f}')} output tokens/s ({summary.output_tokens:,} tokens)",
    ]
    if summary.errors_by_class:
        lines.append(
            "errors by class: "
            + ", ".join(
                f"{k} {v:,} ({summary.error_rate_by_class[k]:.1%})"
                for k, v in summary.errors_by_class.items()
            )
        )
    if summary.slo is not None:
        parts = [
            f"{k.removesuffix('_ms').upper()} <= {v:g} ms"
            for k, v in summary.slo.to_json().items()
            if v is not None
        ]
        att = "-" if summary.slo_attainment is None else f"{summary.slo_attainment:.1%}"
        lines.append(
            f"SLO {' and '.join(parts)}: goodput {_f(summary.goodput_rps)} req/s, attainment {att}"
        )
    if title:
        console.print(f"[bold]{escape(title)}[/bold]")
    for line in lines:
        console.print(line, highlight=False, markup=False)
    table = Table()
    table.add_column("metric (ms)")
    for col in ("n", "mean", "std", "p50", "p90", "p95", "p99"):
        table.add_column(col, justify="right")
    metrics: list[tuple[str, Stats]] = [
        ("TTFT", summary.ttft_ms),
        ("TPOT", summary.tpot_ms),
        ("ITL (per gap)", summary.itl_ms),
        ("E2E", summary.e2e_ms),
        ("client queue", summary.client_queue_ms),
    ]
    for name, st in metrics:
        table.add_row(
            name,
            f"{st.count:,}",
            *(_f(v) for v in (st.mean, st.std, st.p50, st.p90, st.p95, st.p99)),
        )
    console.print(table)


def render_validity(validity: Validity, console: Console) -> None:
    """One line: the verdict and its reasons, with the client's own cost when known."""
    f = validity.facts
    line = f"validity: {validity.label}"
    if f is not None:
        parts = []
        if f.loop_lag_p99_ms is not None:
            parts.append(
                f"loop lag p50 {_f(f.loop_lag_p50_ms)} / p99 {_f(f.loop_lag_p99_ms)} / "
                f"max {_f(f.loop_lag_max_ms)} ms"
            )
        if f.client_cpu_pct is not None:
            parts.append(f"client CPU {f.client_cpu_pct:.0f}% of a core")
        if f.target_concurrency and f.achieved_concurrency is not None:
            parts.append(f"{f.achieved_concurrency:.1f} of {f.target_concurrency:g} streams")
        if f.target_rps and f.achieved_rps is not None:
            parts.append(f"{f.achieved_rps:.2f} of {f.target_rps:g} req/s")
        if f.connections_opened:
            parts.append(
                f"{f.connections_opened} connections opened (p50 {_f(f.connect_p50_ms)} ms, "
                "not inside TTFT)"
            )
        if f.engine is not None:
            parts.append(engine_label(f.engine, f.workers, f.engine_note))
        if parts:
            line += " (" + "; ".join(parts) + ")"
    console.print(line, highlight=False, markup=False)


def run(args: argparse.Namespace) -> int:
    slo = _slo(args)
    try:
        store = open_store(args)
        args.run_id = resolve_run_ids(store, [args.run_id])[0]
        info = store.get_run(args.run_id)
        if info is None:  # removed since it was resolved
            raise UnknownRunError(f"run {args.run_id!r} is no longer in {store.path}")
        summary = store.summary(args.run_id, slo)
        validity = store.validity(args.run_id)
        server = server_block(store.server_scrapes(args.run_id), store.records(args.run_id))
        extras = json_extras(store, info) if args.json else {}
        block = None if args.json else sessions_block(store, info)
        saturation = store.run_metadata(args.run_id).get("saturation")
    except UnknownRunError as exc:
        return fail(str(exc))
    except (StoreFailure, StoreError) as exc:
        return fail(str(exc))
    if args.json:
        print(
            jsonsafe.dumps(
                {
                    **summary.to_json(),
                    "validity": validity_json(validity),
                    "server": server,
                    **extras,
                },
                indent=2,
            )
        )
        return 0
    console = Console(width=None if sys.stdout.isatty() else 120)
    load = describe_load(info.load_mode, info.load_value)
    head = f"Run {info.run_id}" + (f" — {info.label}" if info.label else "")
    console.print(f"[bold]{escape(head)}[/bold]")
    console.print(
        f"{info.model} at {info.endpoint} ({info.api} API), {load}; "
        f"started {info.started_at:%Y-%m-%d %H:%M:%S} UTC; tool {info.source_tool}"
        + (f"; tags {', '.join(info.tags)}" if info.tags else "")
        + (f"; group {info.group_id}" if info.group_id else ""),
        highlight=False,
        markup=False,
    )
    render_summary(summary, console)
    render_validity(validity, console)
    if server is not None:
        render_server(server, console)
    if block is not None:
        render_sessions(block, console)
    render_saturation(saturation, console)
    return 0


def render_server(block: dict[str, Any], console: Console) -> None:
    """The server's own view in a few lines (`--json` has every field)."""

    def ms(d: dict[str, Any] | None) -> str:
        if not d:
            return "-"
        return f"mean {_f(d['mean'])}, p50 ~{_f(d['p50_estimate'])}, p99 ~{_f(d['p99_estimate'])}"

    console.print(
        f"[bold]server[/bold] {escape(server_name(block['kind'], block.get('simulated', False)))} at "
        f"{escape(block['endpoint'])} ({block['scrapes']} scrapes)"
    )
    lines = [
        f"prompt tokens {block['prompt_tokens']}, generation tokens {block['generation_tokens']}, "
        f"requests completed {block['requests_completed']}",
        f"TTFT (ms) {ms(block['ttft_ms'])}; queue (ms) {ms(block['queue_ms'])}; "
        f"decode {_f(block['decode_ms_per_token'])} ms/token",
        f"running max {block['running_max']}, waiting max {block['waiting_max']}, "
        f"KV cache max {block['kv_cache_max_pct']} %"
        + (
            "; OTHER TRAFFIC: the server's numbers include requests not from this run"
            if block["other_traffic"]
            else ""
        ),
        *block["notes"],
    ]
    for line in lines:
        console.print(line, highlight=False, markup=False)
