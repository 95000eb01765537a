"""Probe: measure an endpoint (or the built-in simulator) and watch the run live."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping

import streamlit as st

from inferlab.charts.probe import live_latency
from inferlab.compare.verdict import shared_servers
from inferlab.dashboard.jobs import (
    SIM_MODEL,
    JobManager,
    JobSnapshot,
    dashboard_sim_config,
    get_manager,
    list_models,
)
from inferlab.dashboard.params import share_url
from inferlab.dashboard.probe import (
    CHOICE,
    LINK_PARAMS,
    NUMBER,
    USER_INFO_MESSAGE,
    FormValues,
    build_config,
    clean_metrics_urls,
    default_metrics_text,
    defaults,
    link_problems,
    over_limit,
    ray_engine_available,
    resolve_api_key,
    share_values,
    without_user_info,
)
from inferlab.dashboard.share import share_box
from inferlab.dashboard.urlguard import drop_infinite_seeds, drop_seeds, keep_last_values
from inferlab.dashboard.widgets import flag_unknown_params, visitor_id
from inferlab.netpolicy import PolicyError, load_policy
from inferlab.store import Store, StoreError, default_db_path
from inferlab.validity import Validity


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """The process-wide job registry, kept by Streamlit across reruns, sessions and
    module reloads, so running probes are found again after a refresh."""
    return get_manager()


manager = job_manager()
session_id = visitor_id()  # one browser, across reloads

# The live view reruns every LIVE_REFRESH_S while a probe runs; its chart shows the most
# recent LIVE_CHART_POINTS requests (the figures above it count every request).
LIVE_REFRESH_S = 2.0
LIVE_CHART_POINTS = 300


def secrets_table() -> Mapping[str, object]:
    """st.secrets as a plain mapping; empty when there is no secrets.toml."""
    try:
        return {k: st.secrets[k] for k in st.secrets}
    except (FileNotFoundError, KeyError, AttributeError, ValueError):
        return {}
    except Exception:  # Streamlit raises its own error type for a missing file
        return {}


st.title("Probe an endpoint")
st.markdown(
    "Send streaming requests to an OpenAI-compatible endpoint and measure **TTFT**, **TPOT** "
    "and errors as they happen. The probe runs in the background: switch pages or reload, "
    "it keeps going and every finished request is saved. Start with the **built-in "
    "simulator** (no key, no GPU) and check the numbers match its settings."
)

_link_query = {k: st.query_params.get_all(k) for k in st.query_params}  # warned about below
for secret_param in ("api_key", "key"):  # never keep a key a link tried to carry
    st.query_params.pop(secret_param, None)
_link_url = st.query_params.get("url")
if _link_url and without_user_info(_link_url) != _link_url and "url" not in st.session_state:
    # user:password in a link: the field starts without it, and the URL follows the field
    drop_seeds(["url"])
    st.session_state["url"] = without_user_info(_link_url)
    st.query_params["url"] = st.session_state["url"]
_link_metrics = st.query_params.get("metrics_urls")
if _link_metrics and clean_metrics_urls(_link_metrics) != _link_metrics:
    drop_seeds(["metrics_urls"])  # the same for the metrics URLs
    st.session_state.setdefault("metrics_urls", clean_metrics_urls(_link_metrics))
    st.query_params["metrics_urls"] = st.session_state["metrics_urls"]

secrets = secrets_table()
try:
    inferlab_secrets = secrets.get("inferlab")
    policy = load_policy(
        secrets=inferlab_secrets if isinstance(inferlab_secrets, Mapping) else None
    )
except PolicyError as exc:
    st.error(
        f"The dashboard's probe settings are broken: {exc}. Fix them and restart.",
        icon=":material/error:",
    )
    st.stop()
for message in link_problems(_link_query, policy.limits):
    st.warning(message, icon=":material/link_off:")
keep_last_values([*NUMBER, *CHOICE])  # the value used, as the warning said


def number(col: st.delta_generator.DeltaGenerator, name: str, help_text: str, step: float) -> float:
    p = NUMBER[name]
    if p.integer:
        drop_infinite_seeds()  # requests=inf in a link would crash Streamlit's int widget
        return col.number_input(
            p.label,
            min_value=int(p.min_value),
            max_value=int(p.max_value),
            value=int(p.default),
            step=int(step),
            key=name,
            bind="query-params",
            help=help_text,
        )
    return col.number_input(
        p.label,
        min_value=p.min_value,
        max_value=p.max_value,
        value=float(p.default),
        step=step,
        key=name,
        bind="query-params",
        help=help_text,
        format="%g",
    )


def choice(name: str, help_text: str) -> str:
    c = CHOICE[name]
    label = st.radio(
        c.label,
        list(c.options.values()),
        key=name,
        bind="query-params",
        horizontal=True,
        help=help_text,
    )
    code: str = c.code(str(label)) or c.default
    return code


def launched_status(run_id: str) -> None:
    """A one-line progress under the Launch button, where the eye is after the click."""
    job = manager.get(run_id)
    if job is None:
        return

    @st.fragment(run_every=LIVE_REFRESH_S if job.active else None)
    def line() -> None:
        snap = job.snapshot()
        name = snap.label or f"run {snap.run_id}"
        if snap.active:
            st.progress(
                snap.fraction or 0.0,
                text=f"**{name}**: {snap.done:,} done, {snap.failed:,} failed — live figures "
                "and chart under *Probes on this dashboard*.",
            )
        else:
            st.caption(f"**{name}** {snap.state}: {snap.done:,} requests, {snap.failed:,} failed.")

    line()


form_col, live_col = st.columns([5, 6], gap="large")

with form_col:
    st.subheader("Set up a probe")
    with st.container(border=True):
        target = choice(
            "target",
            "The built-in simulator runs inside this dashboard on 127.0.0.1 with the timing "
            "you set; another endpoint is any OpenAI-compatible server (vLLM, SGLang, TGI, "
            "a hosted API).",
        )
        sim_extra: dict[str, object] = {}
        key_source = "none"
        if target == "sim":
            c1, c2, c3 = st.columns(3)
            sim_ttft = number(c1, "sim_ttft_ms", "Time the simulator waits before token 1.", 10.0)
            sim_tpot = number(c2, "sim_tpot_ms", "Time between later tokens.", 1.0)
            sim_jitter = number(c3, "sim_jitter_ms", "Random ± offset on every gap.", 1.0)
            c4, c5, c6 = st.columns(3)
            sim_capacity = number(
                c4,
                "sim_capacity",
                "Streams decoded at once; more requests wait in a queue (their TTFT grows).",
                1,
            )
            sim_growth = number(
                c5,
                "sim_growth_ms",
                "Each extra concurrent stream adds this to TPOT: the latency/throughput trade-off.",
                0.5,
            )
            sim_errors = number(
                c6, "sim_error_pct", "Share of requests answered with HTTP 500.", 1.0
            )
            c7, c8 = st.columns(2)
            sim_prefill = number(
                c7,
                "sim_prefill_ms",
                "Extra TTFT per 1,000 prompt tokens the simulator has to prefill.",
                10.0,
            )
            sim_cache = c8.checkbox(
                "Prefix cache",
                key="sim_prefix_cache",
                bind="query-params",
                help="Prompt text the simulator has seen (an earlier turn, a shared system "
                "prompt) skips prefill and is reported as cached tokens.",
            )
            sim_cfg = dashboard_sim_config(
                ttft_ms=sim_ttft,
                tpot_ms=sim_tpot,
                jitter_ms=sim_jitter,
                max_batch=int(sim_capacity),
                tpot_growth_per_stream_ms=sim_growth,
                error_500_pct=sim_errors,
                prefill_ms_per_1k_tokens=sim_prefill,
                prefix_cache=bool(sim_cache),
            )
            sim_extra = {
                "sim_prefill_ms": sim_prefill,
                "sim_prefix_cache": bool(sim_cache) or None,
                "sim_ttft_ms": sim_ttft,
                "sim_tpot_ms": sim_tpot,
                "sim_jitter_ms": sim_jitter,
                "sim_capacity": int(sim_capacity),
                "sim_growth_ms": sim_growth,
                "sim_error_pct": sim_errors,
            }
            current = manager.sims.current()
            if current is None:
                st.caption("The simulator starts on a free loopback port when you launch.")
            elif dataclasses.asdict(current[0]) == dataclasses.asdict(sim_cfg):
                st.caption(f"Simulator running at `{current[1]}` with these settings.")
            else:
                st.caption(
                    "Launching starts a fresh simulator with these settings; probes still "
                    "running keep theirs."
                )
            url, model, api = "", SIM_MODEL, "chat"
        else:

            def strip_user_info() -> None:
                typed = st.session_state.get("url", "")
                if without_user_info(typed) != typed:  # before the URL and the link keep it
                    st.session_state["url"] = without_user_info(typed)
                    st.session_state["url_had_user_info"] = True

            url = st.text_input(
                "Endpoint URL",
                key="url",
                bind="query-params",
                on_change=strip_user_info,
                placeholder="http://127.0.0.1:8000/v1",
                help="The API root that /chat/completions and /models hang off, usually ending in /v1.",
            ).strip()
            if st.session_state.pop("url_had_user_info", False):
                st.warning(USER_INFO_MESSAGE, icon=":material/key_off:")
            key_source = choice(
                "key_source",
                "Where the API key comes from. A typed key stays in this browser session only; "
                "it is never saved, logged or put in a link.",
            )
            if key_source == "field":
                st.text_input(
                    "API key",
                    type="password",
                    key="api_key_value",
                    help="Held only in this session's memory.",
                )
            elif key_source == "env":
                st.text_input(
                    "Environment variable",
                    key="key_env",
                    bind="query-params",
                    placeholder="OPENAI_API_KEY",
                    help="Read on the dashboard's host; names ending in _API_KEY, _KEY or _TOKEN.",
                )
            elif key_source == "secret":
                st.text_input(
                    "Entry in [api_keys] of .streamlit/secrets.toml",
                    key="key_secret",
                    bind="query-params",
                    placeholder="openai",
                )
            api = choice("api", "Chat: /chat/completions with messages. Completions: /completions.")
            if "prefill_model" in st.session_state:  # set before the widget exists
                st.session_state["model"] = st.session_state.pop("prefill_model")
            model = st.text_input(
                "Model", key="model", bind="query-params", placeholder="the model name it serves"
            ).strip()

    def current_key() -> str | None:
        key: str | None = resolve_api_key(
            key_source,
            typed=st.session_state.get("api_key_value"),
            env_name=st.session_state.get("key_env"),
            secret_name=st.session_state.get("key_secret"),
            environ=os.environ,
            secrets=secrets,
            policy=policy,
        )
        return key

    if target == "url" and url:
        listed: dict[str, tuple[str, ...] | str] = st.session_state.setdefault("listed_models", {})
        if st.button("List the server's models", icon=":material/list:"):
            try:
                listed[url] = list_models(
                    url, current_key(), policy=policy, also_allowed=manager.own_urls()
                )
            except ValueError as exc:  # JobError, KeySourceError
                listed[url] = str(exc)
            else:
                if listed[url] and not model:
                    st.session_state["prefill_model"] = listed[url][0]
                    st.rerun()
        found = listed.get(url)
        if isinstance(found, str):
            st.error(found, icon=":material/error:")
        elif found:

            def pick_model() -> None:
                st.session_state["model"] = st.session_state["model_pick"]

            st.selectbox(
                "Models the server lists",
                found,
                index=None,
                key="model_pick",
                on_change=pick_model,
                placeholder=f"{len(found)} listed: pick one to fill in Model",
            )
        elif found is not None:
            st.caption("The server lists no models; type the name it serves.")

    with st.container(border=True):
        load_mode = choice(
            "load_mode",
            "Fixed concurrency: N requests always in flight (closed loop). Constant rate / "
            "Poisson: requests start on a schedule whatever the server does (open loop). "
            "Multi-turn sessions: simulated users, each a conversation that re-sends its "
            "history (with the server's real answers) on every turn.",
        )
        l1, l2 = st.columns(2)
        concurrency, rate_rps, max_in_flight = 8, 4.0, 0
        burstiness, stop_on_saturation = 1.0, False
        sessions, turns, think_time_s, system_prompt_tokens, user_tokens = 4, 5, 0.0, 0, 64
        if load_mode == "concurrency":
            concurrency = int(number(l1, "concurrency", "Requests in flight at once.", 1))
        elif load_mode == "sessions":
            sessions = int(number(l1, "sessions", "Simulated users talking at once.", 1))
            turns = int(number(l2, "turns", "Questions per conversation.", 1))
            m1, m2, m3 = st.columns(3)
            think_time_s = number(m1, "think_time_s", "Pause before each next question.", 1.0)
            system_prompt_tokens = int(
                number(m2, "system_prompt_tokens", "The same system prompt in every session.", 100)
            )
            user_tokens = int(number(m3, "user_tokens", "Length of each new question.", 16))
        else:
            rate_rps = number(l1, "rate_rps", "Requests started per second.", 1.0)
            max_in_flight = int(
                number(
                    l2,
                    "max_in_flight",
                    f"Most requests open at once; 0 = this dashboard's limit "
                    f"({policy.limits.max_concurrency}).",
                    1,
                )
            )
            b1, b2 = st.columns(2)
            if load_mode == "poisson":
                burstiness = number(
                    b1,
                    "burstiness",
                    "Gamma shape of the gaps between arrivals: 1 = Poisson, below 1 burstier, "
                    "above 1 more even (vLLM bench serve's --burstiness).",
                    0.25,
                )
            stop_on_saturation = b2.checkbox(
                "Stop on saturation",
                key="stop_on_saturation",
                bind="query-params",
                help="End the probe once the server cannot keep up (requests in flight or "
                "TTFT growing without end); it is flagged either way.",
            )
        ramp_up_s = number(
            st.container(),
            "ramp_up_s",
            "The rate, the concurrency or the session starts rise linearly to the target "
            "over this many seconds; 0 = at once.",
            1.0,
        )
        requests, warmup, prompt_tokens = 50, 0, 128
        if load_mode == "sessions":
            s1, p2 = st.columns(2)
            duration_s = number(
                s1, "duration_s", "No new turn starts after this many seconds; 0 = no limit.", 10.0
            )
        else:
            s1, s2, s3 = st.columns(3)
            requests = int(
                number(s1, "requests", "Measured requests; the probe stops after them.", 10)
            )
            duration_s = number(
                s2, "duration_s", "Stop after this many seconds too; 0 = no limit.", 10.0
            )
            warmup = int(
                number(
                    s3,
                    "warmup",
                    "Requests sent first and not counted. The probe already opens its "
                    "connections before the clock starts and times each request from when it "
                    "is sent, so the first wave measures like the rest; warm up when the "
                    "server itself is slower at first (cold caches, lazy compilation, "
                    "autoscaling).",
                    1,
                )
            )
            p1, p2 = st.columns(2)
            prompt_tokens = int(number(p1, "prompt_tokens", "Approximate prompt length.", 16))
        max_tokens = int(number(p2, "max_tokens", "max_tokens of every request.", 16))
        t1, t2 = st.columns(2)
        label = t1.text_input(
            "Label", key="label", bind="query-params", placeholder="e.g. vllm-a100-bs64"
        )
        tags = t2.text_input(
            "Tags", key="tags", bind="query-params", placeholder="comma, separated"
        )
        ray_workers: int | None = None
        if ray_engine_available():  # the `distributed` extra is installed
            r1, r2 = st.columns(2)
            on_ray = r1.toggle(
                "Ray engine",
                key="ray_engine",
                help="Run the same engine in local Ray actors, each with its share of the "
                "load; the run is stored as usual.",
            )
            workers = r2.number_input(
                "Ray workers", min_value=1, max_value=64, value=2, step=1, key="ray_workers"
            )
            ray_workers = int(workers) if on_ray else None

    with st.container(border=True):
        server_metrics = choice(
            "server_metrics",
            "While the probe runs, inferlab reads the server's Prometheus /metrics (vLLM, "
            "SGLang with --enable-metrics, TGI, llama-server with --metrics, TensorRT-LLM, "
            "Triton) once before the first request, every interval, and after the last; "
            "Runs then shows the server's own TTFT, queue and token counts beside the "
            "client's. A server without metrics never fails the probe.",
        )
        metrics_urls, interval_s = "", 1.0
        if server_metrics != "off":
            m1, m2 = st.columns([3, 1])
            if server_metrics == "custom":

                def strip_metrics_user_info() -> None:
                    typed = st.session_state.get("metrics_urls", "")
                    st.session_state["metrics_urls"] = clean_metrics_urls(typed)

                metrics_urls = m1.text_input(
                    "Metrics URL(s)",
                    key="metrics_urls",
                    bind="query-params",
                    on_change=strip_metrics_user_info,
                    placeholder="http://127.0.0.1:8000/metrics",
                    help="Separate several with commas (e.g. a prefill and a decode worker). "
                    "They pass the same target checks as the endpoint; no key or password "
                    "is sent to them.",
                )
            else:
                m1.caption(f"Scrapes {default_metrics_text(target, url)}.")
            interval_s = number(
                m2, "server_metrics_interval_s", "Seconds between two scrapes.", 0.5
            )

    form = FormValues(
        url=url,
        model=model,
        api=api,
        load_mode=load_mode,
        concurrency=concurrency,
        rate_rps=rate_rps,
        max_in_flight=max_in_flight,
        requests=requests,
        duration_s=duration_s,
        warmup=warmup,
        prompt_tokens=prompt_tokens,
        max_tokens=max_tokens,
        label=label,
        tags=tags,
        ramp_up_s=ramp_up_s,
        burstiness=burstiness,
        stop_on_saturation=bool(stop_on_saturation),
        sessions=sessions,
        turns=turns,
        think_time_s=think_time_s,
        system_prompt_tokens=system_prompt_tokens,
        user_tokens=user_tokens,
        server_metrics=server_metrics,
        metrics_urls=metrics_urls,
        server_metrics_interval_s=interval_s,
    )
    refused = over_limit(form, manager.apply_limits, policy)
    if refused:
        st.warning(f"{refused} Launch will refuse it as it is.", icon=":material/block:")
    # A failed launch's message belongs to the settings it failed with: once any of them
    # changes it is stale, and goes (the next Launch checks again).
    attempt = hash(
        (
            repr(form),
            target,
            repr(sim_cfg) if target == "sim" else "",
            key_source,
            *(st.session_state.get(k) for k in ("api_key_value", "key_env", "key_secret")),
        )
    )  # a hash in this session's memory: the typed key is not kept in any readable form
    if st.session_state.get("launch_error", ("", attempt))[1] != attempt:
        st.session_state.pop("launch_error", None)
    if st.button("Launch probe", type="primary", icon=":material/play_arrow:", width="stretch"):
        st.session_state.pop("launch_error", None)
        try:
            launch_url = manager.sim_url(sim_cfg) if target == "sim" else url
            cfg = build_config(
                FormValues(**{**form.__dict__, "url": launch_url}),
                None if target == "sim" else current_key(),
            )
            with st.spinner("Checking the endpoint…"):
                job = manager.start(
                    cfg,
                    session_id=session_id,
                    policy=policy,
                    check_endpoint=target != "sim",
                    db_path=default_db_path(),
                    ray_workers=ray_workers,
                )
        except ValueError as exc:  # JobError, KeySourceError, MetricsFormError: for the user
            st.session_state["launch_error"] = (str(exc), attempt)
        else:
            st.session_state["watch"] = job.run_id
    if "launch_error" in st.session_state:
        st.error(st.session_state["launch_error"][0], icon=":material/error:")
    elif "watch" in st.session_state:
        launched_status(st.session_state["watch"])
    st.caption(
        f"Limits on this dashboard: concurrency ≤ {policy.limits.max_concurrency:,}, "
        f"≤ {policy.limits.max_requests:,} requests and ≤ {policy.limits.max_duration_s:g} s "
        f"per probe, {policy.limits.max_running_jobs} probes at once per visitor."
        + (
            f" Allowed targets: {', '.join(policy.allowed)} and the built-in simulator."
            if policy.restricted
            else ""
        )
    )

    share_defaults = defaults()
    values = share_values(form, target, key_source, sim_extra)
    if target == "url":
        values["key_env"] = st.session_state.get("key_env") if key_source == "env" else None
        values["key_secret"] = (
            st.session_state.get("key_secret") if key_source == "secret" else None
        )
    flag_unknown_params(LINK_PARAMS | values.keys())
    st.markdown(
        "**Share this setup** — the link reopens the form with these inputs (never the key):"
    )
    share_box(share_url(st.context.url or "http://localhost:8501/probe", values, share_defaults))


def fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


STATE_TEXT = {
    "running": ":blue-badge[:material/progress_activity: running]",
    "completed": ":green-badge[:material/check: completed]",
    "cancelled": ":orange-badge[:material/stop: cancelled]",
    "interrupted": ":orange-badge[:material/warning: interrupted]",
    "failed": ":red-badge[:material/error: failed]",
}


@st.cache_data(ttl=30, show_spinner=False)
def run_validity(db: str, run_id: str) -> Validity:
    return Store(db).validity(run_id)


@st.cache_data(ttl=30, show_spinner=False)
def run_shared(db: str, run_id: str) -> str | None:
    """Why the run's server also served others (the probe keeps it), or None."""
    return shared_servers({run_id: Store(db).run_metadata(run_id)}).get(run_id)


