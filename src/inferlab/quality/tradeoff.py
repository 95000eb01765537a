"""Quality against speed and cost: candidates, Pareto fronts, constraints, the best option.

Pure: `Candidate` options (quality, TTFT/TPOT, cost, errors), `pareto_front`,
`Constraints` and `best_option` (with the reason in words), and
`SatisfactionModel`, the stated, editable assumption of how user satisfaction
responds to latency and answer quality (chatbot exercise Q3). Answer scoring
lives in :mod:`inferlab.quality.scoring`.

Units: latencies in seconds (`_s`) or milliseconds (`_ms`), percentages 0..100
(`_pct`), money in US dollars (`_usd`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from inferlab.metrics.latency import total_latency_textbook_ms

__all__ = [
    "METRICS",
    "PARETO_CRITERIA",
    "TYPICAL_NOTE",
    "Candidate",
    "Choice",
    "Constraints",
    "Metric",
    "SatisfactionModel",
    "SatisfactionRow",
    "Sense",
    "best_option",
    "compare_to_baseline",
    "first_dominators",
    "metric_value",
    "pareto_front",
    "pareto_optimal",
    "satisfaction_rows",
    "unplotted",
    "violations",
]

Sense = Literal["max", "min"]


@dataclass(frozen=True)
class Metric:
    """A criterion options are compared on: where it lives, its label and which way is better."""

    key: str
    label: str
    sense: Sense
    unit: str

    def fmt(self, value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "unknown"
        if self.unit == "$":
            return f"${value:,.4g}"
        if self.unit == "%":
            return f"{value:,.1f}%"
        return f"{value:,.3g} {self.unit}"


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("quality_pct", "Quality (%)", "max", "%"),
        Metric("satisfaction_pct", "Expected satisfaction (%)", "max", "%"),
        Metric("cost_per_request_usd", "Cost per request ($)", "min", "$"),
        Metric("total_latency_s", "Total latency TTFT + TPOT × N (s)", "min", "s"),
        # A measured p95 where there is one, else the typical TTFT + TPOT × N: the
        # label says so, and `Candidate.latency_basis` says which one each row has.
        Metric("p95_latency_s", "p95 latency, else TTFT + TPOT × N (s)", "min", "s"),
        Metric("ttft_ms", "TTFT (ms)", "min", "ms"),
        Metric("tpot_ms", "TPOT (ms)", "min", "ms"),
        Metric("error_rate_pct", "Error rate (%)", "min", "%"),
    )
}


# ---------------------------------------------------------------------------
# Candidates


@dataclass(frozen=True)
class Candidate:
    """One option: a model or deployment configuration, typed in, imported or from a run.

    `cost_per_request_usd` wins over `price_per_mtok_usd` (then applied to the
    N output tokens only). `p95_latency_s` is a measured figure; without it the
    textbook total TTFT + TPOT × N stands in, and `latency_note` says so.
    """

    name: str
    quality_pct: float | None = None
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    output_tokens: float | None = None
    p95_latency_s: float | None = None
    cost_per_request_usd: float | None = None
    price_per_mtok_usd: float | None = None
    error_rate_pct: float | None = None
    source: str = ""

    @property
    def total_latency_s(self) -> float | None:
        if self.ttft_ms is None or self.tpot_ms is None or self.output_tokens is None:
            return None
        return total_latency_textbook_ms(self.ttft_ms, self.tpot_ms, self.output_tokens) / 1000.0

    @property
    def cost_usd(self) -> float | None:
        if self.cost_per_request_usd is not None:
            return self.cost_per_request_usd
        if self.price_per_mtok_usd is not None and self.output_tokens is not None:
            return self.price_per_mtok_usd * self.output_tokens / 1e6
        return None

    @property
    def slo_latency_s(self) -> float | None:
        """The latency the p95 constraint is checked against: measured p95, else the textbook total."""
        return self.p95_latency_s if self.p95_latency_s is not None else self.total_latency_s

    @property
    def latency_basis(self) -> Literal["p95", "typical"] | None:
        """Which statistic `slo_latency_s` is: a p95, the typical TTFT + TPOT × N, or unknown."""
        if self.p95_latency_s is not None:
            return "p95"
        return "typical" if self.total_latency_s is not None else None

    @property
    def latency_note(self) -> str:
        if self.latency_basis == "p95":
            return "measured p95"
        if self.latency_basis == "typical":
            return TYPICAL_NOTE
        return "unknown (no p95, and TTFT, TPOT or N missing)"


TYPICAL_NOTE = "typical TTFT + TPOT × N, not a p95 (no p95 known; a p95 is higher)"


def metric_value(
    candidate: Candidate, key: str, model: SatisfactionModel | None = None
) -> float | None:
    """The value of METRICS[key] for `candidate`; None when it is unknown."""
    if key == "cost_per_request_usd":
        return candidate.cost_usd
    if key == "total_latency_s":
        return candidate.total_latency_s
    if key == "p95_latency_s":
        return candidate.slo_latency_s
    if key == "satisfaction_pct":
        return None if model is None else model.expected_pct(candidate)
    if key not in METRICS:
        raise KeyError(f"unknown metric {key!r}")
    value = getattr(candidate, key)
    return None if value is None else float(value)


# ---------------------------------------------------------------------------
# Pareto front


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """`a` is at least as good everywhere and strictly better somewhere (all minimised)."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def _as_minimised(
    points: Sequence[Sequence[float]], senses: Sequence[Sense]
) -> list[tuple[float, ...]]:
    out = []
    for p in points:
        if len(p) != len(senses):
            raise ValueError(f"point {tuple(p)} has {len(p)} values for {len(senses)} criteria")
        if not all(math.isfinite(v) for v in p):
            raise ValueError(f"point {tuple(p)} has a missing or infinite value")
        out.append(
            tuple(-float(v) if s == "max" else float(v) for v, s in zip(p, senses, strict=True))
        )
    return out


