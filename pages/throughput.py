"""Throughput & capacity: Little's law, capacity planning, the roofline, measured vs predicted."""

from __future__ import annotations

import streamlit as st

from inferlab import capacity as cap
from inferlab import planning
from inferlab.catalog import (
    MAX_EDIT_CHARS,
    apply_gpu_edits,
    encode_gpu_edits,
    gpus_from_frame,
    gpus_to_frame,
    load_gpus,
)
from inferlab.charts.capacity import roofline_chart, tradeoff_chart
from inferlab.compare.run_facts import RunFacts, save_hardware, sweep_facts, try_load_run_facts
from inferlab.dashboard.throughput import (
    DEFAULT_GPU,
    GPU_EDIT_PARAM,
    RUN_PARAM,
    THROUGHPUT_CHOICES,
    THROUGHPUT_PARAMS,
    if_fitted,
    show_plan,
    show_run_shape,
)
from inferlab.dashboard.widgets import (
    EditableCatalog,
    choice,
    edited_catalog,
    linked_catalog,
    number,
    pick_run,
    share_block,
    show_link_warnings,
    stored_runs,
)
from inferlab.planning import plural
from inferlab.store import StoreError
from inferlab.textfmt import sig

SPEC = {p.name: p for p in THROUGHPUT_PARAMS}
CHOICE = {c.name: c for c in THROUGHPUT_CHOICES}
GPU_CATALOG = EditableCatalog(
    what="GPU catalog",
    shipped_file="data/catalog/gpus.csv",
    param=GPU_EDIT_PARAM,
    key="gpu_catalog",
    load=load_gpus,
    apply_edits=apply_gpu_edits,
    encode_edits=encode_gpu_edits,
    from_frame=gpus_from_frame,
    to_frame=gpus_to_frame,
)

st.title("Throughput & capacity: how much load, how many GPUs?")
st.markdown(
    "Turn latency into throughput with **Little's law**, size a deployment for a number of "
    "users, and estimate from a GPU's datasheet how fast a model *can* decode (the "
    "**roofline**), then compare with what a stored run measured."
)

# ---------------------------------------------------------------- catalog (from the link)
base_gpus, gpus = linked_catalog(GPU_CATALOG)

gpu_choice = CHOICE["gpu"].with_options(
    [g.name for g in gpus], DEFAULT_GPU
)  # validated against the edited catalog
show_link_warnings(
    THROUGHPUT_PARAMS,
    [gpu_choice, CHOICE["wprec"], CHOICE["kvprec"], CHOICE["demand"], CHOICE["source"]],
)


def num(col: st.delta_generator.DeltaGenerator, name: str, step: float, help_text: str) -> float:
    return number(col, SPEC[name], step, help_text)


# ---------------------------------------------------------------- Little's law
st.subheader("Little's law: requests in flight = arrival rate × time in the system", divider="gray")
c1, c2, c3, c4 = st.columns(4)
conc = int(num(c1, "conc", 1, "How many requests the server works on at the same time."))
ttft_ms = num(c2, "ttft_ms", 10.0, "Time to first token of one request.")
tpot_ms = num(c3, "tpot_ms", 1.0, "Time per output token after the first.")
out_tokens = int(num(c4, "out_tokens", 16, "Tokens in one answer, N."))

try:
    tp = cap.throughput_from_latency(conc, ttft_ms, tpot_ms, out_tokens)
except ValueError as exc:
    st.error(f"Cannot compute the throughput: {exc}.")
    st.stop()
m1, m2, m3 = st.columns(3)
m1.metric("Latency per request", f"{sig(tp.latency_s)} s", help="TTFT + TPOT × (N − 1)")
m2.metric("Requests per second", f"{sig(tp.rps)}", help="concurrency / latency")
m3.metric("Output tokens per second", f"{tp.output_tokens_per_s:,.0f}", help="RPS × N")
st.markdown(
    f"Each request spends **{sig(tp.latency_s)} s** in the server "
    f"({ttft_ms:g} ms + {tpot_ms:g} ms × {out_tokens - 1:,}). With **{conc:,}** of them in "
    f"flight at any moment, one finishes every {sig(tp.latency_s)} / {conc:,} = "
    f"{sig(tp.latency_s / conc * 1000)} ms on average, so the server completes "
    f"**{conc:,} / {sig(tp.latency_s)} s = {sig(tp.rps)} requests/s**, i.e. "
    f"{sig(tp.rps)} × {out_tokens:,} = **{tp.output_tokens_per_s:,.0f} output tokens/s**."
)
r1, r2 = st.columns([1, 3], vertical_alignment="bottom")
target_rps = num(r1, "target_rps", 1.0, "The request rate you need to sustain.")
need = cap.concurrency_for_rps(target_rps, ttft_ms, tpot_ms, out_tokens)
r2.info(
    f"The reverse: to sustain **{target_rps:g} requests/s** at {sig(tp.latency_s)} s each, "
    f"{target_rps:g} × {sig(tp.latency_s)} = **{need:,.1f} requests must be in flight**. "
    "This assumes latency does not change with load; in practice TPOT grows with the batch "
    "(see the trade-off chart below).",
    icon=":material/swap_horiz:",
)