def show_validity(snap: JobSnapshot) -> None:
    """The finished run's validity verdict: did the probe's own client keep up?"""
    try:
        validity = run_validity(snap.db_path, snap.run_id)
    except StoreError:
        return  # the database is busy; the Runs page shows it later
    with contextlib.suppress(StoreError):
        if shared := run_shared(snap.db_path, snap.run_id):
            st.warning(
                f"Other traffic: {shared}. The server also served someone else during this "
                "probe, so its latencies include their load; rerun it when the server is "
                "yours alone.",
                icon=":material/group:",
            )
    if validity.verdict == "suspect":
        st.warning(
            f"Validity: {validity.label}. The measuring client itself was under strain; "
            "rerun with fewer streams or on a quieter machine before trusting these numbers.",
            icon=":material/warning:",
        )
    elif validity.verdict == "valid":
        f = validity.facts
        detail = ""
        if f is not None and f.loop_lag_p99_ms is not None:
            detail = (
                f" (client event-loop lag p99 {f.loop_lag_p99_ms:.1f} ms"
                + (f", CPU {f.client_cpu_pct:.0f}% of a core" if f.client_cpu_pct else "")
                + ")"
            )
        st.caption(f"Validity: valid — the client kept up while it measured{detail}.")
    else:
        st.caption(f"Validity: {validity.label}.")


