"""Which engine runs a probe: one process, or several (`auto` picks from the load).

`auto` (the default of the CLI and the dashboard) runs in this process up to
STREAMS_PER_WORKER streams and above in min(WORKERS_PER_CPU x cpus,
ceil(streams / STREAMS_PER_WORKER)) worker processes. Why (docs/PERFORMANCE.md,
"Probe accuracy at load"): one process's reader thread shares the GIL with its
event loop; when the machine is busy the loop is descheduled holding the GIL,
the reader cannot read, and the kernel merges a stream's waiting chunks (TTFT
p99 +40 to +290 ms at c=256 in one process). Each stall then hits only the
streams of one worker: at c=256 on 2 busy CPUs, 4 workers read +1 to +21 ms at
p99 where 2 read +8 to +123 ms. The workers mostly wait, so more of them than
CPUs pays. The streams of a closed loop are its concurrency; of an open loop,
its in-flight cap (without a cap they are not known in advance: one process).
Multi-turn sessions are split by user (the sessions are the streams). What
cannot be split (stop-on-saturation: one detector must see the whole load)
runs in one process, and the run's `engine_note` says so. The choice is kept in the run's settings (`engine`,
`workers`, `engine_note`), so the dashboard's job and the CLI make the same one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from inferlab.netpolicy import NetPolicy
from inferlab.probe.config import ProbeConfig, make_run_info
from inferlab.probe.engines.pool import engine_info
from inferlab.probe.runner import CancelEvent, ProbeResult, ProgressCallback, run_probe
from inferlab.probe.sink import Sink
from inferlab.records import RunInfo

__all__ = [
    "ENGINES",
    "STREAMS_PER_WORKER",
    "WORKERS_PER_CPU",
    "EngineName",
    "choose",
    "engine_json",
    "engine_label",
    "run_chosen",
    "unsplittable",
]

EngineName = Literal["auto", "local", "processes"]
ENGINES: tuple[str, ...] = ("auto", "local", "processes", "ray")
STREAMS_PER_WORKER = 64  # streams per worker process (see the module docstring)
WORKERS_PER_CPU = 2  # the workers mostly wait for chunks: more than the CPUs pays


def _streams(info: RunInfo) -> int | None:
    """How many streams the run keeps in flight at most, when known in advance."""
    if info.load_mode == "concurrency":
        return max(1, int(info.load_value))
    if info.load_mode == "sessions":
        sessions = info.settings.get("sessions")
        count = sessions.get("count") if isinstance(sessions, dict) else None
        return count if isinstance(count, int) else None
    cap = info.settings.get("concurrency_cap")
    return cap if isinstance(cap, int) and cap > 0 else None


def engine_json(info: RunInfo) -> dict[str, object] | None:
    """{name, workers, note} of the engine that measured the run (None: not a probe run).

    Runs recorded before engines were named ran in one process (`local`)."""
    if info.source_tool != "inferlab" or "requests" not in info.settings:
        return None
    workers = info.settings.get("workers", 1)
    note = info.settings.get("engine_note")
    return {
        "name": str(info.settings.get("engine", "local")),
        "workers": workers if isinstance(workers, int) else 1,
        "note": note if isinstance(note, str) else None,
    }


def engine_label(name: str, workers: int, note: str | None = None) -> str:
    """'engine local', 'engine processes x2', with the note when there is one."""
    label = f"engine {name}" + (f" x{workers}" if workers > 1 else "")
    return label + (f" ({note})" if note else "")


def unsplittable(info: RunInfo) -> str | None:
    """Why this run cannot be split over workers (None: it can)."""
    if info.settings.get("stop_on_saturation"):
        return "--stop-on-saturation needs one detector over the whole load"
    return None


def choose(
    info: RunInfo,
    engine: str = "auto",
    workers: int | None = None,
    cpus: int | None = None,
) -> RunInfo:
    """`info` with the engine that will run it in its settings (open the sink with this).

    `workers` asks that many processes (with `auto` too); `cpus` defaults to the host's.
    """
    cpus = max(1, cpus or os.cpu_count() or 1)
    streams = _streams(info)
    if engine == "local":
        return engine_info(info, 1, "local")
    wanted: int | None = workers
    if wanted is None and streams is not None:
        wanted = min(WORKERS_PER_CPU * cpus, math.ceil(streams / STREAMS_PER_WORKER))
    if engine == "processes" and (wanted is None or wanted < 2):
        wanted = workers or cpus
    if wanted is None or (wanted < 2 and engine == "auto"):
        return engine_info(info, 1, "local")
    why = unsplittable(info)
    if why is not None:
        note = f"ran in one process: {why}"
        if engine == "auto":
            note = f"auto would use {wanted} worker processes; {note}"
        return engine_info(info, 1, "local", note)
    chosen = engine_info(info, wanted, "processes")
    if engine == "auto" and chosen.settings["workers"] == 1:
        return engine_info(info, 1, "local")  # too few requests to share
    return chosen


async def run_chosen(
    cfg: ProbeConfig,
    sink: Sink,
    *,
    info: RunInfo | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelEvent | None = None,
    step: int = 0,
    steps: int = 1,
    engine: str = "auto",
    workers: int | None = None,
    policy: NetPolicy | None = None,
    also_allowed: Sequence[str] = (),
) -> ProbeResult:
    """`run_probe` on the engine `choose` picks for this run (same arguments and result).

    The choice is made again from `info` (deterministic), so a caller that opened
    its sink with `choose(info, engine, workers)` records the engine that ran."""
    info = choose(info or make_run_info(cfg), engine, workers)
    run: Callable[..., Awaitable[ProbeResult]] = run_probe
    if info.settings.get("engine") == "processes":
        from inferlab.probe.engines.processes import run_probe_processes

        run = run_probe_processes  # the workers are in `info`
    return await run(
        cfg,
        sink,
        info=info,
        progress=progress,
        cancel=cancel,
        step=step,
        steps=steps,
        policy=policy,
        also_allowed=also_allowed,
    )
