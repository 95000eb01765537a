"""Runs: browse stored benchmark runs, compare up to 12 against a baseline, SLOs, sweeps."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from inferlab import compare
from inferlab.charts import runs as charts
from inferlab.charts import server as server_charts
from inferlab.compare import server_text as server_views_text
from inferlab.compare.io import (
    FORMAT_CHOICES,
    UPLOAD_TYPES,
    export_file_bytes,
    export_files,
    import_panel,
    import_uploads,
    report_download,
    upload_limit_mb,
    upload_messages,
)
from inferlab.compare.loaders import (
    METRIC_KEYS,
    METRIC_NAMES,
    filter_runs,
    run_table,
    saturated_runs,
    slo_from_values,
    wide_delta_table,
)
from inferlab.compare.verdict import comparison_verdict, next_step, setup_notes, shared_servers
from inferlab.dashboard.run_cache import RunCache
from inferlab.dashboard.runs import (
    MISS_COLUMNS,
    SLO_SPEC,
    chip_names,
    comparison_view,
    default_baseline,
    first_sweep_with,
    link_problems,
    little_frame,
    metric_label,
    parse_tags,
    rejected_link_params,
    request_position,
    request_title,
    rows_by_run_id,
    run_version,
    runs_link_params,
    runs_share_url,
    runs_without_requests,
    scatter_series,
    selection_names,
    slo_frame,
    slowest_completed,
    source_options,
    sweep_group_label,
    sweep_groups,
    sweep_sentences,
    tag_options,
    tags_text,
    url_run_ids,
)
from inferlab.dashboard.share import share_box
from inferlab.dashboard.urlguard import forget_link_values
from inferlab.dashboard.widgets import flag_unknown_params
from inferlab.store import Store, StoreError, default_db_path
from inferlab.validity import Validity, comparison_warning

st.title("Runs: compare benchmark results")
st.markdown(
    "Every probe, import and sweep is stored as a **run**. Pick runs to compare them with a "
    "**baseline**: each number shows its change, coloured green (better) or red (worse) only "
    "when a bootstrap confidence interval says it is more than noise."
)

DB = str(default_db_path())


# -- cached queries (short-lived store connections; never one held open) ---------------------


@st.cache_resource(show_spinner=False)
def store_for(db: str) -> Store:
    """The Store object holds no connection: each call opens and closes its own."""
    return Store(db)


@st.cache_data(ttl=3, show_spinner=False)
def list_runs(db: str) -> pd.DataFrame:
    runs: pd.DataFrame = store_for(db).list_runs()
    return runs


@st.cache_data(ttl=3, show_spinner=False)
def validities(db: str, run_ids: tuple[str, ...]) -> dict[str, Validity]:
    try:
        return store_for(db).validities(run_ids)
    except StoreError:  # a damaged file: the run list says so; no verdicts then
        return {}


@st.cache_resource(show_spinner=False)
def run_cache(db: str) -> RunCache:
    """Each run's request arrays, shared read-only by every view, rerun and session."""
    return RunCache(max_runs=48)


def runs_for(db: str, keys: tuple[tuple[str, str], ...]) -> list[compare.RunRequests]:
    """The selected runs' requests; `keys` pairs run id and version (status + request count).

    Cached per run, so a selection change reads only the runs not seen before.
    """
    return run_cache(db).runs(store_for(db), keys, lambda: rows_by_run_id(list_runs(db)))


def run_data(db: str, run_id: str, version: str) -> compare.RunRequests:
    """One run's requests (from the same per-run cache as the comparison)."""
    return runs_for(db, ((run_id, version),))[0]


@st.cache_data(max_entries=16, show_spinner="Comparing runs…")
def comparison(
    db: str, keys: tuple[tuple[str, str], ...], baseline: str, convention: str
) -> tuple[pd.DataFrame, dict[str, dict[str, np.ndarray]]]:
    """The delta table and, per latency metric, each run's values (for CDF/histograms)."""
    return comparison_view(runs_for(db, keys), baseline, convention)


