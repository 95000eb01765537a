"""What every multi-worker engine shares: one run driven over several `run_probe` workers.

A worker (a Ray actor, a spawned process) runs the unchanged `run_probe` with
its share (k, n) of the load: request indexes k, k+n, ..., its part of the
concurrency or every n-th arrival of the one schedule. All start at one
wall-clock instant chosen here; inside a worker every duration (TTFT, ITL, E2E)
is measured with its own monotonic clock, the wall clock only aligns
`scheduled_ms`/`sent_ms` across workers. The parent polls the workers for
record batches and writes them through the run's one sink, so a multi-worker
run is an ordinary run in the store; it scrapes the server's /metrics once,
itself (the workers do not). A cancel stops every worker and keeps what
completed; a worker that is lost fails the requests it had in flight
(`worker_lost`) and the run goes on with the others.

An engine is a `Pool`: how to start its workers, poll one, cancel one and stop
them all; `run_pooled` is the one driver both engines use.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from inferlab.netpolicy import NetPolicy
from inferlab.probe.config import ConfigError, ProbeConfig
from inferlab.probe.runner import (
    CancelEvent,
    ProbeResult,
    ProgressCallback,
    ProgressUpdate,
    _give_validity,
    _Run,
    _scraper,
    _stop_scraper,
    _wait_cancel,
    prompt_source,
)
from inferlab.probe.saturation import Saturation
from inferlab.probe.sink import Sink, SinkPump
from inferlab.records import RequestRecord, RunInfo, RunStatus
from inferlab.validity import ValidityFacts

__all__ = [
    "LOST_ERROR_CLASS",
    "POLL_INTERVAL_S",
    "START_LEAD_S",
    "EngineUnavailable",
    "Pool",
    "WorkerBatch",
    "WorkerLost",
    "WorkerView",
    "checked_prompts",
    "combine_validity",
    "engine_info",
    "run_pooled",
    "worker_config",
]

LOST_ERROR_CLASS = "worker_lost"
POLL_INTERVAL_S = 0.1
START_LEAD_S = 1.0  # workers get this long, after all are ready, to reach the common start
CANCEL_GRACE_S = 10.0  # how long a cancelled worker may take to hand back its records


@dataclass(frozen=True)
class WorkerBatch:
    """What one poll of a worker returns (records since the last poll)."""

    records: list[RequestRecord]
    progress: ProgressUpdate | None
    finished: bool
    error: str | None = None
    cpu_s: float = 0.0  # the worker's process CPU since its start
    validity: ValidityFacts | None = None  # its own client's facts, once finished
    saturation: Saturation | None = None  # its over-saturation verdict, once finished


class EngineUnavailable(RuntimeError):
    """The engine's workers cannot be started; the message says what to do."""


class WorkerLost(Exception):
    """The worker is gone (its process died, its actor was lost); the text says how."""


class Pool(Protocol):
    """A set of workers, one per share; `what` names them in messages ("Ray worker")."""

    what: str

    async def ready(self, cancel: CancelEvent | None) -> bool:
        """Wait until every worker runs; False if cancelled first (raise when they cannot)."""
        ...

    async def start(self, start_wall_ns: int) -> None:
        """Let every worker start its run at the common wall-clock instant."""
        ...

    async def poll(self, k: int) -> WorkerBatch:
        """Worker k's records and progress since the last poll; WorkerLost if it is gone."""
        ...

    def cancel(self, k: int) -> None:
        """Ask worker k to stop (it still hands back what it completed)."""
        ...

    def close(self) -> None:
        """Stop every worker (after the run, or when it failed)."""
        ...


class WorkerView:
    """The parent's view of one worker."""

    def __init__(self, share: tuple[int, int]) -> None:
        self.share = share
        self.progress: ProgressUpdate | None = None
        self.finished = False
        self.lost: str | None = None  # "lost: <why>" or the error the worker ended with
        self.received: set[int] = set()
        self.cpu_s = 0.0
        self.validity: ValidityFacts | None = None
        self.saturation: Saturation | None = None


def worker_config(cfg: ProbeConfig) -> ProbeConfig:
    """A worker's config: the parent scrapes the server's /metrics, not each worker."""
    return replace(cfg, server_metrics_enabled=False)


