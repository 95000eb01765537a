"""A quality probe running as a dashboard job, started by the same JobManager as probes.

:meth:`inferlab.dashboard.jobs.JobManager.start_quality` checks it like a probe
(the target policy, the per-session limits, the cap on running jobs) and keeps
it in the process-wide registry, so it survives page switches and a browser
refresh; the Quality page polls :meth:`QualityJob.snapshot` with
``st.fragment(run_every=...)``. The job runs
:func:`inferlab.probe.quality.run_quality` (the probe engine's per-request
worker) in a background thread, never in the page's script thread: timings go
through the store's crash-safe run writer, answers and scores to
:class:`inferlab.store.quality.QualityStore`. Cancelling stops sending; the
answers received so far are scored and kept. No Streamlit here.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import threading
import time
import uuid
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Literal, cast

from inferlab.dashboard.worker import Worker, WorkerJob, start_worker, stop_worker
from inferlab.probe import ConfigError, SinkError
from inferlab.probe.quality import (
    QualityProbeConfig,
    QualityProgress,
    run_quality_sync,
    save_result,
)
from inferlab.probe.sink import Sink
from inferlab.records import RunInfo
from inferlab.store import Store, StoreError
from inferlab.store.quality import QualityStore

__all__ = ["QualityJob", "QualitySnapshot"]

QualityJobState = Literal["running", "completed", "cancelled", "failed"]


@dataclass(frozen=True)
class QualitySnapshot:
    """What the Quality page shows about a quality job at one moment."""

    job_id: str
    session_id: str
    eval_set: str
    model: str
    state: QualityJobState
    temperature: float | None  # the temperature being measured (None before the first answer)
    step: int  # 0-based temperature index
    steps: int
    done: int  # answers of the current temperature
    failed: int
    planned: int  # requests per temperature
    group_id: str | None  # the runs' group, known once the first run is open
    run_ids: tuple[str, ...]
    error: str | None
    warnings: tuple[str, ...]

    @property
    def active(self) -> bool:
        return self.state == "running"

    @property
    def total_requests(self) -> int:
        return self.planned * self.steps

    @property
    def fraction(self) -> float:
        """Share of all temperatures' requests answered (1.0 once the job ended)."""
        if not self.active:
            return 1.0
        if not self.total_requests:
            return 0.0
        return min((self.step * self.planned + self.done) / self.total_requests, 1.0)

    @property
    def text(self) -> str:
        """One line of progress, or how the job ended."""
        if self.state == "completed":
            return f"Done: {self.total_requests:,} requests."
        if self.state == "cancelled":
            answered = self.step * self.planned + self.done
            return f"Cancelled after {answered:,} of {self.total_requests:,} requests."
        if self.state == "failed":
            return "Stopped before the end: the quality probe failed."
        if self.temperature is None:
            return "Starting…"
        return f"T = {self.temperature:g}: {self.done}/{self.planned} answers, {self.failed} errors"


def _quality_main(
    cfg: QualityProbeConfig,
    db_path: str,
    cancel: threading.Event,
    in_process: bool,
    conn: Connection,
) -> None:
    """Run one quality probe and report to `conn`: the body of a job's process (or thread).

    Messages: ("ready",) or ("store_error", text) first, then ("run", group_id, run_id)
    per temperature and ("progress", update) per answer, and ("end", state, error) last.
    """
    if in_process:
        # Ctrl-C on the dashboard's terminal reaches this process too: the dashboard
        # decides (it cancels through the event, or stops this process at exit).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        store = Store(Path(db_path))
    except StoreError as exc:
        conn.send(("store_error", str(exc)))
        conn.close()
        return
    conn.send(("ready",))

    def open_sink(info: RunInfo) -> Sink:
        conn.send(("run", info.group_id, info.run_id))
        # A Sink whose close() also says whether the run reached the database.
        return cast(Sink, store.run_writer(info))

    state: QualityJobState
    error: str | None = None
    try:
        run_quality_sync(
            cfg,
            open_sink,
            save=lambda result: save_result(QualityStore(store), cfg, result),
            progress=lambda update: conn.send(("progress", update)),
            cancel=cancel,
        )
        state = "cancelled" if cancel.is_set() else "completed"
    except ConfigError as exc:
        state, error = "failed", f"{exc}."
    except (StoreError, SinkError) as exc:
        state, error = "failed", f"The run could not be saved: {exc}"
    except Exception as exc:  # the job must end visibly, never hang
        state = "failed"
        error = f"The quality probe stopped with an error: {type(exc).__name__}: {exc}"
    with contextlib.suppress(OSError, ValueError):
        conn.send(("end", state, error))
        conn.close()