@st.cache_data(max_entries=16, show_spinner=False)
def slo_view(
    db: str, keys: tuple[tuple[str, str], ...], slo: compare.Slo
) -> list[compare.SloResult]:
    return [compare.slo_result(r, slo) for r in runs_for(db, keys)]


@st.cache_data(max_entries=16, show_spinner=False)
def little_view(db: str, keys: tuple[tuple[str, str], ...]) -> list[compare.LittleCheck]:
    return [compare.little_check(r) for r in runs_for(db, keys)]


@st.cache_data(max_entries=16, show_spinner=False)
def scatter_view(
    db: str, keys: tuple[tuple[str, str], ...], metric: str, convention: str
) -> list[charts.ScatterSeries]:
    return scatter_series(runs_for(db, keys), metric, convention)


@st.cache_data(max_entries=8, show_spinner=False)
def sweep_view(
    db: str, keys: tuple[tuple[str, str], ...], slo: compare.Slo, target: float
) -> compare.SweepAnalysis:
    return compare.sweep_analysis(runs_for(db, keys), slo, target=target)


@st.cache_data(max_entries=48, show_spinner=False)
def server_view_of(db: str, run_id: str, version: str) -> Any:
    return server_views_text.load_comparison(store_for(db), run_id)


@st.cache_data(max_entries=48, show_spinner=False)
def tool_panel(db: str, run_id: str, version: str) -> Any:
    """An imported run's own numbers next to inferlab's; None for inferlab's own runs."""
    return import_panel(store_for(db), run_id)


@st.cache_data(max_entries=16, show_spinner=False)
def runs_meta(db: str, keys: tuple[tuple[str, str], ...]) -> dict[str, dict[str, Any]]:
    """The runs' metadata, read in one store session: which were imported (have a tool
    panel) and which shared their server with other traffic.

    Keyed by run id and version like the arrays (import metadata is written with the run,
    other traffic as the probe ends), so a rerun after the run list's 3 s expire does not
    reopen the store.
    """
    return store_for(db).runs_metadata(tuple(rid for rid, _ in keys))


def imported_runs(db: str, keys: tuple[tuple[str, str], ...]) -> frozenset[str]:
    return frozenset(
        rid for rid, m in runs_meta(db, keys).items() if isinstance(m.get("import"), dict)
    )


