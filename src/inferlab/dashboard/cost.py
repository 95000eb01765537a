"""The Cost page's state: URL parameter specs, defaults, the chatbot exercise preset,
and the sentences that explain its numbers (every formula is in :mod:`inferlab.cost`).
"""

from __future__ import annotations

from dataclasses import dataclass

from inferlab import cost
from inferlab.catalog import ApiOffer, GpuOffer
from inferlab.compare.run_facts import RunFacts, describe_run
from inferlab.dashboard.params import ChoiceParam, NumberParam
from inferlab.exercise import CHATBOT
from inferlab.metrics.sessions import SessionsSummary, session_totals, summarize_sessions
from inferlab.store import Store, StoreError

__all__ = [
    "ALTERNATIVE",
    "COST_CHOICES",
    "COST_PARAMS",
    "CUSTOM",
    "MODES",
    "PRICE_EDIT_PARAM",
    "RUN_PARAM",
    "SESSION_RUN_PARAM",
    "StoredSessions",
    "api_catalog_caption",
    "api_request_caption",
    "chatbot_preset",
    "cost_views",
    "exercise_verdict",
    "gpu_catalog_caption",
    "load_stored_sessions",
    "price_stored_sessions",
    "run_throughput_text",
    "run_throughput_update",
    "self_hosted_caption",
    "session_assumptions",
    "session_caption",
    "session_run_choices",
    "shape_update",
    "slo_name",
]

MAX_PRICE = 1_000_000.0
MAX_TOKENS = 10_000_000

COST_PARAMS: tuple[NumberParam, ...] = (
    # API pricing
    NumberParam("in_price", "Input price ($/1M tokens)", 2.5, 0.0, MAX_PRICE),
    NumberParam("out_price", "Output price ($/1M tokens)", 10.0, 0.0, MAX_PRICE),
    NumberParam("cached_price", "Cached-input price ($/1M tokens)", 1.25, 0.0, MAX_PRICE),
    NumberParam("in_tokens", "Input tokens per request", 1000, 0, MAX_TOKENS, integer=True),
    NumberParam("out_tokens", "Output tokens per request", 250, 1, MAX_TOKENS, integer=True),
    NumberParam("io_ratio", "Input tokens per output token", 3.0, 0.0, 1_000_000.0),
    # self-hosted
    NumberParam("gpu_hour", "Price per GPU-hour ($)", 2.99, 0.0, MAX_PRICE),
    NumberParam("n_gpus", "GPUs per replica", 1, 1, 1024, integer=True),
    NumberParam("peak_rps", "Peak throughput (requests/s)", 4.0, 0.0001, 1e7),
    NumberParam("slo_rps", "Throughput meeting the SLO (requests/s)", 2.5, 0.0001, 1e7),
    NumberParam("util_pct", "Average utilisation (%)", 60.0, 1.0, 100.0),
    NumberParam("slo_ttft_ms", "SLO: TTFT at most (ms)", 500.0, 0.0, 3_600_000.0),
    NumberParam("slo_tpot_ms", "SLO: TPOT at most (ms)", 50.0, 0.0, 3_600_000.0),
    # session
    NumberParam("turns", "Turns per session", 10, 1, 10_000, integer=True),
    NumberParam("sys_tokens", "System prompt tokens", 500, 0, MAX_TOKENS, integer=True),
    NumberParam("user_tokens", "User tokens per turn", 100, 0, MAX_TOKENS, integer=True),
    NumberParam("asst_tokens", "Assistant tokens per turn", 250, 0, MAX_TOKENS, integer=True),
    NumberParam("hit_pct", "Prompt-cache hit rate (%)", 80.0, 0.0, 100.0),
    NumberParam("sessions_pm", "Sessions per month", 100_000, 0, 1e13, integer=True),
    # the chatbot exercise (Q3)
    NumberParam("ex_cost", "A: cost per request ($)", CHATBOT.cost_per_request_usd, 0.0, 1000.0),
    NumberParam("ex_sat_pct", "A: satisfied users (%)", CHATBOT.satisfaction * 100, 1.0, 100.0),
    NumberParam("ex_cost_b", "B: cost per request ($)", 0.08, 0.0, 1000.0),
    NumberParam("ex_sat_b_pct", "B: satisfied users (%)", 92.0, 1.0, 100.0),
    NumberParam("ex_loss", "Value lost per dissatisfied user ($)", 0.5, 0.0, 1_000_000.0),
)

