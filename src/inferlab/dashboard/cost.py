"""The Cost page's inputs: URL parameter specs, defaults and the chatbot exercise preset."""

from __future__ import annotations

from inferlab.dashboard.params import ChoiceParam, NumberParam
from inferlab.exercise import CHATBOT

__all__ = [
    "ALTERNATIVE",
    "COST_CHOICES",
    "COST_PARAMS",
    "CUSTOM",
    "MODES",
    "PRICE_EDIT_PARAM",
    "RUN_PARAM",
    "chatbot_preset",
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
