"""The probe: an async httpx load generator for OpenAI-compatible streaming endpoints.

One engine for the CLI, the dashboard and tests: `runner` schedules requests,
`worker` sends one and measures it, `stream` turns its chunks into a
RequestRecord, a `Sink` keeps the records, and progress goes to an injected
callback. Never imports streamlit.
"""

from inferlab.probe.config import (
    ConfigError,
    ProbeConfig,
    endpoint_for_display,
    make_run_info,
    sweep_configs,
)
from inferlab.probe.preflight import PreflightError, PreflightResult, preflight
from inferlab.probe.runner import (
    ProbeResult,
    ProgressCallback,
    ProgressUpdate,
    run_probe,
    run_probe_sync,
    run_sweep,
    run_sweep_sync,
)
from inferlab.probe.sink import MemorySink, Sink, SinkError

__all__ = [
    "ConfigError",
    "MemorySink",
    "PreflightError",
    "PreflightResult",
    "ProbeConfig",
    "ProbeResult",
    "ProgressCallback",
    "ProgressUpdate",
    "Sink",
    "SinkError",
    "endpoint_for_display",
    "make_run_info",
    "preflight",
    "run_probe",
    "run_probe_sync",
    "run_sweep",
    "run_sweep_sync",
    "sweep_configs",
]