def pareto_front(points: Sequence[Sequence[float]], senses: Sequence[Sense]) -> list[bool]:
    """For each point, whether no other point dominates it (the Pareto-optimal ones).

    A point dominates another when it is at least as good on every criterion and
    strictly better on one; identical points do not dominate each other, so all
    copies of an optimal point stay on the front. Sort-and-sweep: after a
    lexicographic sort any dominator precedes the point it dominates, and by
    transitivity a dominator on the front exists whenever any dominator does.
    """
    mins = _as_minimised(points, senses)
    order = sorted(range(len(mins)), key=lambda i: mins[i])
    front: list[tuple[float, ...]] = []
    optimal = [False] * len(mins)
    for i in order:
        if not any(_dominates(f, mins[i]) for f in front):
            optimal[i] = True
            front.append(mins[i])
    return optimal


def first_dominators(
    points: Sequence[Sequence[float]], senses: Sequence[Sense]
) -> list[int | None]:
    """For each point, the index of a Pareto-optimal point that dominates it (None if optimal)."""
    mins = _as_minimised(points, senses)
    optimal = pareto_front(points, senses)
    out: list[int | None] = []
    for i, p in enumerate(mins):
        if optimal[i]:
            out.append(None)
            continue
        out.append(next(j for j, q in enumerate(mins) if optimal[j] and _dominates(q, p)))
    return out


# ---------------------------------------------------------------------------
# Satisfaction model (the chatbot exercise's Q3)


