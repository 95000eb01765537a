"""The probe in several local processes: one event loop and one reader thread each.

At a few hundred streams one process's reader thread falls behind the chunks of
its sockets (the kernel then merges a stream's waiting segments, keeping only
the latest stamp). This engine spawns `workers` processes (multiprocessing
'spawn'), each running the unchanged `run_probe` with its share of the load;
the parent drives them with the same code as the Ray engine (`pool.run_pooled`):
one wall-clock start, record batches over a pipe into the run's one writer, one
/metrics scraper, cancel, and a lost worker failing its in-flight requests.

Protocol on each worker's duplex pipe: the worker sends ("ready",); the parent
answers ("start", start_wall_ns) or ("stop",); the worker then sends a
`WorkerBatch` every POLL_INTERVAL_S and a last one with `finished=True`.
The parent asks a cancel with ("cancel",) (or ("stop",) when it gives up on the
run); a worker whose parent is gone stops too.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from inferlab.netpolicy import NetPolicy
from inferlab.probe.config import ProbeConfig, make_run_info
from inferlab.probe.engines.pool import (
    POLL_INTERVAL_S,
    EngineUnavailable,
    WorkerBatch,
    WorkerLost,
    checked_prompts,
    run_pooled,
    worker_config,
)
from inferlab.probe.runner import (
    CancelEvent,
    ProbeResult,
    ProgressCallback,
    ProgressUpdate,
    run_probe,
)
from inferlab.probe.sink import MemorySink, Sink
from inferlab.records import RunInfo
from inferlab.spawn import neutral_main

__all__ = ["READY_TIMEOUT_S", "allow_children", "run_probe_processes"]

READY_TIMEOUT_S = 120.0  # to spawn every worker and import the engine there
CLOSE_GRACE_S = 5.0  # after the run, for every worker to exit before it is killed
ORPHAN_GRACE_S = 2.0  # a worker whose parent died hands nothing back: it exits after this


def allow_children() -> None:
    """Let this (daemonic) process start the engine's worker processes.

    The dashboard's probe job runs in a daemonic process, which multiprocessing
    forbids to have children; the workers stop by themselves when it ends.
    """
    config: dict[str, Any] = mp.current_process()._config  # type: ignore[attr-defined]
    config["daemon"] = False


class _Outbox(MemorySink):
    """The worker's sink: records and progress wait here for the next batch to the parent."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.progress: ProgressUpdate | None = None
        self.cpu0_s = time.process_time()

    def add(self, record: Any) -> None:
        with self.lock:
            self.records.append(record)

    def keep(self, update: ProgressUpdate) -> None:
        self.progress = update

    def batch(self, finished: bool = False, **more: Any) -> WorkerBatch:
        with self.lock:
            records, self.records = self.records, []
        return WorkerBatch(
            records, self.progress, finished, cpu_s=time.process_time() - self.cpu0_s, **more
        )


def _worker_main(
    conn: Connection, cfg: ProbeConfig, info: RunInfo, share: tuple[int, int], parent: int
) -> None:
    """The body of one worker process."""
    # Ctrl-C reaches the whole process group: the parent decides, and cancels through us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(("ready",))
    try:
        message = conn.recv()
    except (EOFError, OSError):
        return
    if message[0] != "start":
        return
    outbox = _Outbox()
    cancel = threading.Event()
    done = threading.Event()
    send_lock = threading.Lock()

    def send(batch: WorkerBatch) -> None:
        with send_lock:
            conn.send(batch)

    def courier() -> None:
        """Every poll interval: a batch to the parent; the parent's cancel to the run."""
        orphaned_at: float | None = None
        while not done.wait(POLL_INTERVAL_S):
            try:
                while conn.poll():
                    if conn.recv()[0] in ("cancel", "stop"):
                        cancel.set()
                send(outbox.batch())
            except (EOFError, OSError):
                cancel.set()  # the parent is gone
            if os.getppid() != parent:
                cancel.set()
                orphaned_at = orphaned_at or time.monotonic()
                if time.monotonic() - orphaned_at > ORPHAN_GRACE_S:
                    os._exit(1)

    thread = threading.Thread(target=courier, name="inferlab-courier", daemon=True)
    thread.start()
    error: str | None = None
    saturation = None
    try:
        result = asyncio.run(
            run_probe(
                worker_config(cfg),
                outbox,
                info=info,
                progress=outbox.keep,
                cancel=cancel,
                share=share,
                start_wall_ns=int(message[1]),
            )
        )
        saturation = result.saturation
    except Exception as exc:  # handed to the parent, which fails the run if all fail
        error = f"{type(exc).__name__}: {exc}"
    done.set()
    thread.join()
    with contextlib.suppress(OSError, ValueError):
        send(outbox.batch(True, error=error, validity=outbox.validity, saturation=saturation))
        conn.close()


