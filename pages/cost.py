"""Cost: per request, per token and per user session, API-priced or self-hosted; Q3 of the exercise."""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from inferlab import cost
from inferlab.catalog import (
    MAX_EDIT_CHARS,
    apply_price_edits,
    encode_price_edits,
    load_prices,
    prices_from_frame,
    prices_to_frame,
)
from inferlab.charts.cost import satisfaction_chart, session_chart
from inferlab.compare.run_facts import RunFacts, try_load_run_facts
from inferlab.dashboard.cost import (
    COST_CHOICES,
    COST_PARAMS,
    CUSTOM,
    PRICE_EDIT_PARAM,
    RUN_PARAM,
    SESSION_RUN_PARAM,
    StoredSessions,
    api_catalog_caption,
    api_request_caption,
    chatbot_preset,
    cost_views,
    exercise_verdict,
    gpu_catalog_caption,
    load_stored_sessions,
    price_stored_sessions,
    run_throughput_text,
    run_throughput_update,
    self_hosted_caption,
    session_assumptions,
    session_caption,
    session_run_choices,
    shape_update,
)
from inferlab.dashboard.widgets import (
    EditableCatalog,
    choice,
    edited_catalog,
    linked_catalog,
    number,
    pick_run,
    query_text,
    share_block,
    show_link_warnings,
    stored_runs,
)
from inferlab.exercise import CHATBOT
from inferlab.store import Slo, Store

SPEC = {p.name: p for p in COST_PARAMS}
CHOICE = {c.name: c for c in COST_CHOICES}
PAGES_DIR = Path(__file__).parent
PRICE_CATALOG = EditableCatalog(
    what="price catalog",
    shipped_file="data/catalog/prices.csv",
    param=PRICE_EDIT_PARAM,
    key="price_catalog",
    load=load_prices,
    apply_edits=apply_price_edits,
    encode_edits=encode_price_edits,
    from_frame=prices_from_frame,
    to_frame=prices_to_frame,
)

st.title("Cost: per request, per token, per user session")
st.markdown(
    "What does one answer cost, what does a million tokens cost, and what does one "
    "conversation cost once every turn re-sends the history? Price it with an API's list "
    "prices or with your own GPUs, at the throughput that still meets your latency SLO."
)

# ---------------------------------------------------------------- price catalog (from the link)
base_prices, prices_cat = linked_catalog(PRICE_CATALOG)


api_spec = CHOICE["api"].with_options([a.name for a in prices_cat.api] + [CUSTOM])
offer_spec = CHOICE["gpu_offer"].with_options([h.name for h in prices_cat.gpu_hours] + [CUSTOM])
show_link_warnings(COST_PARAMS, [CHOICE["mode"], api_spec, offer_spec])


def num(col: st.delta_generator.DeltaGenerator, name: str, step: float, help_text: str) -> float:
    return float(number(col, SPEC[name], step, help_text))


def load_exercise() -> None:
    st.session_state.update(chatbot_preset())


head, button = st.columns([3, 1], vertical_alignment="center")
head.markdown(
    f"The **chatbot exercise** continues here: it costs **${CHATBOT.cost_per_request_usd:.2f} "
    f"per request** and **{CHATBOT.satisfaction:.0%}** of its users are satisfied. Q3 is at the "
    "bottom of the page."
)
button.button(
    "Load the chatbot exercise",
    on_click=load_exercise,
    icon=":material/school:",
    help="$0.05 per request, 85 % satisfied, 50-token answers; B: $0.08, 92 % (an example).",
)

with st.expander("Price catalog: sources, and edit a copy", icon=":material/edit_note:"):
    st.caption(
        "Example prices with their source and the date they were taken (*as of*); providers "
        "change them often, so check the source before relying on one. Edits stay in this tab "
        "and in the share link; data/catalog/prices.csv is never changed. `kind` is `api` "
        "($ per 1M tokens) or `gpu_hour` ($ per GPU-hour)."
    )
    edited_frame = st.data_editor(
        st.session_state["price_catalog_start"],
        key="price_catalog_editor",
        num_rows="dynamic",
        width="stretch",
        column_order=[
            "kind",
            "name",
            "input_per_mtok",
            "output_per_mtok",
            "cached_input_per_mtok",
            "usd_per_gpu_hour",
            "gpu",
            "as_of",
            "source_url",
        ],
        column_config={
            "kind": st.column_config.SelectboxColumn(
                "Kind", options=["api", "gpu_hour"], required=True
            ),
            "name": st.column_config.TextColumn("Name", required=True),
            "input_per_mtok": st.column_config.NumberColumn("Input $/1M", min_value=0.0),
            "output_per_mtok": st.column_config.NumberColumn("Output $/1M", min_value=0.0),
            "cached_input_per_mtok": st.column_config.NumberColumn("Cached $/1M", min_value=0.0),
            "gpu": st.column_config.TextColumn("GPU"),
            "usd_per_gpu_hour": st.column_config.NumberColumn("$/GPU-hour", min_value=0.0),
            "source_url": st.column_config.LinkColumn("Source"),
            "as_of": st.column_config.TextColumn("As of"),
        },
    )
    edited_prices = edited_catalog(
        PRICE_CATALOG, edited_frame, base_prices, prices_cat, MAX_EDIT_CHARS
    )
