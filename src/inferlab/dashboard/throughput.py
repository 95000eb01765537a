"""The Throughput & capacity page's inputs (URL parameter specs) and its capacity-plan view."""

from __future__ import annotations

import streamlit as st

from inferlab.capacity import BYTES_PER_PARAM, PRECISIONS
from inferlab.dashboard.params import ChoiceParam, NumberParam
from inferlab.planning import (
    DEMAND_MODES,
    SOURCES,
    DeploymentPlan,
    TpComparison,
    plural,
    shape_mismatch,
)
from inferlab.textfmt import sig

__all__ = [
    "DEFAULT_GPU",
    "GPU_EDIT_PARAM",
    "MODEL_PRESET_PARAM",
    "RUN_PARAM",
    "THROUGHPUT_CHOICES",
    "THROUGHPUT_PARAMS",
    "if_fitted",
    "show_plan",
    "show_run_shape",
]

MAX_TIME_MS = 3_600_000.0
MAX_TOKENS = 10_000_000

THROUGHPUT_PARAMS: tuple[NumberParam, ...] = (
    # Little's law
    NumberParam("conc", "Concurrent requests", 32, 1, 1_000_000, integer=True, typical_max=10_000),
    NumberParam("ttft_ms", "TTFT (ms)", 200.0, 0.0, MAX_TIME_MS, typical_max=60_000),
    NumberParam("tpot_ms", "TPOT (ms)", 20.0, 0.0, MAX_TIME_MS, typical_max=1_000),
    NumberParam("out_tokens", "Output tokens per request", 256, 1, MAX_TOKENS, integer=True),
    NumberParam("target_rps", "Target requests/s", 10.0, 0.0, 1e7),
    # capacity planning
    NumberParam("users", "Active users", 1000, 0, 1e10, integer=True),
    NumberParam("rpm_user", "Requests per user per minute", 0.5, 0.0, 10_000.0),
    NumberParam("plan_rps", "Requests per second", 10.0, 0.0, 1e7),
    NumberParam("c_users", "Concurrent users", 100, 0, 1e9, integer=True),
    NumberParam("think_s", "Think time between a user's requests (s)", 10.0, 0.0, 86_400.0),
    NumberParam(
        "in_tokens", "Input (prompt) tokens per request", 1000, 0, MAX_TOKENS, integer=True
    ),
    NumberParam("target_s", "Target latency per request (s)", 15.0, 0.001, 86_400.0),
    NumberParam("per_replica", "Concurrent requests per replica", 32, 1, 1_000_000, integer=True),
    NumberParam("util_pct", "Target utilisation (%)", 80.0, 1.0, 100.0),
    # roofline
    NumberParam(
        "n_gpus", "GPUs per replica (tensor parallel)", 1, 1, 1024, integer=True, typical_max=64
    ),
    NumberParam(
        "params_b", "Model size (billion parameters)", 8.0, 0.001, 100_000.0, typical_max=2_000
    ),
    NumberParam("layers", "Layers", 32, 1, 10_000, integer=True),
    NumberParam("kv_heads", "KV heads", 8, 1, 10_000, integer=True),
    NumberParam("head_dim", "Head dimension", 128, 1, 100_000, integer=True),
    NumberParam("batch", "Batch size for the estimate", 1, 1, 1_000_000, integer=True),
    NumberParam("mbu_pct", "MBU: memory bandwidth utilisation (%)", 70.0, 1.0, 100.0),
    NumberParam("mfu_pct", "MFU: FLOPS utilisation in prefill (%)", 50.0, 1.0, 100.0),
    NumberParam("mem_pct", "GPU memory the engine may use (%)", 90.0, 1.0, 100.0),
)