@dataclass(frozen=True)
class SatisfactionModel:
    """An assumption, not a measurement: how satisfaction moves away from a known baseline.

    expected = baseline_satisfaction
               + pct_per_s × (max(baseline latency, fast_enough_s) − max(latency, fast_enough_s))
               − pct_per_quality_pct × (baseline quality − quality)
    clipped to 0..100. Below `fast_enough_s` a faster answer no longer helps.
    The quality term is left out when either quality is unknown.
    """

    baseline_satisfaction_pct: float = 85.0
    baseline_latency_s: float = 5.2
    baseline_quality_pct: float | None = 80.0
    pct_per_s: float = 3.0
    fast_enough_s: float = 2.0
    pct_per_quality_pct: float = 1.0

    def _latency_gain_pct(self, latency_s: float) -> float:
        slow0 = max(self.baseline_latency_s, self.fast_enough_s)
        return self.pct_per_s * (slow0 - max(latency_s, self.fast_enough_s))

    def _quality_gain_pct(self, quality_pct: float | None) -> float:
        if quality_pct is None or self.baseline_quality_pct is None:
            return 0.0
        return self.pct_per_quality_pct * (quality_pct - self.baseline_quality_pct)

    def expected_pct(self, candidate: Candidate) -> float | None:
        """Expected satisfaction of `candidate` (by its textbook total latency), or None."""
        latency_s = candidate.total_latency_s
        if latency_s is None:
            return None
        raw = (
            self.baseline_satisfaction_pct
            + self._latency_gain_pct(latency_s)
            + self._quality_gain_pct(candidate.quality_pct)
        )
        return min(max(raw, 0.0), 100.0)

    def breakeven_pct_per_s(self, candidate: Candidate) -> float | None:
        """Latency sensitivity (points per second) at which `candidate` ties the baseline.

        Only defined when the option trades speed against quality (one better,
        the other worse); None otherwise. Ignores clipping at 0 and 100.
        """
        latency_s = candidate.total_latency_s
        if latency_s is None or candidate.quality_pct is None or self.baseline_quality_pct is None:
            return None
        seconds_saved = max(self.baseline_latency_s, self.fast_enough_s) - max(
            latency_s, self.fast_enough_s
        )
        quality_gain = self._quality_gain_pct(candidate.quality_pct)
        if seconds_saved == 0 or quality_gain == 0 or (seconds_saved > 0) == (quality_gain > 0):
            return None
        return -quality_gain / seconds_saved

    def describe(self) -> str:
        quality = (
            f" Each point of quality (share of correct answers) below the baseline's "
            f"{self.baseline_quality_pct:g}% costs {self.pct_per_quality_pct:g} point(s) of "
            "satisfaction, and each point above adds as much."
            if self.baseline_quality_pct is not None
            else " The baseline's quality is unknown, so quality does not enter the estimate."
        )
        return (
            f"Assumption: at the baseline's {self.baseline_latency_s:.3g} s, "
            f"{self.baseline_satisfaction_pct:g}% of users are satisfied. Every second of total "
            f"latency saved adds {self.pct_per_s:g} percentage points, every second added removes "
            f"as many, down to {self.fast_enough_s:g} s, below which a faster answer no longer "
            f"helps.{quality} Satisfaction stays between 0% and 100%."
        )


# ---------------------------------------------------------------------------
# Constraints and the best option


@dataclass(frozen=True)
class Constraints:
    """Limits an option must meet; None means no limit."""

    min_quality_pct: float | None = None
    max_p95_latency_s: float | None = None
    max_cost_usd: float | None = None

    def describe(self) -> str:
        parts = []
        if self.min_quality_pct is not None:
            parts.append(f"quality ≥ {self.min_quality_pct:g}%")
        if self.max_p95_latency_s is not None:
            parts.append(f"p95 latency ≤ {self.max_p95_latency_s:g} s")
        if self.max_cost_usd is not None:
            parts.append(f"cost ≤ ${self.max_cost_usd:g} per request")
        return ", ".join(parts) if parts else "no constraints"


def violations(candidate: Candidate, constraints: Constraints) -> list[str]:
    """Why `candidate` fails `constraints`, in words (empty when it meets them all).

    An unknown value fails a constraint on it: an option cannot be shown to
    meet a limit without the number.
    """
    out = []
    c = constraints
    if c.min_quality_pct is not None:
        q = candidate.quality_pct
        if q is None:
            out.append("quality unknown")
        elif q < c.min_quality_pct:
            out.append(f"quality {q:g}% < {c.min_quality_pct:g}%")
    if c.max_p95_latency_s is not None:
        lat = candidate.slo_latency_s
        if lat is None:
            out.append("latency unknown")
        elif lat > c.max_p95_latency_s:
            if candidate.latency_basis == "p95":
                out.append(f"p95 {lat:.3g} s > {c.max_p95_latency_s:g} s")
            else:
                out.append(
                    f"typical latency {lat:.3g} s > {c.max_p95_latency_s:g} s (no p95 known)"
                )
    if c.max_cost_usd is not None:
        cost = candidate.cost_usd
        if cost is None:
            out.append("cost unknown")
        elif cost > c.max_cost_usd:
            out.append(f"cost ${cost:.4g} > ${c.max_cost_usd:g}")
    return out