def cancel_job(run_id: str) -> None:
    manager.cancel(run_id)


def show_job(snap: JobSnapshot, chart: bool) -> None:
    with st.container(border=True, key=f"probe_job_{snap.run_id}"):
        title = snap.label or "Unlabelled probe"
        st.markdown(
            f"**{title}** {STATE_TEXT[snap.state]}  \n"
            f"run `{snap.run_id}` · `{snap.endpoint}` · {snap.model} · {snap.load}"
            + (f" · {snap.engine}" if snap.engine else "")
        )
        planned = f" of {snap.planned:,}" if snap.planned else ""
        if snap.active:
            text = (
                "warming up…"
                if snap.phase == "warmup"
                else f"{snap.done:,}{planned} requests done, {snap.in_flight} in flight, "
                f"{snap.elapsed_s:,.1f} s since launch"  # warm-up included
            )
            st.progress(snap.fraction or 0.0, text=text)
        r1 = st.columns(3)
        r1[0].metric("Done", f"{snap.done:,}")
        r1[1].metric("TTFT p50", fmt_ms(snap.ttft_p50_ms))
        r1[2].metric("TTFT p95", fmt_ms(snap.ttft_p95_ms))
        r2 = st.columns(3)
        r2[0].metric("Failed", f"{snap.failed:,}")
        r2[1].metric("TPOT p50", fmt_ms(snap.tpot_p50_ms))
        r2[2].metric("TPOT p95", fmt_ms(snap.tpot_p95_ms))
        sim = manager.sims.config_for(snap.endpoint)
        if sim is not None:
            st.caption(
                f"Simulator set to TTFT {sim.ttft_ms:g} ms and TPOT {sim.tpot_ms:g} ms"
                + (f" ± {sim.jitter_ms:g} ms" if sim.jitter_ms else "")
                + ". Measured values sit a little above (a fraction of a ms): the stamps are "
                "the kernel's send and receive times of each request's bytes, first wave "
                "included"
                + (
                    "; each extra concurrent stream adds "
                    f"{sim.tpot_growth_per_stream_ms:g} ms to TPOT."
                    if sim.tpot_growth_per_stream_ms
                    else "."
                )
            )
        if snap.saturation:
            st.warning(f"Over-saturation: {snap.saturation}", icon=":material/trending_up:")
        if snap.error:
            st.error(snap.error, icon=":material/error:")
        elif snap.state == "cancelled":
            st.caption(f"Cancelled after {snap.done:,} requests; they are saved.")
        elif snap.state == "completed" and not snap.saved:
            st.caption("Saved to a spool file; it enters the database as soon as it is free.")
        if not snap.active and snap.saved and snap.done:
            show_validity(snap)
        if snap.active:
            st.button(
                "Cancel",
                key=f"cancel_{snap.run_id}",
                icon=":material/stop:",
                on_click=cancel_job,
                args=(snap.run_id,),
            )
        elif snap.done:
            st.page_link(
                "pages/runs.py",
                label="Open this run in Runs",
                icon=":material/open_in_new:",
                query_params={"runs": snap.run_id},
            )
        if chart and snap.points:
            shown = snap.points[-LIVE_CHART_POINTS:]
            if len(shown) < snap.done:
                st.caption(f"Chart: the latest {len(shown):,} of {snap.done:,} requests.")
            st.plotly_chart(
                live_latency(shown),
                width="stretch",
                key=f"live_{snap.run_id}",
                config={"displayModeBar": False},
            )
        elif chart and snap.active:
            st.caption("The chart fills in as requests finish.")


