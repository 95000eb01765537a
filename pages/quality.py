"""Quality: options compared on quality, speed and cost; the chatbot exercise's Q3; the quality probe."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inferlab.charts.quality import satisfaction_curve, tradeoff_scatter
from inferlab.exercise import CHATBOT
from inferlab.quality import (
    METRICS,
    Candidate,
    best_option,
    compare_to_baseline,
    metric_value,
    pareto_front,
    violations,
)
from inferlab.quality_page import (
    AXIS_LABELS,
    BASELINE_PARAM,
    CANDIDATE_COLUMNS,
    CHOICE_PARAMS,
    EXAMPLE_CANDIDATES,
    NUMBER_PARAMS,
    OBJECTIVE_LABELS,
    OPTIONAL_PARAMS,
    TABLE_PARAM,
    candidates_from_frame,
    candidates_to_frame,
    check_quality_params,
    constraints_from,
    decode_table,
    encode_table,
    parse_csv,
    satisfaction_model,
    to_csv,
)
from inferlab.share import share_url

NUM = {p.name: p for p in NUMBER_PARAMS}
OPT = {p.name: p for p in OPTIONAL_PARAMS}
CHOICE = {c.name: c for c in CHOICE_PARAMS}
EXAMPLES = list(EXAMPLE_CANDIDATES)
# Cost right after quality: the two columns every comparison needs.
COLUMN_ORDER = [
    "name",
    "quality_pct",
    "cost_per_request_usd",
    "ttft_ms",
    "tpot_ms",
    "output_tokens",
    "p95_latency_s",
    "error_rate_pct",
    "price_per_mtok_usd",
    "source",
]

st.title("Quality: what does speed cost in answers?")
st.markdown(
    "A faster or cheaper option is only better if its answers are still good enough. "
    "Compare **options** (models, deployments, settings) on quality, latency and cost, "
    "see which ones are **Pareto-optimal** (no other option beats them on both axes), "
    "and pick the best one under **your constraints**."
)

# ---------------------------------------------------------------- the candidates table
query = st.query_params.to_dict()
if "q_table" not in st.session_state:
    notes: list[str] = []
    table = EXAMPLES
    if TABLE_PARAM in query:
        raw = query[TABLE_PARAM]
        try:
            table, problems = decode_table(raw[-1] if isinstance(raw, list) else raw)
            notes += [f"In the link's table: {p}" for p in problems]
        except ValueError as exc:
            notes.append(
                f"The link's `{TABLE_PARAM}` (the options table) was ignored: {exc}. "
                "Showing the example options instead."
            )
    st.session_state.q_table = table
    st.session_state.q_table_notes = notes
    st.session_state.q_editor_v = 0


def replace_table(candidates: list[Candidate], notes: list[str] | None = None) -> None:
    st.session_state.q_table = candidates
    st.session_state.q_table_notes = notes or []
    st.session_state.q_editor_v += 1


def load_exercise() -> None:
    replace_table(EXAMPLES)
    for p in NUMBER_PARAMS:
        st.session_state[p.name] = p.default
    for p in OPTIONAL_PARAMS:
        st.session_state[p.name] = None
    for c in CHOICE_PARAMS:
        st.session_state[c.name] = c.default
    st.session_state[BASELINE_PARAM] = EXAMPLES[0].name


for note in st.session_state.q_table_notes:
    st.warning(note, icon=":material/link_off:")

st.subheader("Options")
head, exercise_button = st.columns([3, 1], vertical_alignment="center")
head.caption(
    "Edit any cell, add or delete rows. Blank cells are unknown. The shipped rows are "
    "**examples with assumed numbers** for the chatbot exercise, not measurements; "
    "the Source column says where each row's numbers come from."
)
exercise_button.button(
    "Load the chatbot exercise",
    on_click=load_exercise,
    icon=":material/school:",
    help="Resets the table and the satisfaction assumption to the exercise's example options.",
)

column_config = {}
for col in CANDIDATE_COLUMNS:
    if not col.numeric:
        column_config[col.key] = st.column_config.TextColumn(
            col.label, help=col.help, width="medium" if col.key == "name" else "large"
        )
    else:
        fmt = "$%.4g" if col.key.endswith("_usd") else "%g"
        column_config[col.key] = st.column_config.NumberColumn(
            col.label, help=col.help, min_value=col.min_value, max_value=col.max_value, format=fmt
        )
edited = st.data_editor(
    candidates_to_frame(st.session_state.q_table),
    column_order=COLUMN_ORDER,
    key=f"q_editor_{st.session_state.q_editor_v}",
    num_rows="dynamic",
    hide_index=True,
    column_config=column_config,
    width="stretch",
)
cands, table_problems = candidates_from_frame(edited)
for problem in table_problems:
    st.warning(problem, icon=":material/table:")
names = [c.name for c in cands]

if cands == EXAMPLES:
    if TABLE_PARAM in st.query_params:
        del st.query_params[TABLE_PARAM]
else:
    st.query_params[TABLE_PARAM] = encode_table(cands)

imp, exp, runs_col = st.columns(3)
with imp.popover("Import CSV", icon=":material/upload:", width="stretch"):
    upload = st.file_uploader(
        "CSV with a header row: name plus any of the columns above (keys or labels)",
        type=["csv"],
        key="q_csv",
    )
    if upload is not None:
        try:
            imported, csv_notes = parse_csv(upload.getvalue())
        except ValueError as exc:
            st.error(f"{upload.name} cannot be used: {exc}.", icon=":material/error:")
        else:
            st.caption(f"{len(imported)} option(s) in {upload.name}.")
            a, b = st.columns(2)
            a.button(
                "Replace the table",
                on_click=replace_table,
                args=(imported, csv_notes),
                key="q_csv_replace",
            )
            b.button(
                "Add to the table",
                on_click=replace_table,
                args=([*cands, *imported], csv_notes),
                key="q_csv_add",
            )
exp.download_button(
    "Export CSV",
    data=to_csv(cands),
    file_name="inferlab-options.csv",
    mime="text/csv",
    icon=":material/download:",
    width="stretch",
)


def stored_runs() -> pd.DataFrame | None:
    from inferlab.store import Store, StoreError

    try:
        frame: pd.DataFrame = Store().list_runs(limit=200)
        return frame
    except StoreError as exc:
        st.error(f"The run store cannot be read: {exc}", icon=":material/database:")
        return None


with runs_col.popover("Add stored runs", icon=":material/database:", width="stretch"):
    st.caption(
        "Speed and errors come from the run (TTFT and TPOT medians, p95 end-to-end "
        "latency, error rate); quality from its quality probe, if it has one. Type cost in."
    )
    runs = stored_runs()
    if runs is not None and runs.empty:
        st.info("No runs stored yet: run a probe (or the quality probe below) first.")
    elif runs is not None:
        labels = {
            str(r["run_id"]): f"{r['label'] or r['run_id']} · {r['model']} · {r['status']}"
            for r in runs.to_dict("records")
        }
        picked = st.multiselect(
            "Runs", list(labels), format_func=labels.__getitem__, key="q_runs_pick"
        )

        def add_runs(run_ids: list[str]) -> None:
            from inferlab.quality_runs import candidate_from_summary
            from inferlab.store import Store, StoreError
            from inferlab.store_quality import QualityStore

            store = Store()
            added, notes = [], []
            for run_id in run_ids:
                try:
                    info = store.get_run(run_id)
                    summary = store.summary(run_id)
                    meta = store.run_metadata(run_id)
                    quality = QualityStore(store.path).exact_match_pct(run_id)
                except StoreError as exc:
                    notes.append(f"Run {run_id} could not be read: {exc}")
                    continue
                name = (info.label if info and info.label else run_id) or run_id
                added.append(candidate_from_summary(summary, name, quality, meta))
            replace_table([*cands, *added], notes)

        st.button(
            "Add to the table",
            on_click=add_runs,
            args=(picked,),
            disabled=not picked,
            key="q_runs_add",
        )

# ---------------------------------------------------------------- link check
for message in check_quality_params(query, names):
    st.warning(message, icon=":material/link_off:")

# Areas filled once every input below has been read.
st.subheader("Trade-off chart")
axes = st.columns(3)


def choice(col: st.delta_generator.DeltaGenerator, name: str, help_text: str) -> str:
    c = CHOICE[name]
    keys = list(c.options)
    value = col.selectbox(
        c.label,
        keys,
        index=keys.index(c.default),
        format_func=c.options.__getitem__,
        key=name,
        bind="query-params",
        help=help_text,
    )
    return str(value)


x_key = choice(axes[0], "x", "What goes along the bottom.")
y_key = choice(axes[1], "y", "What goes up the side.")
size_key = choice(axes[2], "size", "A third criterion, shown by marker size and colour.")
chart_area = st.container()

st.subheader("Constraints and the best option")
limits = st.columns(4)


def limit(
    col: st.delta_generator.DeltaGenerator, name: str, step: float, help_text: str
) -> float | None:
    p = OPT[name]
    value = col.number_input(
        p.label,
        min_value=float(p.min_value),
        max_value=float(p.max_value),
        value=None,
        step=step,
        key=name,
        bind="query-params",
        placeholder="no limit",
        help=help_text,
        format="%g",
    )
    return None if value is None else float(value)


min_quality = limit(limits[0], "min_quality_pct", 1.0, "Options below this quality are ruled out.")
max_p95 = limit(
    limits[1],
    "max_p95_s",
    0.5,
    "Checked against the measured p95 latency, or TTFT + TPOT × N when none was measured.",
)
max_cost = limit(limits[2], "max_cost_usd", 0.01, "Options dearer than this per request are out.")
goal = choice(limits[3], "goal", "How the qualifying options are ranked.")
best_area = st.container()

# ---------------------------------------------------------------- Q3: the satisfaction model
st.subheader("Exercise Q3: balance cost against user satisfaction")
st.markdown(
    f"The chatbot (TTFT {CHATBOT.ttft_ms / 1000:g} s, TPOT {CHATBOT.tpot_ms:g} ms, "
    f"{CHATBOT.tokens} tokens, so {CHATBOT.q1_total_s:g} s per answer) costs "
    f"**${CHATBOT.cost_per_request_usd:.2f} per request** and satisfies "
    f"**{CHATBOT.satisfaction:.0%} of users**. *How would you balance cost against user "
    "satisfaction?* Nobody can measure satisfaction here, so the page makes the assumption "
    "explicit: set how strongly satisfaction follows latency and quality, and watch which "
    "options win or lose as you change it."
)
if st.session_state.get(BASELINE_PARAM) not in names and names:
    st.session_state[BASELINE_PARAM] = names[0]
s1, s2, s3, s4, s5 = st.columns(5)
baseline_name = s1.selectbox(
    "Baseline option",
    names,
    key=BASELINE_PARAM,
    bind="query-params",
    help="The option whose satisfaction you know; the others are estimated from it.",
)


def number(col: st.delta_generator.DeltaGenerator, name: str, step: float, help_text: str) -> float:
    p = NUM[name]
    return float(
        col.number_input(
            p.label,
            min_value=float(p.min_value),
            max_value=float(p.max_value),
            value=float(p.default),
            step=step,
            key=name,
            bind="query-params",
            help=help_text,
            format="%g",
        )
    )


sat_base = number(
    s2, "sat_base_pct", 1.0, "Share of users satisfied with the baseline (exercise: 85%)."
)
sat_per_s = number(
    s3,
    "sat_per_s",
    0.5,
    "Percentage points of satisfaction lost per extra second of total latency.",
)
fast_enough = number(s4, "fast_enough_s", 0.5, "Below this total latency, faster no longer helps.")
sat_per_q = number(
    s5,
    "sat_per_quality",
    0.1,
    "Points of satisfaction per point of quality (share of correct answers).",
)
baseline = next((c for c in cands if c.name == baseline_name), None)
model = satisfaction_model(baseline, sat_base, sat_per_s, fast_enough, sat_per_q)

if model is None or baseline is None:
    st.info(
        "Give the baseline option a TTFT, TPOT and output tokens, so its total latency is "
        "known; satisfaction is estimated relative to it.",
        icon=":material/info:",
    )
else:
    st.info(model.describe(), icon=":material/psychology:")
    st.plotly_chart(satisfaction_curve(model, cands, baseline.name), width="stretch")
    rows = []
    for c in cands:
        sat = model.expected_pct(c)
        base_sat = model.expected_pct(baseline)
        cost, cost0 = c.cost_usd, baseline.cost_usd
        flip = model.breakeven_pct_per_s(c)
        rows.append(
            {
                "Option": c.name,
                "Cost/request ($)": cost,
                "Δ cost per 1k requests ($)": None
                if cost is None or cost0 is None
                else (cost - cost0) * 1000,
                "Total latency (s)": c.total_latency_s,
                "Quality (%)": c.quality_pct,
                "Expected satisfaction (%)": sat,
                "Δ satisfaction (points)": None
                if sat is None or base_sat is None
                else sat - base_sat,
                "$ per satisfied user": None if cost is None or not sat else cost / (sat / 100),
                "Ties baseline at (points/s)": flip,
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "Cost/request ($)": st.column_config.NumberColumn(format="$%.4g"),
            "Δ cost per 1k requests ($)": st.column_config.NumberColumn(format="%+.2f"),
            "Latency (s)": st.column_config.NumberColumn(
                format="%.3g", help="Total latency TTFT + TPOT × N."
            ),
            "Satisfaction (%)": st.column_config.NumberColumn(
                format="%.1f", help="Expected satisfaction under your assumption."
            ),
            "Δ satisfaction": st.column_config.NumberColumn(
                format="%+.1f", help="Percentage points against the baseline."
            ),
            "$ per satisfied user": st.column_config.NumberColumn(
                format="$%.4g", help="Cost per request / share of satisfied users."
            ),
            "Ties baseline at (points/s)": st.column_config.NumberColumn(
                format="%.3g",
                help="The latency sensitivity at which an option that trades speed for "
                "quality (or back) is exactly as satisfying as the baseline.",
            ),
        },
    )
    st.markdown("\n\n".join(compare_to_baseline(c, baseline, model) for c in cands))
    with st.expander(
        "How to read this (there is no single right answer)", icon=":material/lightbulb:"
    ):
        st.markdown(
            """