prices_cat = edited_prices
api_by_name = {a.name: a for a in prices_cat.api}
offer_by_name = {h.name: h for h in prices_cat.gpu_hours}
api_spec = api_spec.with_options([*api_by_name, CUSTOM])
offer_spec = offer_spec.with_options([*offer_by_name, CUSTOM])


def fill_api_prices() -> None:
    offer = api_by_name.get(str(st.session_state.get("api")))
    if offer is not None:
        p = offer.prices
        st.session_state.update(
            in_price=p.input_per_mtok,
            out_price=p.output_per_mtok,
            cached_price=p.cached_or_input_per_mtok,
        )


def fill_gpu_price() -> None:
    offer = offer_by_name.get(str(st.session_state.get("gpu_offer")))
    if offer is not None:
        st.session_state["gpu_hour"] = offer.usd_per_gpu_hour


# ---------------------------------------------------------------- workload
st.subheader("One request", divider="gray")
w1, w2, w3 = st.columns(3)
mode = choice(
    w1,
    CHOICE["mode"],
    "Which prices drive the session, monthly and side-by-side views below.",
    horizontal=True,
)
in_tokens = int(num(w2, "in_tokens", 100, "Prompt tokens sent with one request."))
out_tokens = int(num(w3, "out_tokens", 10, "Tokens in one answer."))

api_col, self_col = st.columns(2, gap="large")

# ---------------------------------------------------------------- API pricing
with api_col:
    st.subheader("API pricing" + (" · in use" if mode == "API" else ""))
    api_name = choice(
        st.container(),
        api_spec,
        "Fills the three prices from the catalog.",
        on_change=fill_api_prices,
    )
    a1, a2, a3 = st.columns(3)
    in_price = num(a1, "in_price", 0.05, "US$ per million prompt tokens.")
    out_price = num(a2, "out_price", 0.1, "US$ per million generated tokens.")
    cached_price = num(
        a3, "cached_price", 0.05, "US$ per million prompt tokens read from the cache."
    )
    io_ratio = num(
        st.columns(2)[0],
        "io_ratio",
        0.5,
        "For the blended price: input tokens per output token (3 means 3:1).",
    )
    try:
        api = cost.ApiPrices(in_price, out_price, cached_price)
        api_req = cost.api_request_cost_usd(api, in_tokens, out_tokens)
        blended = cost.blended_price_per_mtok(api, io_ratio)
    except ValueError as exc:
        st.error(f"Cannot price the request: {exc}.")
        st.stop()
    b1, b2 = st.columns(2)
    b1.metric(
        "Cost per request", f"${api_req:,.4g}", help="input × input price + output × output price"
    )
    request_ratio = in_tokens / out_tokens if out_tokens else None
    b2.metric(
        f"Blended per 1M tokens ({io_ratio:g}:1)",
        f"${blended:,.4g}",
        delta=f"this request is {request_ratio:.3g}:1"
        if request_ratio is not None and abs(request_ratio - io_ratio) > 0.05 * io_ratio
        else None,
        delta_color="off",
        delta_arrow="off",
        help="(ratio × input price + output price) / (ratio + 1). Price lists compare "
        "providers at a fixed 3:1 blend; set the ratio to your own traffic's to compare "
        "with the cost per request.",
    )
    st.caption(api_request_caption(in_tokens, out_tokens, api, api_req))
    offer = api_by_name.get(api_name)
    if offer is not None:
        st.caption(api_catalog_caption(offer, api))