# ---------------------------------------------------------------- capacity planning
st.subheader("Capacity planning: how many replicas and GPUs?", divider="gray")
st.markdown(
    "One model from demand to GPUs: the demand gives an arrival rate λ; one replica serves "
    "a number of requests at once, each taking a time W (from the roofline, a measured run "
    "or your own number — the source is named below); Little's law gives the requests in "
    "flight L = λ × W; replicas = L / (per replica × utilisation), rounded up."
)
d1, d2 = st.columns([2, 3])
demand_label = choice(d1, CHOICE["demand"], "How you know the load.", horizontal=False)
demand_mode = CHOICE["demand"].code(demand_label) or "users"
p1, p2, p3 = st.columns(3)
demand: planning.Demand
if demand_mode == "users":
    demand = planning.Demand(
        "users",
        users=int(num(p1, "users", 100, "People using the service at the busiest hour.")),
        requests_per_user_per_min=num(
            p2, "rpm_user", 0.1, "How often one active user sends a request."
        ),
    )
elif demand_mode == "rate":
    demand = planning.Demand(
        "rate", rps=num(p1, "plan_rps", 1.0, "Requests per second at the busiest time.")
    )
else:
    demand = planning.Demand(
        "concurrent",
        concurrent_users=int(num(p1, "c_users", 10, "Users in a conversation at the same moment.")),
        think_time_s=num(
            p2,
            "think_s",
            1.0,
            "Time a user reads and types between getting an answer and asking again.",
        ),
    )
in_tokens = int(num(p3, "in_tokens", 100, "Prompt length; also used by the roofline."))
p4, p5, p6 = st.columns(3)
target_s = num(p4, "target_s", 1.0, "End-to-end time a request may take at most.")
source_label = choice(p5, CHOICE["source"], "Where one replica's capacity comes from.")
source = CHOICE["source"].code(source_label) or "roofline"
util = num(p6, "util_pct", 5.0, "Plan to fill replicas only this far (headroom for bursts).") / 100
if source == "user":
    per_replica = int(
        num(p5, "per_replica", 1, "Requests one replica serves at once within the target latency.")
    )
plan_box = st.container()  # filled once the roofline and the stored run below are known

st.subheader("Roofline: what the hardware allows", divider="gray")
st.markdown(
    "Generating one token needs **every weight read from GPU memory once**, plus the KV cache "
    "of every sequence in the batch, so decoding is bounded by memory bandwidth. Processing the "
    "prompt (prefill) does about **2 × parameters FLOPs per prompt token**, so it is bounded by "
    "compute. Figures are dense (no sparsity) datasheet peaks; MBU and MFU scale them to what "
    "engines reach in practice."
)

with st.expander("GPU catalog: sources, and edit a copy", icon=":material/edit_note:"):
    st.caption(
        "Vendor datasheet figures with their source and the date they were taken (*as of*). "
        "Check the vendor page before relying on them. Edits stay in this browser tab and in "
        "the share link; the shipped file data/catalog/gpus.csv is never changed."
    )
    edited_frame = st.data_editor(
        st.session_state["gpu_catalog_start"],
        key="gpu_catalog_editor",
        num_rows="dynamic",
        width="stretch",
        column_order=[
            "name",
            "memory_gb",
            "bandwidth_tb_s",
            "bf16_tflops",
            "fp8_tflops",
            "as_of",
            "source_url",
        ],
        column_config={
            "name": st.column_config.TextColumn("GPU", required=True),
            "memory_gb": st.column_config.NumberColumn("Memory (GB)", min_value=0.001),
            "bandwidth_tb_s": st.column_config.NumberColumn("Bandwidth (TB/s)", min_value=0.001),
            "bf16_tflops": st.column_config.NumberColumn("BF16 TFLOPS", min_value=0.001),
            "fp8_tflops": st.column_config.NumberColumn(
                "FP8 TFLOPS", help="Empty: no FP8 tensor cores (FP8 runs at BF16 speed)."
            ),
            "source_url": st.column_config.LinkColumn("Source"),
            "as_of": st.column_config.TextColumn("As of"),
        },
    )
    edited_gpus = edited_catalog(GPU_CATALOG, edited_frame, base_gpus, gpus, MAX_EDIT_CHARS)