DEFAULT_GPU = "H100 SXM"
THROUGHPUT_CHOICES: tuple[ChoiceParam, ...] = (
    # The GPU's options come from the (possibly edited) catalog at run time.
    ChoiceParam("gpu", "GPU", (DEFAULT_GPU,), DEFAULT_GPU),
    ChoiceParam("wprec", "Weight precision", PRECISIONS, "BF16"),
    ChoiceParam("kvprec", "KV-cache precision", PRECISIONS, "BF16"),
    ChoiceParam("demand", "Demand given as", DEMAND_MODES, "users"),
    ChoiceParam("source", "What one replica serves, from", SOURCES, "roofline"),
)
MODEL_PRESET_PARAM = "model"  # a button row, not state: presets fill params_b/layers/...
GPU_EDIT_PARAM = "gpu_edit"
RUN_PARAM = "run"


def if_fitted(fits: bool, n_gpus: int) -> str:
    """'' when the model fits; else ' if it fitted on 1 GPU', for figures that assume it does."""
    return "" if fits else f" if it fitted on {plural(n_gpus, 'GPU')}"


def show_plan(
    plan: DeploymentPlan,
    source_label: str,
    target_s: float,
    util: float,
    demand_mode: str,
    n_gpus: int,
    min_gpus: int | None,
    tp: TpComparison | None = None,
    wprec: str | None = None,
) -> None:
    """The capacity plan's headline and its worked sentence; no replica count when none holds.

    `tp` (roofline source): the plans of each tensor-parallel degree; the one with the
    fewest GPUs in all is offered (not merely the smallest degree that fits)."""
    q1, q2, q3, q4 = st.columns(4)
    q1.metric("Arrival rate", f"{sig(plan.arrival_rps)} req/s", help=_RATE_HELP[demand_mode])
    counted = plan.replicas is not None and plan.total_gpus is not None
    q2.metric(
        "Requests in flight",
        f"{plan.required_concurrency:,.1f}" if counted else "—",
        help="L = λ × W, with W the latency of one request at the replica's load"
        + ("" if counted else " (none: no replica can serve this load as set)"),
    )
    if plan.replicas is None or plan.total_gpus is None:
        q3.metric("Replicas", "—", help="No count: the model does not fit or misses the target.")
        tp_best = tp.best.gpus_per_replica if tp is not None and tp.best is not None else None
        if plan.fits:
            # It fits but is too slow: how slow matters here, not the memory minimum.
            q4.metric(
                "One request alone takes",
                f"{sig(plan.replica.latency_s)} s",
                delta=f"target {target_s:g} s",
                delta_color="off",
                delta_arrow="off",
                help="The latency of a single request on an otherwise idle replica.",
            )
        else:
            q4.metric(
                "Min GPUs per replica",
                f"{min_gpus:,}" if min_gpus else "more than 64",
                delta=f"TP={tp_best}: fewest GPUs in all"
                if tp_best and tp_best != min_gpus
                else None,
                delta_color="off",
                delta_arrow="off",
                help="The fewest GPUs whose memory holds the weights and one sequence's KV cache.",
            )
        st.error(plan.problem or "No replica count can be given.", icon=":material/memory:")
        if tp is not None:
            _offer_tp(tp, n_gpus, wprec=wprec)
        elif not plan.fits and min_gpus is not None and min_gpus != n_gpus:
            st.button(
                f"Use {plural(min_gpus, 'GPU')} per replica",
                on_click=lambda: st.session_state.update(n_gpus=min_gpus),
                icon=":material/south:",
            )
        if plan.fits:
            st.caption(f"Capacity source: {source_label}. {plan.replica.explanation}")
        return
    q3.metric(
        "Replicas",
        f"{plan.replicas:,}",
        delta=f"{plural(plan.total_gpus, 'GPU')} in all"
        + (f" ({n_gpus:,} per replica)" if n_gpus > 1 else ""),
        delta_color="off",
        delta_arrow="off",
        help="ceil(requests in flight / (per replica × utilisation))",
    )
    q4.metric(
        "Output tokens/s needed", f"{plan.output_tokens_per_s:,.0f}", help="λ × output tokens"
    )
    r = plan.replica
    st.markdown(
        f"**Capacity source: {source_label}.** {r.explanation}  \n"
        f"{sig(plan.arrival_rps)} requests/s × {sig(plan.latency_s)} s"
        + (
            f" (the latency at this load: {plan.required_concurrency / plan.replicas:,.1f} in "
            "flight per replica)"
            if r.latency_at is not None
            else ""
        )
        + f" = **{plan.required_concurrency:,.1f} in flight**; / ({r.concurrency:,} per replica × "
        f"{util:.0%}) → **{plural(plan.replicas, 'replica')}** of "
        f"{plural(n_gpus, 'GPU')} = **{plural(plan.total_gpus, 'GPU')}**, each replica "
        f"{(plan.utilisation or 0):.0%} busy on average."
    )
    best = tp.best if tp is not None else None
    if (
        best is not None
        and best.plan is not None
        and best.plan.total_gpus is not None
        and best.plan.total_gpus < plan.total_gpus
    ):
        st.info(
            f"**Fewer GPUs with TP={best.gpus_per_replica}** for this demand "
            f"({plural(best.plan.total_gpus, 'GPU')} in all instead of "
            f"{plural(plan.total_gpus, 'GPU')}): {tp.summary() if tp else ''}",
            icon=":material/lightbulb:",
        )
        _offer_tp(tp, n_gpus, caption=False)
    if not plan.meets_target:
        st.warning(
            f"At this load one request takes {sig(plan.latency_s)} s, more than the "
            f"{target_s:g} s target: lower the concurrency per replica or choose another source.",
            icon=":material/speed:",
        )