class QualityJob(WorkerJob):
    """One quality probe in its own process (or a thread, in tests), watched by a thread here.

    Scoring and the timed requests run away from Streamlit's reruns, as probes do;
    the API key reaches the child only through the pickled arguments on
    multiprocessing's pipe.
    """

    def __init__(
        self,
        cfg: QualityProbeConfig,
        store: Store,
        session_id: str = "",
        warnings: tuple[str, ...] = (),
        process: bool = True,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.session_id = session_id
        self.warnings = warnings
        self.process = process
        self.job_id = uuid.uuid4().hex[:12]
        self.created_s = time.time()
        self.url = cfg.url
        self._lock = threading.Lock()
        self._ctx = mp.get_context("spawn")
        self._cancel = cast(threading.Event, self._ctx.Event()) if process else threading.Event()
        self._state: QualityJobState = "running"
        self._error: str | None = None
        self._progress: QualityProgress | None = None
        self._group_id: str | None = None
        self._run_ids: list[str] = []
        self._conn: Connection | None = None
        self._worker: Worker | None = None
        self._thread = threading.Thread(
            target=self._main, name=f"inferlab-quality:{self.job_id}", daemon=True
        )

    def start(self) -> QualityJob:
        """Start the job's process; StoreError if its runs cannot be saved."""
        self._worker, self._conn = start_worker(
            self._ctx,
            _quality_main,
            (self.cfg, str(self.store.path), self._cancel, self.process),
            name=f"inferlab-quality:{self.job_id}",
            process=self.process,
            what="quality probe",
        )
        self._thread.start()
        return self

    # -- in the watching thread ------------------------------------------------------
    def _apply(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        with self._lock:
            if kind == "run":
                self._group_id = message[1]
                self._run_ids.append(message[2])
            elif kind == "progress":
                self._progress = message[1]

    def _main(self) -> None:
        """Apply the worker's messages until it ends (or dies)."""
        assert self._conn is not None
        end: tuple[Any, ...] | None = None
        try:
            while (message := self._conn.recv())[0] != "end":
                self._apply(message)
            end = message
        except (EOFError, OSError):
            pass
        finally:
            self._conn.close()
        if self._worker is not None:
            self._worker.join(30)
        stop_worker(self._worker)
        state: QualityJobState
        if end is not None:
            _, state, error = end
        else:
            state = "failed"
            code = self._worker.exitcode if isinstance(self._worker, BaseProcess) else None
            error = (
                f"The quality probe's process ended unexpectedly (exit code {code}). The "
                "requests it completed are kept as an interrupted run, without scores; "
                "start the quality probe again."
            )
            with contextlib.suppress(Exception):  # opening the store ingests the spool
                Store(self.store.path)
        with self._lock:
            self._state, self._error = state, error
            # The registry outlives the run: keep no credential in memory longer than needed.
            self.cfg = replace(self.cfg, api_key=None)

    # -- what callers use: cancel(), wait(), active, worker_pid (WorkerJob) -----------
    def snapshot(self) -> QualitySnapshot:
        with self._lock:
            update = self._progress
            state = self._state if not self._thread.is_alive() else "running"
            return QualitySnapshot(
                job_id=self.job_id,
                session_id=self.session_id,
                eval_set=self.cfg.eval_set,
                model=self.cfg.model,
                state=state,
                temperature=update.temperature if update else None,
                step=update.step if update else 0,
                steps=len(self.cfg.temperatures),
                done=update.done if update else 0,
                failed=update.failed if update else 0,
                planned=self.cfg.requests_per_temperature,
                group_id=self._group_id,
                run_ids=tuple(self._run_ids),
                error=self._error,
                warnings=self.warnings,
            )