gpus = edited_gpus
by_name = {g.name: g for g in gpus}
gpu_choice = gpu_choice.with_options(by_name, DEFAULT_GPU)


def load_model(preset: str) -> None:
    params_b, layers, kv_heads, head_dim = cap.MODEL_PRESETS[preset]
    st.session_state.update(
        {"params_b": params_b, "layers": layers, "kv_heads": kv_heads, "head_dim": head_dim}
    )


g1, g2, g3, g4 = st.columns(4)
gpu_name = choice(g1, gpu_choice, "Accelerator from the catalog above.")
n_gpus = int(num(g2, "n_gpus", 1, "GPUs one replica spreads the model over (tensor parallel)."))
params_b = num(g3, "params_b", 1.0, "Total parameters in billions.")
wprec = choice(g4, CHOICE["wprec"], "Bytes per weight: BF16 2, FP8 1, INT4 0.5.")
st.caption("Model shape presets (from each model's published config):")
for col, preset in zip(st.columns(len(cap.MODEL_PRESETS)), cap.MODEL_PRESETS, strict=True):
    col.button(preset, on_click=load_model, args=(preset,), key=f"preset_{preset}", width="stretch")
k1, k2, k3, k4 = st.columns(4)
layers = int(num(k1, "layers", 1, "Transformer layers (for the KV-cache size)."))
kv_heads = int(num(k2, "kv_heads", 1, "Key/value heads (fewer than query heads with GQA)."))
head_dim = int(num(k3, "head_dim", 1, "Dimension of one attention head."))
kvprec = choice(k4, CHOICE["kvprec"], "Precision of the KV cache.")
e1, e2, e3, e4 = st.columns(4)
batch = int(num(e1, "batch", 1, "Sequences decoded together in one step."))
mbu = (
    num(e2, "mbu_pct", 5.0, "Share of peak memory bandwidth decoding reaches (60-80 % is typical).")
    / 100
)
mfu = num(e3, "mfu_pct", 5.0, "Share of peak FLOPS prefill reaches (40-60 % is typical).") / 100
mem_util = num(e4, "mem_pct", 5.0, "Share of GPU memory for weights + KV cache (vLLM: 90 %).") / 100

gpu = by_name.get(gpu_name, by_name.get(DEFAULT_GPU, gpus[0]))
try:
    model = cap.ModelShape(params_b, wprec, layers, kv_heads, head_dim, kvprec)
    roof = cap.roofline(gpu, model, in_tokens, out_tokens, batch, n_gpus, mbu, mfu, mem_util)
except ValueError as exc:
    st.error(f"Cannot compute the roofline: {exc}.")
    st.stop()
# Figures below that need the weights in memory are labelled hypothetical when they are not.
hypo = if_fitted(roof.kv.fits and roof.kv.max_batch >= 1, n_gpus)

