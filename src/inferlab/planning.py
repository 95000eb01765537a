"""Capacity planning as one consistent model: demand -> requests in flight -> replicas -> GPUs.

Demand is given one of three ways (active users x requests per minute, a request
rate, or concurrent users with a think time). What one replica serves comes from
one named source: the roofline (the largest batch whose estimated latency meets
the target), a measured run (its concurrency and its measured mean latency), or
the user (a number of concurrent requests, at the latency the Little's-law
section computes). Little's law then uses the latency *that source predicts*,
never the target: L = λ x W. A replica count is only given for a model whose
weights fit the replica's GPUs; otherwise the plan says how many GPUs per
replica (tensor parallel) it needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from inferlab import capacity as cap
from inferlab.metrics.latency import total_latency_exact_ms
from inferlab.textfmt import sig

__all__ = [
    "DEMAND_MODES",
    "SOURCES",
    "Demand",
    "DeploymentPlan",
    "ReplicaCapacity",
    "TpComparison",
    "TpOption",
    "arrival_rps",
    "compare_tp_degrees",
    "min_gpus_per_replica",
    "plan_deployment",
    "plural",
    "replica_from_roofline",
    "replica_from_run",
    "replica_from_user",
    "shape_mismatch",
]

DemandMode = Literal["users", "rate", "concurrent"]
Source = Literal["roofline", "run", "user"]
DEMAND_MODES: dict[str, str] = {
    "users": "Active users × requests per minute",
    "rate": "Request rate",
    "concurrent": "Concurrent users (with think time)",
}
SOURCES: dict[str, str] = {
    "roofline": "Roofline estimate",
    "run": "A measured run",
    "user": "My own number",
}
# Tensor-parallel degrees engines accept (vLLM/SGLang need the heads to divide evenly).
TP_DEGREES = (1, 2, 4, 8, 16, 32, 64)


def plural(n: float, one: str, many: str | None = None) -> str:
    """'1 replica', '3 replicas', '1 GPU', '2 GPUs', '1,024 requests'."""
    word = one if n == 1 else (many or one + "s")
    text = f"{int(n):,}" if float(n).is_integer() else f"{sig(n)}"
    return f"{text} {word}"


@dataclass(frozen=True)
class Demand:
    mode: DemandMode
    users: float = 0.0  # mode "users"
    requests_per_user_per_min: float = 0.0  # mode "users"
    rps: float = 0.0  # mode "rate"
    concurrent_users: float = 0.0  # mode "concurrent"
    think_time_s: float = 0.0  # mode "concurrent": time a user reads/types between requests


def arrival_rps(demand: Demand, latency_s: float) -> float:
    """Requests per second the demand produces.

    Concurrent users alternate between waiting for an answer (latency W) and
    thinking (T), so each sends one request every W + T: λ = users / (W + T)
    (the closed-loop form of Little's law).
    """
    if demand.mode == "users":
        if demand.users < 0 or demand.requests_per_user_per_min < 0:
            raise ValueError("users and requests per minute must be >= 0")
        return demand.users * demand.requests_per_user_per_min / 60.0
    if demand.mode == "rate":
        if demand.rps < 0:
            raise ValueError("the request rate must be >= 0")
        return demand.rps
    if demand.concurrent_users < 0 or demand.think_time_s < 0:
        raise ValueError("concurrent users and think time must be >= 0")
    cycle_s = latency_s + demand.think_time_s
    if cycle_s <= 0:
        raise ValueError("latency + think time must be > 0 for concurrent users")
    return demand.concurrent_users / cycle_s


@dataclass(frozen=True)
class ReplicaCapacity:
    """What one replica serves: `concurrency` requests at once, each taking `latency_s`."""

    source: Source
    concurrency: int  # 0: not even one request meets the target (or the model does not fit)
    latency_s: float  # mean time a request spends in the replica at that concurrency
    explanation: str  # one sentence naming where both numbers come from
    # Latency (s) at a given number of requests in flight per replica, when the source can
    # say (the roofline): the plan then uses the latency at its real operating point.
    latency_at: Callable[[float], float] | None = field(default=None, compare=False)


def replica_from_roofline(
    gpu: cap.GpuSpec,
    model: cap.ModelShape,
    prompt_tokens: float,
    output_tokens: float,
    target_s: float,
    n_gpus: int,
    mbu: float,
    mfu: float,
    memory_utilisation: float,
) -> ReplicaCapacity:
    """The largest batch whose estimated prefill + (N - 1) x TPOT meets the target."""
    batch = cap.max_batch_for_latency(
        gpu, model, prompt_tokens, output_tokens, target_s, n_gpus, mbu, mfu, memory_utilisation
    )
    context = prompt_tokens + output_tokens
    at = max(batch, 1)
    tpot_ms = cap.tpot_floor_ms(gpu, model, at, context, n_gpus, mbu, mfu)
    pre_ms = cap.prefill_ms(gpu, model, prompt_tokens, n_gpus, mfu)
    latency_s = total_latency_exact_ms(pre_ms, tpot_ms, output_tokens) / 1000.0
    kv = cap.kv_budget(gpu, model, max(context, 1.0), n_gpus, memory_utilisation)
    limit = "the KV cache" if batch >= kv.max_batch else f"the {target_s:g} s target"

    # A decode step is affine in the batch size (memory and compute parts): two points
    # give it for any time-averaged, fractional batch.
    mem_ms, cmp_ms = cap.decode_step_ms(gpu, model, 1, context, n_gpus, mbu, mfu)
    mem_b, cmp_b = cap.decode_step_ms(gpu, model, 2, context, n_gpus, mbu, mfu)

    def latency_at(inflight: float) -> float:
        b = max(inflight, 1.0)
        step_ms = max(mem_ms + (mem_b - mem_ms) * (b - 1), cmp_ms + (cmp_b - cmp_ms) * (b - 1))
        return total_latency_exact_ms(pre_ms, step_ms, output_tokens) / 1000.0

    steps = f"prefill {sig(pre_ms)} ms + {max(output_tokens - 1, 0):,.0f} × {sig(tpot_ms)} ms"
    if batch < 1 and kv.max_batch >= 1:
        explanation = (
            f"Roofline on {gpu.name} × {n_gpus}: not even one request meets the {target_s:g} s "
            f"target; one request alone takes {sig(latency_s)} s ({steps})."
        )
    else:
        explanation = (
            f"Roofline on {gpu.name} × {n_gpus}: up to {plural(batch, 'request')} at once "
            f"(limited by {limit}; a full replica takes {sig(latency_s)} s per request: "
            f"{steps})."
        )
    return ReplicaCapacity("roofline", batch, latency_s, explanation, latency_at)


def replica_from_run(
    label: str, concurrency: int, mean_e2e_s: float, e2e_p95_s: float | None
) -> ReplicaCapacity:
    """A measured run: it served `concurrency` at once with a mean latency of `mean_e2e_s`."""
    if concurrency < 1:
        raise ValueError("the run has no concurrency to plan with (was it rate-driven?)")
    if not (mean_e2e_s > 0 and math.isfinite(mean_e2e_s)):
        raise ValueError("the run has no completed requests to take a latency from")
    p95 = f", p95 {sig(e2e_p95_s)} s" if e2e_p95_s is not None else ""
    return ReplicaCapacity(
        "run",
        concurrency,
        mean_e2e_s,
        f"Measured by run {label}: {plural(concurrency, 'request')} at once, mean end-to-end "
        f"latency {sig(mean_e2e_s)} s{p95}.",
    )


def replica_from_user(concurrency: int, latency_s: float) -> ReplicaCapacity:
    """The user's own number, at the latency the Little's-law section computes."""
    if concurrency < 1:
        raise ValueError("concurrent requests per replica must be >= 1")
    if not latency_s > 0:
        raise ValueError("the latency per request must be > 0 (set TTFT and TPOT above)")
    return ReplicaCapacity(
        "user",
        concurrency,
        latency_s,
        f"Your number: {plural(concurrency, 'request')} at once, each taking "
        f"{sig(latency_s)} s (TTFT + TPOT × (N − 1) from the Little's-law section).",
    )


def min_gpus_per_replica(
    gpu: cap.GpuSpec,
    model: cap.ModelShape,
    context_tokens: float,
    memory_utilisation: float,
) -> int | None:
    """Fewest tensor-parallel GPUs whose memory holds the weights and one full sequence's KV
    cache; None when even the largest degree (64) is not enough."""
    for n in TP_DEGREES:
        kv = cap.kv_budget(gpu, model, max(context_tokens, 1.0), n, memory_utilisation)
        if kv.fits and kv.max_batch >= 1:
            return n
    return None


@dataclass(frozen=True)
class DeploymentPlan:
    fits: bool  # do the weights (+ one sequence's KV) fit one replica's GPUs?
    gpus_per_replica: int
    min_gpus_per_replica: int | None  # what it would take when it does not fit
    arrival_rps: float
    latency_s: float  # W used by Little's law (the capacity source's latency)
    required_concurrency: float  # L = λ x W
    replica: ReplicaCapacity
    replicas: int | None  # None: no count can honestly be given (see `problem`)
    total_gpus: int | None
    utilisation: float | None  # average share of the replicas' slots in use
    meets_target: bool  # the replica's latency is within the target
    output_tokens_per_s: float
    input_tokens_per_s: float
    problem: str | None  # why there is no replica count, in words a user can act on


def plan_deployment(
    demand: Demand,
    replica: ReplicaCapacity,
    target_s: float,
    target_utilisation: float,
    input_tokens: float,
    output_tokens: float,
    fits: bool,
    gpus_per_replica: int,
    min_gpus: int | None,
) -> DeploymentPlan:
    """Replicas and GPUs for `demand`, from one replica's capacity and its latency."""
    if not 0 < target_utilisation <= 1:
        raise ValueError("target utilisation must be in (0, 100] %")
    if not target_s > 0:
        raise ValueError("the target latency must be > 0")
    if gpus_per_replica < 1:
        raise ValueError("GPUs per replica must be >= 1")
    problem: str | None = None
    if not fits:
        problem = f"The model does not fit {plural(gpus_per_replica, 'GPU')} per replica: " + (
            f"it needs at least {plural(min_gpus, 'GPU')} per replica (tensor parallel)."
            if min_gpus is not None
            else "not even 64 GPUs per replica hold it; use a lower precision."
        )
    elif replica.concurrency < 1:
        problem = (
            f"Not even one request finishes within {target_s:g} s on one replica: raise the "
            "target, shorten answers or use more GPUs per replica."
        )
    replicas = total = None
    utilisation = None
    latency_s = replica.latency_s
    rps = arrival_rps(demand, latency_s)
    inflight = cap.little_concurrency(rps, latency_s)
    if problem is None:
        slots = replica.concurrency * target_utilisation
        replicas = max(1, math.ceil(inflight / slots - 1e-9))
        if replica.latency_at is not None:
            replicas, latency_s = _operating_point(demand, replica, slots, replicas)
            rps = arrival_rps(demand, latency_s)
            inflight = cap.little_concurrency(rps, latency_s)
        total = replicas * gpus_per_replica
        utilisation = inflight / (replicas * replica.concurrency)
    return DeploymentPlan(
        fits=fits,
        gpus_per_replica=gpus_per_replica,
        min_gpus_per_replica=min_gpus,
        arrival_rps=rps,
        latency_s=latency_s,
        required_concurrency=inflight,
        replica=replica,
        replicas=replicas,
        total_gpus=total,
        utilisation=utilisation,
        meets_target=latency_s <= target_s * (1 + 1e-9),
        output_tokens_per_s=rps * output_tokens,
        input_tokens_per_s=rps * input_tokens,
        problem=problem,
    )


def _operating_point(
    demand: Demand, replica: ReplicaCapacity, slots: float, upper: int
) -> tuple[int, float]:
    """Fewest replicas (<= `upper`, which holds at full-replica latency) whose own load keeps
    each within `slots` requests in flight, and the latency at that load.

    With R replicas each holds b = λ(W) x W(b) / R requests; iterating from b = 1 climbs
    to the smallest fixed point (W grows with b), so b > slots at any step means R is too
    few. Feasibility is monotone in R, so bisect.
    """
    assert replica.latency_at is not None
    latency_at = replica.latency_at

    def settle(n: int) -> float | None:
        b = 1.0
        for _ in range(200):
            w = latency_at(b)
            nxt = cap.little_concurrency(arrival_rps(demand, w), w) / n
            if nxt > slots * (1 + 1e-9):
                return None
            if abs(nxt - b) < 1e-6:
                break
            b = nxt
        return latency_at(b)

    lo, hi = 1, max(upper, 1)
    while settle(hi) is None:  # cannot happen in theory; guard against rounding
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if settle(mid) is None:
            lo = mid + 1
        else:
            hi = mid
    w = settle(lo)
    return lo, w if w is not None else replica.latency_s


# Degrees the planner compares: one server of 8 GPUs is the usual tensor-parallel limit
# (beyond it, all-reduce crosses the slow inter-node network).
COMPARED_TP_DEGREES = (1, 2, 4, 8)


@dataclass(frozen=True)
class TpOption:
    """One tensor-parallel degree's plan, or None when the model does not fit it."""

    gpus_per_replica: int
    plan: DeploymentPlan | None

    def text(self) -> str:
        """'TP=4: 1 replica, 4 GPUs', 'TP=1: does not fit', 'TP=2: misses the target'."""
        head = f"TP={self.gpus_per_replica}"
        if self.plan is None:
            return f"{head}: does not fit"
        if self.plan.replicas is None or self.plan.total_gpus is None:
            return f"{head}: no replica meets the target"
        return (
            f"{head}: {plural(self.plan.replicas, 'replica')}, "
            f"{plural(self.plan.total_gpus, 'GPU')}"
        )


@dataclass(frozen=True)
class TpComparison:
    """Roofline plans for each tensor-parallel degree, and the one with the fewest GPUs."""

    options: tuple[TpOption, ...]
    best: TpOption | None  # fewest GPUs in all for the demand (ties: fewer per replica)

    def summary(self) -> str:
        """'TP=4: 1 replica, 4 GPUs; TP=2 would need 20 GPUs, TP=8 would need 8 GPUs, ...'."""
        if self.best is None:
            return "No tensor-parallel degree up to 8 GPUs per replica serves this demand."
        others = []
        for o in self.options:
            if o is self.best:
                continue
            if o.plan is None:
                others.append(f"TP={o.gpus_per_replica} does not fit")
            elif o.plan.total_gpus is None:
                others.append(f"TP={o.gpus_per_replica} meets the target on no replica")
            else:
                others.append(
                    f"TP={o.gpus_per_replica} would need {plural(o.plan.total_gpus, 'GPU')}"
                )
        return self.best.text() + (f"; {', '.join(others)}" if others else "") + "."


def compare_tp_degrees(
    demand: Demand,
    gpu: cap.GpuSpec,
    model: cap.ModelShape,
    prompt_tokens: float,
    output_tokens: float,
    target_s: float,
    target_utilisation: float,
    mbu: float,
    mfu: float,
    memory_utilisation: float,
    degrees: tuple[int, ...] = COMPARED_TP_DEGREES,
) -> TpComparison:
    """Plan the demand at each tensor-parallel degree (roofline capacity) and pick the one
    needing the fewest GPUs in all: more GPUs per replica leave more memory for the KV cache,
    so the batch (and the throughput per GPU) can grow faster than the GPU count."""
    context = max(prompt_tokens + output_tokens, 1.0)
    min_gpus = min_gpus_per_replica(gpu, model, context, memory_utilisation)
    options: list[TpOption] = []
    for n in degrees:
        kv = cap.kv_budget(gpu, model, context, n, memory_utilisation)
        if not (kv.fits and kv.max_batch >= 1):
            options.append(TpOption(n, None))
            continue
        replica = replica_from_roofline(
            gpu, model, prompt_tokens, output_tokens, target_s, n, mbu, mfu, memory_utilisation
        )
        plan = plan_deployment(
            demand,
            replica,
            target_s,
            target_utilisation,
            prompt_tokens,
            output_tokens,
            True,
            n,
            min_gpus,
        )
        options.append(TpOption(n, plan))
    counted = [o for o in options if o.plan is not None and o.plan.total_gpus is not None]
    best = min(
        counted,
        key=lambda o: (o.plan.total_gpus if o.plan else 0, o.gpus_per_replica),
        default=None,
    )
    return TpComparison(tuple(options), best)


def shape_mismatch(
    run_input_tokens: float | None,
    run_output_tokens: float | None,
    plan_input_tokens: float,
    plan_output_tokens: float,
    tolerance: float = 0.25,
) -> str | None:
    """Why a measured run's capacity does not carry over to the plan's request shape, or None.

    A run's latency (and so what one replica serves) holds for the prompts and answers it
    measured; the planner takes it unscaled, so a plan with longer requests needs more
    replicas than it shows (and shorter ones fewer)."""

    def differs(run: float | None, plan: float) -> bool:
        return run is not None and abs(run - plan) > tolerance * max(plan, run, 1.0)

    if not (
        differs(run_output_tokens, plan_output_tokens)
        or differs(run_input_tokens, plan_input_tokens)
    ):
        return None

    def tokens(value: float | None) -> str:
        return "an unrecorded number of" if value is None else f"{value:,.0f}"

    return (
        f"The run measured answers of {tokens(run_output_tokens)} output tokens and prompts "
        f"of {tokens(run_input_tokens)} input tokens; the plan assumes "
        f"{plan_output_tokens:,.0f} output and {plan_input_tokens:,.0f} input tokens. The "
        "run's latency, and so one replica's capacity, is taken as measured (not scaled to "
        "the plan's lengths), and the tokens/s needed use the plan's: with longer requests "
        "the plan needs more replicas than shown, with shorter ones fewer. Use the run's "
        "shape, or pick a run measured with these lengths."
    )