def shared_runs(db: str, keys: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Run id -> why its server also served others (kept with the run by the probe)."""
    return shared_servers(runs_meta(db, keys))


def refresh() -> None:
    st.cache_data.clear()
    run_cache.clear()


# -- import ---------------------------------------------------------------------------------

with st.expander(
    "Import results from vLLM, guidellm, AIPerf or a CSV", icon=":material/upload_file:"
):
    st.caption(
        "vLLM `bench serve --save-result` JSON (also `--append-result` lines), guidellm "
        "`benchmarks.json`, AIPerf `profile_export.jsonl` (add `profile_export_aiperf.json` to keep "
        "AIPerf's own numbers, `server_metrics_export.json` or `.jsonl` for the server's view), "
        "or an inferlab CSV / Parquet / JSON export. Up to "
        f"{upload_limit_mb():,.0f} MB per file; importing the same file again adds nothing."
    )
    uploads = st.file_uploader(
        "Result files", type=UPLOAD_TYPES, accept_multiple_files=True, key="import_files"
    )
    import_format = st.selectbox("Format", FORMAT_CHOICES, key="import_format")
    if uploads and st.button("Import", icon=":material/upload:", key="import_go"):
        outcomes = import_uploads(
            store_for(DB),
            [(f.name, f.getvalue()) for f in uploads],
            None if import_format == "detect" else import_format,
        )
        for level, message in upload_messages(outcomes):
            getattr(st, level)(message)
        refresh()

try:
    all_runs = list_runs(DB)
    set_aside = store_for(DB).set_aside_spools()
except StoreError as exc:
    st.error(f"Cannot read the run store: {exc}", icon=":material/error:")
    st.stop()
if set_aside:
    st.warning(
        f"{len(set_aside)} run(s) could not be saved from their spool and were set aside in "
        f"`{store_for(DB).spool_dir}` ({', '.join(set_aside)}). Run `inferlab runs --recover` "
        "to try again.",
        icon=":material/warning:",
    )

# -- empty store: first-run view -----------------------------------------------------------

if all_runs.empty:
    with st.container(border=True):
        st.subheader("No runs yet")
        st.markdown(
            "A run is what a probe measures: every request's time to first token, each "
            "streamed chunk and the end of the answer. Nothing has been measured in this "
            f"database yet (`{DB}`).\n\n"
            "Press the button to probe inferlab's **built-in simulated endpoint**: 32 requests, "
            "8 at a time, about five seconds, no API key or GPU needed. Then this page fills "
            "with the run's numbers and charts."
        )
        if st.button("Probe the built-in simulator", type="primary", icon=":material/play_arrow:"):
            from inferlab.dashboard.jobs import JobError, probe_simulator_once

            with st.spinner("Probing the simulator…"):
                try:
                    new_id = probe_simulator_once(db_path=default_db_path())
                except (JobError, StoreError) as exc:
                    st.error(f"The simulator probe failed: {exc}", icon=":material/error:")
                else:
                    refresh()
                    st.session_state["flash"] = f"Probed the simulator: run {new_id}."
                    st.rerun()
        st.caption(
            "Or measure your own endpoint on the Probe page, or from a terminal: "
            "`inferlab probe --url http://host:8000/v1 --model NAME`."
        )
    st.stop()

# -- link checks ---------------------------------------------------------------------------

existing_ids = list(all_runs["run_id"])
query = {k: st.query_params.get_all(k) for k in st.query_params}
for message in link_problems(query, existing_ids):
    st.warning(message, icon=":material/link_off:")
forget_link_values(rejected_link_params(query))  # widgets and address bar: the default

# -- run table -----------------------------------------------------------------------------

rows_by_id = rows_by_run_id(all_runs)
chips = chip_names(rows_by_id, existing_ids)  # start with the names the tables use

st.subheader(f"All runs ({len(all_runs):,})")
f1, f2, f3 = st.columns([2, 1, 1])
text = f1.text_input("Filter", placeholder="label, model, endpoint or run id", key="filter_text")
tag_filter = f2.multiselect("Tags", tag_options(all_runs), key="filter_tags")
source_filter = f3.multiselect("Source tool", source_options(all_runs), key="filter_sources")
shown = filter_runs(all_runs, text, tag_filter, source_filter)
all_validity = validities(DB, tuple(str(r) for r in all_runs["run_id"]))
st.dataframe(
    run_table(shown, {rid: v.verdict for rid, v in all_validity.items()}),
    hide_index=True,
    width="stretch",
    column_config={
        "Date (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "TTFT p50 (ms)": st.column_config.NumberColumn(format="%.1f"),
        "TTFT p95 (ms)": st.column_config.NumberColumn(format="%.1f"),
        "TPOT p50 (ms)": st.column_config.NumberColumn(format="%.2f"),
        "E2E p95 (ms)": st.column_config.NumberColumn(format="%.0f"),
        "Error rate (%)": st.column_config.NumberColumn(format="%.2f"),
    },
)
if len(shown) < len(all_runs):
    st.caption(f"{len(shown):,} of {len(all_runs):,} runs match the filter.")
for flagged_id, reason in saturated_runs(shown).items():
    st.warning(
        f"Run {chips[flagged_id]} over-saturated the server: {reason}. Its "
        "latencies measure a growing queue, not the server's speed at that load.",
        icon=":material/trending_up:",
    )

with st.expander("Rename, tag or delete a run", icon=":material/edit:"):
    target = st.selectbox(
        "Run",
        existing_ids,
        format_func=chips.__getitem__,
        key="manage_run",
    )
    row = rows_by_id[target]
    m1, m2 = st.columns(2)
    new_label = m1.text_input("Label", value=str(row.get("label") or ""), key=f"label_{target}")
    new_tags = m2.text_input("Tags (comma-separated)", value=tags_text(row), key=f"tags_{target}")
    b1, b2 = st.columns(2)
    if b1.button("Save label and tags", icon=":material/save:"):
        try:
            store_for(DB).update_run(target, label=new_label.strip(), tags=parse_tags(new_tags))
        except StoreError as exc:
            st.error(f"Could not save: {exc}", icon=":material/error:")
        else:
            refresh()
            st.session_state["flash"] = f"Saved run {target}."
            st.rerun()
    if b2.button("Delete this run…", icon=":material/delete:"):
        st.session_state["confirm_delete"] = target
    if st.session_state.get("confirm_delete") == target:
        st.warning(
            f"Delete run **{row.get('label') or target}** ({target}) and all its "
            f"{int(row.get('requests') or 0):,} requests? This cannot be undone.",
            icon=":material/warning:",
        )
        y, n = st.columns(2)
        if y.button("Yes, delete it", type="primary"):
            try:
                store_for(DB).delete_run(target)
            except StoreError as exc:
                st.error(f"Could not delete: {exc}", icon=":material/error:")
            else:
                st.session_state.pop("confirm_delete", None)
                refresh()
                st.session_state["flash"] = f"Deleted run {target}."
                st.rerun()
        if n.button("Cancel"):
            st.session_state.pop("confirm_delete", None)
            st.rerun()
if "flash" in st.session_state:
    st.success(st.session_state.pop("flash"), icon=":material/check:")

# -- selection -----------------------------------------------------------------------------

st.subheader("Compare")
# Runs and baseline are kept in the URL by hand: a bound widget would write its
# display labels ("label · model · date") into the link instead of the run ids.
# Session state wins once set, so a rerun never fights the user's selection.
url_ids = [i for i in url_run_ids(query) if i in rows_by_id][: compare.MAX_COMPARE]
if "runs" not in st.session_state:
    # Oldest first, so the older of the two newest runs becomes the baseline.
    st.session_state["runs"] = url_ids or existing_ids[:2][::-1]
else:
    st.session_state["runs"] = [i for i in st.session_state["runs"] if i in rows_by_id]
s1, s2 = st.columns([3, 1])
selected: list[str] = s1.multiselect(
    f"Runs to compare (up to {compare.MAX_COMPARE})",
    existing_ids,
    format_func=chips.__getitem__,
    max_selections=compare.MAX_COMPARE,
    key="runs",
)
st.query_params["runs"] = selected
if len(existing_ids) == 1:
    st.caption(
        "Only one run so far. Measure another (on the Probe page, for example with more "
        "concurrency) to see the two compared, with changes and confidence intervals."
    )
if not selected:
    st.info("Select at least one run above to see its numbers.", icon=":material/info:")
    st.stop()
url_baseline = query.get("baseline", [])
auto_baseline = default_baseline(rows_by_id, selected)  # oldest; in a sweep its lowest load
if st.session_state.get("baseline") not in selected:
    st.session_state["baseline"] = (
        url_baseline[-1] if url_baseline and url_baseline[-1] in selected else auto_baseline
    )
names = selection_names(rows_by_id, selected)  # one unique name per run, used everywhere
baseline: str = s2.selectbox(
    "Baseline",
    selected,
    format_func=names.__getitem__,
    key="baseline",
)
if baseline == auto_baseline:  # as in the share link: the page picks it again by itself
    st.query_params.pop("baseline", None)
else:
    st.query_params["baseline"] = baseline
c1, c2 = st.columns([3, 1])
convention: str = c1.segmented_control(
    "Convention for TPOT and ITL",
    list(compare.CONVENTIONS),
    default="inferlab",
    key="convention",
    bind="query-params",
    required=True,
)
metric_name: str = c2.selectbox(
    "Metric for the charts",
    list(METRIC_NAMES.values()),
    key="metric",
    bind="query-params",
)
metric = METRIC_KEYS[metric_name]
conv = compare.CONVENTIONS[convention]
with st.container(border=True):
    st.markdown(f"**{conv.name}** — {conv.tpot_words}  \n{conv.itl_words}  \n_{conv.note}_")


def version(rid: str) -> str:
    return run_version(rows_by_id[rid])


keys = tuple((rid, version(rid)) for rid in selected)
empty_runs = runs_without_requests(rows_by_id, selected)
if empty_runs:
    st.info(
        "No per-request data in "
        + ", ".join(f"**{names[r]}** ({r})" for r in empty_runs)
        + " (a file holding only aggregate numbers, or a run that measured nothing): its cells "
        "stay blank. `inferlab show RUN_ID` lists the numbers the file holds.",
        icon=":material/info:",
    )
picked = [(names[r], all_validity[r]) for r in selected if r in all_validity]
validity_warning = comparison_warning([(n, v) for n, v in picked if v.verdict == "suspect"])
if validity_warning:
    st.warning(
        f"{validity_warning}. Validity says whether the probe's own client kept up while "
        "it measured (event-loop lag, CPU, achieved load); `inferlab show RUN_ID` lists "
        "the figures.",
        icon=":material/warning:",
    )
shared = shared_runs(DB, keys)
for rid, why in shared.items():
    st.warning(
        f"**{names[rid]}** shared its server with other traffic: {why}. Its latencies "
        "include someone else's load; rerun it on a server of its own before comparing.",
        icon=":material/group:",
    )
try:
    table, values = comparison(DB, keys, baseline, convention)
except StoreError as exc:  # e.g. a damaged file whose run list still reads
    st.error(f"Cannot read the selected runs: {exc}", icon=":material/error:")
    st.stop()
view = wide_delta_table(table, baseline)
verdict_box = st.container()  # filled once the SLO and Little's-law checks below are known
palette = {
    "better": "background-color: rgba(59,178,115,0.25)",
    "worse": "background-color: rgba(214,39,40,0.22)",
    "noise": "color: #777",
    "": "",
}
st.table(
    view.text.rename_axis("Metric").style.apply(
        lambda _: view.colors.map(lambda c: palette[c]), axis=None
    ),
    width="stretch",
)
st.caption(
    "Each cell: value · change vs the baseline in % (absolute) · 95% bootstrap confidence "
    "interval of the change (2,000 resamples of each run's requests, seeded; for requests/s, "
    "tokens/s and errors the run's duration is held fixed). Green = better, red = worse, "
    "grey = the interval includes 0, so the change may be noise, or the change is under "
    f"{compare.NEGLIGIBLE_PCT:g}% and too small to matter. Latencies: completed "
    "requests; error rate: all requests; warm-up excluded."
)

try:
    imported = imported_runs(DB, keys)
except StoreError as exc:
    st.error(f"Cannot read the selected runs' metadata: {exc}", icon=":material/error:")
    imported = frozenset()
for rid in selected:
    if rid not in imported:
        continue  # inferlab's own run: no tool numbers to show
    panel = tool_panel(DB, rid, version(rid))
    if panel is None:
        continue
    differ = f" — {panel.disagreements} differ" if panel.disagreements else ""
    with st.expander(
        f"{names[rid]}: the tool's own numbers vs inferlab's{differ}",
        icon=":material/compare_arrows:",
    ):
        st.caption(panel.caption)
        for note in panel.notes:
            st.info(note, icon=":material/info:")
        st.dataframe(
            panel.comparison,
            hide_index=True,
            width="stretch",
            column_config={
                "inferlab": st.column_config.NumberColumn(format="%.4g"),
                "Tool": st.column_config.NumberColumn(format="%.4g"),
                "Difference %": st.column_config.NumberColumn(format="%.2f"),
            },
        )
        with st.popover("Every number the tool reported"):
            st.dataframe(panel.tool_metrics, hide_index=True)

# -- charts --------------------------------------------------------------------------------


@st.fragment
def chart_tabs(
    values: dict[str, dict[str, np.ndarray]],
    keys: tuple[tuple[str, str], ...],
    metric: str,
    convention: str,
) -> None:
    """The chart tabs: only the open tab's chart is built, and a tab change or a
    request pick reruns this fragment alone, not the whole page."""
    label_m = metric_label(metric, convention)
    tab_cdf, tab_dist, tab_time, tab_one, tab_server = st.tabs(
        ["CDF", "Distribution", "Over time", "One request's timeline", "Server's view"],
        key="chart_tab",
        on_change="rerun",
    )
    if tab_cdf.open:
        with tab_cdf:
            st.plotly_chart(charts.cdf_figure(values[metric], label_m), width="stretch")
            st.caption(
                "Read across at 50 / 90 / 99 % for the percentiles; a curve further left is faster."
            )
    if tab_dist.open:
        with tab_dist:
            st.plotly_chart(charts.distribution_figure(values[metric], label_m), width="stretch")
    if tab_time.open:
        with tab_time:
            time_chart(keys, metric, convention, label_m)
    if tab_one.open:
        with tab_one:
            one_request_chart([rid for rid, _ in keys])
    if tab_server.open:
        with tab_server:
            server_chart([rid for rid, _ in keys])


def time_chart(
    keys: tuple[tuple[str, str], ...], metric: str, convention: str, label_m: str
) -> None:
    series = scatter_view(DB, keys, metric, convention)
    fig, dropped = charts.scatter_over_time(
        series, label_m + (" (mean chunk gap per request)" if metric == "itl" else "")
    )
    st.plotly_chart(fig, width="stretch")
    if dropped:
        st.caption(
            f"{dropped:,} completed requests are not drawn (at most {charts.MAX_POINTS:,} "
            "points, sampled evenly; every failed request is kept)."
        )
    st.caption(
        "Each dot is one request at the time it was sent; red crosses are failed requests "
        "(drawn at 0 when they have no latency). A rising cloud means the server fell behind."
    )


def one_request_chart(selected: list[str]) -> None:
    o1, o2 = st.columns(2)
    one_run = o1.selectbox(
        "Run",
        selected,
        format_func=names.__getitem__,
        key="one_run",
    )
    run = run_data(DB, one_run, version(one_run))
    slowest = slowest_completed(run)
    if slowest is None:
        st.info("This run has no completed request with streamed chunks.")
    else:
        idx = o2.number_input(
            "Request number (empty: the slowest)",
            min_value=int(run.index.min()),
            max_value=int(run.index.max()),
            value=None,
            step=1,
            key="one_request",
        )
        pos = slowest if idx is None else request_position(run, int(idx))
        if pos is None:
            st.warning(f"Run {one_run} has no request number {idx}; showing the slowest.")
            pos = slowest
        st.plotly_chart(
            charts.request_timeline(
                run.chunks_of(pos), title=request_title(run, pos, names[one_run])
            ),
            width="stretch",
        )
        st.caption(
            "Drawn from the chunk arrival times the probe recorded: the first bar is the wait "
            "for the first content chunk (TTFT), each further bar the gap before the next chunk."
        )


def server_chart(selected: list[str]) -> None:
    server_run = st.selectbox(
        "Run",
        selected,
        format_func=names.__getitem__,
        key="server_run",
    )
    cmp = server_view_of(DB, server_run, version(server_run))
    if cmp.view is None:
        st.info(server_views_text.no_view_message(cmp))
    else:
        st.markdown(server_views_text.headline(cmp))
        s1, s2, s3, s4 = st.columns(4)
        s1.metric("Client TTFT, mean", server_views_text.ms(cmp.client_ttft_mean_ms))
        s2.metric("Server TTFT, mean", server_views_text.ms(cmp.server_ttft_mean_ms))
        s3.metric("Client TPOT, mean", server_views_text.ms(cmp.client_tpot_mean_ms))
        s4.metric("Server decode per token", server_views_text.ms(cmp.view.decode_ms_per_token))
        st.caption(server_views_text.ttft_caption(cmp))
        if cmp.breakdown:
            st.plotly_chart(server_charts.ttft_breakdown_figure(cmp), width="stretch")
        st.plotly_chart(server_charts.server_timeline_figure(cmp), width="stretch")
        st.caption(
            "Top: each request's TTFT as the client measured it, at the time it was sent. "
            "Below, on the same time axis: what the server reported at each scrape of its "
            "/metrics (requests running and waiting, KV cache in use)."
        )
        for note in cmp.view.notes:
            st.caption(note)


chart_tabs(values, keys, metric, convention)

# -- SLO panel -----------------------------------------------------------------------------

st.subheader("Service-level objectives")
st.caption(
    "A request meets the SLO when it completed and stays within every limit you set "
    "(0 = no limit). Attainment = share of all requests that met it; goodput = those "
    "requests per second."
)
l1, l2, l3, l4 = st.columns(4)


def limit(col: Any, name: str, step: float) -> float:
    p = SLO_SPEC[name]
    return float(
        col.number_input(
            p.label,
            min_value=p.min_value,
            max_value=p.max_value,
            value=p.default,
            step=step,
            key=name,
            bind="query-params",
            format="%g",
        )
    )


slo_ttft = limit(l1, "slo_ttft_ms", 50.0)
slo_tpot = limit(l2, "slo_tpot_ms", 5.0)
slo_e2e = limit(l3, "slo_e2e_ms", 500.0)
slo_target = limit(l4, "slo_target_pct", 1.0)
slo = slo_from_values(slo_ttft, slo_tpot, slo_e2e)
if slo.is_set:
    results = slo_view(DB, keys, slo)
    st.dataframe(
        slo_frame(results, names, slo_target),
        hide_index=True,
        width="stretch",
        column_config={
            "Attainment (%)": st.column_config.NumberColumn(format="%.1f"),
            "Goodput (req/s)": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    with st.expander("Requests that missed the SLO", icon=":material/report:"):
        for r in results:
            st.markdown(
                f"**{names[r.run_id]}** ({r.run_id}): {len(r.misses):,} missed ({slo.describe()})"
            )
            if len(r.misses):
                st.dataframe(
                    r.misses.rename(columns=MISS_COLUMNS),
                    hide_index=True,
                    width="stretch",
                    height=min(300, 38 + 35 * len(r.misses)),
                )
else:
    st.info("Set a TTFT, TPOT or E2E limit to see attainment and goodput.", icon=":material/tune:")

# -- sweeps --------------------------------------------------------------------------------

groups = sweep_groups(all_runs)
st.subheader("Sweep: throughput against latency")
if not groups:
    st.caption(
        "No sweep in the store yet. `inferlab probe --url URL --model NAME --sweep 1,2,4,8,16` "
        "stores one run per load step in a group, shown here; so does importing a multi-rate "
        "guidellm file or vLLM `--append-result` lines."
    )
else:
    group_options = list(groups)
    group = st.selectbox(
        "Sweep (run group)",
        group_options,
        index=group_options.index(first_sweep_with(groups, selected)),
        format_func=lambda g: sweep_group_label(rows_by_id, groups[g], g),
        key="sweep_group",
    )
    gids = groups[group][: 4 * compare.MAX_COMPARE]
    sweep = sweep_view(DB, tuple((rid, version(rid)) for rid in gids), slo, slo_target / 100)
    st.plotly_chart(
        charts.sweep_figure(sweep, ttft_limit_ms=slo.ttft_ms, tpot_limit_ms=slo.tpot_ms),
        width="stretch",
    )
    sentences = sweep_sentences(sweep, slo, slo_target)
    st.markdown("  \n".join(sentences))
    st.caption(
        "Knee method (Kneedle, Satopää et al. 2011): output tokens/s against load (load on a "
        "log scale), both scaled to 0–1; the knee is the step farthest above the straight line "
        "from the first to the last step — where throughput stops growing — and counts only "
        f"when later steps add at most {compare.KNEE_MAX_GAIN:.0%} more throughput."
    )

# -- Little's law --------------------------------------------------------------------------

st.subheader("Little's law check")
st.caption(
    "In a steady system, requests in flight = arrival rate × time in the system (L = λW). "
    "Measured concurrency is the time-average of requests in flight; it should equal "
    "RPS × mean E2E. A mismatch, or fewer requests in flight than configured, points at "
    "held-open failures or an overloaded load generator."
)
checks = little_view(DB, keys)
st.dataframe(
    little_frame(checks, names),
    hide_index=True,
    width="stretch",
    column_config={
        "Measured concurrency": st.column_config.NumberColumn(format="%.2f"),
        "RPS × mean E2E": st.column_config.NumberColumn(format="%.2f"),
        "Client queue p99 (ms)": st.column_config.NumberColumn(format="%.1f"),
    },
)
for c in checks:
    name = names.get(c.run_id, c.run_id)
    if not c.agrees or c.short_of_target:
        st.warning(f"**{name}**: {c.message}", icon=":material/warning:")
    elif c.below_configured_in_tail:
        st.info(f"**{name}**: {c.message}", icon=":material/info:")

with verdict_box:
    compared = runs_for(DB, keys)
    verdicts = comparison_verdict(
        table,
        compared,
        baseline,
        names,
        slo_results={r.run_id: r for r in results} if slo.is_set else None,
        slo_target_pct=slo_target,
        little={c.run_id: c for c in checks},
        shared=shared,
    )
    st.markdown("**Verdict** — " + "  \n".join(v.sentence for v in verdicts))
    advice = next_step(verdicts, slo_target, slo)
    if advice:
        st.warning(advice, icon=":material/lightbulb:")
    for note in setup_notes(compared, baseline, names):
        st.info(note, icon=":material/compare_arrows:")

# -- export --------------------------------------------------------------------------------

with st.expander("Download these runs", icon=":material/download:"):
    st.caption(
        "Per-request data and summaries of the selected runs (no secrets), or a self-contained "
        "HTML report of this comparison that opens offline."
    )
    export_format = st.radio(
        "Format", ["csv", "parquet", "json"], horizontal=True, key="export_format"
    )
    cols = st.columns(3)
    for i, f in enumerate(export_files(export_format)):
        cols[i].download_button(
            f.label,
            data=partial(export_file_bytes, store_for(DB), selected, f.fmt, f.file_name),
            file_name=f.file_name,
            mime=f.mime,
            key=f"dl_{f.file_name}",
        )
    cols[2].download_button(
        "HTML report of this comparison",
        data=lambda: (
            report_download(
                store_for(DB),
                selected,
                baseline=baseline,
                convention=convention,
                slo=slo if slo.is_set else None,
            ).data
        ),
        file_name="inferlab-report.html",
        mime="text/html",
        key="dl_report",
    )

# -- share ---------------------------------------------------------------------------------

st.divider()
flag_unknown_params(runs_link_params())
st.markdown("**Share this view** — the link reopens these runs, baseline, SLOs and choices:")
share_box(
    runs_share_url(
        st.context.url or "http://localhost:8501/runs",
        selected,
        baseline,
        convention,
        metric,
        {
            "slo_ttft_ms": slo_ttft,
            "slo_tpot_ms": slo_tpot,
            "slo_e2e_ms": slo_e2e,
            "slo_target_pct": slo_target,
        },
        auto_baseline,
    )
)