st.caption(
    f"**{gpu.name}**: {gpu.memory_gb:g} GB, {gpu.bandwidth_tb_s:g} TB/s, "
    f"{gpu.tflops(wprec):,.0f} dense TFLOPS for {wprec} weights"
    + (f" (×{n_gpus} GPUs)" if n_gpus > 1 else "")
    + f". Source: {gpu.source_url or 'not given'}"
    + (f", as of {gpu.as_of}" if gpu.as_of else "")
    + "."
)
bw_total = gpu.bandwidth_tb_s * n_gpus
f1, f2, f3, f4 = st.columns(4)
# Short labels (four columns cut long ones off); "if it fitted" goes under the value.
caveat = hypo.strip() or None
f1.metric(
    "TPOT floor (batch 1)",
    f"{sig(roof.tpot_floor_ms)} ms",
    delta=caveat,
    delta_color="off",
    delta_arrow="off",
    help="Weight bytes / memory bandwidth at 100 %: no engine decodes one sequence faster.",
)
f2.metric(
    f"TPOT estimate (batch {batch:,})",
    f"{sig(roof.tpot_estimate_ms)} ms",
    delta=caveat,
    delta_color="off",
    delta_arrow="off",
    help="(weights + batch × context × KV bytes per token) / (bandwidth × MBU), "
    "or the compute time if that is larger.",
)
f3.metric(
    f"Prefill of {in_tokens:,} prompt tokens",
    f"{sig(roof.prefill_estimate_ms)} ms",
    delta=caveat or f"floor {sig(roof.prefill_floor_ms)} ms at 100 % FLOPS",
    delta_color="off",
    delta_arrow="off",
    help="2 × parameters × prompt tokens / (FLOPS × MFU): roughly the TTFT without queueing. "
    f"At 100 % FLOPS: {sig(roof.prefill_floor_ms)} ms.",
)
f4.metric(
    "Ridge point",
    f"{roof.ridge_flop_per_byte:,.0f} FLOP/byte",
    help="Peak FLOPS / bandwidth: work below this intensity is memory-bound.",
)
st.markdown(
    f"**Worked example.** {params_b:g} B parameters × {cap.BYTES_PER_PARAM[wprec]:g} bytes "
    f"({wprec}) = **{sig(model.weight_bytes / 1e9)} GB** of weights read for every token; "
    f"{sig(model.weight_bytes / 1e9)} GB / {bw_total:g} TB/s = **{sig(roof.tpot_floor_ms)} ms** "
    f"per token at best, i.e. at most {1000 / roof.tpot_floor_ms:,.0f} tokens/s for one "
    f"sequence. Each sequence of {in_tokens + out_tokens:,} tokens adds "
    f"{model.kv_bytes_per_token / 1024:,.0f} KiB × {in_tokens + out_tokens:,} = "
    f"{sig(model.kv_bytes_per_token * (in_tokens + out_tokens) / 1e9)} GB of KV cache to read "
    f"per step, so at batch {batch:,} and MBU {mbu:.0%} a step "
    + (
        f"would take **{sig(roof.tpot_estimate_ms)} ms** and the replica would produce "
        f"**{roof.tokens_per_s:,.0f} output tokens/s**{hypo} (it does not: see below)"
        if hypo
        else f"takes **{sig(roof.tpot_estimate_ms)} ms** and the replica produces "
        f"**{roof.tokens_per_s:,.0f} output tokens/s**"
    )
    + f". Decoding does about "
    f"{roof.decode_intensity_flop_per_byte:,.2g} FLOP per byte it reads, far below the ridge "
    f"point of {roof.ridge_flop_per_byte:,.0f}: it stays memory-bound until a batch of about "
    f"**{roof.compute_bound_batch:,.0f}** (ignoring KV reads)."
)
kv = roof.kv
if not kv.fits:
    st.error(
        f"The weights ({sig(kv.weights_gb)} GB) do not fit in {sig(kv.usable_gb)} GB "
        f"({mem_util:.0%} of {gpu.memory_gb:g} GB × {n_gpus}): use more GPUs per replica or a "
        "lower precision.",
        icon=":material/memory:",
    )
else:
    st.info(
        f"**KV cache bounds the batch.** {mem_util:.0%} of {gpu.memory_gb:g} GB × {n_gpus} = "
        f"{sig(kv.usable_gb)} GB, minus {sig(kv.weights_gb)} GB of weights, leaves "
        f"**{sig(kv.kv_free_gb)} GB** for the KV cache: {kv.max_tokens:,} tokens at "
        f"{kv.kv_bytes_per_token / 1024:,.0f} KiB each, i.e. at most **{kv.max_batch:,} "
        f"sequences** of {in_tokens + out_tokens:,} tokens at once."
        + (f" Your batch of {batch:,} does not fit." if batch > kv.max_batch else ""),
        icon=":material/memory:",
    )
st.plotly_chart(
    roofline_chart(
        gpu.tflops(wprec) * n_gpus,
        bw_total,
        [
            (f"decode, batch {batch:,}{hypo}", roof.decode_intensity_flop_per_byte),
            (
                f"prefill, {in_tokens:,} tokens{hypo}",
                2.0 * in_tokens / cap.BYTES_PER_PARAM[wprec] if in_tokens else 1e-3,
            ),
        ],
    ),
    width="stretch",
)

