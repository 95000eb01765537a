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

import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Literal, cast

from inferlab.probe import ConfigError, SinkError
from inferlab.probe.quality import (
    QualityProbeConfig,
    QualityProgress,
    QualityRunResult,
    run_quality_sync,
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


class QualityJob:
    """One quality probe in a background thread of the dashboard's process."""

    def __init__(
        self,
        cfg: QualityProbeConfig,
        store: Store,
        session_id: str = "",
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.session_id = session_id
        self.warnings = warnings
        self.job_id = uuid.uuid4().hex[:12]
        self.created_s = time.time()
        self.url = cfg.url
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._state: QualityJobState = "running"
        self._error: str | None = None
        self._progress: QualityProgress | None = None
        self._group_id: str | None = None
        self._run_ids: list[str] = []
        self._thread = threading.Thread(
            target=self._main, name=f"inferlab-quality:{self.job_id}", daemon=True
        )

    def start(self) -> QualityJob:
        self._thread.start()
        return self

    # -- in the job's thread ---------------------------------------------------------
    def _open_sink(self, info: RunInfo) -> Sink:
        with self._lock:
            self._group_id = info.group_id
            self._run_ids.append(info.run_id)
        # A Sink whose close() also says whether the run reached the database.
        return cast(Sink, self.store.run_writer(info))

    def _save(self, result: QualityRunResult) -> None:
        scores = result.report.by_temperature
        if scores:
            QualityStore(self.store).save(
                result.info.run_id,
                group_id=result.info.group_id,
                eval_set=self.cfg.eval_set,
                repeats=self.cfg.repeats,
                outputs=result.outputs,
                scores=scores[0],
            )

    def _on_progress(self, update: QualityProgress) -> None:
        with self._lock:
            self._progress = update

    def _main(self) -> None:
        state: QualityJobState
        error: str | None = None
        try:
            run_quality_sync(
                self.cfg,
                self._open_sink,
                save=self._save,
                progress=self._on_progress,
                cancel=self._cancel,
            )
            state = "cancelled" if self._cancel.is_set() else "completed"
        except ConfigError as exc:
            state, error = "failed", f"{exc}."
        except (StoreError, SinkError) as exc:
            state, error = "failed", f"The run could not be saved: {exc}"
        except Exception as exc:  # the job must end visibly, never hang
            state = "failed"
            error = f"The quality probe stopped with an error: {type(exc).__name__}: {exc}"
        with self._lock:
            self._state, self._error = state, error
            # The registry outlives the run: keep no credential in memory longer than needed.
            self.cfg = replace(self.cfg, api_key=None)

    # -- what callers use ------------------------------------------------------------
    def cancel(self) -> None:
        """Stop sending; the answers already received are scored and kept."""
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ended (True) or `timeout_s` passed (False)."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

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
