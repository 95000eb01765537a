"""`inferlab trends`: the monitored series, their latest values and detected changes.

Exit code 1 with `--fail-on-change` when, for any metric of a listed series,
the latest segment is worse than the one before (a change point that made it
worse and nothing since), so CI or cron can gate on it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from inferlab.cli import UsageError
from inferlab.cli._db import StoreFailure, add_db_argument, fail, open_store
from inferlab.monitor import METRICS, SeriesTrend, load_series, metric_spec, trend_of
from inferlab.monitor.changes import Change
from inferlab.store import StoreError

__all__ = ["register", "trend_json"]


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--min-effect {text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"--min-effect {text} must be a positive number")
    return value


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "trends",
        help="list monitored series, latest values and detected changes",
        description="For each series (runs tagged series:NAME, e.g. by `inferlab monitor`): "
        "its latest values and the change points detected per metric. With --fail-on-change "
        "the exit code is 1 when a series' latest segment is worse than the one before.",
    )
    p.add_argument("--series", metavar="S", help="only this series")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of tables")
    p.add_argument(
        "--fail-on-change",
        action="store_true",
        help="exit 1 if a metric's latest segment is worse than the one before",
    )
    p.add_argument(
        "--min-effect",
        type=_scale,
        default=1.0,
        metavar="X",
        help="multiply every metric's minimum effect (10%% for latency and tokens/s, "
        "2 points for the error rate) by X (1)",
    )
    add_db_argument(p)
    p.set_defaults(func=run)


def _change_json(trend: SeriesTrend, c: Change) -> dict[str, Any]:
    point = trend.at(c)
    return {
        "metric": c.metric,
        "at": point.started_at.isoformat(),
        "run_id": point.run_id,
        "before": c.before,
        "after": c.after,
        "change": c.delta,
        "change_pct": None if c.relative is None else 100 * c.relative,
        "worse": c.worse,
    }


def trend_json(trend: SeriesTrend) -> dict[str, Any]:
    """One series as a JSON object: runs, latest values, changes, metrics worse now."""
    return {
        "series": trend.series,
        "runs": len(trend.points),
        "first_at": trend.points[0].started_at.isoformat() if trend.points else None,
        "last_at": trend.points[-1].started_at.isoformat() if trend.points else None,
        "latest_run_id": trend.points[-1].run_id if trend.points else None,
        "latest": {m.key: trend.latest(m.key) for m in METRICS},
        "changes": [_change_json(trend, c) for c in trend.all_changes()],
        "worse_now": [c.metric for c in trend.worse_now()],
    }


def _size(c: Change) -> str:
    spec = metric_spec(c.metric)
    if spec.unit == "%":
        return f"{100 * c.delta:+.2f} points"
    return "-" if c.relative is None else f"{c.relative:+.0%}"


def _print(trends: list[SeriesTrend], console: Console) -> None:
    for trend in trends:
        last, n = trend.points[-1], len(trend.points)
        console.print(
            f"[bold]{escape(trend.series)}[/bold] — {n} run{'' if n == 1 else 's'}, latest "
            f"{last.started_at:%Y-%m-%d %H:%M} UTC (run {escape(last.run_id)})",
            highlight=False,
        )
        latest = Table(show_header=True, box=None, pad_edge=False)
        for m in METRICS:
            latest.add_column(m.label, justify="right")
        latest.add_row(*(m.fmt(trend.latest(m.key)) for m in METRICS))
        console.print(latest)
        changes = trend.all_changes()
        if not changes:
            console.print("  no changes detected", highlight=False)
        worse_now = {(c.metric, c.index) for c in trend.worse_now()}
        for c in changes:
            spec, point = metric_spec(c.metric), trend.at(c)
            mark = "worse" if c.worse else "better"
            now = ", latest" if (c.metric, c.index) in worse_now else ""
            console.print(
                f"  {point.started_at:%Y-%m-%d %H:%M} UTC  {spec.label}: {spec.fmt(c.before)} -> "
                f"{spec.fmt(c.after)} ({_size(c)}, {mark}{now}) from run {escape(point.run_id)}",
                highlight=False,
            )
        console.print()


def run(args: argparse.Namespace) -> int:
    try:
        store = open_store(args)
        found = load_series(store, None)
    except (StoreFailure, StoreError) as exc:
        return fail(str(exc))
    if args.series is not None:
        if args.series not in found:
            known = "; ".join(found) if found else "none yet"
            raise UsageError(f"--series {args.series!r} has no runs (series: {known})")
        found = {args.series: found[args.series]}
    trends = [trend_of(name, points, args.min_effect) for name, points in found.items()]
    if args.json:
        print(json.dumps([trend_json(t) for t in trends], indent=2))
    elif not trends:
        print(
            f"No series in {store.path} yet: run `inferlab monitor`, or tag runs series:NAME "
            "(`inferlab import FILE --series NAME`)."
        )
    else:
        _print(trends, Console(width=None if sys.stdout.isatty() else 160))
    worse = [t for t in trends if t.worse_now()]
    if args.fail_on_change and worse:
        for t in worse:
            names = ", ".join(metric_spec(c.metric).label for c in t.worse_now())
            print(
                f"inferlab trends: {t.series}: worse since the last change: {names}",
                file=sys.stderr,
            )
        return 1
    return 0