# ---------------------------------------------------------------- trade-off chart
st.subheader("Latency vs throughput across batch sizes", divider="gray")
st.markdown(
    "A bigger batch reads the weights once for more sequences: total tokens/s climbs almost "
    "linearly while TPOT barely moves, until the KV-cache reads and then compute take over "
    "and every user's stream slows down. The batch is capped by the KV-cache memory. "
    "A run chosen below adds its measured points."
)
chart_box = st.container()
run_points: list[tuple[int, float, float]] = []
curve_max = max(kv.max_batch, batch, 1) if kv.fits else max(batch, 1)
points = cap.tradeoff_curve(
    gpu,
    model,
    in_tokens + out_tokens,
    cap.batch_sizes(min(curve_max, 4096)),
    n_gpus,
    mbu,
    mfu,
    mem_util,
)

st.subheader("Measured vs predicted: a stored run", divider="gray")
store, runs, linked = stored_runs(RUN_PARAM)
plan_run: RunFacts | None = None
if not runs:
    st.caption(
        "No stored runs yet. Probe an endpoint (or the built-in simulator) first, then "
        "come back to compare its measured TPOT and throughput with the roofline."
    )
    run_id = None
else:
    run_id = pick_run(runs, linked, RUN_PARAM)
if run_id and store is not None:
    facts, problem = try_load_run_facts(store, run_id)
    plan_run = facts
    if facts is None:
        st.error(f"{problem}.", icon=":material/database:")
    elif not facts.has_hardware:
        st.info(
            "Which hardware did this run measure? Enter it once; it is saved as run metadata "
            "(gpu, model_params_b, precision, n_gpus).",
            icon=":material/memory:",
        )
        with st.form("hardware"):
            h1, h2, h3, h4 = st.columns(4)
            h_gpu = h1.selectbox(
                "GPU", list(by_name), index=list(by_name).index(gpu.name), key="hw_gpu"
            )
            h_params = h2.number_input(
                "Model size (B params)", 0.001, 100_000.0, params_b, key="hw_params_b", format="%g"
            )
            h_prec = h3.selectbox(
                "Precision", cap.PRECISIONS, index=cap.PRECISIONS.index(wprec), key="hw_prec"
            )
            h_n = h4.number_input("GPUs", 1, 1024, n_gpus, key="hw_n_gpus")
            if st.form_submit_button("Save to the run", icon=":material/save:"):
                try:
                    save_hardware(store, run_id, h_gpu, float(h_params), h_prec, int(h_n))
                except (ValueError, StoreError) as exc:
                    st.error(f"Not saved: {exc}.")
                else:
                    st.rerun()
    else:
        run_gpu = by_name.get(str(facts.gpu))
        if run_gpu is None:
            st.error(
                f"This run was measured on '{facts.gpu}', which is not in the GPU catalog: "
                "add it in the catalog editor above to compare."
            )
        elif facts.tpot_p50_ms is None or facts.output_tps is None:
            st.warning("This run has no completed multi-token requests to compare yet.")
        else:
            run_model = cap.ModelShape(
                float(facts.model_params_b or params_b),
                str(facts.precision),
                layers,
                kv_heads,
                head_dim,
                kvprec,
            )
            run_batch = facts.concurrency or 1
            ctx = (facts.mean_input_tokens or in_tokens) + (facts.mean_output_tokens or out_tokens)
            out_n = facts.mean_output_tokens or out_tokens
            pred = cap.predict_run(
                run_gpu, run_model, run_batch, ctx, out_n, facts.n_gpus, mbu, mfu
            )
            pred_tpot, pred_tps = pred.tpot_ms, pred.output_tokens_per_s
            mbu_implied = cap.implied_mbu(
                facts.tpot_p50_ms, run_gpu, run_model, run_batch, ctx, facts.n_gpus
            )
            st.caption(
                f"Measured on **{run_gpu.name} × {facts.n_gpus}**, {facts.model_params_b:g} B "
                f"{facts.precision}, concurrency {run_batch:,}, about {ctx:,.0f} tokens of "
                f"context per request. KV-cache shape from the inputs above."
            )
            v1, v2, v3 = st.columns(3)
            v1.metric(
                "TPOT p50: measured",
                f"{sig(facts.tpot_p50_ms)} ms",
                delta=f"predicted {sig(pred_tpot)} ms at MBU {mbu:.0%}",
                delta_color="off",
                delta_arrow="off",
            )
            v2.metric(
                "Output tokens/s: measured",
                f"{facts.output_tps:,.0f}",
                delta=f"predicted {pred_tps:,.0f}",
                delta_color="off",
                delta_arrow="off",
            )
            v3.metric(
                "Implied MBU",
                f"{mbu_implied:.0%}",
                help="Bytes one decode step must read / measured TPOT / peak bandwidth.",
            )
            st.caption(
                "Predicted tokens/s = concurrency × N / (prefill + (N − 1) × TPOT), by "
                "Little's law; the measured figure also includes queueing and TTFT delays."
            )
            if mbu_implied > 1:
                st.warning(
                    "The measured TPOT is faster than the memory-bound floor: the hardware "
                    "metadata is probably wrong (or the server batches speculative tokens).",
                    icon=":material/help:",
                )
            run_points = [
                (int(f.load_value), float(f.tpot_p50_ms), float(f.output_tps))
                for f in sweep_facts(store, facts)
                if f.tpot_p50_ms is not None and f.output_tps is not None
            ]
            same = run_gpu.name == gpu.name and facts.model_params_b == params_b
            st.caption(
                f"{len(run_points)} measured point(s) from this run"
                + (" and its sweep" if facts.group_id else "")
                + " are drawn on the trade-off chart above"
                + (
                    "."
                    if same
                    else " — set the GPU and model size above to the run's to compare like with like."
                )
            )

