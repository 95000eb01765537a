"""The probe on Ray: the same asyncio engine in several async actors, one store.

Each actor (one per worker CPU, local or on other hosts) runs `run_probe` with its
share of the load: worker k of n sends request indexes k, k+n, ..., its part of
the concurrency or every n-th arrival of the one schedule. All start at one
wall-clock instant chosen by the driver; inside an actor every duration (TTFT,
ITL, E2E) is measured with its own monotonic clock, the wall clock only aligns
`scheduled_ms`/`sent_ms` across actors (so those are as good as the hosts' clock
sync; the latencies are not affected). The driver polls the actors for record
batches and writes them through the run's sink, so a distributed run is an
ordinary run in the store. A cancel stops every actor and keeps what completed;
an actor that is lost fails the requests it had in flight (`worker_lost`) and
the run goes on with the others.

Ray is imported only here and only when this engine runs: `pip install
'inferlab[distributed]'`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from inferlab.probe.config import ConfigError, ProbeConfig, make_run_info
from inferlab.probe.runner import (
    CancelEvent,
    ProbeResult,
    ProgressCallback,
    ProgressUpdate,
    _give_validity,
    _Run,
    _wait_cancel,
    prompt_source,
    run_probe,
)
from inferlab.probe.sink import MemorySink, Sink, SinkPump
from inferlab.records import RequestRecord, RunInfo, RunStatus
from inferlab.validity import ValidityFacts

__all__ = [
    "LOST_ERROR_CLASS",
    "ProbeWorker",
    "RayUnavailable",
    "actor_name",
    "combine_validity",
    "engine_info",
    "ray_available",
    "ray_session",
    "run_probe_ray",
]

LOST_ERROR_CLASS = "worker_lost"
POLL_INTERVAL_S = 0.1
START_LEAD_S = 1.0  # actors get this long, after all are ready, to reach the common start
READY_TIMEOUT_S = 120.0  # to place and start every actor
CANCEL_GRACE_S = 10.0  # how long a cancelled actor may take to hand back its records

_INSTALL_HINT = "install the extra: pip install 'inferlab[distributed]'"


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached; the message says what to do."""


def ray_available() -> bool:
    """Whether the `distributed` extra (Ray) is installed, without importing it."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(
            f"--engine ray needs Ray, which is not installed; {_INSTALL_HINT}"
        ) from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None, workers: int | None) -> Iterator[int]:
    """Connect to the cluster at `address` (or start a local Ray with `workers` CPUs)
    and yield the number of workers to use; a Ray started here is shut down after."""
    ray = _ray()
    started = False
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    logging_level=logging.WARNING,
                    log_to_driver=False,
                )
        except Exception as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            raise RayUnavailable(
                f"cannot start or reach {where}: {type(exc).__name__}: {exc}"
                + (" (is `ray start --head` running there?)" if address else "")
            ) from None
        started = True
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        yield max(1, min(workers or cpus, cpus))
    finally:
        if started:
            ray.shutdown()


@dataclass(frozen=True)
class _Batch:
    """What one poll of an actor returns."""

    records: list[RequestRecord]
    progress: ProgressUpdate | None
    finished: bool
    error: str | None = None
    cpu_s: float = 0.0  # the actor's process CPU since its start
    validity: ValidityFacts | None = None  # its own client's facts, once finished


class ProbeWorker:
    """One Ray async actor: `run_probe` with its share of the load (made remote lazily)."""

    def __init__(self) -> None:
        self._buffer = MemorySink()  # records wait here until the driver takes them
        self._progress: ProgressUpdate | None = None
        self._task: asyncio.Task[ProbeResult] | None = None
        self._cancel = asyncio.Event()
        self._cpu0_s = time.process_time()

    async def ready(self) -> str:
        import socket

        return socket.gethostname()

    async def start(
        self, cfg: ProbeConfig, info: RunInfo, share: tuple[int, int], start_wall_ns: int
    ) -> None:
        def keep(update: ProgressUpdate) -> None:
            self._progress = update

        self._task = asyncio.create_task(
            run_probe(
                # The actors do not scrape the server's /metrics: n scrapers would only
                # load the server (the driver keeps no scrapes of a Ray run either).
                replace(cfg, server_metrics_enabled=False),
                self._buffer,
                info=info,
                progress=keep,
                cancel=self._cancel,
                share=share,
                start_wall_ns=start_wall_ns,
            )
        )

    async def poll(self) -> _Batch:
        records, self._buffer.records = self._buffer.records, []
        task = self._task
        finished = task is not None and task.done()
        error = None
        if finished and task is not None and not task.cancelled():
            exc = task.exception()
            if exc is not None:
                error = f"{type(exc).__name__}: {exc}"
        return _Batch(
            records,
            self._progress,
            finished,
            error,
            time.process_time() - self._cpu0_s,
            self._buffer.validity if finished else None,
        )

    async def cancel(self) -> None:
        self._cancel.set()


class _Actor:
    """The driver's view of one actor."""

    def __init__(self, handle: Any, share: tuple[int, int]) -> None:
        self.handle = handle
        self.share = share
        self.progress: ProgressUpdate | None = None
        self.finished = False
        self.lost: str | None = None
        self.received: set[int] = set()
        self.cpu_s = 0.0
        self.validity: ValidityFacts | None = None


