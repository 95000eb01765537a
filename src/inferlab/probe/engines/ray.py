"""The probe on Ray: the same asyncio engine in several async actors, one store.

Each actor (one per worker CPU, local or on other hosts) runs `run_probe` with its
share of the load; the driver (`pool.run_pooled`, shared with the `processes`
engine) starts them at one wall-clock instant, polls them for record batches,
writes them through the run's sink and scrapes the server's /metrics once. The
wall clock only aligns `scheduled_ms`/`sent_ms` across actors (so those are as
good as the hosts' clock sync; the latencies are not affected). A lost actor
fails the requests it had in flight (`worker_lost`).

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
from typing import Any

from inferlab.netpolicy import NetPolicy
from inferlab.probe.config import ProbeConfig, make_run_info
from inferlab.probe.engines import pool as _pool
from inferlab.probe.engines.pool import (
    LOST_ERROR_CLASS,
    EngineUnavailable,
    WorkerBatch,
    WorkerLost,
    checked_prompts,
    combine_validity,
    run_pooled,
    worker_config,
)
from inferlab.probe.runner import (
    CancelEvent,
    ProbeResult,
    ProgressCallback,
    ProgressUpdate,
    _wait_cancel,
    run_probe,
)
from inferlab.probe.sink import MemorySink, Sink
from inferlab.records import RunInfo

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

READY_TIMEOUT_S = 120.0  # to place and start every actor

_INSTALL_HINT = "install the extra: pip install 'inferlab[distributed]'"


class RayUnavailable(EngineUnavailable):
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
                worker_config(cfg),  # the driver scrapes the server's /metrics, once
                self._buffer,
                info=info,
                progress=keep,
                cancel=self._cancel,
                share=share,
                start_wall_ns=start_wall_ns,
            )
        )

    async def poll(self) -> WorkerBatch:
        records, self._buffer.records = self._buffer.records, []
        task = self._task
        finished = task is not None and task.done()
        error = None
        saturation = None
        if finished and task is not None and not task.cancelled():
            exc = task.exception()
            if exc is not None:
                error = f"{type(exc).__name__}: {exc}"
            else:
                saturation = task.result().saturation
        return WorkerBatch(
            records,
            self._progress,
            finished,
            error,
            time.process_time() - self._cpu0_s,
            self._buffer.validity if finished else None,
            saturation,
        )

    async def cancel(self) -> None:
        self._cancel.set()


class _RayPool:
    """The actors of one run, as a `pool.Pool`."""

    what = "Ray worker"

    def __init__(self, ray: Any, cfg: ProbeConfig, info: RunInfo, n: int) -> None:
        self._ray = ray
        self._cfg, self._info = cfg, info
        remote = ray.remote(ProbeWorker)
        self._handles = [
            remote.options(
                name=actor_name(info.run_id, k), num_cpus=1, scheduling_strategy="SPREAD"
            ).remote()
            for k in range(n)
        ]

    async def ready(self, cancel: CancelEvent | None) -> bool:
        return await _all_ready(self._handles, cancel)

    async def start(self, start_wall_ns: int) -> None:
        n = len(self._handles)
        await asyncio.gather(
            *(
                h.start.remote(self._cfg, self._info, (k, n), start_wall_ns)
                for k, h in enumerate(self._handles)
            )
        )

    async def poll(self, k: int) -> WorkerBatch:
        try:
            batch: WorkerBatch = await self._handles[k].poll.remote()
        except self._ray.exceptions.RayActorError as exc:
            raise WorkerLost(type(exc).__name__) from None
        return batch

    def cancel(self, k: int) -> None:
        self._handles[k].cancel.remote()

    def close(self) -> None:
        for h in self._handles:
            with contextlib.suppress(Exception):
                self._ray.kill(h)


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
    policy: NetPolicy | None = None,
    also_allowed: Sequence[str] = (),
) -> ProbeResult:
    """`run_probe` across `workers` Ray actors (Ray must be connected: `ray_session`).

    Same arguments and result as `run_probe`; records of all actors go to `sink`.
    """
    ray = _ray()
    prompts = checked_prompts(cfg, sink, "--engine ray")
    info = engine_info(info or make_run_info(cfg), workers)
    n = int(str(info.settings["workers"]))
    return await run_pooled(
        _RayPool(ray, cfg, info, n),
        cfg,
        sink,
        info,
        prompts,
        progress=progress,
        cancel=cancel,
        step=step,
        steps=steps,
        policy=policy,
        also_allowed=also_allowed,
    )


async def _all_ready(handles: list[Any], cancel: CancelEvent | None) -> bool:
    """Wait until every actor is placed and running; False if cancelled first.

    RayUnavailable when the cluster cannot place them (not enough free CPUs)."""
    ready = asyncio.ensure_future(asyncio.gather(*(h.ready.remote() for h in handles)))
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
        f"{len(handles)} Ray workers were not all running after {READY_TIMEOUT_S:g} s: the "
        "cluster has fewer free CPUs than that (see `ray status`); use fewer --workers"
    )


def engine_info(info: RunInfo, workers: int) -> RunInfo:
    """`info` with the Ray engine and its actors in the settings: open the sink with this one."""
    return _pool.engine_info(info, workers, "ray")


def actor_name(run_id: str, k: int) -> str:
    """The Ray name of worker k of a run (`ray.get_actor(name)` finds it)."""
    return f"inferlab-probe-{run_id}-{k}"