- **Cost and satisfaction pull in different directions.** Faster hardware usually costs
  more per request; a smaller model is cheaper and faster but answers worse. An option
  that is cheaper *and* faster *and* as accurate (it *dominates* the baseline) is an
  easy win; every other change is a trade.
- **The verdict depends on the assumption.** The column *Ties the baseline at* says how
  strongly users must care about a second of waiting for a faster-but-worse option to pay
  off. If you are unsure about that number, the choice is uncertain too: measure
  satisfaction (an A/B test, a survey) before committing.
- **Price a point of satisfaction.** "Each point gained buys $X per 1,000 requests" lets
  you weigh a change against what a satisfied user is worth to you (a retained customer,
  a deflected support ticket).
- **Check the constraints.** A cheaper option is no option if it breaks a quality floor
  or a latency limit; set them above.
"""
        )

# ---------------------------------------------------------------- fill the chart and the best option
constraints = constraints_from(min_quality, max_p95, max_cost)
choice_result = best_option(cands, constraints, goal, model)
with chart_area:
    st.plotly_chart(
        tradeoff_scatter(cands, x_key, y_key, size_key, model, best=choice_result.best),
        width="stretch",
    )
    missing = [
        c.name
        for c in cands
        if metric_value(c, x_key, model) is None or metric_value(c, y_key, model) is None
    ]
    st.caption(
        "Grey points are **dominated**: another option is at least as good on both axes and "
        "better on one. The dotted line joins the Pareto-optimal options."
        + (
            f" Not plotted (a value on these axes is unknown): {', '.join(missing)}."
            if missing
            else ""
        )
    )

with best_area:
    if choice_result.best is None:
        st.warning(choice_result.reason, icon=":material/block:")
    else:
        st.success(
            f"**Best: {choice_result.best}.** {choice_result.reason}", icon=":material/verified:"
        )
    crit = ("quality_pct", "p95_latency_s", "cost_per_request_usd")
    complete = [c for c in cands if all(metric_value(c, k) is not None for k in crit)]
    front = pareto_front(
        [tuple(float(metric_value(c, k) or 0.0) for k in crit) for c in complete],
        [METRICS[k].sense for k in crit],
    )
    optimal = {c.name for c, o in zip(complete, front, strict=True) if o}
    summary_rows = []
    for c in cands:
        why = violations(c, constraints)
        summary_rows.append(
            {
                "Option": c.name,
                "Quality (%)": c.quality_pct,
                "Latency for the limit (s)": c.slo_latency_s,
                "Latency is": ("measured p95" if c.p95_latency_s is not None else "estimated")
                if c.slo_latency_s is not None
                else "unknown",
                "Cost per request ($)": c.cost_usd,
                "Error rate (%)": c.error_rate_pct,
                "Pareto-optimal (quality, latency, cost)": "yes"
                if c.name in optimal
                else ("no" if c in complete else "unknown"),
                "Meets the constraints": "yes" if not why else "no: " + ", ".join(why),
            }
        )
    st.dataframe(
        pd.DataFrame(summary_rows),
        hide_index=True,
        width="stretch",
        column_config={
            "Latency for the limit (s)": st.column_config.NumberColumn(format="%.3g"),
            "Cost per request ($)": st.column_config.NumberColumn(format="$%.4g"),
        },
    )

# ---------------------------------------------------------------- share link
st.divider()
values: dict[str, object] = {
    "x": AXIS_LABELS[x_key],
    "y": AXIS_LABELS[y_key],
    "size": AXIS_LABELS[size_key],
    "goal": OBJECTIVE_LABELS[goal],
    "min_quality_pct": min_quality,
    "max_p95_s": max_p95,
    "max_cost_usd": max_cost,
    "sat_base_pct": sat_base,
    "sat_per_s": sat_per_s,
    "fast_enough_s": fast_enough,
    "sat_per_quality": sat_per_q,
    BASELINE_PARAM: baseline_name,
    TABLE_PARAM: None if cands == EXAMPLES else encode_table(cands),
}
defaults: dict[str, object] = {c.name: c.options[c.default] for c in CHOICE_PARAMS}
defaults |= {p.name: float(p.default) for p in NUMBER_PARAMS}
defaults[BASELINE_PARAM] = names[0] if names else None
st.markdown("**Share this view**: the link reopens the page with these options, axes and inputs:")
st.code(
    share_url(st.context.url or "http://localhost:8501/quality", values, defaults), language=None
)