def show_run_shape(
    run_input_tokens: float | None,
    run_output_tokens: float | None,
    in_tokens: int,
    out_tokens: int,
) -> None:
    """Warn when a measured run's prompts and answers differ from the plan's, and offer to
    plan with the run's lengths."""
    message = shape_mismatch(run_input_tokens, run_output_tokens, in_tokens, out_tokens)
    if message is None:
        return
    st.warning(message, icon=":material/straighten:")
    update: dict[str, int] = {}
    if run_output_tokens is not None:
        update["out_tokens"] = max(1, round(run_output_tokens))
    if run_input_tokens is not None:
        update["in_tokens"] = max(0, round(run_input_tokens))
    if update:
        st.button(
            "Use the run's shape ("
            + ", ".join(
                f"{v:,} {'output' if k == 'out_tokens' else 'input'} tokens"
                for k, v in update.items()
            )
            + ")",
            on_click=lambda: st.session_state.update(update),
            icon=":material/straighten:",
            key="use_run_shape",
        )


def _bytes(precision: str) -> str:
    n = BYTES_PER_PARAM[precision]
    return f"{n:g} byte" + ("" if n == 1 else "s")


def _offer_tp(
    tp: TpComparison | None, n_gpus: int, caption: bool = True, wprec: str | None = None
) -> None:
    """A button applying the tensor-parallel degree with the fewest GPUs in all; when no
    degree serves the demand, one applying the next lower weight precision (`wprec`)."""
    if tp is None or tp.best is None:
        if caption and tp is not None:
            st.caption(tp.summary())
        lower = PRECISIONS.index(wprec) + 1 if wprec in PRECISIONS else None
        if tp is not None and lower is not None and lower < len(PRECISIONS):
            smaller = PRECISIONS[lower]
            st.button(
                f"Try {smaller} weights ({_bytes(smaller)} per parameter instead of "
                f"{_bytes(str(wprec))})",
                on_click=lambda: st.session_state.update(wprec=smaller),
                icon=":material/compress:",
            )
        return
    if caption:
        st.caption(
            f"Tensor-parallel degrees compared for this demand (fewest GPUs in all first): "
            f"{tp.summary()}"
        )
    best = tp.best.gpus_per_replica
    if best != n_gpus:
        st.button(
            f"Use {plural(best, 'GPU')} per replica (TP={best})",
            on_click=lambda: st.session_state.update(n_gpus=best),
            icon=":material/south:",
        )


_RATE_HELP = {
    "users": "users × requests per user per minute / 60",
    "rate": "the request rate you entered",
    "concurrent": "concurrent users / (latency + think time): each user waits, then thinks",
}
