"""`inferlab compare BASELINE RUN`: the delta table, and a regression gate with --fail-on.

Exit codes: 0 every condition passed (or none given); 1 a condition failed, or
the database could not be read; 2 a usage error (unknown run id, unreadable
condition).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from inferlab import jsonsafe
from inferlab.cli import UsageError
from inferlab.cli._db import StoreFailure, add_db_argument, fail, open_store, resolve_run_ids
from inferlab.compare.loaders import fmt_value, load_run
from inferlab.compare.runs import (
    CONVENTIONS,
    METRIC_BY_KEY,
    NEGLIGIBLE_PCT,
    compare_table,
    evaluate_conditions,
    little_check,
    parse_conditions,
    run_names,
)
from inferlab.compare.verdict import change_kind, comparison_verdict, setup_notes, shared_servers
from inferlab.store import StoreError
from inferlab.validity import comparison_warning, validity_json

__all__ = ["register"]

FAIL_ON_HELP = (
    "comma-separated conditions that fail the command (exit 1), e.g. "
    "'ttft_p95>+10%%,error_rate>1%%'. METRIC OP VALUE: +N%% / -N%% is a change relative to "
    "the baseline, +N (ms, s or pp) an absolute change, N without a sign the run's own "
    "value. Metrics: {ttft,tpot,itl,e2e}_{p50,p90,p95,p99} (ms), rps, output_tps, "
    "error_rate (%%)."
)


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "compare",
        help="compare a run with a baseline; gate on regressions",
        description="Print RUN's metrics as changes against BASELINE, with 95% bootstrap "
        "confidence intervals, and exit non-zero when a --fail-on condition holds (for "
        "deployment pipelines).",
        epilog="Exit codes: 0 all conditions passed (or none given); 1 a condition failed or "
        "the database could not be read; 2 usage error (unknown run id, unreadable condition).",
    )
    p.add_argument(
        "baseline", metavar="BASELINE", help="run id (or its first characters) of the baseline"
    )
    p.add_argument("run", metavar="RUN", help="run id (or its first characters) to compare with it")
    p.add_argument("--fail-on", metavar="CONDITIONS", help=FAIL_ON_HELP)
    p.add_argument(
        "--convention",
        choices=sorted(CONVENTIONS),
        default="inferlab",
        help="define TPOT/ITL as this tool does (default: inferlab)",
    )
    p.add_argument(
        "--ignore-noise",
        action="store_true",
        help="a change condition (+N%%, +N ms) fails only when the change's 95%% CI excludes 0",
    )
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _num(v: Any) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def run(args: argparse.Namespace) -> int:
    conditions = []
    if args.fail_on is not None:
        try:
            conditions = parse_conditions(args.fail_on)
        except ValueError as exc:
            raise UsageError(f"--fail-on: {exc}") from None
    try:
        store = open_store(args)
        args.baseline, args.run = resolve_run_ids(store, [args.baseline, args.run])
        base = load_run(store, args.baseline)
        cand = load_run(store, args.run)
        validities = store.validities([args.baseline, args.run])
        shared = shared_servers(store.runs_metadata([args.baseline, args.run]))
    except (StoreFailure, StoreError) as exc:
        return fail(str(exc))
    if args.baseline == args.run:
        raise UsageError("BASELINE and RUN are the same run; give two different run ids")
    table = compare_table([base, cand], base.run_id, convention=args.convention)
    rows = table[table.run_id == cand.run_id]
    values = dict(zip(rows.metric, rows.value, strict=True))
    baseline_values = dict(zip(rows.metric, rows.baseline, strict=True))
    significant = (
        {
            str(m): (None if sig is None else bool(sig))
            for m, sig in zip(rows.metric, rows.significant, strict=True)
        }
        if args.ignore_noise
        else None
    )
    results = evaluate_conditions(conditions, values, baseline_values, significant)
    failed = [r for r in results if r.tripped]
    names = run_names([base, cand])  # the verdict's names, also in the table's title
    verdicts = comparison_verdict(
        table,
        [base, cand],
        base.run_id,
        names,
        little={r.run_id: little_check(r) for r in (base, cand)},
        shared=shared,
    )
    named = [
        (f"{role} {rid}", validities[rid])
        for role, rid in (("baseline", base.run_id), ("run", cand.run_id))
        if rid in validities
    ]
    warning = comparison_warning(named)
    notes = setup_notes([base, cand], base.run_id, names)

    if args.json:
        print(
            jsonsafe.dumps(
                {
                    "baseline": base.run_id,
                    "run": cand.run_id,
                    "convention": args.convention,
                    "verdict": [v.sentence for v in verdicts],
                    "setup_notes": notes,
                    "metrics": [
                        {
                            "metric": r.metric,
                            "unit": r.unit,
                            "better": r.better,
                            "baseline": _num(r.baseline),
                            "value": _num(r.value),
                            "abs_delta": _num(r.abs_delta),
                            "pct_delta": _num(r.pct_delta),
                            "ci_low": _num(r.ci_low),
                            "ci_high": _num(r.ci_high),
                            "is_better": None if r.is_better is None else bool(r.is_better),
                            "significant": None if r.significant is None else bool(r.significant),
                        }
                        for r in rows.itertuples()
                    ],
                    "conditions": [
                        {
                            "condition": g.condition.text,
                            "observed": _num(g.observed),
                            "failed": g.tripped,
                            "within_noise": g.within_noise,
                        }
                        for g in results
                    ],
                    "passed": not failed,
                    "validity": {
                        "baseline": validity_json(validities[base.run_id])
                        if base.run_id in validities
                        else None,
                        "run": validity_json(validities[cand.run_id])
                        if cand.run_id in validities
                        else None,
                        "warning": warning,
                    },
                },
                indent=2,
            )
        )
        return 1 if failed else 0

    console = Console(width=None if sys.stdout.isatty() else 140, highlight=False)
    t = Table(
        title=f"{escape(names[cand.run_id])} ({cand.run_id}) vs baseline "
        f"{escape(names[base.run_id])} ({base.run_id}) — {CONVENTIONS[args.convention].name} "
        "convention"
    )
    for col, justify in (
        ("Metric", "left"),
        ("Baseline", "right"),
        ("Run", "right"),
        ("Change", "right"),
        ("95% CI of change", "right"),
        ("Verdict", "left"),
    ):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    r: Any
    for r in rows.itertuples():
        spec = METRIC_BY_KEY[str(r.metric)]
        unit = "pp" if spec.unit == "%" else spec.unit
        change = "" if math.isnan(r.abs_delta) else f"{r.abs_delta:+,.2f} {unit}"
        if not math.isnan(r.pct_delta):
            change += f" ({r.pct_delta:+.1f}%)"
        has_ci = r.ci_low is not None and not math.isnan(r.ci_low)
        digits = 1 if spec.unit == "ms" else 2
        ci = f"{r.ci_low:+,.{digits}f} to {r.ci_high:+,.{digits}f}" if has_ci else ""
        kind = change_kind(r.is_better, r.pct_delta, has_ci, r.significant)
        verdict = {
            "same": "[dim]same[/]",
            "noise": "[dim]within noise[/]",
            "negligible": f"[dim]negligible (<{NEGLIGIBLE_PCT:g}%)[/]",
            "better": "[green]better[/]",
            "worse": "[red]worse[/]",
        }[kind]
        t.add_row(
            spec.label,
            fmt_value(r.baseline, spec.unit),
            fmt_value(r.value, spec.unit),
            change,
            ci,
            verdict,
        )
    for v in verdicts:
        console.print(escape(v.sentence))
    for note in notes:
        console.print(f"[yellow]Note: {escape(note)}[/]")
    console.print(t)
    console.print(
        "[dim]CI: 95% bootstrap interval of the change (2,000 resamples of each run's "
        "requests, seeded; run durations held fixed for rates); 'within noise' when it "
        "includes 0.[/]"
    )
    if warning:
        console.print(f"[yellow]Validity: {escape(warning)}.[/]")
    for g in results:
        style = "red" if g.tripped else "yellow" if g.within_noise else "green"
        console.print(f"[{style}]{escape(g.describe())}[/]")
    if conditions:
        console.print(
            f"[bold red]{len(failed)} of {len(results)} conditions failed.[/]"
            if failed
            else f"[bold green]All {len(results)} conditions passed.[/]"
        )
    return 1 if failed else 0