@dataclass(frozen=True)
class Choice:
    """The best option under constraints, why, and why the others were not chosen."""

    best: str | None
    reason: str
    qualifying: tuple[str, ...] = ()
    excluded: dict[str, list[str]] = field(default_factory=dict)


# Criteria every option is compared on before it can be called best (their names in words).
_COMPARED = {"quality_pct": "quality", "p95_latency_s": "latency", "cost_per_request_usd": "cost"}

# Tie-breaks after the objective, in this order (each named in the reason when used).
_TIE_BREAKS = ("quality_pct", "cost_per_request_usd", "total_latency_s")


def best_option(
    candidates: Sequence[Candidate],
    constraints: Constraints,
    objective: str,
    model: SatisfactionModel | None = None,
) -> Choice:
    """The option meeting every constraint that is best on `objective` (a METRICS key)."""
    metric = METRICS[objective]
    excluded: dict[str, list[str]] = {}
    qualifying: list[Candidate] = []
    known = {k for k in _COMPARED if any(metric_value(c, k, model) is not None for c in candidates)}
    for cand in candidates:
        why = violations(cand, constraints)
        if not why and metric_value(cand, objective, model) is None:
            why = [f"{metric.label.split(' (')[0].lower()} unknown"]
        why = why or _incomparable(cand, known, model)
        if why:
            excluded[cand.name] = why
        else:
            qualifying.append(cand)
    if not candidates:
        return Choice(None, "There are no options yet: add rows to the table.")
    if not qualifying:
        details = "; ".join(f"{name}: {', '.join(why)}" for name, why in excluded.items())
        return Choice(
            None,
            f"No option meets {constraints.describe()}. {details}. "
            "Relax a constraint or add an option.",
            (),
            excluded,
        )

    def key(cand: Candidate) -> tuple[float, ...]:
        out = []
        for k in (objective, *[t for t in _TIE_BREAKS if t != objective]):
            v = metric_value(cand, k, model)
            if v is None:
                v = math.inf if METRICS[k].sense == "min" else -math.inf
            out.append(v if METRICS[k].sense == "min" else -v)
        return tuple(out)

    ranked = sorted(qualifying, key=key)
    best = ranked[0]
    best_value = metric_value(best, objective, model)
    word = "highest" if metric.sense == "max" else "lowest"
    what = metric.label.split(" (")[0].lower()
    n = len(qualifying)
    scope = (
        f"Of the {n} options that meet {constraints.describe()}"
        if constraints.describe() != "no constraints"
        else f"With no constraints set, of all {n} options"
    )
    if n == 1:
        scope = (
            f"It is the only option that meets {constraints.describe()}"
            if constraints.describe() != "no constraints"
            else "It is the only option"
        )
        reason = f"{scope} ({what} {metric.fmt(best_value)})."
    else:
        reason = f"{scope}, it has the {word} {what} ({metric.fmt(best_value)})"
        runner = ranked[1]
        runner_value = metric_value(runner, objective, model)
        if runner_value == best_value:
            tie = next(
                (
                    t
                    for t in _TIE_BREAKS
                    if t != objective
                    and metric_value(best, t, model) != metric_value(runner, t, model)
                ),
                None,
            )
            if tie is None:
                reason += f", tied with {runner.name} on every criterion (table order decides)."
            else:
                tm = METRICS[tie]
                reason += (
                    f", tied with {runner.name}; the tie is broken by "
                    f"{tm.label.split(' (')[0].lower()}: {tm.fmt(metric_value(best, tie, model))} "
                    f"against {tm.fmt(metric_value(runner, tie, model))}."
                )
        else:
            reason += f"; the runner-up, {runner.name}, has {metric.fmt(runner_value)}."
    if constraints.max_p95_latency_s is not None:
        typical = [c.name for c in ranked if c.latency_basis == "typical"]
        if typical:
            reason += (
                f" No p95 is known for {_names(typical)}: the p95 limit was checked against "
                "the typical TTFT + TPOT × N, which a p95 exceeds, so "
                f"{'it' if len(typical) == 1 else 'they'} may still break it. Add a stored run "
                "(or type a p95) to check."
            )
    if excluded:
        reason += (
            " Ruled out: " + "; ".join(f"{k} ({', '.join(v)})" for k, v in excluded.items()) + "."
        )
    return Choice(best.name, reason, tuple(c.name for c in ranked), excluded)


