import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlab import capacity as cap
from inferlab.catalog import load_gpus

GPUS = {g.name: g for g in load_gpus()}
H100 = GPUS["H100 SXM"]
LLAMA_8B = cap.ModelShape(8.0, "BF16", 32, 8, 128, "BF16")


def test_worked_example_8b_bf16_on_h100_has_a_tpot_floor_of_about_4_8_ms() -> None:
    # 8e9 params x 2 bytes = 16 GB read per token; 16 GB / 3.35 TB/s = 4.776 ms
    assert cap.tpot_floor_ms(H100, LLAMA_8B) == pytest.approx(4.776, abs=0.001)
    assert round(cap.tpot_floor_ms(H100, LLAMA_8B), 1) == 4.8


def test_prefill_is_two_flops_per_parameter_per_prompt_token() -> None:
    # 2 x 8e9 x 1000 = 1.6e13 FLOP / 989e12 FLOP/s = 16.18 ms; at MFU 50 % twice that
    assert cap.prefill_ms(H100, LLAMA_8B, 1000) == pytest.approx(16.178, abs=0.001)
    assert cap.prefill_ms(H100, LLAMA_8B, 1000, mfu=0.5) == pytest.approx(32.356, abs=0.001)


def test_ridge_point_is_peak_flops_over_bandwidth() -> None:
    assert cap.ridge_point_flop_per_byte(H100) == pytest.approx(295.2, abs=0.1)
    assert cap.ridge_point_flop_per_byte(H100, "FP8") == pytest.approx(590.7, abs=0.1)


def test_kv_cache_of_llama_8b_is_128_kib_per_token_and_bounds_the_batch() -> None:
    assert LLAMA_8B.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2 == 131_072
    kv = cap.kv_budget(H100, LLAMA_8B, context_tokens=1256)
    # 90 % of 80 GB = 72 GB, minus 16 GB of weights = 56 GB
    assert kv.usable_gb == pytest.approx(72.0)
    assert kv.kv_free_gb == pytest.approx(56.0)
    assert kv.max_tokens == 427_246
    assert kv.max_batch == 340


def test_70b_bf16_does_not_fit_one_h100_but_fits_two() -> None:
    llama_70b = cap.ModelShape(70.0, "BF16", 80, 8, 128)
    assert not cap.kv_budget(H100, llama_70b, 2000).fits
    two = cap.kv_budget(H100, llama_70b, 2000, n_gpus=2)
    assert two.fits and two.max_batch >= 1
    # tensor parallel over 2 GPUs doubles the bandwidth: 140 GB / 6.7 TB/s
    assert cap.tpot_floor_ms(H100, llama_70b, n_gpus=2) == pytest.approx(20.896, abs=0.001)


def test_kv_reads_and_mbu_raise_the_tpot_estimate() -> None:
    r = cap.roofline(H100, LLAMA_8B, prompt_tokens=1000, output_tokens=256, batch=1)
    assert r.tpot_floor_ms == pytest.approx(4.776, abs=0.001)
    # + 1256 tokens x 128 KiB = 0.165 GB of KV: 16.165 GB / 3.35 TB/s
    assert r.tpot_floor_kv_ms == pytest.approx(4.825, abs=0.001)
    assert r.tpot_estimate_ms == pytest.approx(r.tpot_floor_kv_ms / 0.7)
    assert r.compute_bound_batch == pytest.approx(295.2, abs=0.1)
    assert r.tokens_per_s == pytest.approx(1000 / r.tpot_estimate_ms)


def test_fp8_halves_the_weight_bytes() -> None:
    fp8 = cap.ModelShape(8.0, "FP8")
    assert cap.tpot_floor_ms(H100, fp8) == pytest.approx(4.776 / 2, abs=0.001)


def test_little_law_both_ways() -> None:
    tp = cap.throughput_from_latency(32, 200, 20, 256)
    assert tp.latency_s == pytest.approx(5.3)
    assert tp.rps == pytest.approx(32 / 5.3)
    assert tp.output_tokens_per_s == pytest.approx(32 / 5.3 * 256)
    assert cap.concurrency_for_rps(10, 200, 20, 256) == pytest.approx(53.0)
    assert cap.little_rps(cap.little_concurrency(7.0, 2.0), 2.0) == pytest.approx(7.0)


def test_capacity_plan_worked_example() -> None:
    plan = cap.plan_capacity(1000, 0.5, 1000, 256, 15.0, 32, 0.8)
    assert plan.arrival_rps == pytest.approx(8.3333, abs=1e-4)
    assert plan.required_concurrency == pytest.approx(125.0)
    assert plan.replicas == 5  # ceil(125 / 25.6)
    assert plan.utilisation == pytest.approx(125 / 160)
    assert plan.output_tokens_per_s == pytest.approx(8.3333 * 256, abs=0.1)


def test_no_users_still_needs_one_replica() -> None:
    assert cap.plan_capacity(0, 1, 100, 100, 1.0, 8).replicas == 1


def test_tradeoff_curve_tpot_and_throughput_grow_with_batch() -> None:
    pts = cap.tradeoff_curve(H100, LLAMA_8B, 1256, cap.batch_sizes(340))
    assert [p.batch for p in pts] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 340]
    assert all(a.tpot_ms <= b.tpot_ms for a, b in itertools.pairwise(pts))
    assert all(a.tokens_per_s < b.tokens_per_s for a, b in itertools.pairwise(pts))
    assert all(p.fits_kv for p in pts)
    assert not cap.tradeoff_curve(H100, LLAMA_8B, 1256, [341])[0].fits_kv


