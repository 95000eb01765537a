"""Cost per request, per token and per user session, API-priced or self-hosted.

Prices are US dollars: API prices per million tokens (`*_per_mtok`), GPU
prices per GPU-hour. A session is a conversation whose every turn re-sends
the history, so its input grows turn by turn; prompt caching bills the
repeated prefix at the cached-input price. Every function raises ValueError
with a message naming the bad input (negative price, zero GPUs, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "HOURS_PER_MONTH",
    "ApiPrices",
    "CostViews",
    "MeasuredSessionCost",
    "MonthlySelfHosted",
    "SelfHostedCosts",
    "SessionCost",
    "SessionShape",
    "TurnCost",
    "api_request_cost_usd",
    "api_views",
    "blended_price_per_mtok",
    "cost_per_satisfied_request_usd",
    "cost_with_dissatisfaction_usd",
    "dissatisfaction_breakeven_usd",
    "explain_session_difference",
    "fitted_session_shape",
    "measured_session_cost",
    "monthly_self_hosted",
    "self_hosted_costs",
    "self_hosted_views",
    "session_cost",
    "token_cost_usd",
]

HOURS_PER_MONTH = 730.0  # 365 x 24 / 12


def _nonneg(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of at least 0, got {value:g}")


def _positive(name: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be greater than 0, got {value:g}")


def _share(name: str, value: float, *, allow_zero: bool) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not math.isfinite(value) or not low_ok or value > 1:
        low = "0" if allow_zero else "above 0"
        raise ValueError(f"{name} must be between {low} and 1 (100 %), got {value:g}")


# ---------------------------------------------------------------- API pricing


@dataclass(frozen=True)
class ApiPrices:
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None  # None: no caching discount

    def __post_init__(self) -> None:
        _nonneg("input price ($/1M tokens)", self.input_per_mtok)
        _nonneg("output price ($/1M tokens)", self.output_per_mtok)
        if self.cached_input_per_mtok is not None:
            _nonneg("cached-input price ($/1M tokens)", self.cached_input_per_mtok)

    @property
    def cached_or_input_per_mtok(self) -> float:
        return (
            self.input_per_mtok
            if self.cached_input_per_mtok is None
            else self.cached_input_per_mtok
        )


def token_cost_usd(tokens: float, price_per_mtok: float) -> float:
    """What `tokens` cost at `price_per_mtok` US$ per million tokens."""
    return tokens * price_per_mtok / 1e6


def api_request_cost_usd(
    prices: ApiPrices, input_tokens: float, output_tokens: float, cached_input_tokens: float = 0.0
) -> float:
    """One request: uncached input + cached input + output, each at its price."""
    _nonneg("input tokens", input_tokens)
    _nonneg("output tokens", output_tokens)
    _nonneg("cached input tokens", cached_input_tokens)
    if cached_input_tokens > input_tokens:
        raise ValueError(
            f"cached input tokens ({cached_input_tokens:g}) cannot exceed input tokens "
            f"({input_tokens:g})"
        )
    return (
        (input_tokens - cached_input_tokens) * prices.input_per_mtok
        + cached_input_tokens * prices.cached_or_input_per_mtok
        + output_tokens * prices.output_per_mtok
    ) / 1e6


def blended_price_per_mtok(prices: ApiPrices, input_per_output: float) -> float:
    """Price of 1M tokens mixed `input_per_output` : 1 (e.g. 3 -> 3 input tokens per output)."""
    _nonneg("input:output ratio", input_per_output)
    return (input_per_output * prices.input_per_mtok + prices.output_per_mtok) / (
        input_per_output + 1.0
    )


# ---------------------------------------------------------------- self-hosted


@dataclass(frozen=True)
class SelfHostedCosts:
    cost_per_hour_usd: float
    requests_per_hour: float
    output_tokens_per_hour: float
    cost_per_request_usd: float
    cost_per_mtok_output_usd: float
    cost_per_mtok_total_usd: float  # input + output tokens both counted


def self_hosted_costs(
    gpu_hour_usd: float,
    n_gpus: int,
    rps: float,
    input_tokens: float,
    output_tokens: float,
    utilisation: float = 1.0,
) -> SelfHostedCosts:
    """Cost of a deployment that serves `rps` when busy and is busy `utilisation` of the time.

    You pay for every GPU-hour; only the utilised share of it produces answers.
    """
    _nonneg("price per GPU-hour", gpu_hour_usd)
    if n_gpus < 1:
        raise ValueError(f"number of GPUs must be at least 1, got {n_gpus}")
    _positive("throughput (requests/s)", rps)
    _nonneg("input tokens per request", input_tokens)
    _positive("output tokens per request", output_tokens)
    _share("utilisation", utilisation, allow_zero=False)
    per_hour = gpu_hour_usd * n_gpus
    requests_per_hour = rps * 3600.0 * utilisation
    out_per_hour = requests_per_hour * output_tokens
    all_per_hour = requests_per_hour * (input_tokens + output_tokens)
    return SelfHostedCosts(
        cost_per_hour_usd=per_hour,
        requests_per_hour=requests_per_hour,
        output_tokens_per_hour=out_per_hour,
        cost_per_request_usd=per_hour / requests_per_hour,
        cost_per_mtok_output_usd=per_hour / (out_per_hour / 1e6),
        cost_per_mtok_total_usd=per_hour / (all_per_hour / 1e6),
    )


@dataclass(frozen=True)
class MonthlySelfHosted:
    average_rps: float
    replicas: int
    gpu_hours: float
    bill_usd: float


def monthly_self_hosted(
    requests_per_month: float,
    rps_per_replica: float,
    gpus_per_replica: int,
    gpu_hour_usd: float,
    utilisation: float = 1.0,
) -> MonthlySelfHosted:
    """Always-on replicas for the average load, each run at most at `utilisation`."""
    _nonneg("requests per month", requests_per_month)
    _positive("throughput per replica (requests/s)", rps_per_replica)
    if gpus_per_replica < 1:
        raise ValueError(f"number of GPUs must be at least 1, got {gpus_per_replica}")
    _nonneg("price per GPU-hour", gpu_hour_usd)
    _share("utilisation", utilisation, allow_zero=False)
    avg_rps = requests_per_month / (HOURS_PER_MONTH * 3600.0)
    replicas = max(1, math.ceil(avg_rps / (rps_per_replica * utilisation) - 1e-9))
    gpu_hours = replicas * gpus_per_replica * HOURS_PER_MONTH
    return MonthlySelfHosted(avg_rps, replicas, gpu_hours, gpu_hours * gpu_hour_usd)


# ---------------------------------------------------------------- sessions


@dataclass(frozen=True)
class SessionShape:
    turns: int
    system_tokens: float
    user_tokens: float
    assistant_tokens: float

    def __post_init__(self) -> None:
        if self.turns < 1:
            raise ValueError(f"turns per session must be at least 1, got {self.turns}")
        _nonneg("system prompt tokens", self.system_tokens)
        _nonneg("user tokens per turn", self.user_tokens)
        _nonneg("assistant tokens per turn", self.assistant_tokens)

    def input_tokens(self, turn: int) -> float:
        """Turn k (1-based) sends the system prompt, k user messages and k - 1 answers."""
        return self.system_tokens + turn * self.user_tokens + (turn - 1) * self.assistant_tokens

    def cacheable_tokens(self, turn: int) -> float:
        """The prefix already sent before: system prompt + the k - 1 earlier exchanges."""
        return self.system_tokens + (turn - 1) * (self.user_tokens + self.assistant_tokens)


@dataclass(frozen=True)
class TurnCost:
    turn: int
    input_tokens: float
    cached_tokens: float
    output_tokens: float
    cost_usd: float
    cost_no_cache_usd: float
    cumulative_usd: float
    cumulative_no_cache_usd: float


@dataclass(frozen=True)
class SessionCost:
    turns: tuple[TurnCost, ...]

    @property
    def total_usd(self) -> float:
        return self.turns[-1].cumulative_usd

    @property
    def total_no_cache_usd(self) -> float:
        return self.turns[-1].cumulative_no_cache_usd

    @property
    def input_tokens(self) -> float:
        return sum(t.input_tokens for t in self.turns)

    @property
    def output_tokens(self) -> float:
        return sum(t.output_tokens for t in self.turns)

    @property
    def savings_share(self) -> float:
        return 0.0 if self.total_no_cache_usd <= 0 else 1 - self.total_usd / self.total_no_cache_usd


def session_cost(
    shape: SessionShape,
    prices: ApiPrices,
    cache_hit_rate: float = 0.0,
    *,
    system_warm_from_turn_1: bool = True,
) -> SessionCost:
    """Cost of every turn of one conversation, with and without prompt caching.

    A share `cache_hit_rate` of each turn's cacheable prefix is billed at the
    cached-input price (cache-write surcharges, charged by some providers,
    are not modelled). `system_warm_from_turn_1`: the system prompt is
    already in the cache on turn 1 (other sessions sent it); when False,
    turn 1 pays for all of it and the cache starts with turn 2.
    """
    _share("cache hit rate", cache_hit_rate, allow_zero=True)
    rows: list[TurnCost] = []
    cum = cum_nc = 0.0
    for k in range(1, shape.turns + 1):
        inp = shape.input_tokens(k)
        cacheable = shape.cacheable_tokens(k) if (k > 1 or system_warm_from_turn_1) else 0.0
        cached = cache_hit_rate * cacheable
        cost = api_request_cost_usd(prices, inp, shape.assistant_tokens, cached)
        cost_nc = api_request_cost_usd(prices, inp, shape.assistant_tokens)
        cum += cost
        cum_nc += cost_nc
        rows.append(TurnCost(k, inp, cached, shape.assistant_tokens, cost, cost_nc, cum, cum_nc))
    return SessionCost(tuple(rows))


# ---------------------------------------------------------------- measured sessions


@dataclass(frozen=True)
class MeasuredSessionCost:
    """Sessions of a stored run, priced: means per session of its real token counts."""

    sessions: int
    turns: int
    input_tokens: float
    output_tokens: float
    cached_tokens: float  # prompt tokens the server reported as cached
    cached_reported: bool  # False: the server never said (all input billed uncached)
    api_usd: float  # cached tokens at the cached-input price
    api_no_cache_usd: float
    self_hosted_usd: float | None  # the run's GPU time per session (None: no duration)

    @property
    def cached_share(self) -> float:
        return self.cached_tokens / self.input_tokens if self.input_tokens > 0 else 0.0


def measured_session_cost(
    sessions: list[tuple[float, float, float]],
    turns: int,
    prices: ApiPrices,
    *,
    cached_reported: bool,
    run_duration_s: float | None = None,
    gpu_hour_usd: float = 0.0,
    n_gpus: int = 1,
) -> MeasuredSessionCost:
    """Price measured sessions, each (input, output, cached) tokens summed over its turns.

    API: every session's tokens at the API prices (cached input at the cached
    price), averaged. Self-hosted: the deployment's cost for the run's
    duration shared by the sessions it served at once (it did nothing else).
    """
    if not sessions:
        raise ValueError("the run has no sessions to price")
    _nonneg("price per GPU-hour", gpu_hour_usd)
    if n_gpus < 1:
        raise ValueError(f"number of GPUs must be at least 1, got {n_gpus}")
    n = len(sessions)
    api = [api_request_cost_usd(prices, i, o, min(c, i)) for i, o, c in sessions]
    api_nc = [api_request_cost_usd(prices, i, o) for i, o, _ in sessions]
    hosted = None
    if run_duration_s is not None and run_duration_s > 0:
        hosted = gpu_hour_usd * n_gpus * run_duration_s / 3600.0 / n
    return MeasuredSessionCost(
        sessions=n,
        turns=turns,
        input_tokens=sum(i for i, _, _ in sessions) / n,
        output_tokens=sum(o for _, o, _ in sessions) / n,
        cached_tokens=sum(min(c, i) for i, _, c in sessions) / n,
        cached_reported=cached_reported,
        api_usd=sum(api) / n,
        api_no_cache_usd=sum(api_nc) / n,
        self_hosted_usd=hosted,
    )


def fitted_session_shape(
    input_tokens_by_turn: list[float], output_tokens_per_turn: float
) -> SessionShape | None:
    """The calculator's SessionShape that reproduces measured input tokens by turn.

    Turn k sends S + k U + (k - 1) A: the growth per turn is U + A, A is the
    measured answer length, S what turn 1 sends beyond one question. None with
    fewer than 2 turns (the growth cannot be measured).
    """
    if len(input_tokens_by_turn) < 2:
        return None
    turns = len(input_tokens_by_turn)
    growth = (input_tokens_by_turn[-1] - input_tokens_by_turn[0]) / (turns - 1)
    user = max(growth - output_tokens_per_turn, 0.0)
    system = max(input_tokens_by_turn[0] - user, 0.0)
    return SessionShape(turns, system, user, output_tokens_per_turn)


def explain_session_difference(
    measured: MeasuredSessionCost, model: SessionCost, prices: ApiPrices
) -> list[str]:
    """Why the measured session cost differs from the calculator's, biggest part first.

    The API cost difference splits exactly into uncached input, cached input
    and output: each token difference times its price.
    """
    m_in, m_cached = model.input_tokens, sum(t.cached_tokens for t in model.turns)
    parts = {
        "uncached input": ((measured.input_tokens - measured.cached_tokens) - (m_in - m_cached))
        * prices.input_per_mtok
        / 1e6,
        "cached input": (measured.cached_tokens - m_cached) * prices.cached_or_input_per_mtok / 1e6,
        "output": (measured.output_tokens - model.output_tokens) * prices.output_per_mtok / 1e6,
    }
    diff = measured.api_usd - model.total_usd
    lines = [
        f"Measured ${measured.api_usd:,.4g} per session vs the calculator's "
        f"${model.total_usd:,.4g} ({_signed_usd(diff)}). By part: "
        + ", ".join(
            f"{name} {_signed_usd(usd)}"
            for name, usd in sorted(parts.items(), key=lambda kv: -abs(kv[1]))
        )
        + "."
    ]
    if len(model.turns) != measured.turns:
        lines.append(
            f"The calculator has {len(model.turns)} turns per session, the run {measured.turns}."
        )
    lines.append(
        f"Input per session: measured {measured.input_tokens:,.0f} tokens, calculator "
        f"{m_in:,.0f}; output: measured {measured.output_tokens:,.0f}, calculator "
        f"{model.output_tokens:,.0f}. Token counts are the server's own (usage), not the "
        "calculator's round numbers."
    )
    if not measured.cached_reported:
        lines.append(
            "The server reported no cached tokens (no usage.prompt_tokens_details), so the "
            "measured cost bills all input at the full price; the calculator assumes "
            f"{m_cached / m_in:.0%} cached."
            if m_in
            else "The server reported no cached tokens."
        )
    else:
        lines.append(
            f"Cached: measured {measured.cached_tokens:,.0f} per session "
            f"({measured.cached_share:.0%} of input) vs the calculator's {m_cached:,.0f} "
            f"({(m_cached / m_in if m_in else 0):.0%}): the real cache hits whole blocks, "
            "misses the first turns of sessions that start together, and may evict."
        )
    return lines


def _signed_usd(usd: float) -> str:
    return f"{'+' if usd >= 0 else '-'}${abs(usd):,.4g}"


# ---------------------------------------------------------------- the three views


@dataclass(frozen=True)
class CostViews:
    """One workload priced three ways, and the monthly bill."""

    per_request_usd: float
    per_mtok_usd: float  # API: all tokens of the session; self-hosted: output tokens
    per_session_usd: float
    monthly_bill_usd: float


def api_views(session: SessionCost, sessions_per_month: float) -> CostViews:
    """API prices: the session's average turn, its tokens, the session, the month's sessions."""
    turns = len(session.turns)
    mtok = (session.input_tokens + session.output_tokens) / 1e6
    return CostViews(
        per_request_usd=session.total_usd / turns,
        per_mtok_usd=session.total_usd / mtok if mtok > 0 else math.nan,
        per_session_usd=session.total_usd,
        monthly_bill_usd=sessions_per_month * session.total_usd,
    )


def self_hosted_views(at_slo: SelfHostedCosts, turns: int, monthly: MonthlySelfHosted) -> CostViews:
    """Self-hosted at the SLO throughput: per request x turns per session; always-on replicas."""
    return CostViews(
        per_request_usd=at_slo.cost_per_request_usd,
        per_mtok_usd=at_slo.cost_per_mtok_output_usd,
        per_session_usd=at_slo.cost_per_request_usd * turns,
        monthly_bill_usd=monthly.bill_usd,
    )


# ---------------------------------------------------------------- cost vs satisfaction


def cost_per_satisfied_request_usd(cost_per_request_usd: float, satisfaction: float) -> float:
    """What one answer that satisfies its user costs: cost / share satisfied."""
    _nonneg("cost per request", cost_per_request_usd)
    _share("satisfaction", satisfaction, allow_zero=False)
    return cost_per_request_usd / satisfaction


def cost_with_dissatisfaction_usd(
    cost_per_request_usd: float, satisfaction: float, loss_per_dissatisfied_usd: float
) -> float:
    """Price + (1 - satisfaction) x loss: a request's cost once an unhappy user counts."""
    return cost_per_request_usd + (1 - satisfaction) * loss_per_dissatisfied_usd


def dissatisfaction_breakeven_usd(
    cost_a_usd: float, satisfaction_a: float, cost_b_usd: float, satisfaction_b: float
) -> float | None:
    """Loss per dissatisfied user above which the pricier, better option pays for itself.

    Total cost per request = price + (1 - satisfaction) x loss; the two options
    cost the same at loss = (cost_B - cost_A) / (satisfaction_B - satisfaction_A).
    None when one option is both cheaper and at least as good (no trade-off).
    """
    for name, value in (("cost A", cost_a_usd), ("cost B", cost_b_usd)):
        _nonneg(name, value)
    _share("satisfaction A", satisfaction_a, allow_zero=True)
    _share("satisfaction B", satisfaction_b, allow_zero=True)
    d_cost = cost_b_usd - cost_a_usd
    d_sat = satisfaction_b - satisfaction_a
    if d_sat == 0 or d_cost == 0 or (d_cost > 0) != (d_sat > 0):
        return None
    return d_cost / d_sat