# ---------------------------------------------------------------- self-hosted
with self_col:
    st.subheader("Self-hosted" + (" · in use" if mode == "Self-hosted" else ""))
    offer_name = choice(
        st.container(),
        offer_spec,
        "Fills the GPU-hour price from the catalog.",
        on_change=fill_gpu_price,
    )
    s1, s2, s3 = st.columns(3)
    gpu_hour = num(s1, "gpu_hour", 0.1, "What one GPU costs per hour (cloud price or amortised).")
    n_gpus = int(num(s2, "n_gpus", 1, "GPUs one replica runs on."))
    util = (
        num(s3, "util_pct", 5.0, "Share of the hours the replica is busy; idle hours are paid too.")
        / 100
    )
    s4, s5 = st.columns(2)
    peak_rps = num(s4, "peak_rps", 0.1, "Completed requests/s at full load, ignoring latency.")
    slo_rps = num(
        s5,
        "slo_rps",
        0.1,
        "Requests/s whose requests each meet the TTFT and TPOT limits set under *Take the "
        "throughput from a stored run* (goodput); the sum below names them.",
    )
    try:
        at_peak = cost.self_hosted_costs(gpu_hour, n_gpus, peak_rps, in_tokens, out_tokens, util)
        at_slo = cost.self_hosted_costs(gpu_hour, n_gpus, slo_rps, in_tokens, out_tokens, util)
    except ValueError as exc:
        st.error(f"Cannot price the deployment: {exc}.")
        st.stop()
    t1, t2 = st.columns(2)
    t1.metric(
        "Per request at the SLO",
        f"${at_slo.cost_per_request_usd:,.4g}",
        delta=f"${at_peak.cost_per_request_usd:,.4g} at peak",
        delta_color="off",
        delta_arrow="off",
        help="$/hour / requests per hour, at the SLO-meeting throughput × utilisation",
    )
    t2.metric(
        "Per 1M output tokens at the SLO",
        f"${at_slo.cost_per_mtok_output_usd:,.4g}",
        delta=f"${at_peak.cost_per_mtok_output_usd:,.4g} at peak",
        delta_color="off",
        delta_arrow="off",
    )
    slo_caption = st.empty()  # the worked sum names the SLO, read in the expander below

    gpu_offer = offer_by_name.get(offer_name)
    if gpu_offer is not None:
        st.caption(gpu_catalog_caption(gpu_offer, gpu_hour))

    with st.expander(
        "Take the throughput from a stored run",
        icon=":material/database:",
        expanded=query_text(RUN_PARAM) is not None,
    ):
        store, runs, linked = stored_runs(RUN_PARAM)
        o1, o2 = st.columns(2)
        slo_ttft = num(
            o1, "slo_ttft_ms", 50.0, "A request meets the SLO only if its TTFT is at most this."
        )
        slo_tpot = num(o2, "slo_tpot_ms", 5.0, "... and its TPOT is at most this.")
        run_id = None
        if not runs:
            st.caption("No stored runs yet: probe an endpoint or the built-in simulator first.")
        else:
            run_id = pick_run(runs, linked, RUN_PARAM)
        if run_id and store is not None:
            facts, problem = try_load_run_facts(
                store, run_id, Slo(ttft_ms=slo_ttft, tpot_ms=slo_tpot)
            )
            if facts is None:
                st.error(f"{problem}.", icon=":material/database:")
            elif not facts.rps:
                st.warning("This run has no completed requests to take a throughput from.")
            else:
                st.markdown(run_throughput_text(facts, slo_ttft, slo_tpot))

                def use_run(f: RunFacts = facts) -> None:
                    st.session_state.update(run_throughput_update(f))

                if not facts.goodput_rps:
                    st.warning(
                        "No request met this SLO: at this load the deployment cannot serve the "
                        "SLO at all. Loosen the SLO or probe at lower concurrency."
                    )
                st.button("Use this run's throughput", on_click=use_run, icon=":material/input:")
    slo_caption.caption(
        self_hosted_caption(n_gpus, gpu_hour, slo_rps, util, peak_rps, at_slo, slo_ttft, slo_tpot)
    )

