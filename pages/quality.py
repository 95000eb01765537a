"""Quality: options compared on quality, speed and cost; the chatbot exercise's Q3; the quality probe."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from inferlab.charts.quality import quality_scores_chart, satisfaction_curve, tradeoff_scatter
from inferlab.dashboard.jobs import JobManager, get_manager
from inferlab.dashboard.params import share_url
from inferlab.dashboard.quality import (
    AXIS_LABELS,
    BASELINE_PARAM,
    CHOICE_PARAMS,
    DEFAULT_TEMPS,
    EVAL_PARAM,
    NUMBER_PARAMS,
    OBJECTIVE_LABELS,
    OPTIONAL_PARAMS,
    OPTIONS_HELP,
    OPTIONS_WIDTHS,
    PROBE_NUMBER_PARAMS,
    PROBE_TARGETS,
    RUN_PARAM,
    SATISFACTION_HELP,
    TEMPS_PARAM,
    QualityProbeForm,
    answers_frame,
    baseline_comparison,
    check_probe_params,
    check_quality_params,
    constraints_from,
    editor_columns,
    exercise_state,
    find_option,
    initial_table,
    load_quality_group,
    option_names,
    options_frame,
    quality_group_labels,
    satisfaction_frame,
    satisfaction_model,
    share_defaults,
    shares_probes,
    shown_quality_job,
    start_quality_probe,
    stored_run_labels,
    temperature_frame,
)
from inferlab.dashboard.share import share_box
from inferlab.dashboard.widgets import candidate_column_config, flag_unknown_params, visitor_id
from inferlab.dashboard.widgets import number as url_number
from inferlab.exercise import CHATBOT
from inferlab.probe.quality import list_eval_sets
from inferlab.quality import Candidate, best_option
from inferlab.quality.runs import candidates_from_quality_runs, candidates_from_runs, run_names
from inferlab.quality.table import (
    EXAMPLE_CANDIDATES,
    TABLE_PARAM,
    candidates_from_frame,
    candidates_to_frame,
    encode_table,
    parse_csv,
    to_csv,
)
from inferlab.quality.tradeoff import satisfaction_rows, unplotted
from inferlab.store import Store, StoreError, default_db_path
from inferlab.store.quality import QualityStore

NUM = {p.name: p for p in NUMBER_PARAMS}
OPT = {p.name: p for p in OPTIONAL_PARAMS}
PROBE_NUM = {p.name: p for p in PROBE_NUMBER_PARAMS}
CHOICE = {c.name: c for c in CHOICE_PARAMS}
EXAMPLES = list(EXAMPLE_CANDIDATES)
PROGRESS_REFRESH_S = 1.0  # how often a running quality probe's progress is redrawn


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """The process-wide job registry (the Probe page's too): a running quality probe is
    found again after a page switch."""
    return get_manager()


def secrets_table() -> Mapping[str, object]:
    try:
        return {k: st.secrets[k] for k in st.secrets}
    except Exception:  # no secrets.toml: Streamlit raises its own error type
        return {}


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
    st.session_state.q_table, st.session_state.q_table_notes = initial_table(query)
    st.session_state.q_editor_v = 0


def replace_table(candidates: list[Candidate], notes: list[str] | None = None) -> None:
    st.session_state.q_table = candidates
    st.session_state.q_table_notes = notes or []
    st.session_state.q_editor_v += 1


def load_exercise() -> None:
    replace_table(EXAMPLES)
    st.session_state.update(exercise_state())


for note in st.session_state.q_table_notes:
    st.warning(note, icon=":material/link_off:")

st.subheader("Options")
head, exercise_button = st.columns([3, 1], vertical_alignment="center")
head.caption(
    "Edit any cell, add or delete rows. A grey *None* is an unknown value: type a number, "
    "or leave it. The shipped rows are "
    "**examples with assumed numbers** for the chatbot exercise, not measurements "
    "(*Show every column* shows each row's source)."
)
exercise_button.button(
    "Load the chatbot exercise",
    on_click=load_exercise,
    icon=":material/school:",
    help="Resets the table and the satisfaction assumption to the exercise's example options.",
)

all_columns = st.toggle(
    "Show every column",
    key="q_all_columns",
    help="Also show the error rate, the price per million tokens and each row's source. "
    "Hidden columns keep their values.",
)
edited = st.data_editor(
    candidates_to_frame(st.session_state.q_table),
    column_order=editor_columns(all_columns),
    key=f"q_editor_{st.session_state.q_editor_v}",
    num_rows="dynamic",
    hide_index=True,
    column_config=candidate_column_config(),
    width="stretch",
)
cands, table_problems = candidates_from_frame(edited)
for problem in table_problems:
    st.warning(problem, icon=":material/table:")
names = option_names(cands)

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


@st.cache_data(ttl=30, show_spinner=False)
def list_runs_cached(db_path: str) -> pd.DataFrame:
    frame: pd.DataFrame = Store(db_path).list_runs(limit=200)
    return frame


@st.cache_data(ttl=30, show_spinner=False)
def quality_scores_cached(db_path: str) -> pd.DataFrame:
    frame: pd.DataFrame = QualityStore(db_path).scores()
    return frame


def stored_runs() -> pd.DataFrame | None:
    try:
        return list_runs_cached(str(default_db_path()))
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
        labels = stored_run_labels(runs)
        runs_rows = runs.to_dict("records")
        picked = st.multiselect(
            "Runs", list(labels), format_func=labels.__getitem__, key="q_runs_pick"
        )

        def add_runs(run_ids: list[str]) -> None:
            try:
                added, notes = candidates_from_runs(Store(), run_ids, run_names(runs_rows))
            except StoreError as exc:
                added, notes = [], [f"The run store cannot be read: {exc}"]
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
    "Compared with each option's p95 end-to-end latency (from a stored run, or typed in the "
    "p95 column). An option without a p95 is compared with its typical TTFT + TPOT × N "
    "instead, marked 'typical' in the table: a p95 is higher, so it may still break the limit.",
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
    return float(url_number(col, NUM[name], step, help_text))


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
baseline = find_option(cands, baseline_name)
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
    st.dataframe(
        satisfaction_frame(satisfaction_rows(cands, baseline, model)),
        hide_index=True,
        width="stretch",
        column_config={
            k: st.column_config.TextColumn(k, help=v) for k, v in SATISFACTION_HELP.items()
        },
    )
    st.markdown(baseline_comparison(cands, baseline, model))
    with st.expander(
        "How to read this (there is no single right answer)", icon=":material/lightbulb:"
    ):
        st.markdown(
            """
- **Cost and satisfaction pull in different directions.** Faster hardware usually costs
  more per request; a smaller model is cheaper and faster but answers worse. An option
  that is cheaper *and* faster *and* as accurate (it *dominates* the baseline) is an
  easy win; every other change is a trade.
- **The verdict depends on the assumption.** The column *Break-even* says how
  strongly users must care about a second of waiting for a faster-but-worse option to pay
  off. If you are unsure about that number, the choice is uncertain too: measure
  satisfaction (an A/B test, a survey) before committing.
- **Price a point of satisfaction.** "Each point gained costs $X per 1,000 requests" lets
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
    missing = unplotted(cands, x_key, y_key, model)
    st.caption(
        "Grey points are **dominated**: another option is at least as good on both axes and "
        "better on one. The dotted line joins the Pareto-optimal options."
        + (
            " Satisfaction is an estimate from the assumption you set in Exercise Q3 below."
            if "satisfaction_pct" in (x_key, y_key, size_key)
            else ""
        )
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
    st.dataframe(
        options_frame(cands, constraints),
        hide_index=True,
        width="stretch",
        column_config={
            k: st.column_config.TextColumn(k, help=v, width=OPTIONS_WIDTHS.get(k))
            for k, v in OPTIONS_HELP.items()
        },
    )

# ---------------------------------------------------------------- the quality probe
st.subheader("Quality probe: score an endpoint's answers, timed like any probe")
st.markdown(
    "Send every question of an **evaluation set** to an endpoint, several times per "
    "temperature, and score the answers: **accuracy** (exact match and ROUGE-L overlap "
    "with the reference), **consistency** (do repeats agree?) and **reliability** (errors "
    "and their classes). Every request is timed like a normal probe and saved as a run "
    "tagged *quality*, so quality and speed of the same endpoint sit side by side."
)
eval_sets = list_eval_sets()
for message in check_probe_params(query, list(eval_sets)):
    st.warning(message, icon=":material/link_off:")


def probe_number(col: st.delta_generator.DeltaGenerator, name: str, help_text: str) -> float:
    p = PROBE_NUM[name]
    return float(url_number(col, p, 1 if p.integer else 5.0, help_text))


with st.container(border=True):
    t1, t2 = st.columns([2, 1])
    target_kind = t1.radio(
        "Endpoint",
        list(PROBE_TARGETS),
        format_func=PROBE_TARGETS.__getitem__,
        key="q_target",
        bind="query-params",
        horizontal=True,
        help="The simulator returns the set's reference answers with the accuracy and "
        "determinism you set: a way to try the probe, not a model.",
    )
    set_names = list(eval_sets)
    eval_name = t2.selectbox(
        "Evaluation set",
        set_names,
        key=EVAL_PARAM,
        bind="query-params",
        help="Shipped sets, written for inferlab (CC0); see data/evals/README.md.",
    )
    url, model_name, key_choice, typed_key, env_name = "", "", "none", None, None
    if target_kind == "sim":
        a1, a2 = st.columns(2)
        sim_accuracy = probe_number(
            a1, "sim_accuracy_pct", "Share of prompts the simulator answers with the reference."
        )
        sim_determinism = probe_number(
            a2,
            "sim_determinism_pct",
            "100%: repeats always agree. Lower: repeats at temperature > 0 may differ.",
        )
    else:
        u1, u2 = st.columns([2, 1])
        url = u1.text_input(
            "API root URL", placeholder="http://127.0.0.1:8000/v1", key="q_url"
        ).strip()
        model_name = u2.text_input("Model", key="q_model").strip()
        k1, k2 = st.columns([1, 2])
        key_choice = k1.radio(
            "API key",
            ["none", "field", "env"],
            format_func={
                "none": "No key",
                "field": "Type it (kept in this session only)",
                "env": "Environment variable",
            }.__getitem__,
            key="q_key_source",
        )
        if key_choice == "field":
            typed_key = k2.text_input("Key", type="password", key="q_key")
        elif key_choice == "env":
            env_name = k2.text_input("Variable name", placeholder="OPENAI_API_KEY", key="q_key_env")
    r1, r2, r3, r4 = st.columns(4)
    repeats = int(probe_number(r1, "q_repeats", "Requests per prompt and temperature."))
    temps_text = r2.text_input(
        "Temperatures",
        value=DEFAULT_TEMPS,
        key=TEMPS_PARAM,
        bind="query-params",
        help="Comma-separated, 0 to 2; one run per temperature.",
    )
    concurrency = int(probe_number(r3, "q_concurrency", "Requests in flight at once."))
    max_tokens = int(probe_number(r4, "q_max_tokens", "Answer length limit."))
    shared = shares_probes(secrets_table())
    earlier = shown_quality_job(
        job_manager(), st.session_state.get("q_job"), shared=shared, visitor=visitor_id()
    )
    run_clicked = st.button(
        "Run the quality probe",
        icon=":material/play_arrow:",
        type="primary",
        disabled=earlier is not None and earlier.active,
        help="One quality probe at a time per visitor; cancel the running one to start another.",
    )


if run_clicked:
    form = QualityProbeForm(
        target=target_kind,
        eval_set=eval_name,
        eval_path=eval_sets[eval_name] if eval_name else None,
        temperatures=temps_text,
        repeats=repeats,
        concurrency=concurrency,
        max_tokens=max_tokens,
        sim_accuracy_pct=sim_accuracy if target_kind == "sim" else 0.0,
        sim_determinism_pct=sim_determinism if target_kind == "sim" else 0.0,
        url=url,
        model=model_name,
        key_source=key_choice,
        typed_key=typed_key,
        key_env=env_name,
    )
    try:
        started = start_quality_probe(
            job_manager(),
            form,
            session_id=visitor_id(),  # the Probe page's visitor: one cap for both pages
            environ=os.environ,
            secrets=secrets_table(),
        )
    except ValueError as exc:  # JobError, KeySourceError: a message for the user
        st.error(str(exc), icon=":material/error:")
    else:
        st.session_state["q_job"] = started.job_id
        st.rerun()  # redraw the form with its run button disabled while the probe runs

quality_job = shown_quality_job(
    job_manager(), st.session_state.get("q_job"), shared=shared, visitor=visitor_id()
)
if quality_job is not None:
    st.session_state["q_job"] = quality_job.job_id
if quality_job is not None and not quality_job.active:
    finished = quality_job.snapshot()
    if st.session_state.get("q_job_seen") != finished.job_id:
        # First run after the job ended: show its runs (the link names them).
        st.session_state["q_job_seen"] = finished.job_id
        list_runs_cached.clear()
        quality_scores_cached.clear()
        if finished.group_id is not None and finished.state != "failed":
            st.query_params[RUN_PARAM] = finished.group_id


@st.fragment(run_every=PROGRESS_REFRESH_S if quality_job and quality_job.active else None)
def quality_progress() -> None:
    if quality_job is None:
        return
    snap = quality_job.snapshot()
    if not snap.active and st.session_state.get("q_job_seen") != snap.job_id:
        st.rerun()  # it just ended: refresh the whole page to show its scores
    st.progress(snap.fraction, text=snap.text)
    for warning in snap.warnings:
        st.warning(warning, icon=":material/warning:")
    if snap.state == "failed" and snap.error:
        st.error(snap.error, icon=":material/error:")
    if snap.active:
        st.button(
            "Cancel the quality probe",
            on_click=quality_job.cancel,
            icon=":material/stop:",
            key="q_cancel",
        )
        st.caption(
            "The probe runs in the background: switch pages and come back, its progress "
            "stays here. Cancelling keeps and scores the answers received so far."
        )


quality_progress()

shown_group = st.query_params.get(RUN_PARAM)
qscores: pd.DataFrame | None
try:
    qscores = quality_scores_cached(str(default_db_path()))
except StoreError as exc:
    qscores = None
    st.error(f"Stored quality runs cannot be read: {exc}", icon=":material/database:")
group = None
if qscores is not None and shown_group:
    try:
        group = load_quality_group(Store(), qscores, shown_group)
    except StoreError as exc:
        st.error(f"Stored quality runs cannot be read: {exc}", icon=":material/database:")
    else:
        if group is None:
            st.warning(
                f"The link's `{RUN_PARAM}` names quality run '{shown_group}', which is not in "
                "this dashboard's database. Run the probe, or pick a stored run below.",
                icon=":material/link_off:",
            )
if group is not None:
    if group.speed_error:
        st.warning(group.speed_error, icon=":material/database:")
    st.markdown(group.heading)
    st.plotly_chart(quality_scores_chart(group.report), width="stretch")
    st.dataframe(
        temperature_frame(group),
        hide_index=True,
        width="stretch",
        column_config={
            k: st.column_config.NumberColumn(format="%.1f")
            for k in (
                "Exact match (%)",
                "ROUGE-L (%)",
                "Identical repeats (%)",
                "Pairwise similarity (%)",
                "Error rate (%)",
                "TTFT p50 (ms)",
                "TPOT p50 (ms)",
            )
        }
        | {"p95 latency (s)": st.column_config.NumberColumn(format="%.3g")},
    )
    st.caption(
        "Exact match and ROUGE-L count answered requests; failed requests and empty "
        "answers are in the error rate. Identical repeats: share of a prompt's answers "
        "equal to its most common answer, averaged over prompts."
    )
    with st.expander("Answers", icon=":material/list:"):
        st.dataframe(answers_frame(group.outputs), hide_index=True, width="stretch")

    def add_quality_runs(rows: pd.DataFrame) -> None:
        replace_table([*cands, *candidates_from_quality_runs(Store(), rows.to_dict("records"))])

    st.button(
        "Add these runs to the options table",
        on_click=add_quality_runs,
        args=(group.scores,),
        icon=":material/add:",
        help="One option per temperature: quality = exact match, speed and errors measured; "
        "type the cost in.",
    )
if qscores is not None and not qscores.empty:
    with st.expander("Stored quality runs", icon=":material/history:"):
        labels = quality_group_labels(qscores)
        pick = st.selectbox("Show", list(labels), format_func=labels.__getitem__, key="q_pick")

        def show_group(group_id: str) -> None:
            st.query_params[RUN_PARAM] = group_id

        st.button("Show this run", on_click=show_group, args=(pick,), key="q_show")

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
    "q_target": PROBE_TARGETS[target_kind],
    EVAL_PARAM: eval_name,
    "q_repeats": repeats,
    "q_concurrency": concurrency,
    "q_max_tokens": max_tokens,
    TEMPS_PARAM: temps_text,
    RUN_PARAM: st.query_params.get(RUN_PARAM),
}
if target_kind == "sim":
    values |= {"sim_accuracy_pct": sim_accuracy, "sim_determinism_pct": sim_determinism}
defaults = share_defaults(names, list(eval_sets))
flag_unknown_params([*values, "sim_accuracy_pct", "sim_determinism_pct"])
st.markdown(
    "**Share this view**: the link reopens the page with these options, axes and inputs "
    "(and the quality run shown). The endpoint URL, model and key are never put in it."
)
share_box(share_url(st.context.url or "http://localhost:8501/quality", values, defaults))