def checked_prompts(cfg: ProbeConfig, sink: Sink, flag: str) -> Any:
    """The run's prompt source; ConfigError (and the sink closed as failed) if unusable."""
    try:
        cfg.validate()
        return prompt_source(cfg)
    except ConfigError:
        sink.close("failed")
        raise


def engine_info(info: RunInfo, workers: int, engine: str, note: str | None = None) -> RunInfo:
    """`info` with the engine and its workers in the settings: open the sink with this one.

    As many workers as are useful: no more than the run's concurrency or requests."""
    n = max(1, workers)
    if info.load_mode == "concurrency":
        n = min(n, max(1, int(info.load_value)))
    requests = info.settings.get("requests")
    if isinstance(requests, int) and requests > 0:
        n = min(n, requests)
    settings: dict[str, object] = {**info.settings, "engine": engine, "workers": n}
    settings.pop("engine_note", None)
    if note:
        settings["engine_note"] = note
    return replace(info, settings=settings)


def combine_validity(facts: list[ValidityFacts]) -> ValidityFacts | None:
    """One run's client facts from its workers': the worst lag of any, loads summed."""
    if not facts:
        return None

    def worst(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return max(known) if known else None

    def total(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    stamps = [f.kernel_stamps for f in facts if f.kernel_stamps is not None]
    first = facts[0]
    return ValidityFacts(
        loop_lag_p50_ms=worst([f.loop_lag_p50_ms for f in facts]),
        loop_lag_p99_ms=worst([f.loop_lag_p99_ms for f in facts]),
        loop_lag_max_ms=worst([f.loop_lag_max_ms for f in facts]),
        loop_lag_samples=sum(f.loop_lag_samples for f in facts),
        client_cpu_pct=total([f.client_cpu_pct for f in facts]),  # of one core, all workers
        target_concurrency=total([f.target_concurrency for f in facts]),
        achieved_concurrency=total([f.achieved_concurrency for f in facts]),
        target_rps=total([f.target_rps for f in facts]),
        achieved_rps=total([f.achieved_rps for f in facts]),
        dispatch_lag_p50_ms=worst([f.dispatch_lag_p50_ms for f in facts]),
        dispatch_lag_p99_ms=worst([f.dispatch_lag_p99_ms for f in facts]),
        connections_opened=sum(f.connections_opened for f in facts),
        connect_p50_ms=worst([f.connect_p50_ms for f in facts]),
        connect_max_ms=worst([f.connect_max_ms for f in facts]),
        kernel_stamps=all(stamps) if stamps else None,
        engine=first.engine,
        workers=len(facts),
        engine_note=first.engine_note,
    )


async def run_pooled(
    pool: Pool,
    cfg: ProbeConfig,
    sink: Sink,
    info: RunInfo,
    prompts: Any,
    *,
    progress: ProgressCallback | None,
    cancel: CancelEvent | None,
    step: int,
    steps: int,
    policy: NetPolicy | None,
    also_allowed: Sequence[str],
) -> ProbeResult:
    """Drive `pool`'s workers (one per share of `info`'s workers) through one run into `sink`."""
    n = int(str(info.settings["workers"]))
    run = _Run(cfg, info, prompts, SinkPump(sink), progress, step, steps)
    views = [WorkerView((k, n)) for k in range(n)]
    status: RunStatus = "failed"
    started_ns = time.perf_counter_ns()
    validity: ValidityFacts | None = None
    scraper = None
    scrapes: list[Any] = []
    try:
        if not await pool.ready(cancel):
            status = "cancelled"
            return run.result(status, started_ns)
        start_wall_ns = time.time_ns() + int(START_LEAD_S * 1e9)
        run.anchor_ns = time.perf_counter_ns() + int(START_LEAD_S * 1e9)
        scraper = _scraper(cfg, sink, run.anchor_ns, policy, also_allowed)
        await scraper.start()  # the baseline scrape, before the first request
        await pool.start(start_wall_ns)
        cancelled = await _drive(pool, run, views, cancel)
        status = _final_status(pool, run, views, cancelled)
    except asyncio.CancelledError:
        status = "cancelled"
        raise
    finally:
        pool.close()
        validity = combine_validity([v.validity for v in views if v.validity is not None])
        if validity is not None:
            _give_validity(sink, validity)
        if scraper is not None:
            scrapes = await _stop_scraper(scraper, (run.ok_requests, run.ok_output_tokens))
        run.phase = "finished"
        _count(run)
        run.report()
        await asyncio.to_thread(run.pump.close, status)
    saturation = next((v.saturation for v in views if v.saturation is not None), None)
    return run.result(
        status,
        started_ns,
        validity=validity,
        worker_cpu_s=sum(v.cpu_s for v in views),
        scrapes=tuple(scrapes),
        saturation=saturation,
    )


async def _drive(
    pool: Pool, run: _Run, views: list[WorkerView], cancel: CancelEvent | None
) -> bool:
    """Poll the workers until all finished (True when the run was cancelled)."""
    waiter = asyncio.create_task(_wait_cancel(cancel)) if cancel is not None else None
    failed_pump = asyncio.create_task(_wait_cancel(run.pump.failed))
    cancel_deadline: float | None = None
    cancelled = False
    try:
        while not all(v.finished for v in views):
            if not cancelled and ((waiter is not None and waiter.done()) or failed_pump.done()):
                cancelled = True
                cancel_deadline = time.monotonic() + CANCEL_GRACE_S
                for k, v in enumerate(views):
                    if not v.finished:
                        pool.cancel(k)
            await asyncio.gather(
                *(_poll(pool, run, k, v) for k, v in enumerate(views) if not v.finished)
            )
            _report(run, views)
            if cancel_deadline is not None and time.monotonic() > cancel_deadline:
                break  # a worker that does not answer a cancel is left behind
            await asyncio.sleep(POLL_INTERVAL_S)
    finally:
        for task in (waiter, failed_pump):
            if task is not None:
                task.cancel()
    return cancelled


async def _poll(pool: Pool, run: _Run, k: int, view: WorkerView) -> None:
    try:
        batch = await pool.poll(k)
    except WorkerLost as exc:
        _lose(pool, run, view, str(exc))
        return
    for record in batch.records:
        view.received.add(record.index)
        run.add(record)
    view.cpu_s = batch.cpu_s
    if batch.progress is not None:
        view.progress = batch.progress
    if batch.finished:
        view.validity = batch.validity
        view.saturation = batch.saturation
        view.finished = True
        view.lost = batch.error


def _final_status(pool: Pool, run: _Run, views: list[WorkerView], cancelled: bool) -> RunStatus:
    if run.pump.failed.is_set():
        return "interrupted"
    if cancelled:
        return "cancelled"
    errors = [v.lost for v in views if v.lost and not v.lost.startswith("lost:")]
    if errors and len(errors) == len(views):
        raise RuntimeError(f"every {pool.what} failed: {errors[0]}")
    return "completed"


def _lose(pool: Pool, run: _Run, view: WorkerView, why: str) -> None:
    """The worker is gone: fail the requests it last reported in flight, go on without it."""
    view.finished = True
    view.lost = f"lost: {why}"
    last = view.progress
    if last is None or last.phase == "finished":
        return
    warmup = last.phase == "warmup"
    for index, scheduled_ms in last.in_flight_requests:
        if index in view.received:
            continue
        run.add(
            RequestRecord(
                index=index,
                scheduled_ms=scheduled_ms,
                sent_ms=scheduled_ms,
                ok=False,
                error_class=LOST_ERROR_CLASS,
                error_message=(
                    f"the {pool.what} running this request was lost ({why}); "
                    "the run went on with the other workers"
                ),
                warmup=warmup,
            )
        )
    view.progress = replace(last, in_flight=0, in_flight_requests=())


def _count(run: _Run) -> None:
    """done/failed of the phase shown (workers may be in different phases for a moment)."""
    if run.phase == "warmup":
        run.done = run.warmup_done  # failed: as counted by _Run.add
    else:
        run.done, run.failed = run.measured, run.measured_failed


def _report(run: _Run, views: list[WorkerView]) -> None:
    """The parent's progress: phases, counts and medians over all workers."""
    live = [v.progress for v in views if v.progress is not None]
    phases = {p.phase for p in live}
    phase: Literal["warmup", "measure"] = "measure" if live and "warmup" not in phases else "warmup"
    if phase != run.phase:
        run.phase = phase
        run.phase_start_ns = time.perf_counter_ns()
    _count(run)
    run.in_flight = sum(p.in_flight for p in live)
    warm = phase == "warmup"
    cfg = run.cfg
    run.phase_planned = cfg.warmup if warm else cfg.requests
    run.phase_duration_s = None if warm else cfg.duration_s
    run.report()