class _ProcessPool:
    """The spawned workers of one run, as a `pool.Pool`."""

    what = "worker process"

    def __init__(self, cfg: ProbeConfig, info: RunInfo, n: int) -> None:
        ctx = mp.get_context("spawn")
        self._conns: list[Connection] = []
        self._procs: list[BaseProcess] = []
        self._finished: list[bool] = [False] * n
        for k in range(n):
            mine, theirs = ctx.Pipe(duplex=True)
            proc = ctx.Process(
                target=_worker_main,
                args=(theirs, cfg, info, (k, n), os.getpid()),
                name=f"inferlab-probe:{info.run_id}:{k}",
                daemon=True,
            )
            with neutral_main():
                proc.start()
            theirs.close()  # the worker has its copy: EOF here means it ended
            self._conns.append(mine)
            self._procs.append(proc)

    @property
    def pids(self) -> list[int | None]:
        return [p.pid for p in self._procs]

    async def ready(self, cancel: CancelEvent | None) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_S
        waiting = set(range(len(self._conns)))
        while waiting:
            if cancel is not None and cancel.is_set():
                return False
            for k in list(waiting):
                conn = self._conns[k]
                try:
                    if conn.poll() and conn.recv() == ("ready",):
                        waiting.discard(k)
                except (EOFError, OSError):
                    raise EngineUnavailable(self._died(k, "while starting")) from None
                if k in waiting and not self._procs[k].is_alive():
                    raise EngineUnavailable(self._died(k, "while starting"))
            if time.monotonic() > deadline:
                raise EngineUnavailable(
                    f"{len(waiting)} of {len(self._conns)} worker processes did not start "
                    f"within {READY_TIMEOUT_S:g} s (is the machine overloaded?); "
                    "use fewer --workers or --engine local"
                )
            if waiting:
                await asyncio.sleep(0.02)
        return True

    def _died(self, k: int, when: str) -> str:
        code = self._procs[k].exitcode
        return f"worker process {k} ended {when} (exit code {code})"

    async def start(self, start_wall_ns: int) -> None:
        for conn in self._conns:
            conn.send(("start", start_wall_ns))

    async def poll(self, k: int) -> WorkerBatch:
        conn = self._conns[k]
        merged: WorkerBatch | None = None
        try:
            while not self._finished[k] and conn.poll():
                batch: WorkerBatch = conn.recv()
                merged = batch if merged is None else _merge(merged, batch)
                self._finished[k] = batch.finished
        except (EOFError, OSError):
            if merged is None:
                raise WorkerLost(self._died(k, "during the run")) from None
            return merged  # the records it sent count; it is lost at the next poll
        if merged is None:
            if not self._procs[k].is_alive() and not conn.poll():
                raise WorkerLost(self._died(k, "during the run"))
            return WorkerBatch([], None, False)
        return merged

    def cancel(self, k: int) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conns[k].send(("cancel",))

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError, ValueError):
                conn.send(("stop",))  # not started yet: it ends; running: it stops
        deadline = time.monotonic() + CLOSE_GRACE_S
        for proc in self._procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for conn in self._conns:
            conn.close()


def _merge(a: WorkerBatch, b: WorkerBatch) -> WorkerBatch:
    """Two batches of one worker as one (the later one's progress and facts)."""
    return WorkerBatch(
        a.records + b.records,
        b.progress or a.progress,
        b.finished,
        b.error,
        b.cpu_s,
        b.validity,
        b.saturation,
    )


async def run_probe_processes(
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
    """`run_probe` across `workers` local processes; same arguments and result.

    `info.settings` says the engine and workers when it has them (`choice.engine_info`)."""
    from inferlab.probe.engines.pool import engine_info

    prompts = checked_prompts(cfg, sink, "--engine processes")
    info = info or make_run_info(cfg)
    if info.settings.get("engine") != "processes":
        info = engine_info(info, workers, "processes")
    n = int(str(info.settings["workers"]))
    try:
        pool = _ProcessPool(cfg, info, n)
    except (OSError, AssertionError) as exc:  # AssertionError: a daemonic parent
        sink.close("failed")
        raise EngineUnavailable(f"cannot start {n} worker processes: {exc}") from None
    return await run_pooled(
        pool,
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
