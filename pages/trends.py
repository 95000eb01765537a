"""Trends: one monitored series over time, its detected changes, SLO lines and alerts."""

from __future__ import annotations

from urllib.parse import urljoin

import pandas as pd
import streamlit as st

from inferlab.charts.trends import trend_figure
from inferlab.dashboard.params import check_params
from inferlab.dashboard.share import share_box
from inferlab.dashboard.trends import (
    DEFAULT_METRICS,
    METRIC_BY_LABEL,
    TREND_SLO_PARAMS,
    bad_params,
    changes_table,
    default_series,
    empty_store_problem,
    link_problems,
    points_table,
    slo_lines,
    trends_link_params,
    trends_share_url,
    worse_summary,
)
from inferlab.dashboard.urlguard import forget_link_values, keep_last_values
from inferlab.dashboard.widgets import flag_unknown_params, number
from inferlab.monitor import SeriesPoint, SeriesTrend, load_series, metric_spec, trend_of
from inferlab.store import Store, StoreError, default_db_path

st.title("Trends: an endpoint over time")
st.markdown(
    "A **series** is the runs of one configuration measured again and again, by "
    "`inferlab monitor` or imported with `--series`. Each point is one run; a dashed line "
    "marks a **detected change**, where the level shifted by more than noise and more than "
    "the minimum effect (10 % for latency and tokens/s, 2 points for the error rate)."
)

DB = str(default_db_path())


@st.cache_data(ttl=3, show_spinner=False)
def all_series(db: str) -> dict[str, list[SeriesPoint]]:
    return load_series(Store(db))


@st.cache_data(ttl=3, show_spinner=False)
def trend_for(db: str, name: str, run_ids: tuple[str, ...]) -> SeriesTrend:
    """Changes of the series; `run_ids` makes a new run recompute them."""
    return trend_of(name, all_series(db)[name])


@st.cache_data(ttl=3, show_spinner=False)
def alerts_for(db: str, name: str) -> list[dict[str, object]]:
    return Store(db).alerts(name)


try:
    series = all_series(DB)
except StoreError as exc:
    st.error(f"Cannot read the run store: {exc}", icon=":material/error:")
    st.stop()

query_all = {k: st.query_params.get_all(k) for k in st.query_params}
if not series:
    if problem := empty_store_problem(query_all):
        st.warning(problem, icon=":material/link_off:")
    with st.container(border=True):
        st.subheader("No series yet")
        st.markdown(
            "Start a monitor from a terminal; every run it makes joins one series:\n\n"
            "```\ninferlab monitor --url http://127.0.0.1:8001/v1 --model inferlab-sim "
            '--every 5m --alert "ttft_p95>+20%,error_rate>2%"\n```\n'
            "Or add imported runs to a series: `inferlab import FILE --series NAME`, or tag "
            "runs `series:NAME` on the Runs page."
        )
    st.stop()

names = list(series)
query = st.query_params.to_dict()
forget_link_values(bad_params(query, names))  # widgets and address bar: the default
for message in link_problems(query_all, names):
    st.warning(message, icon=":material/link_off:")
keep_last_values(["series", *(p.name for p in TREND_SLO_PARAMS)])  # metrics is a list

c1, c2 = st.columns([3, 2])
fallback = default_series(series)
name: str = c1.selectbox(
    "Series",
    names,
    index=names.index(fallback) if fallback in names else 0,
    key="series",
    bind="query-params",
)
chosen: list[str] = c2.multiselect(
    "Metrics",
    list(METRIC_BY_LABEL),
    default=list(DEFAULT_METRICS),
    key="metrics",
    bind="query-params",
)
slo_linked = any(p.name in query for p in TREND_SLO_PARAMS)
with st.expander("SLO lines", icon=":material/horizontal_rule:", expanded=slo_linked):
    cols = st.columns(len(TREND_SLO_PARAMS))
    slo_values = {
        p.name: number(col, p, 10.0 if "ms" in p.name else 1.0, "0 = no line")
        for col, p in zip(cols, TREND_SLO_PARAMS, strict=True)
    }