def _incomparable(
    candidate: Candidate, known: set[str], model: SatisfactionModel | None
) -> list[str]:
    """A criterion other options have but `candidate` lacks cannot be compared: such an
    option is not picked (it might be far worse there), and what is missing is said."""
    missing = [
        name
        for k, name in _COMPARED.items()
        if k in known and metric_value(candidate, k, model) is None
    ]
    return [f"{', '.join(missing)} unknown, so it cannot be compared"] if missing else []


def _names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _signed(value: float, unit: str, digits: str = ".3g") -> str:
    return f"{'+' if value > 0 else '−' if value < 0 else '±'}{abs(value):{digits}}{unit}"


def _verdict(gains: Sequence[str], losses: Sequence[str], unknown: bool) -> str:
    """What an option gains and gives up; dominance only when every criterion is known
    (an unknown one may be far worse)."""
    if gains and losses:
        return f"{', '.join(gains)}, but {', '.join(losses)}."
    if gains:
        return f"{', '.join(gains)}, and no worse on " + (
            "what is known." if unknown else "the rest: it dominates the baseline."
        )
    if losses:
        return f"{', '.join(losses)}, with nothing gained" + (
            " on what is known." if unknown else ": the baseline dominates it."
        )
    if unknown:
        return "no difference on what is known."
    return "the same latency, cost and quality as the baseline."


def compare_to_baseline(candidate: Candidate, baseline: Candidate, model: SatisfactionModel) -> str:
    """The trade-off of `candidate` against `baseline` in words, under `model`'s assumption.

    States what the option gains and gives up, its expected satisfaction, and
    the latency sensitivity at which the verdict would flip; it does not pick.
    """
    if candidate.name == baseline.name:
        return f"**{candidate.name}** is the baseline every other option is compared with."
    gains: list[str] = []
    losses: list[str] = []
    lat, lat0 = candidate.total_latency_s, baseline.total_latency_s
    if lat is not None and lat0 is not None and abs(lat - lat0) > 1e-9:
        (gains if lat < lat0 else losses).append(
            f"{abs(lat - lat0):.3g} s {'faster' if lat < lat0 else 'slower'}"
        )
    cost, cost0 = candidate.cost_usd, baseline.cost_usd
    if cost is not None and cost0 is not None and abs(cost - cost0) > 1e-12:
        per_k = abs(cost - cost0) * 1000
        (gains if cost < cost0 else losses).append(
            f"${abs(cost - cost0):.4g} {'cheaper' if cost < cost0 else 'dearer'} per request "
            f"(${per_k:,.4g} per 1,000)"
        )
    q, q0 = candidate.quality_pct, baseline.quality_pct
    if q is not None and q0 is not None and q != q0:
        (gains if q > q0 else losses).append(
            f"{abs(q - q0):.3g} quality points {'better' if q > q0 else 'worse'}"
        )
    unknown = [
        what
        for what, a, b in (("latency", lat, lat0), ("cost", cost, cost0), ("quality", q, q0))
        if a is None or b is None
    ]
    parts = [f"**{candidate.name}**: ", _verdict(gains, losses, bool(unknown))]
    if unknown:
        parts.append(
            f" Unknown: {', '.join(unknown)}, so whether either option dominates cannot be said."
        )
    sat, sat0 = model.expected_pct(candidate), model.expected_pct(baseline)
    if sat is not None and sat0 is not None:
        parts.append(
            f" Under your assumption, expected satisfaction is {sat:.1f}% "
            f"({_signed(sat - sat0, ' points', '.1f')})"
            + (
                ", from latency alone (quality unknown)."
                if q is None or model.baseline_quality_pct is None
                else "."
            )
        )
        if (
            lat is not None
            and lat0 is not None
            and lat != lat0
            and max(lat, model.fast_enough_s) == max(lat0, model.fast_enough_s)
        ):
            parts.append(
                f" Both are below {model.fast_enough_s:g} s, where you assume speed no longer matters."
            )
        if cost is not None and cost0 is not None and abs(sat - sat0) > 1e-9:
            per_point_k = (cost - cost0) / (sat - sat0) * 1000
            if per_point_k > 0:
                verb = "costs" if cost > cost0 else "saves"
                parts.append(
                    f" Each point of satisfaction {'gained' if sat > sat0 else 'given up'} "
                    f"{verb} ${per_point_k:,.3g} per 1,000 requests."
                )
    flip = model.breakeven_pct_per_s(candidate)
    if flip is not None:
        faster = lat is not None and lat0 is not None and lat < lat0
        parts.append(
            f" It keeps users at least as satisfied as the baseline only if one second of waiting "
            f"costs {'more' if faster else 'less'} than {flip:.3g} satisfaction points "
            f"(you assume {model.pct_per_s:g})."
        )
    if cost is not None and sat is not None and sat > 0:
        parts.append(f" Cost per satisfied request: ${cost / (sat / 100):.4g}.")
    return "".join(parts)


