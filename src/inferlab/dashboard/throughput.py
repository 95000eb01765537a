"""The Throughput & capacity page's inputs: URL parameter specs and their defaults."""

from __future__ import annotations

from inferlab.capacity import PRECISIONS
from inferlab.dashboard.params import ChoiceParam, NumberParam

__all__ = [
    "DEFAULT_GPU",
    "GPU_EDIT_PARAM",
    "MODEL_PRESET_PARAM",
    "RUN_PARAM",
    "THROUGHPUT_CHOICES",
    "THROUGHPUT_PARAMS",
]

MAX_TIME_MS = 3_600_000.0
MAX_TOKENS = 10_000_000

THROUGHPUT_PARAMS: tuple[NumberParam, ...] = (
    # Little's law
    NumberParam("conc", "Concurrent requests", 32, 1, 1_000_000, integer=True),
    NumberParam("ttft_ms", "TTFT (ms)", 200.0, 0.0, MAX_TIME_MS),
    NumberParam("tpot_ms", "TPOT (ms)", 20.0, 0.0, MAX_TIME_MS),
    NumberParam("out_tokens", "Output tokens per request", 256, 1, MAX_TOKENS, integer=True),
    NumberParam("target_rps", "Target requests/s", 10.0, 0.0, 1e7),
    # capacity planning
    NumberParam("users", "Active users", 1000, 0, 1e10, integer=True),
    NumberParam("rpm_user", "Requests per user per minute", 0.5, 0.0, 10_000.0),
    NumberParam(
        "in_tokens", "Input (prompt) tokens per request", 1000, 0, MAX_TOKENS, integer=True
    ),
    NumberParam("target_s", "Target latency per request (s)", 15.0, 0.001, 86_400.0),
    NumberParam("per_replica", "Concurrent requests per replica", 32, 1, 1_000_000, integer=True),
    NumberParam("util_pct", "Target utilisation (%)", 80.0, 1.0, 100.0),
    # roofline
    NumberParam("n_gpus", "GPUs per replica (tensor parallel)", 1, 1, 1024, integer=True),
    NumberParam("params_b", "Model size (billion parameters)", 8.0, 0.001, 100_000.0),
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
)
MODEL_PRESET_PARAM = "model"  # a button row, not state: presets fill params_b/layers/...
GPU_EDIT_PARAM = "gpu_edit"
RUN_PARAM = "run"