# A shared dashboard shows each visitor their own probes unless it opts into one list.
visible_to = None if policy.shared_probes else session_id
jobs = manager.jobs(visible_to)
any_active = any(j.active for j in jobs)


@st.fragment(run_every=LIVE_REFRESH_S if any_active else None)
def live() -> None:
    snaps = [j.snapshot() for j in manager.jobs(visible_to)]
    seen: set[str] = st.session_state.setdefault("active_seen", set())
    now_active = {s.run_id for s in snaps if s.active}
    if seen - now_active or (now_active and not any_active):
        st.session_state["active_seen"] = now_active
        st.rerun()  # a probe started or ended: refresh the whole page (and the timer)
    st.session_state["active_seen"] = now_active
    if not snaps:
        st.info(
            (
                "No probe has run on this dashboard since it started. "
                if policy.shared_probes
                else "You have not launched a probe in this browser session yet. "
            )
            + "Set one up on the left and press **Launch probe**; its progress appears here.",
            icon=":material/info:",
        )
        return
    watch = st.session_state.get("watch")
    chart_id = watch if any(s.run_id == watch for s in snaps) else snaps[0].run_id
    for snap in snaps[:6]:
        show_job(snap, chart=snap.run_id == chart_id)
    if len(snaps) > 6:
        st.caption(f"{len(snaps) - 6} older probes are in the Runs page.")


with live_col:
    st.subheader("Probes on this dashboard")
    live()