def _checked_prompts(cfg: ProbeConfig, sink: Sink) -> Any:
    """The run's prompt source; ConfigError (and the sink closed as failed) if unusable."""
    try:
        cfg.validate()
        if cfg.load_mode == "sessions":
            raise ConfigError(
                "--engine ray does not split multi-turn sessions over workers yet; "
                "run sessions with the local engine"
            )
        return prompt_source(cfg)
    except ConfigError:
        sink.close("failed")
        raise


async def _drive(
    ray: Any, run: _Run, actors: list[_Actor], cfg: ProbeConfig, cancel: CancelEvent | None
) -> bool:
    """Poll the actors until all finished (True when the run was cancelled)."""
    waiter = asyncio.create_task(_wait_cancel(cancel)) if cancel is not None else None
    failed_pump = asyncio.create_task(_wait_cancel(run.pump.failed))
    cancel_deadline: float | None = None
    cancelled = False
    try:
        while not all(a.finished for a in actors):
            if not cancelled and ((waiter is not None and waiter.done()) or failed_pump.done()):
                cancelled = True
                cancel_deadline = time.monotonic() + CANCEL_GRACE_S
                for a in actors:
                    if not a.finished:
                        a.handle.cancel.remote()
            await asyncio.gather(*(_poll(ray, run, a) for a in actors if not a.finished))
            _report(run, actors, cfg)
            if cancel_deadline is not None and time.monotonic() > cancel_deadline:
                break  # an actor that does not answer a cancel is left behind
            await asyncio.sleep(POLL_INTERVAL_S)
    finally:
        for task in (waiter, failed_pump):
            if task is not None:
                task.cancel()
    return cancelled


def _final_status(run: _Run, actors: list[_Actor], cancelled: bool) -> RunStatus:
    if run.pump.failed.is_set():
        return "interrupted"
    if cancelled:
        return "cancelled"
    errors = [a.lost for a in actors if a.lost and not a.lost.startswith("lost:")]
    if errors and len(errors) == len(actors):
        raise RuntimeError(f"every Ray worker failed: {errors[0]}")
    return "completed"


async def run_probe_ray(
    cfg: ProbeConfig,
    sink: Sink,
    *,
    info: RunInfo | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelEvent | None = None,
    step: int = 0,
    steps: int = 1,
    workers: int = 2,
    policy: object = None,
    also_allowed: Sequence[str] = (),
) -> ProbeResult:
    """`run_probe` across `workers` Ray actors (Ray must be connected: `ray_session`).

    Same arguments and result as `run_probe`; records of all actors go to `sink`.
    The actors do not scrape the server's /metrics (`policy`, `also_allowed` are
    accepted for the same call shape and not used).
    """
    del policy, also_allowed
    ray = _ray()
    prompts = _checked_prompts(cfg, sink)
    info = engine_info(info or make_run_info(cfg), workers)
    n = int(str(info.settings["workers"]))
    run = _Run(cfg, info, prompts, SinkPump(sink), progress, step, steps)
    remote = ray.remote(ProbeWorker)
    actors = [
        _Actor(
            remote.options(
                name=actor_name(info.run_id, k), num_cpus=1, scheduling_strategy="SPREAD"
            ).remote(),
            (k, n),
        )
        for k in range(n)
    ]
    status: RunStatus = "failed"
    started_ns = time.perf_counter_ns()
    try:
        if not await _all_ready(actors, cancel):
            status = "cancelled"
            return ProbeResult(
                info, status, 0, 0, 0, (time.perf_counter_ns() - started_ns) / 1e9, 0
            )
        start_wall_ns = time.time_ns() + int(START_LEAD_S * 1e9)
        run.anchor_ns = time.perf_counter_ns() + int(START_LEAD_S * 1e9)
        await asyncio.gather(
            *(a.handle.start.remote(cfg, info, a.share, start_wall_ns) for a in actors)
        )
        cancelled = await _drive(ray, run, actors, cfg, cancel)
        status = _final_status(run, actors, cancelled)
    except asyncio.CancelledError:
        status = "cancelled"
        raise
    finally:
        for a in actors:
            with contextlib.suppress(Exception):
                ray.kill(a.handle)
        validity = combine_validity([a.validity for a in actors if a.validity is not None])
        if validity is not None:
            _give_validity(sink, validity)
        run.phase = "finished"
        _count(run)
        run.report()
        await asyncio.to_thread(run.pump.close, status)
    return run.result(
        status, started_ns, validity=validity, worker_cpu_s=sum(a.cpu_s for a in actors)
    )