MODES = ("API", "Self-hosted")
CUSTOM = "Custom (type the prices)"
COST_CHOICES: tuple[ChoiceParam, ...] = (
    ChoiceParam("mode", "Pricing mode", MODES, "API"),
    # Options come from the (possibly edited) price catalog at run time.
    ChoiceParam("api", "API price list", ("OpenAI GPT-4o", CUSTOM), "OpenAI GPT-4o"),
    ChoiceParam(
        "gpu_offer",
        "GPU-hour price list",
        ("Lambda H100 SXM (8x node)", CUSTOM),
        "Lambda H100 SXM (8x node)",
    ),
)
PRICE_EDIT_PARAM = "price_edit"
RUN_PARAM = "run"
SESSION_RUN_PARAM = "session_run"

# The exercise's alternative is a made-up example: a larger model that costs more and pleases more.
ALTERNATIVE = {"ex_cost_b": 0.08, "ex_sat_b_pct": 92.0}


def chatbot_preset() -> dict[str, float | int]:
    """Widget values (by URL key) that load the chatbot exercise into the Cost page."""
    return {
        "ex_cost": CHATBOT.cost_per_request_usd,
        "ex_sat_pct": CHATBOT.satisfaction * 100,
        "out_tokens": CHATBOT.tokens,
        **ALTERNATIVE,
    }


def api_request_caption(
    input_tokens: int, output_tokens: int, prices: cost.ApiPrices, request_usd: float
) -> str:
    """The worked sum under "Cost per request"."""
    if not request_usd > 0:
        return "Both prices are 0: requests are free."
    in_usd = cost.token_cost_usd(input_tokens, prices.input_per_mtok)
    out_usd = cost.token_cost_usd(output_tokens, prices.output_per_mtok)
    return (
        f"{input_tokens:,} × ${prices.input_per_mtok:g}/1M + {output_tokens:,} × "
        f"${prices.output_per_mtok:g}/1M = ${in_usd:,.4g} + ${out_usd:,.4g} = "
        f"**${request_usd:,.4g}** per request; {1 / request_usd:,.0f} requests per dollar."
    )


def _source(url: str, as_of: str) -> str:
    return f"source {url or 'not given'}" + (f", as of {as_of}" if as_of else "")


def api_catalog_caption(offer: ApiOffer, prices: cost.ApiPrices) -> str:
    """Where the catalog entry comes from, and whether the typed prices are still its own."""
    p = offer.prices
    same = (p.input_per_mtok, p.output_per_mtok, p.cached_or_input_per_mtok) == (
        prices.input_per_mtok,
        prices.output_per_mtok,
        prices.cached_or_input_per_mtok,
    )
    return (
        f"Catalog: {offer.name}, {_source(offer.source_url, offer.as_of)}"
        ". Example prices: check the source for today's."
        + ("" if same else " The prices above differ from this entry: they are your own.")
    )


def gpu_catalog_caption(offer: GpuOffer, gpu_hour_usd: float) -> str:
    """Where the GPU-hour entry comes from, and whether the typed price is still its own."""
    return (
        f"Catalog: {offer.name} (${offer.usd_per_gpu_hour:g}/GPU-hour), "
        f"{_source(offer.source_url, offer.as_of)}. Example price: check the source for today's."
        + (
            ""
            if offer.usd_per_gpu_hour == gpu_hour_usd
            else " The price above differs from this entry: it is your own."
        )
    )


def self_hosted_caption(
    n_gpus: int,
    gpu_hour_usd: float,
    slo_rps: float,
    utilisation: float,
    peak_rps: float,
    at_slo: cost.SelfHostedCosts,
    slo_ttft_ms: float | None = None,
    slo_tpot_ms: float | None = None,
) -> str:
    """The worked sum under the self-hosted numbers, naming the SLO the throughput meets."""
    slo = (
        f"*Throughput meeting the SLO* counts {slo_name(slo_ttft_ms, slo_tpot_ms)}. "
        if slo_ttft_ms is not None and slo_tpot_ms is not None
        else ""
    )
    return (
        f"{slo}{n_gpus} GPU × ${gpu_hour_usd:g}/h = **${at_slo.cost_per_hour_usd:,.4g} per "
        f"hour**. At {slo_rps:g} req/s × 3600 × {utilisation:.0%} busy = {at_slo.requests_per_hour:,.0f} "
        f"requests per hour → ${at_slo.cost_per_request_usd:,.4g} each. Peak throughput "
        f"({peak_rps:g} req/s) looks {peak_rps / slo_rps:,.2g}× cheaper, but only if users "
        "accept the latency that comes with it."
    )


