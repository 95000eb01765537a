"""`inferlab monitor`: probe an endpoint on a schedule, track its series, fire alerts.

Every probe flag works (the same argument definitions and the same engine as
`inferlab probe`); each run is tagged `monitor` and `series:<name>`. An
endpoint that is down gives a run of failed requests, not a stop. After each
run the series' change points are detected and the `--alert` rules
evaluated; an alert fires once per change: printed, stored, and sent to
`--alert-command` (JSON on stdin) and/or `--webhook` (JSON POST through the
outbound policy). Ctrl-C or SIGTERM ends it cleanly: the run in progress is
saved as `cancelled` with its completed requests, exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from inferlab.cli import UsageError, add_command
from inferlab.cli._db import StoreFailure, fail, open_store
from inferlab.cli.probe import add_probe_arguments, build_config, check_endpoint
from inferlab.monitor import (
    MONITOR_TAG,
    Alert,
    AlertRule,
    RuleError,
    SeriesError,
    check_series_name,
    evaluate_rules,
    load_series,
    metric_spec,
    parse_rules,
    series_name,
    series_tag,
    trend_of,
)
from inferlab.monitor.alerts import alert_from_row, alert_row
from inferlab.monitor.schedule import IntervalError, parse_interval, run_every
from inferlab.probe import (
    ConfigError,
    PreflightError,
    ProbeConfig,
    SinkError,
    make_run_info,
    run_probe,
)
from inferlab.store import Store, StoreError

__all__ = ["MONITOR_REQUESTS", "register"]

MONITOR_REQUESTS = 20
"""Requests per monitor run unless --requests or --duration says otherwise: a small probe."""


def _interval(text: str) -> float:
    try:
        return parse_interval(text)
    except IntervalError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--count {text!r} must be a whole number of at least 1")
    return int(text)


def register(subparsers: Any) -> None:
    p = add_command(
        subparsers,
        "monitor",
        help="probe an endpoint on a schedule, detect changes and alert",
        description="Run a small probe every interval (every `inferlab probe` flag works), "
        "tag the runs `monitor` and with a series name, detect changes in the series after "
        "each run and fire --alert rules once per change. Stop with Ctrl-C.",
    )
    add_probe_arguments(p, default_requests=MONITOR_REQUESTS, sweep=False)
    g = p.add_argument_group("schedule and alerts")
    g.add_argument(
        "--every",
        required=True,
        type=_interval,
        metavar="INTERVAL",
        help="time between run starts: 30s, 5m, 1h, 250ms (a run that overruns skips a slot)",
    )
    g.add_argument(
        "--count", type=_count, metavar="K", help="stop after K runs (default: until Ctrl-C)"
    )
    g.add_argument(
        "--series",
        metavar="NAME",
        help="series name (default: endpoint · model · load · length · tokens)",
    )
    g.add_argument(
        "--alert",
        action="append",
        default=[],
        metavar="RULES",
        help='comma-separated rules, e.g. "ttft_p95>+20%%,error_rate>2%%,e2e_p95>5000" '
        "(signed %% = change at a detected change point; else a threshold)",
    )
    g.add_argument(
        "--alert-command",
        metavar="CMD",
        help="run CMD for each alert: the alert as JSON on stdin, its message in $INFERLAB_ALERT",
    )
    g.add_argument(
        "--webhook",
        metavar="URL",
        help="POST each alert as JSON to URL (checked against the outbound policy)",
    )
    p.set_defaults(func=run)


@dataclass(frozen=True)
class _Plan:
    cfg: ProbeConfig
    series: str
    interval_s: float
    count: int | None
    rules: tuple[AlertRule, ...]
    command: str | None
    webhook: str | None
    as_json: bool


def _plan(args: argparse.Namespace) -> _Plan:
    cfg = build_config(args, default_requests=MONITOR_REQUESTS)
    try:
        name = check_series_name(args.series) if args.series is not None else series_name(cfg)
        tags = (*cfg.tags, MONITOR_TAG, series_tag(name))
    except SeriesError as exc:
        raise UsageError(f"--series: {exc}") from None
    cfg = replace(cfg, tags=tuple(dict.fromkeys(tags)))
    try:
        rules = parse_rules(args.alert) if args.alert else ()
    except RuleError as exc:
        raise UsageError(str(exc)) from None
    if (args.alert_command or args.webhook) and not rules:
        raise UsageError('--alert-command and --webhook need --alert RULES, e.g. "ttft_p95>+20%"')
    if args.alert_command is not None:
        from inferlab.monitor.deliver import check_command

        try:
            check_command(args.alert_command)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.webhook is not None:
        _check_webhook(args.webhook)
    return _Plan(
        cfg, name, args.every, args.count, rules, args.alert_command, args.webhook, args.json
    )


def _check_webhook(url: str) -> None:
    from inferlab.netpolicy import PolicyError, TargetError, check_target, load_policy

    try:
        check_target(url, load_policy())
    except (TargetError, PolicyError) as exc:
        raise UsageError(f"--webhook: {exc}") from None


def run(args: argparse.Namespace) -> int:
    plan = _plan(args)
    try:
        store = open_store(args)
    except StoreFailure as exc:
        return fail(str(exc))
    cfg = plan.cfg
    try:
        check = check_endpoint(cfg)
        for warning in check.warnings:
            _note(f"warning: {warning}")
    except PreflightError as exc:
        _note(f"warning: {exc}; monitoring anyway, each run records its failed requests")
    _note(f"monitoring series {plan.series!r} every {plan.interval_s:g} s (Ctrl-C stops)")
    runs = asyncio.run(_monitor(plan, store))
    _note(f"stopped after {runs} run(s)")
    return 0


def _note(text: str) -> None:
    print(f"inferlab monitor: {text}", file=sys.stderr, flush=True)


async def _monitor(plan: _Plan, store: Store) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def tick(i: int) -> None:
        info = make_run_info(plan.cfg)
        try:
            sink: Any = store.run_writer(info)
            result = await run_probe(plan.cfg, sink, info=info, cancel=stop)
        except (StoreError, SinkError) as exc:
            _note(f"error: run {info.run_id} could not be saved: {exc}; trying again next time")
            return
        except ConfigError as exc:  # e.g. the prompts file went away: no run can work now
            _note(f"error: {exc}; stopping")
            stop.set()
            return
        await asyncio.to_thread(_after_run, plan, store, result.info.run_id, result.status)

    try:
        return await run_every(plan.interval_s, tick, count=plan.count, stop=stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _after_run(plan: _Plan, store: Store, run_id: str, status: str) -> None:
    """Report the run, then evaluate the rules; a busy or broken store is a warning."""
    try:
        summary = store.summary(run_id)
        if plan.as_json:
            print(json.dumps({"type": "run", "series": plan.series, **summary.to_json()}))
        else:
            print(_run_line(run_id, status, summary), flush=True)
        if status != "completed" or not plan.rules:
            return
        points = load_series(store, plan.series).get(plan.series, [])
        trend = trend_of(plan.series, points)
        fired = [alert_from_row(r) for r in store.alerts(plan.series)]
        for alert in evaluate_rules(plan.rules, trend, fired):
            store.add_alert(alert_row(alert))
            _fire(plan, store, alert)
    except StoreError as exc:
        _note(f"warning: run {run_id} is saved but the series could not be checked: {exc}")
    except Exception as exc:  # a long-running monitor reports a bug and keeps measuring
        _note(f"error: run {run_id} is saved but checking its series failed: {exc!r}")


def _run_line(run_id: str, status: str, summary: Any) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    ttft = metric_spec("ttft_p95").fmt(summary.ttft_ms.p95)
    e2e = metric_spec("e2e_p95").fmt(summary.e2e_ms.p95)
    tps = metric_spec("output_tps").fmt(summary.output_tps)
    state = "" if status == "completed" else f" [{status}]"
    return (
        f"{now} UTC run {run_id}{state}: {summary.requests} requests, {summary.failed} failed "
        f"({summary.error_rate:.0%}), TTFT p95 {ttft}, E2E p95 {e2e}, {tps}"
    )


def _fire(plan: _Plan, store: Store, alert: Alert) -> None:
    from inferlab.monitor.deliver import post_webhook, run_command
    from inferlab.netpolicy import PolicyError, load_policy

    if plan.as_json:
        print(json.dumps({"type": "alert", **alert.to_json()}), flush=True)
    else:
        print(f"ALERT {alert.message}", flush=True)
    outcomes: dict[str, str] = {}
    if plan.command is not None:
        outcomes["command"] = run_command(alert, plan.command)
    if plan.webhook is not None:
        try:
            outcomes["webhook"] = post_webhook(alert, plan.webhook, load_policy())
        except PolicyError as exc:
            outcomes["webhook"] = f"refused: {exc}"
    for where, outcome in outcomes.items():
        if not outcome.startswith("ok"):
            _note(f"warning: alert {alert.alert_id} {where} delivery {outcome}")
    if outcomes:
        store.set_alert_deliveries(alert.alert_id, outcomes)