# ---------------------------------------------------------------------------
# What the Quality page tabulates


PARETO_CRITERIA = ("quality_pct", "p95_latency_s", "cost_per_request_usd")


def pareto_optimal(
    candidates: Sequence[Candidate], criteria: Sequence[str] = PARETO_CRITERIA
) -> tuple[list[Candidate], set[str]]:
    """The candidates with every criterion known, and the names of the Pareto-optimal ones."""
    complete = [c for c in candidates if all(metric_value(c, k) is not None for k in criteria)]
    front = pareto_front(
        [tuple(float(metric_value(c, k) or 0.0) for k in criteria) for c in complete],
        [METRICS[k].sense for k in criteria],
    )
    return complete, {c.name for c, optimal in zip(complete, front, strict=True) if optimal}


def unplotted(
    candidates: Sequence[Candidate], x_key: str, y_key: str, model: SatisfactionModel | None
) -> list[str]:
    """Names of the candidates a chart of `y_key` against `x_key` cannot place."""
    return [
        c.name
        for c in candidates
        if metric_value(c, x_key, model) is None or metric_value(c, y_key, model) is None
    ]


@dataclass(frozen=True)
class SatisfactionRow:
    """One option against the baseline under a satisfaction model (None: unknown)."""

    name: str
    cost_usd: float | None
    delta_cost_per_1k_usd: float | None  # (cost - baseline cost) x 1,000 requests
    total_latency_s: float | None
    quality_pct: float | None
    satisfaction_pct: float | None
    delta_satisfaction_pct: float | None  # percentage points against the baseline
    usd_per_satisfied_request: float | None  # cost / share satisfied
    breakeven_pct_per_s: float | None


def satisfaction_rows(
    candidates: Sequence[Candidate], baseline: Candidate, model: SatisfactionModel
) -> list[SatisfactionRow]:
    """Every option's cost, latency, quality and expected satisfaction next to the baseline's."""
    base_sat = model.expected_pct(baseline)
    cost0 = baseline.cost_usd
    rows = []
    for c in candidates:
        sat = model.expected_pct(c)
        cost = c.cost_usd
        rows.append(
            SatisfactionRow(
                name=c.name,
                cost_usd=cost,
                delta_cost_per_1k_usd=None
                if cost is None or cost0 is None
                else (cost - cost0) * 1000,
                total_latency_s=c.total_latency_s,
                quality_pct=c.quality_pct,
                satisfaction_pct=sat,
                delta_satisfaction_pct=None if sat is None or base_sat is None else sat - base_sat,
                usd_per_satisfied_request=None if cost is None or not sat else cost / (sat / 100),
                breakeven_pct_per_s=model.breakeven_pct_per_s(c),
            )
        )
    return rows