def slo_name(slo_ttft_ms: float, slo_tpot_ms: float) -> str:
    """Which SLO 'throughput meeting the SLO' means, in words."""
    return (
        f"the requests with TTFT ≤ {slo_ttft_ms:g} ms and TPOT ≤ {slo_tpot_ms:g} ms, each "
        "(a per-request limit, as goodput counts it, not a percentile; set under *Take the "
        "throughput from a stored run*)"
    )


def run_throughput_text(facts: RunFacts, slo_ttft_ms: float, slo_tpot_ms: float) -> str:
    """What a stored run measured, at peak and within the SLO."""
    return (
        f"Measured **{facts.rps or 0:,.3g} req/s** at peak; **{facts.goodput_rps or 0:,.3g} "
        f"req/s** met TTFT ≤ {slo_ttft_ms:g} ms and TPOT ≤ {slo_tpot_ms:g} ms "
        f"({(facts.slo_attainment or 0):.0%} of requests)."
    )


def run_throughput_update(facts: RunFacts) -> dict[str, float | int]:
    """Widget values (by URL key) that take a stored run's throughput and token counts."""
    update: dict[str, float | int] = {"peak_rps": round(float(facts.rps or 0), 6)}
    if facts.goodput_rps:
        update["slo_rps"] = round(facts.goodput_rps, 6)
    if facts.mean_output_tokens:
        update["out_tokens"] = max(1, round(facts.mean_output_tokens))
    if facts.mean_input_tokens:
        update["in_tokens"] = round(facts.mean_input_tokens)
    return update


def session_caption(shape: cost.SessionShape, session: cost.SessionCost, mode: str) -> str:
    """How the session's history grows, and which prices it uses."""
    last = session.turns[-1]
    return (
        f"Turn 1 sends {shape.input_tokens(1):,.0f} input tokens; turn {shape.turns} sends "
        f"{last.input_tokens:,.0f}, of which {last.cached_tokens:,.0f} are cache hits. The whole "
        f"session sends {session.input_tokens:,.0f} input and {session.output_tokens:,.0f} output "
        "tokens, priced with the API prices above"
        + (
            " (the session view always uses them: caching is an API discount)."
            if mode != "API"
            else "."
        )
        + " Cache-write surcharges are not modelled."
    )


def cost_views(
    mode: str,
    session: cost.SessionCost,
    sessions_per_month: int,
    at_slo: cost.SelfHostedCosts,
    slo_rps: float,
    n_gpus: int,
    gpu_hour_usd: float,
    utilisation: float,
) -> tuple[cost.CostViews, str]:
    """The three views and the monthly bill in the chosen mode, and how the bill is made up."""
    turns = len(session.turns)
    if mode == "API":
        views = cost.api_views(session, sessions_per_month)
        note = f"{sessions_per_month:,} sessions × ${views.per_session_usd:,.4g}"
        return views, note
    monthly = cost.monthly_self_hosted(
        sessions_per_month * turns, slo_rps, n_gpus, gpu_hour_usd, utilisation
    )
    note = (
        f"{monthly.replicas:,} always-on replica(s) × {n_gpus} GPU × {cost.HOURS_PER_MONTH:g} h "
        f"× ${gpu_hour_usd:g} for an average {monthly.average_rps:,.3g} req/s"
    )
    return cost.self_hosted_views(at_slo, turns, monthly), note


def exercise_verdict(
    cost_a_usd: float,
    satisfaction_a: float,
    cost_b_usd: float,
    satisfaction_b: float,
    loss_usd: float,
    breakeven_usd: float | None,
    requests_per_month: int,
) -> tuple[str, bool]:
    """Q3's answer in words, and whether there is a trade-off (a break-even loss) at all."""
    if breakeven_usd is None:
        better = "A" if (cost_a_usd <= cost_b_usd and satisfaction_a >= satisfaction_b) else "B"
        return (
            f"{better} is cheaper and at least as satisfying: there is no trade-off to make.",
            False,
        )
    total_a = cost.cost_with_dissatisfaction_usd(cost_a_usd, satisfaction_a, loss_usd)
    total_b = cost.cost_with_dissatisfaction_usd(cost_b_usd, satisfaction_b, loss_usd)
    pricier = "B" if cost_b_usd > cost_a_usd else "A"
    return (
        f"With a loss of ${loss_usd:g} per dissatisfied user, A costs ${cost_a_usd:g} + "
        f"{1 - satisfaction_a:.0%} × ${loss_usd:g} = **${total_a:,.4g}** per request and B costs "
        f"**${total_b:,.4g}**. The pricier, better option ({pricier}) pays for itself when an "
        f"unhappy user costs you more than **${breakeven_usd:,.3g}**. Over "
        f"{requests_per_month:,} requests a month the difference is "
        f"${abs(total_a - total_b) * requests_per_month:,.0f} in favour of "
        f"{'A' if total_a < total_b else 'B'}.",
        True,
    )