# ---------------------------------------------------------------- per session
st.subheader("One user session: the history grows", divider="gray")
st.markdown(
    "A chat re-sends the whole conversation every turn: turn *k* sends the system prompt, "
    "*k* user messages and *k − 1* earlier answers. **Prompt caching** bills the part seen "
    "before at the cached-input price."
)
x1, x2, x3, x4, x5 = st.columns(5)
turns = int(num(x1, "turns", 1, "Requests in one conversation."))
sys_tokens = int(num(x2, "sys_tokens", 50, "Sent with every turn."))
user_tokens = int(num(x3, "user_tokens", 10, "What the user types per turn."))
asst_tokens = int(num(x4, "asst_tokens", 10, "Length of each answer."))
hit = num(x5, "hit_pct", 5.0, "Share of the repeated prefix the provider finds in its cache.") / 100
sys_warm = st.checkbox(
    "System prompt already cached on turn 1",
    value=True,
    key="sys_warm",
    bind="query-params",
    help="On: another session sent the same system prompt before, so turn 1 finds it in the "
    "cache. Off: each session pays for its system prompt in full once; caching starts on "
    "turn 2.",
)
try:
    shape = cost.SessionShape(turns, sys_tokens, user_tokens, asst_tokens)
    session = cost.session_cost(shape, api, hit, system_warm_from_turn_1=sys_warm)
except ValueError as exc:
    st.error(f"Cannot price the session: {exc}.")
    st.stop()
y1, y2, y3 = st.columns(3)
y1.metric("Session cost, with caching", f"${session.total_usd:,.4g}")
y2.metric("Without caching", f"${session.total_no_cache_usd:,.4g}")
y3.metric("Saved by caching", f"{session.savings_share:.0%}")
st.caption(session_caption(shape, session, mode))
st.plotly_chart(session_chart(session, hit), width="stretch")


def measured_sessions() -> StoredSessions | None:
    """The stored session run the user picks (None: none picked or none stored)."""
    try:
        session_store = Store()
        choices = session_run_choices(session_store)
    except Exception as exc:  # a broken or locked database file: say so, never a traceback
        st.error(f"Cannot open the run database: {exc}. Set INFERLAB_DB to a writable file.")
        return None
    linked = query_text(SESSION_RUN_PARAM)
    if linked and linked not in choices:
        st.warning(
            f"The link's `{SESSION_RUN_PARAM}` names no stored session run ('{linked}'); "
            "choose one below."
        )
        linked = None
        del st.query_params[SESSION_RUN_PARAM]
    if not choices:
        st.caption(
            "No stored session runs yet: probe with **Multi-turn sessions** on the Probe page "
            "or `inferlab probe --sessions N --turns T`."
        )
        return None
    run_id = pick_run(
        choices,
        linked,
        SESSION_RUN_PARAM,
        label="Session run",
        placeholder="Choose a stored session run",
        key="session_run_pick",
    )
    if not run_id:
        return None
    stored, problem = load_stored_sessions(session_store, run_id)
    if stored is None:
        st.error(f"{problem}.", icon=":material/database:")
    return stored


with st.expander(
    "Measured: price a stored session run",
    icon=":material/forum:",
    expanded=query_text(SESSION_RUN_PARAM) is not None,
):
    stored = measured_sessions()
    if stored is not None:
        measured = price_stored_sessions(stored, api, gpu_hour, n_gpus)
        st.markdown(
            f"**{measured.sessions} sessions × {measured.turns} turns**: per session "
            f"{measured.input_tokens:,.0f} input ({measured.cached_tokens:,.0f} cached), "
            f"{measured.output_tokens:,.0f} output tokens (the server's counts)."
        )
        z1, z2, z3, z4 = st.columns(4)
        z1.metric("Measured, API", f"${measured.api_usd:,.4g}")
        z2.metric("Measured, no caching", f"${measured.api_no_cache_usd:,.4g}")
        z3.metric(
            "Measured, self-hosted",
            "-" if measured.self_hosted_usd is None else f"${measured.self_hosted_usd:,.4g}",
        )
        z4.metric(
            "Calculator, API",
            f"${session.total_usd:,.4g}",
            delta=f"{measured.api_usd - session.total_usd:+,.4g} $ measured",
            delta_color="off",
        )
        for line in cost.explain_session_difference(measured, session, api):
            st.markdown(f"- {line}")
        update = shape_update(stored)
        if update is not None:

            def use_shape(u: dict[str, float | int] = update) -> None:
                st.session_state.update(u)

            st.button(
                "Set the calculator to this run's shape",
                on_click=use_shape,
                icon=":material/input:",
                help="Turns, system prompt, question and answer lengths fitted to the run's "
                "input tokens by turn; what is left of the difference is caching.",
            )
st.markdown("**Assumptions**")
for line in session_assumptions(sys_warm, hit, stored):
    st.markdown(f"- {line}")

