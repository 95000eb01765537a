"""Can a run's numbers be trusted? What the client itself cost, and a verdict from it.

Every probe run records how its own client behaved while it measured
(`ValidityFacts`): event-loop lag sampled during the run, the client's CPU
share, achieved against target concurrency or rate, dispatch lag (scheduled
-> sent, the records' `client_queue_ms`) and connection set-up. `judge` turns
those into `valid` or `suspect` with reasons a user can act on; runs without
facts (imported, or older than this check) are `unknown`, with why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

__all__ = [
    "LOOP_LAG_P99_LIMIT_MS",
    "Validity",
    "ValidityFacts",
    "comparison_warning",
    "judge",
    "validity_json",
]

VerdictName = Literal["valid", "suspect", "unknown"]

# Limits: beyond these the client, not the server, may be what the numbers show.
LOOP_LAG_P99_LIMIT_MS = 10.0  # a later read can merge chunks of one stream (ITL/TTFT high)
LOOP_LAG_MAX_LIMIT_MS = 100.0
CLIENT_CPU_LIMIT_PCT = 80.0  # of one core: the client's own loop is nearly saturated
ACHIEVED_SHARE_LIMIT = 0.9  # achieved / target concurrency or rate while sending
DISPATCH_P99_LIMIT_MS = 50.0  # requests left this much later than planned


@dataclass(frozen=True)
class ValidityFacts:
    """What a probe's own client did during the measured phase (None: not measured)."""

    loop_lag_p50_ms: float | None = None
    loop_lag_p99_ms: float | None = None
    loop_lag_max_ms: float | None = None
    loop_lag_samples: int = 0
    client_cpu_pct: float | None = None  # process CPU time / wall time, % of one core
    target_concurrency: float | None = None
    achieved_concurrency: float | None = None  # mean streams in flight while sending
    target_rps: float | None = None
    achieved_rps: float | None = None  # sends per second while sending
    dispatch_lag_p50_ms: float | None = None
    dispatch_lag_p99_ms: float | None = None
    connections_opened: int = 0
    connect_p50_ms: float | None = None
    connect_max_ms: float | None = None
    kernel_stamps: bool | None = None  # chunk arrivals stamped by the kernel
    # Which engine measured (local, processes, ray), over how many workers (each its own
    # process and core: client_cpu_pct is their sum), and why it was not the one asked.
    engine: str | None = None
    workers: int = 1
    engine_note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ValidityFacts:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _clean(v: object) -> object:
    return None if isinstance(v, float) and not math.isfinite(v) else v


@dataclass(frozen=True)
class Validity:
    """`valid`, `suspect` (reasons say why) or `unknown` (the reason says why not judged)."""

    verdict: VerdictName
    reasons: tuple[str, ...] = ()
    facts: ValidityFacts | None = None

    @property
    def label(self) -> str:
        """One line: `valid`, `suspect: <reason>; <reason>` or `unknown: <reason>`."""
        return self.verdict + (": " + "; ".join(self.reasons) if self.reasons else "")


def _ms(x: float) -> str:
    return f"{x:.0f} ms" if x >= 10 else f"{x:.1f} ms"


def judge(facts: ValidityFacts | None, source_tool: str = "inferlab") -> Validity:
    """The verdict on one run from its facts (pure)."""
    if facts is None:
        if source_tool != "inferlab":
            why = f"imported from {source_tool}: its client's own cost was not recorded"
        else:
            why = "recorded before inferlab checked its own client (no facts kept)"
        return Validity("unknown", (why,))
    reasons: list[str] = []
    p99, mx = facts.loop_lag_p99_ms, facts.loop_lag_max_ms
    if p99 is not None and p99 > LOOP_LAG_P99_LIMIT_MS:
        worst = (
            f" and {_ms(mx)} at worst"
            if mx is not None and mx > max(2 * p99, LOOP_LAG_MAX_LIMIT_MS)
            else ""
        )
        reasons.append(
            f"client event loop lagged {_ms(p99)} at p99{worst}: TTFT and ITL may read high"
        )
    elif mx is not None and mx > LOOP_LAG_MAX_LIMIT_MS:
        reasons.append(
            f"client event loop stalled once for {_ms(mx)}: a few requests may read high"
        )
    cpu, workers = facts.client_cpu_pct, max(1, facts.workers)
    if cpu is not None and cpu > CLIENT_CPU_LIMIT_PCT * workers:
        over = "of a core" if workers == 1 else f"of a core over {workers} worker processes"
        reasons.append(f"client used {cpu:.0f}% {over}: it may be the bottleneck, not the server")
    target, got = facts.target_concurrency, facts.achieved_concurrency
    if target and got is not None and got < ACHIEVED_SHARE_LIMIT * target:
        reasons.append(f"only {got:.1f} of {target:g} streams were in flight on average")
    target, got = facts.target_rps, facts.achieved_rps
    if target and got is not None and got < ACHIEVED_SHARE_LIMIT * target:
        reasons.append(f"sent {got:.2f} requests/s of the {target:g} asked")
    lag = facts.dispatch_lag_p99_ms
    if lag is not None and lag > DISPATCH_P99_LIMIT_MS:
        reasons.append(f"requests left up to {_ms(lag)} late at p99 (client queue)")
    return Validity("suspect" if reasons else "valid", tuple(reasons), facts)


def validity_json(v: Validity) -> dict[str, Any]:
    """The shape `inferlab show --json` and exports use."""
    f = v.facts
    out: dict[str, Any] = {"verdict": v.verdict, "reasons": list(v.reasons)}
    if f is None:
        return out
    out["loop_lag_ms"] = {
        "p50": _clean(f.loop_lag_p50_ms),
        "p99": _clean(f.loop_lag_p99_ms),
        "max": _clean(f.loop_lag_max_ms),
        "samples": f.loop_lag_samples,
    }
    out["client_cpu_pct"] = _clean(f.client_cpu_pct)
    out["concurrency"] = {
        "target": f.target_concurrency,
        "achieved": _clean(f.achieved_concurrency),
    }
    out["rate_rps"] = {"target": f.target_rps, "achieved": _clean(f.achieved_rps)}
    out["dispatch_lag_ms"] = {
        "p50": _clean(f.dispatch_lag_p50_ms),
        "p99": _clean(f.dispatch_lag_p99_ms),
    }
    out["connections"] = {
        "opened": f.connections_opened,
        "connect_p50_ms": _clean(f.connect_p50_ms),
        "connect_max_ms": _clean(f.connect_max_ms),
    }
    out["kernel_stamps"] = f.kernel_stamps
    out["engine"] = {"name": f.engine, "workers": f.workers, "note": f.engine_note}
    return out


def comparison_warning(runs: Sequence[tuple[str, Validity]]) -> str | None:
    """A sentence when any compared run is suspect (or not judged); None when all are valid."""
    suspect = [f"{name} is {v.label}" for name, v in runs if v.verdict == "suspect"]
    unknown = [name for name, v in runs if v.verdict == "unknown"]
    parts = []
    if suspect:
        parts.append(
            "this comparison involves a suspect run, so a difference may be the client's: "
            + "; ".join(suspect)
        )
    if unknown:
        parts.append(
            f"validity unknown for {', '.join(unknown)} (its client's cost was not recorded)"
        )
    return ". ".join(parts) if parts else None