def test_max_batch_for_latency_respects_target_and_kv() -> None:
    loose = cap.max_batch_for_latency(H100, LLAMA_8B, 1000, 256, 60.0)
    assert loose == 340  # the KV cache is the limit
    tight = cap.max_batch_for_latency(H100, LLAMA_8B, 1000, 256, 2.0)
    assert 1 <= tight < loose
    tpot = cap.tpot_floor_ms(H100, LLAMA_8B, tight, 1256, mbu=0.7, mfu=0.5)
    assert (cap.prefill_ms(H100, LLAMA_8B, 1000, mfu=0.5) + tpot * 255) / 1000 <= 2.0
    assert cap.max_batch_for_latency(H100, LLAMA_8B, 1000, 256, 0.5) == 0


def test_implied_mbu_inverts_the_estimate() -> None:
    measured = cap.tpot_floor_ms(H100, LLAMA_8B, 8, 1101, mbu=0.7)
    assert cap.implied_mbu(measured, H100, LLAMA_8B, 8, 1101) == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cap.ModelShape(0), "model size"),
        (lambda: cap.ModelShape(8, "FP4"), "weight precision must be one of BF16, FP8, INT4"),
        (lambda: cap.tpot_floor_ms(H100, LLAMA_8B, n_gpus=0), "number of GPUs must be at least 1"),
        (lambda: cap.tpot_floor_ms(H100, LLAMA_8B, batch=0), "batch size"),
        (lambda: cap.tpot_floor_ms(H100, LLAMA_8B, mbu=0), "MBU"),
        (lambda: cap.prefill_ms(H100, LLAMA_8B, -1), "prompt tokens"),
        (lambda: cap.GpuSpec("X", 80, 0, 100), "X: bandwidth"),
        (lambda: cap.throughput_from_latency(0, 1, 1, 1), "concurrency"),
        (lambda: cap.throughput_from_latency(1, 0, 0, 5), "TTFT and TPOT are both 0"),
        (lambda: cap.plan_capacity(-1, 1, 1, 1, 1, 1), "users"),
        (lambda: cap.plan_capacity(1, 1, 1, 1, 0, 1), "target latency"),
        (lambda: cap.plan_capacity(1, 1, 1, 1, 1, 1, 1.5), "target utilisation"),
        (lambda: cap.request_latency_s(math.nan, 1, 1), "TTFT must be a finite number"),
    ],
)
def test_invalid_input_gets_a_clear_message(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


share = st.floats(min_value=0.01, max_value=1.0)


@settings(max_examples=150, deadline=None)
@given(
    gpu=st.sampled_from(sorted(GPUS)),
    params_b=st.floats(min_value=0.01, max_value=2000),
    precision=st.sampled_from(cap.PRECISIONS),
    kvprec=st.sampled_from(cap.PRECISIONS),
    layers=st.integers(1, 200),
    kv_heads=st.integers(1, 128),
    head_dim=st.integers(1, 512),
    prompt=st.integers(0, 200_000),
    output=st.integers(1, 100_000),
    batch=st.integers(1, 4096),
    n_gpus=st.integers(1, 64),
    mbu=share,
    mfu=share,
    mem=share,
)
def test_roofline_never_fails_for_valid_input(  # type: ignore[no-untyped-def]
    gpu,
    params_b,
    precision,
    kvprec,
    layers,
    kv_heads,
    head_dim,
    prompt,
    output,
    batch,
    n_gpus,
    mbu,
    mfu,
    mem,
) -> None:
    model = cap.ModelShape(params_b, precision, layers, kv_heads, head_dim, kvprec)
    r = cap.roofline(GPUS[gpu], model, prompt, output, batch, n_gpus, mbu, mfu, mem)
    assert 0 < r.tpot_floor_ms <= r.tpot_floor_kv_ms <= r.tpot_estimate_ms
    assert r.prefill_floor_ms <= r.prefill_estimate_ms
    assert r.tokens_per_s > 0 and r.kv.max_batch >= 0 and r.kv.kv_free_gb >= 0
    assert (
        cap.max_batch_for_latency(GPUS[gpu], model, prompt, output, 30.0, n_gpus, mbu, mfu, mem)
        >= 0
    )


@settings(max_examples=100, deadline=None)
@given(
    users=st.integers(0, 10**9),
    rpm=st.floats(min_value=0, max_value=1000),
    latency=st.floats(min_value=0.001, max_value=3600),
    per_replica=st.integers(1, 10_000),
    util=share,
)
def test_capacity_plan_never_fails_for_valid_input(users, rpm, latency, per_replica, util) -> None:  # type: ignore[no-untyped-def]
    plan = cap.plan_capacity(users, rpm, 1000, 100, latency, per_replica, util)
    assert plan.replicas >= 1
    assert plan.required_concurrency <= plan.replicas * per_replica * util * (1 + 1e-9) + 1e-9


@settings(max_examples=100, deadline=None)
@given(value=st.floats(max_value=0) | st.just(math.inf) | st.just(math.nan))
def test_non_positive_model_size_is_refused_with_its_name(value: float) -> None:
    with pytest.raises(ValueError, match="model size"):
        cap.ModelShape(value)
