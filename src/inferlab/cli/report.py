"""`inferlab report RUN... -o report.html`: a self-contained HTML comparison report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from inferlab import compare
from inferlab.cli import UsageError
from inferlab.cli._db import StoreFailure, add_db_argument, fail, open_store, resolve_run_ids
from inferlab.export import write_report
from inferlab.store import StoreError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report comparing runs",
        description="Write one HTML file with the Runs page's comparison table and charts "
        "(interactive plotly, embedded; opens offline with no server).",
    )
    p.add_argument(
        "run_ids",
        metavar="RUN",
        nargs="+",
        help="run ids (or their first characters); the first is the baseline",
    )
    p.add_argument("-o", "--output", type=Path, default=Path("report.html"), metavar="PATH",
                   help="output file (default: report.html)")  # fmt: skip
    p.add_argument("--baseline", metavar="RUN", help="baseline run (default: the first)")
    p.add_argument("--convention", choices=sorted(compare.CONVENTIONS), default="inferlab",
                   help="TPOT/ITL convention of the tables and charts (default: inferlab)")  # fmt: skip
    p.add_argument("--title", default=None, help="report title")
    p.add_argument("--slo-ttft-ms", type=float, metavar="MS", help="TTFT limit for the SLO table")
    p.add_argument("--slo-tpot-ms", type=float, metavar="MS", help="TPOT limit for the SLO table")
    p.add_argument("--slo-e2e-ms", type=float, metavar="MS", help="E2E limit for the SLO table")
    add_db_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for flag in ("slo_ttft_ms", "slo_tpot_ms", "slo_e2e_ms"):
        v = getattr(args, flag)
        if v is not None and not v > 0:
            raise UsageError(f"--{flag.replace('_', '-')} must be a positive number of ms, got {v}")
    if len(args.run_ids) > compare.MAX_COMPARE:
        raise UsageError(f"a report compares at most {compare.MAX_COMPARE} runs")
    slo = compare.Slo(args.slo_ttft_ms, args.slo_tpot_ms, args.slo_e2e_ms)
    try:
        store = open_store(args)
        args.run_ids = resolve_run_ids(store, args.run_ids)
        if args.baseline:
            args.baseline = resolve_run_ids(store, [args.baseline])[0]
            if args.baseline not in args.run_ids:
                raise UsageError(f"--baseline {args.baseline} is not one of the runs given")
        path = write_report(
            store,
            args.run_ids,
            args.output,
            baseline=args.baseline,
            convention=args.convention,
            slo=slo if slo.is_set else None,
            title=args.title,
        )
    except (StoreFailure, StoreError) as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot write {args.output}: {exc.strerror or exc}")
    except ValueError as exc:
        return fail(str(exc))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