# ---------------------------------------------------------------- measured sessions


@dataclass(frozen=True)
class StoredSessions:
    """A stored session run's measured tokens, as the Cost page prices them."""

    run_id: str
    summary: SessionsSummary
    sessions: list[tuple[float, float, float]]  # (input, output, cached) per session
    duration_s: float | None
    cached_reported: bool


def session_run_choices(store: Store) -> dict[str, str]:
    """Stored multi-turn session runs: run_id -> description, newest first."""
    frame = store.list_runs()
    rows = [r for r in frame.to_dict("records") if r.get("load_mode") == "sessions"]
    return {str(r["run_id"]): describe_run(r) for r in rows}


def load_stored_sessions(store: Store, run_id: str) -> tuple[StoredSessions | None, str | None]:
    """The run's sessions, or None and a sentence saying why they cannot be priced."""
    try:
        info = store.get_run(run_id)
        records = store.records(run_id)
        duration_s = store.summary(run_id).duration_s
    except StoreError as exc:
        return None, f"Cannot read run {run_id}: {exc}"
    if info is None:
        return None, f"There is no run {run_id} in this database"
    settings = info.settings.get("sessions")
    planned = settings.get("turns") if isinstance(settings, dict) else None
    summary = summarize_sessions(records, planned if isinstance(planned, int) else None)
    if summary is None:
        return None, f"Run {run_id} holds no multi-turn sessions (probe with --sessions N)"
    totals = session_totals(records)
    ok = [t for t in totals if t.completed_turns]
    if not ok:
        return None, f"No session of run {run_id} got an answer; there is nothing to price"
    return (
        StoredSessions(
            run_id=run_id,
            summary=summary,
            sessions=[(t.input_tokens, t.output_tokens, t.cached_tokens) for t in ok],
            duration_s=duration_s if duration_s and duration_s > 0 else None,
            cached_reported=any(r.cached_tokens is not None for r in records),
        ),
        None,
    )


def price_stored_sessions(
    stored: StoredSessions, prices: cost.ApiPrices, gpu_hour_usd: float, n_gpus: int
) -> cost.MeasuredSessionCost:
    """The stored sessions at the page's API and GPU prices."""
    return cost.measured_session_cost(
        stored.sessions,
        stored.summary.turns,
        prices,
        cached_reported=stored.cached_reported,
        run_duration_s=stored.duration_s,
        gpu_hour_usd=gpu_hour_usd,
        n_gpus=n_gpus,
    )


def shape_update(stored: StoredSessions) -> dict[str, float | int] | None:
    """Widget values (by URL key) that set the calculator's session to the run's shape."""
    by_turn = [x for x in stored.summary.input_tokens_by_turn if x is not None]
    out = stored.summary.session_output_tokens
    if out is None or len(by_turn) < 2:
        return None
    shape = cost.fitted_session_shape(by_turn, out / stored.summary.turns)
    if shape is None:
        return None
    return {
        "turns": shape.turns,
        "sys_tokens": round(shape.system_tokens),
        "user_tokens": round(shape.user_tokens),
        "asst_tokens": round(shape.assistant_tokens),
    }


def session_assumptions(
    system_warm: bool, hit_rate: float, stored: StoredSessions | None
) -> list[str]:
    """Every assumption behind the session numbers, in words."""
    lines = [
        f"Calculator: a share of {hit_rate:.0%} of each turn's repeated prefix (system prompt "
        "and earlier turns) is billed at the cached-input price.",
        "Calculator: the system prompt is "
        + (
            "already cached on turn 1 (another session sent it before)."
            if system_warm
            else "not cached on turn 1: every session pays for it once in full."
        ),
        "Every answer is as long as the assistant tokens per turn, and cache-write "
        "surcharges (charged by some providers) are not modelled.",
    ]
    if stored is not None:
        lines += [
            "Measured: each session's real input, output and cached tokens as the server "
            "reported them (usage); sessions that never got an answer are left out, a session "
            "cut short counts the turns it had.",
            "Measured, API: cached tokens at the cached-input price, the rest at the input "
            "price — whatever the server's cache did, not the calculator's hit rate.",
            "Measured, self-hosted: the deployment (GPUs × price per GPU-hour) served only "
            "this run for its duration, shared equally by its sessions."
            + ("" if stored.duration_s else " The run has no duration, so this is not shown."),
        ]
    return lines