def combine_validity(facts: list[ValidityFacts]) -> ValidityFacts | None:
    """One run's client facts from its actors': the worst lag of any, loads summed."""
    if not facts:
        return None

    def worst(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return max(known) if known else None

    def total(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    stamps = [f.kernel_stamps for f in facts if f.kernel_stamps is not None]
    return ValidityFacts(
        loop_lag_p50_ms=worst([f.loop_lag_p50_ms for f in facts]),
        loop_lag_p99_ms=worst([f.loop_lag_p99_ms for f in facts]),
        loop_lag_max_ms=worst([f.loop_lag_max_ms for f in facts]),
        loop_lag_samples=sum(f.loop_lag_samples for f in facts),
        client_cpu_pct=worst([f.client_cpu_pct for f in facts]),  # per actor: one core each
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
    )


async def _all_ready(actors: list[_Actor], cancel: CancelEvent | None) -> bool:
    """Wait until every actor is placed and running; False if cancelled first.

    RayUnavailable when the cluster cannot place them (not enough free CPUs)."""
    ready = asyncio.ensure_future(asyncio.gather(*(a.handle.ready.remote() for a in actors)))
    waiters: set[asyncio.Future[Any]] = {ready}
    if cancel is not None:
        waiters.add(asyncio.ensure_future(_wait_cancel(cancel)))
    try:
        done, _ = await asyncio.wait(
            waiters, timeout=READY_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for w in waiters:
            w.cancel()
    if ready in done:
        ready.result()
        return True
    if done:
        return False
    raise RayUnavailable(
        f"{len(actors)} Ray workers were not all running after {READY_TIMEOUT_S:g} s: the "
        "cluster has fewer free CPUs than that (see `ray status`); use fewer --workers"
    )


def engine_info(info: RunInfo, workers: int) -> RunInfo:
    """`info` with the engine and its actors in the settings: open the sink with this one.

    As many actors as are useful: no more than the run's concurrency or requests."""
    n = max(1, workers)
    if info.load_mode == "concurrency":
        n = min(n, max(1, int(info.load_value)))
    requests = info.settings.get("requests")
    if isinstance(requests, int) and requests > 0:
        n = min(n, requests)
    return replace(info, settings={**info.settings, "engine": "ray", "workers": n})


def actor_name(run_id: str, k: int) -> str:
    """The Ray name of worker k of a run (`ray.get_actor(name)` finds it)."""
    return f"inferlab-probe-{run_id}-{k}"


async def _poll(ray: Any, run: _Run, actor: _Actor) -> None:
    try:
        batch: _Batch = await actor.handle.poll.remote()
    except ray.exceptions.RayActorError as exc:
        _lose(run, actor, f"{type(exc).__name__}")
        return
    for record in batch.records:
        actor.received.add(record.index)
        run.add(record)
    actor.cpu_s = batch.cpu_s
    if batch.progress is not None:
        actor.progress = batch.progress
    if batch.finished:
        actor.validity = batch.validity
        actor.finished = True
        actor.lost = batch.error


def _lose(run: _Run, actor: _Actor, why: str) -> None:
    """The actor is gone: fail the requests it last reported in flight, go on without it."""
    actor.finished = True
    actor.lost = f"lost: {why}"
    last = actor.progress
    if last is None or last.phase == "finished":
        return
    warmup = last.phase == "warmup"
    for index, scheduled_ms in last.in_flight_requests:
        if index in actor.received:
            continue
        run.add(
            RequestRecord(
                index=index,
                scheduled_ms=scheduled_ms,
                sent_ms=scheduled_ms,
                ok=False,
                error_class=LOST_ERROR_CLASS,
                error_message=(
                    f"the Ray worker running this request was lost ({why}); "
                    "the run went on with the other workers"
                ),
                warmup=warmup,
            )
        )
    actor.progress = replace(last, in_flight=0, in_flight_requests=())


def _count(run: _Run) -> None:
    """done/failed of the phase shown (actors may be in different phases for a moment)."""
    if run.phase == "warmup":
        run.done = run.warmup_done  # failed: as counted by _Run.add
    else:
        run.done, run.failed = run.measured, run.measured_failed


def _report(run: _Run, actors: list[_Actor], cfg: ProbeConfig) -> None:
    """The driver's progress: phases, counts and medians over all actors."""
    live = [a.progress for a in actors if a.progress is not None]
    phases = {p.phase for p in live}
    phase: Literal["warmup", "measure"] = "measure" if live and "warmup" not in phases else "warmup"
    if phase != run.phase:
        run.phase = phase
        run.phase_start_ns = time.perf_counter_ns()
    _count(run)
    run.in_flight = sum(p.in_flight for p in live)
    warm = phase == "warmup"
    count = cfg.warmup if warm else cfg.requests
    run.phase_planned = count
    run.phase_duration_s = None if warm else cfg.duration_s
    run.report()