points = series[name]
trend = trend_for(DB, name, tuple(p.run_id for p in points))
metrics = [METRIC_BY_LABEL[m] for m in chosen]
last = points[-1]
st.caption(
    (
        f"{len(points):,} completed runs from {points[0].started_at:%Y-%m-%d %H:%M} to "
        f"{last.started_at:%Y-%m-%d %H:%M} UTC"
        if len(points) > 1
        else f"1 completed run, at {last.started_at:%Y-%m-%d %H:%M} UTC"
    )
    + " · sources: "
    + ", ".join(sorted({p.source_tool for p in points}))
)

runs_base = urljoin(st.context.url or "http://localhost:8501/trends", "runs")
worse = worse_summary(trend, runs_base)
if worse:
    st.error(worse, icon=":material/trending_up:")

if not metrics:
    st.info("Pick at least one metric above to see its trend.", icon=":material/info:")
else:
    cols = st.columns(len(metrics))
    for col, key in zip(cols, metrics, strict=True):
        spec = metric_spec(key)
        changes = trend.changes.get(key, ())
        delta = None
        if changes:
            c = changes[-1]
            delta = (
                f"{100 * c.delta:+.2f} points"
                if spec.unit == "%"
                else (f"{c.relative:+.0%} at the last change" if c.relative is not None else None)
            )
        col.metric(
            f"{spec.label} (latest)",
            spec.fmt(trend.latest(key)),
            delta=delta,
            delta_color="inverse" if spec.higher_is_worse else "normal",
        )
    st.plotly_chart(trend_figure(trend, metrics, slo_lines(slo_values)), width="stretch")
    if len(points) < 6:
        st.caption(
            f"Changes need at least 3 runs on each side; this series has {len(points)} so far."
        )

link = st.column_config.LinkColumn
st.subheader("Detected changes")
changes_frame = changes_table(trend, runs_base)
if changes_frame.empty:
    st.caption("No change detected in any metric.")
else:
    st.dataframe(
        changes_frame,
        hide_index=True,
        width="stretch",
        column_config={
            "From (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "First run": link("First run", display_text=r"runs\?runs=(.*)"),
        },
    )

st.subheader("Runs of this series")
runs_frame = points_table(trend, metrics, runs_base)
st.dataframe(
    runs_frame,
    hide_index=True,
    width="stretch",
    column_config={
        "Date (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        "Run": link("Run", display_text=r"runs\?runs=(.*)", help="open on the Runs page"),
        **{
            col: st.column_config.NumberColumn(format="%.2f" if "(%)" in col else "%.1f")
            for col in runs_frame.columns
            if col.endswith(("(ms)", "(%)", "(tok/s)"))
        },
    },
)

fired = alerts_for(DB, name)
if fired:
    st.subheader(f"Alerts ({len(fired)})")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Fired (UTC)": pd.Timestamp(a["fired_at"]).tz_convert(None),  # type: ignore[arg-type]
                    "Rule": a["rule"],
                    "Message": a["message"],
                    "Delivered": ", ".join(f"{k}: {v}" for k, v in dict(a["deliveries"]).items()),  # type: ignore[call-overload]
                }
                for a in reversed(fired)
            ]
        ),
        hide_index=True,
        width="stretch",
    )

st.divider()
flag_unknown_params(trends_link_params())
st.markdown("**Share this view** — the link reopens the page with this series and these inputs:")
valid_slos = {
    p.name: slo_values[p.name]
    for p in TREND_SLO_PARAMS
    if not check_params({p.name: str(slo_values[p.name])}, [p])
}
share_box(
    trends_share_url(st.context.url or "http://localhost:8501/trends", name, chosen, valid_slos)
)
