"""A dashboard job's worker: a spawned process (a thread in tests) that reports over a pipe.

Probe and quality jobs both run their engine away from Streamlit's reruns: in a
process of its own (multiprocessing 'spawn') so the page's work cannot stall
the measurement through the GIL. The worker's first message says whether it can
save its run (``("ready",)`` or ``("store_error", text)``); a thread here then
applies its messages until it ends. What both kinds of job share lives here:
starting the worker with a neutral ``__main__``, the start handshake, stopping
it, and cancel / wait / active. No Streamlit here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any

from inferlab.probe.runner import CancelEvent
from inferlab.spawn import neutral_main
from inferlab.store import StoreError

__all__ = ["START_TIMEOUT_S", "JobError", "Worker", "WorkerJob", "start_worker", "stop_worker"]

START_TIMEOUT_S = 60.0  # a spawned job process is ready in about a second

Worker = BaseProcess | threading.Thread


class JobError(ValueError):
    """A job that cannot start; the message names the problem and what to do."""


def start_worker(
    ctx: SpawnContext,
    target: Callable[..., None],
    args: tuple[Any, ...],
    *,
    name: str,
    process: bool,
    what: str,
) -> tuple[Worker, Connection]:
    """Start `target(*args, sender)` and wait for its first message.

    Returns the worker and the receiving end of its pipe once it said "ready".
    Raises StoreError when its run cannot be saved, JobError when it did not start
    (`what` names the job in the message: "probe", "quality probe").
    """
    receiver, sender = ctx.Pipe(duplex=False)
    worker: Worker
    if process:
        worker = ctx.Process(target=target, args=(*args, sender), name=name, daemon=True)
        with neutral_main():  # Streamlit's app.py is not re-run in the child
            worker.start()
        sender.close()  # the child has its copy: EOF here means it ended
    else:
        worker = threading.Thread(target=target, args=(*args, sender), name=name, daemon=True)
        worker.start()
    first: tuple[Any, ...]
    try:
        first = receiver.recv() if receiver.poll(START_TIMEOUT_S) else ("timeout",)
    except (EOFError, OSError):
        first = ("died",)
    if first[0] != "ready":
        stop_worker(worker)
        receiver.close()
        if first[0] == "store_error":
            raise StoreError(str(first[-1]))
        raise JobError(
            f"The {what}'s process did not start"
            + (f" within {START_TIMEOUT_S:g} s" if first[0] == "timeout" else "")
            + "; try again, and check the dashboard's log if it keeps happening"
        )
    return worker, receiver


def stop_worker(worker: Worker | None) -> None:
    """Stop a worker process that is still running (a thread ends by its cancel event)."""
    if isinstance(worker, BaseProcess) and worker.is_alive():
        worker.terminate()
        worker.join(5)


class WorkerJob:
    """Cancel, wait and active for a job whose `_thread` watches its worker."""

    _thread: threading.Thread
    _cancel: CancelEvent
    _worker: Worker | None

    def cancel(self) -> None:
        """Stop sending; what the job has completed is kept."""
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ended (True) or `timeout_s` passed (False)."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

    @property
    def worker_pid(self) -> int | None:
        """Process id of the job's own process (None in thread mode)."""
        worker = self._worker
        return worker.pid if isinstance(worker, BaseProcess) else None