# ---------------------------------------------------------------- three views + monthly
st.subheader("Per request, per token, per session — and the monthly bill", divider="gray")
sessions_pm = int(num(st.columns(4)[0], "sessions_pm", 1000, "Conversations per month."))
views, bill_note = cost_views(mode, session, sessions_pm, at_slo, slo_rps, n_gpus, gpu_hour, util)
v1, v2, v3, v4 = st.columns(4)
v1.metric("Per request", f"${views.per_request_usd:,.4g}")
v2.metric(
    "Per 1M tokens" + (" (output)" if mode != "API" else ""),
    f"${views.per_mtok_usd:,.4g}" if math.isfinite(views.per_mtok_usd) else "— (no tokens)",
)
v3.metric("Per session", f"${views.per_session_usd:,.4g}")
v4.metric("Monthly bill", f"${views.monthly_bill_usd:,.0f}", help=bill_note)
st.caption(f"Monthly bill: {bill_note}.")
w_1, w_2, w_3 = st.columns(3)
w_1.markdown(
    "**Per request** is right for single-shot features (classify, summarise, one answer) "
    "and for comparing with what one answer is worth to you."
)
w_2.markdown(
    "**Per token** is right for comparing providers, models or self-hosting on equal "
    "terms: it is the unit prices are quoted in, independent of how long answers are."
)
w_3.markdown(
    "**Per session** is right for chat products and per-user pricing: history makes later "
    "turns dearer, so it is what one user actually costs you."
)
if mode == "API":
    st.caption(
        f"Per request here is the session's average turn; the single request of the API section "
        f"({in_tokens:,} in / {out_tokens:,} out) costs ${api_req:,.4g}."
    )
else:
    st.caption(
        "Self-hosted per session = per request × turns: longer histories also slow prefill, "
        "which this leaves out."
    )

# ---------------------------------------------------------------- Q3
st.subheader("Exercise Q3: balance cost against satisfaction", divider="gray")
st.markdown(
    f"The chatbot (A) costs ${CHATBOT.cost_per_request_usd:.2f} per request and "
    f"{CHATBOT.satisfaction:.0%} of its users are satisfied. An alternative (B, an example) is a "
    "larger model that costs more and pleases more. Which is cheaper once unhappy users count?"
)
e1, e2, e3, e4, e5 = st.columns(5)
ex_cost = num(e1, "ex_cost", 0.01, "What one request of A costs.")
ex_sat = num(e2, "ex_sat_pct", 1.0, "Share of A's users who are satisfied.") / 100
ex_cost_b = num(e3, "ex_cost_b", 0.01, "What one request of B costs.")
ex_sat_b = num(e4, "ex_sat_b_pct", 1.0, "Share of B's users who are satisfied.") / 100
loss = num(e5, "ex_loss", 0.1, "What one dissatisfied user costs you (churn, support, re-asks).")
try:
    per_sat_a = cost.cost_per_satisfied_request_usd(ex_cost, ex_sat)
    per_sat_b = cost.cost_per_satisfied_request_usd(ex_cost_b, ex_sat_b)
    breakeven = cost.dissatisfaction_breakeven_usd(ex_cost, ex_sat, ex_cost_b, ex_sat_b)
except ValueError as exc:
    st.error(f"Cannot compare A and B: {exc}.")
    st.stop()
z1, z2, z3 = st.columns(3)
z1.metric("A: cost per satisfied answer", f"${per_sat_a:,.4g}", help="cost / satisfaction")
z2.metric("B: cost per satisfied answer", f"${per_sat_b:,.4g}")
z3.metric(
    "Break-even loss per unhappy user",
    "none" if breakeven is None else f"${breakeven:,.3g}",
    help="(cost B − cost A) / (satisfaction B − satisfaction A)",
)
verdict, trade_off = exercise_verdict(
    ex_cost, ex_sat, ex_cost_b, ex_sat_b, loss, breakeven, sessions_pm * turns
)
st.info(verdict, icon=":material/balance:" if trade_off else None)
st.plotly_chart(
    satisfaction_chart(ex_cost, ex_sat, ex_cost_b, ex_sat_b, breakeven, loss), width="stretch"
)
if (PAGES_DIR / "quality.py").exists():
    st.page_link(
        "pages/quality.py",
        label="Complete Q3 on the Quality page: what does satisfaction cost in speed and accuracy?",
        icon=":material/arrow_forward:",
    )

st.divider()
share_block(
    "cost",
    COST_PARAMS,
    COST_CHOICES,
    {"mode": mode, "api": api_name, "gpu_offer": offer_name},
    [PRICE_EDIT_PARAM, RUN_PARAM, SESSION_RUN_PARAM, "sys_warm"],
)