# ---------------------------------------------------------------- capacity planning (shown above)
with plan_box:
    context_tokens = in_tokens + out_tokens
    min_gpus = planning.min_gpus_per_replica(gpu, model, context_tokens, mem_util)
    fits = kv.fits and kv.max_batch >= 1
    replica: planning.ReplicaCapacity | None = None
    try:
        if source == "roofline":
            replica = planning.replica_from_roofline(
                gpu, model, in_tokens, out_tokens, target_s, n_gpus, mbu, mfu, mem_util
            )
        elif source == "user":
            replica = planning.replica_from_user(per_replica, tp.latency_s)
        elif plan_run is None:
            st.info(
                "Pick a stored concurrency run under *Measured vs predicted* below: its "
                "concurrency and measured latency become one replica's capacity.",
                icon=":material/table_rows:",
            )
        else:
            replica = planning.replica_from_run(
                plan_run.label or plan_run.run_id,
                plan_run.concurrency or 0,
                (plan_run.e2e_mean_ms or float("nan")) / 1000.0,
                plan_run.e2e_p95_ms / 1000.0 if plan_run.e2e_p95_ms else None,
            )
    except ValueError as exc:
        st.error(f"Cannot take one replica's capacity from {source_label.lower()}: {exc}.")
    if replica is not None:
        try:
            plan = planning.plan_deployment(
                demand,
                replica,
                target_s,
                util,
                in_tokens,
                out_tokens,
                fits if source != "run" else True,
                n_gpus,
                min_gpus,
            )
        except ValueError as exc:
            st.error(f"Cannot plan the capacity: {exc}.")
        else:
            tp_plans = (
                planning.compare_tp_degrees(
                    demand, gpu, model, in_tokens, out_tokens, target_s, util, mbu, mfu, mem_util
                )
                if source == "roofline"
                else None
            )
            if source == "run" and plan_run is not None:
                show_run_shape(
                    plan_run.mean_input_tokens, plan_run.mean_output_tokens, in_tokens, out_tokens
                )
            show_plan(
                plan, source_label, target_s, util, demand_mode, n_gpus, min_gpus, tp_plans, wprec
            )

if kv.fits and kv.max_batch >= 1:
    chart_box.plotly_chart(
        tradeoff_chart(points, kv.max_batch, run_points),
        width="stretch",
    )
else:
    chart_box.info(
        f"No batch-size curve: {params_b:g} B parameters in {wprec} do not leave room for even "
        f"one sequence's KV cache on {plural(n_gpus, 'GPU')} of {gpu.memory_gb:g} GB. "
        + (
            f"It needs at least {plural(need_gpus, 'GPU')} per replica (tensor parallel)."
            if (
                need_gpus := planning.min_gpus_per_replica(
                    gpu, model, in_tokens + out_tokens, mem_util
                )
            )
            else "Even 64 GPUs per replica are not enough: use a lower precision."
        ),
        icon=":material/memory:",
    )

st.divider()
share_block(
    "throughput",
    THROUGHPUT_PARAMS,
    THROUGHPUT_CHOICES,
    {
        "gpu": gpu_name,
        "wprec": wprec,
        "kvprec": kvprec,
        "demand": demand_label,
        "source": source_label,
    },
    [GPU_EDIT_PARAM, RUN_PARAM],
)
