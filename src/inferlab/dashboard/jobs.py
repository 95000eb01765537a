"""Background probe jobs for the dashboard, and its built-in simulated endpoint.

A job runs the probe engine (the same one as ``inferlab probe``) in its own
process (multiprocessing, 'spawn'), so Streamlit reruns in the dashboard's
process cannot stall the measurement through the GIL. In that process completed
requests go to the store's crash-safe run writer as they finish; finished points
and progress come back over a pipe, and a watcher thread here keeps the live
figures (done/failed, TTFT/TPOT percentiles, recent points for a chart) that a
page polls with ``st.fragment(run_every=...)``. Cancelling sets a shared event;
a process that dies leaves its spool, ingested as an `interrupted` run. Jobs live in a process-wide registry keyed by
run id, so they survive page switches and a browser refresh; several can run
at once. No Streamlit here.

The simulated endpoint (:class:`inferlab.sim.SimServer`) is started on a free
loopback port the first time it is needed; new settings start a new instance
and instances no running job uses are stopped.
"""

from __future__ import annotations

import asyncio
import atexit
import bisect
import contextlib
import dataclasses
import multiprocessing as mp
import re
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import httpx

from inferlab.dashboard.worker import JobError, WorkerJob, start_worker, stop_worker
from inferlab.metrics.percentile import percentile
from inferlab.netpolicy import (
    NetPolicy,
    Resolver,
    TargetError,
    check_target,
    load_policy,
    redirect_refusal,
)
from inferlab.outbound import guarded_sync
from inferlab.probe import (
    ConfigError,
    PreflightError,
    ProbeConfig,
    ProgressUpdate,
    SinkError,
    make_run_info,
    preflight,
)
from inferlab.probe.config import (
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    describe_load,
    endpoint_for_display,
)
from inferlab.probe.engines.choice import choose, engine_json, engine_label, run_chosen
from inferlab.probe.engines.pool import EngineUnavailable
from inferlab.probe.engines.processes import allow_children
from inferlab.probe.engines.ray import engine_info, ray_session, run_probe_ray
from inferlab.probe.preflight import connect_message
from inferlab.probe.runner import CancelEvent, ProbeResult
from inferlab.records import RequestRecord, RunInfo, RunStatus
from inferlab.server.run import other_traffic_metadata, server_block
from inferlab.server.samples import Scrape
from inferlab.server.scraper import default_metrics_url
from inferlab.sim import SimConfig, SimServer
from inferlab.store import RunWriter, Store, StoreError, default_db_path
from inferlab.validity import ValidityFacts

if TYPE_CHECKING:
    from inferlab.dashboard.quality_job import QualityJob
    from inferlab.probe.quality import QualityProbeConfig

__all__ = [
    "JobError",
    "JobManager",
    "JobSnapshot",
    "LivePoint",
    "ProbeJob",
    "SimManager",
    "get_manager",
    "list_models",
    "probe_simulator_once",
    "ui_message",
]

JobState = Literal["running", "completed", "cancelled", "interrupted", "failed"]
RECENT_POINTS = 1000
EARLY_FAILURES = 3  # the first requests all failing alike stop the job (a wrong key, a bad URL)
# Failures that say the setup is wrong, not that the server is loaded: only these stop a
# job early. 5xx and 429 are results worth measuring, however many there are.
SETUP_ERRORS = frozenset(
    {
        "http_400",
        "http_401",
        "http_403",
        "http_404",
        "http_405",
        "http_422",
        "connection_refused",
        "dns_error",
        "connect_error",
        "not_event_stream",
        "malformed_sse",
        "invalid_json",
        "api_error",
    }
)
SIM_MODEL = "inferlab-sim"


# The engine's messages name CLI flags; on the page the same things are form fields.
_UI_WORDS = (
    (
        re.compile(
            r"(?:put|set) the key in an environment variable and pass --api-key-env VAR"
            r"|set the key with --api-key-env VAR|pass --api-key-env VAR"
        ),
        "check the API key",
    ),
    (re.compile(r"--url"), "the endpoint URL"),
    (re.compile(r"--server-metrics-interval"), "the scrape interval"),
    (re.compile(r"--server-metrics"), "the metrics URL"),
    (re.compile(r"--api chat"), "the Chat completions API style"),
    (re.compile(r"--sessions"), "sessions"),
    (re.compile(r"--turns"), "turns per session"),
    (re.compile(r"--think-time-s"), "think time"),
    (re.compile(r"--system-prompt-tokens"), "system prompt tokens"),
    (re.compile(r"--user-tokens"), "tokens per question"),
    (re.compile(r"--ramp-up-s"), "ramp-up"),
    (re.compile(r"--burstiness"), "burstiness"),
    (re.compile(r"--stop-on-saturation"), "stop on saturation"),
    (re.compile(r"--model"), "the model"),
    (re.compile(r"--api\b"), "the API style"),
    (re.compile(r"--requests"), "requests"),
    (re.compile(r"--duration"), "duration"),
    (re.compile(r"--concurrency"), "concurrency"),
    (re.compile(r"--rate"), "rate"),
    (re.compile(r"--prompt-tokens"), "prompt tokens"),
    (re.compile(r"--max-tokens"), "output tokens"),
    (re.compile(r"--warmup"), "warm-up requests"),
    (re.compile(r"--timeout"), "timeout"),
    (re.compile(r"\(or `inferlab sim`\) "), ""),
)


def ui_message(message: str) -> str:
    """An engine message with CLI flag names replaced by the form's words."""
    for pattern, words in _UI_WORDS:
        message = pattern.sub(words, message)
    message = message.strip()
    if message.startswith(("http://", "https://")):
        return message  # a URL keeps its case
    return message[:1].upper() + message[1:]


@dataclass(frozen=True)
class LivePoint:
    """One finished request for the live chart."""

    done_s: float  # completion time, seconds after the run started
    ttft_ms: float | None
    tpot_ms: float | None
    e2e_ms: float | None
    ok: bool
    error_class: str | None = None


@dataclass(frozen=True)
class JobSnapshot:
    """What a page shows about a job at one moment."""

    run_id: str
    label: str
    endpoint: str
    model: str
    load: str  # e.g. "concurrency 8" or "poisson 4 req/s"
    state: JobState
    phase: str  # warmup | measure | finished
    done: int  # measured requests finished (ok and failed)
    failed: int
    in_flight: int
    planned: int | None
    duration_s: float | None
    elapsed_s: float  # since the job started; never goes down (frozen when it ends)
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    tpot_p50_ms: float | None
    tpot_p95_ms: float | None
    points: tuple[LivePoint, ...]
    error: str | None
    saved: bool  # the run is in the store (False: left in the spool for the next open)
    session_id: str
    db_path: str
    measure_elapsed_s: float | None = None  # time into the measured phase, once it began
    saturation: str | None = None  # why the server cannot keep up, once detected
    engine: str = ""  # e.g. "engine local", "engine processes x2" (choice.engine_label)

    @property
    def active(self) -> bool:
        return self.state == "running"

    @property
    def fraction(self) -> float | None:
        """Share of the planned work done (by count or by time), None if unknown."""
        if self.state != "running":
            return 1.0
        if self.phase != "measure":
            return 0.0
        shares = []
        if self.planned:
            shares.append(self.done / self.planned)
        if self.duration_s and self.measure_elapsed_s is not None:
            shares.append(self.measure_elapsed_s / self.duration_s)
        return min(1.0, max(shares)) if shares else None


def _pcts(sorted_values: Sequence[float]) -> tuple[float | None, float | None]:
    if not sorted_values:
        return None, None
    return percentile(sorted_values, 50), percentile(sorted_values, 95)


def _load_text(cfg: ProbeConfig) -> str:
    return describe_load(cfg.load_mode, cfg.load_value)


class _ChildSink:
    """In the probe's process: records to the store's writer, live figures to the dashboard.

    Points and progress go over `conn` in batches (at most every 0.1 s) so the
    dashboard process does little work per request.
    """

    def __init__(self, writer: RunWriter, conn: Connection) -> None:
        self.writer = writer
        self.conn = conn
        self.saved = False
        self._lock = threading.Lock()
        self._pending: list[tuple[LivePoint, str | None]] = []
        self._update: ProgressUpdate | None = None
        self._sent_s = time.monotonic()

    def add(self, record: RequestRecord) -> None:
        self.writer.add(record)
        if record.warmup:
            return
        point = LivePoint(
            done_s=(record.sent_ms + (record.e2e_ms or 0.0)) / 1000,
            ttft_ms=record.ttft_ms if record.ok else None,
            tpot_ms=record.tpot_ms if record.ok else None,
            e2e_ms=record.e2e_ms if record.ok else None,
            ok=record.ok,
            error_class=record.error_class,
        )
        with self._lock:
            self._pending.append((point, None if record.ok else record.error_message))
        self.flush()

    def progress(self, update: ProgressUpdate) -> None:
        with self._lock:
            self._update = update
        self.flush()

    def add_scrape(self, scrape: Scrape) -> None:
        self.writer.add_scrape(scrape)

    def flush(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._sent_s < 0.1:
                return
            points, self._pending = self._pending, []
            update, self._update = self._update, None
            self._sent_s = time.monotonic()
            with contextlib.suppress(OSError, ValueError):  # the dashboard went away
                if points:
                    self.conn.send(("points", points))
                if update is not None:
                    self.conn.send(("progress", update))

    def set_validity(self, facts: ValidityFacts) -> None:
        self.writer.set_validity(facts)

    def close(self, status: RunStatus) -> None:
        self.flush(force=True)
        self.saved = self.writer.close(status)


def _job_main(
    cfg: ProbeConfig,
    info: RunInfo,
    db_path: str,
    cancel: CancelEvent,
    in_process: bool,
    policy: NetPolicy | None,
    also_allowed: Sequence[str],
    conn: Connection,
) -> None:
    """Run one probe and report to `conn`: the body of a job's process (or thread).

    Messages: ("ready",) or ("store_error", text) first, then ("points", [...]) and
    ("progress", update) while it runs, and ("end", state, error, saved) last.
    """
    if in_process:
        # Ctrl-C on the dashboard's terminal reaches this process too: the dashboard
        # decides (it cancels through the event, or stops this process at exit).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        allow_children()  # the processes engine's workers (they end with this process)
    try:
        writer = Store(Path(db_path)).run_writer(info)
    except StoreError as exc:
        conn.send(("store_error", str(exc)))
        conn.close()
        return
    conn.send(("ready",))
    sink = _ChildSink(writer, conn)
    error: str | None = None
    try:
        result = asyncio.run(_engine_run(cfg, sink, info, cancel, policy, also_allowed))
        if result.saturation_metadata():
            # Kept with the run so the Runs page can mark it; the records are saved already.
            with contextlib.suppress(Exception):
                Store(Path(db_path)).add_run_metadata(info.run_id, result.saturation_metadata())
        if result.scrapes:
            # A server that served others too: kept, so the Probe and Runs pages say so.
            with contextlib.suppress(Exception):
                store = Store(Path(db_path))
                block = server_block(store.server_scrapes(info.run_id), store.records(info.run_id))
                if shared := other_traffic_metadata(block):
                    store.add_run_metadata(info.run_id, shared)
        state: JobState = "cancelled" if result.status == "cancelled" else "completed"
        if result.status == "failed":
            state = "failed"
    except ConfigError as exc:
        state, error = "failed", ui_message(str(exc))
    except SinkError as exc:  # a full disk: the run is sealed as interrupted, nothing is lost
        state, error = "interrupted", f"The probe stopped: {exc}"
    except EngineUnavailable as exc:
        state, error = "failed", str(exc).replace("--engine ray", "The Ray engine")
        with contextlib.suppress(Exception):
            sink.close("failed")
    except Exception as exc:  # the job must end visibly, never hang
        state = "failed"
        error = f"The probe stopped with an error: {type(exc).__name__}: {exc}"
        if not writer.ingested:
            with contextlib.suppress(Exception):  # the spool is kept either way
                sink.close("failed")
    sink.flush(force=True)
    with contextlib.suppress(OSError, ValueError):
        conn.send(("end", state, error, sink.saved))
        conn.close()


async def _engine_run(
    cfg: ProbeConfig,
    sink: _ChildSink,
    info: RunInfo,
    cancel: CancelEvent,
    policy: NetPolicy | None,
    also_allowed: Sequence[str],
) -> ProbeResult:
    """The engine the run's settings name: the CLI's choice (`choice.choose`: local or
    worker processes), or Ray when they say `engine: ray`."""
    if info.settings.get("engine") != "ray":
        workers = info.settings.get("workers")
        return await run_chosen(
            cfg,
            sink,
            info=info,
            progress=sink.progress,
            cancel=cancel,
            engine=str(info.settings.get("engine", "auto")),
            workers=workers if isinstance(workers, int) else None,
            policy=policy,
            also_allowed=also_allowed,
        )
    workers = int(str(info.settings.get("workers") or 1))
    with ray_session(None, workers) as n:
        return await run_probe_ray(
            cfg, sink, info=info, progress=sink.progress, cancel=cancel, workers=n
        )


class ProbeJob(WorkerJob):
    """One probe running in its own process (or thread), watched by a thread here.

    In process mode (the dashboard's) the measurement has its own interpreter, so
    Streamlit reruns in this process cannot stall it; the API key reaches the child
    only through the pickled arguments on multiprocessing's pipe.
    """

    def __init__(
        self,
        cfg: ProbeConfig,
        info: RunInfo,
        store: Store,
        session_id: str = "",
        process: bool = True,
        policy: NetPolicy | None = None,
        also_allowed: Sequence[str] = (),
    ) -> None:
        self.cfg = cfg
        self.info = info
        # The outbound policy the /metrics scrapes go through (inferlab.server.scraper).
        self.policy = policy
        self.also_allowed = tuple(also_allowed)
        self.run_id = info.run_id
        self.session_id = session_id
        self.store = store
        self.process = process
        self.created_s = time.time()
        self._lock = threading.Lock()
        self._ctx = mp.get_context("spawn")
        self._cancel: CancelEvent = (
            cast(threading.Event, self._ctx.Event()) if process else threading.Event()
        )
        self._state: JobState = "running"
        self._error: str | None = None
        self._saved = False
        self._update: ProgressUpdate | None = None
        self._done = self._failed = 0
        self._ttfts: list[float] = []
        self._tpots: list[float] = []
        self._points: deque[LivePoint] = deque(maxlen=RECENT_POINTS)
        self._finished_elapsed_s: float | None = None
        self._start_ns = time.perf_counter_ns()
        self._first_message: str | None = None
        self._conn: Connection | None = None
        self._worker: BaseProcess | threading.Thread | None = None
        self._thread = threading.Thread(
            target=self._main, name=f"inferlab-probe:{self.run_id}", daemon=True
        )

    # -- starting and watching ---------------------------------------------------
    def _start(self) -> None:
        """Start the probe's process; StoreError if its run cannot be saved."""
        args = (
            self.cfg,
            self.info,
            str(self.store.path),
            self._cancel,
            self.process,
            self.policy,
            self.also_allowed,
        )
        self._worker, self._conn = start_worker(
            self._ctx,
            _job_main,
            args,
            name=f"inferlab-probe:{self.run_id}",
            process=self.process,
            what="probe",
        )
        self._thread.start()

    def _main(self) -> None:
        """Apply the worker's messages until it ends (or dies)."""
        assert self._conn is not None
        end: tuple[Any, ...] | None = None
        try:
            while True:
                message = self._conn.recv()
                kind = message[0]
                if kind == "points":
                    for point, text in message[1]:
                        self._observe_point(point, text)
                elif kind == "progress":
                    self._progress(message[1])
                elif kind == "end":
                    end = message
                    break
        except (EOFError, OSError):
            pass
        finally:
            self._conn.close()
        worker = self._worker
        if isinstance(worker, BaseProcess):
            worker.join(30)
            stop_worker(worker)
        elif worker is not None:
            worker.join(30)
        if end is not None:
            _, state, error, saved = end
            self._saved = bool(saved)
            if error is not None and self._error is None:
                self._error = error
            if self._error is not None and state != "interrupted":
                state = "failed"
        else:
            state = "failed"
            code = worker.exitcode if isinstance(worker, BaseProcess) else None
            self._error = (
                f"The probe's process ended unexpectedly (exit code {code}). The requests it "
                "completed are kept as an interrupted run; start the probe again."
            )
            with contextlib.suppress(Exception):  # opening the store ingests the spool
                Store(self.store.path)
                self._saved = self.store.run_status(self.run_id) is not None
        with self._lock:
            self._state = state
            self._finished_elapsed_s = (time.perf_counter_ns() - self._start_ns) / 1e9
            # The registry outlives the run: keep no credential in memory longer than needed.
            self.cfg = replace(self.cfg, api_key=None, headers={})

    def _progress(self, update: ProgressUpdate) -> None:
        with self._lock:
            self._update = update

    def _observe(self, record: RequestRecord) -> None:
        """Count one finished request (what the worker sends, from a record)."""
        if record.warmup:
            return
        point = LivePoint(
            done_s=(record.sent_ms + (record.e2e_ms or 0.0)) / 1000,
            ttft_ms=record.ttft_ms if record.ok else None,
            tpot_ms=record.tpot_ms if record.ok else None,
            e2e_ms=record.e2e_ms if record.ok else None,
            ok=record.ok,
            error_class=record.error_class,
        )
        self._observe_point(point, None if record.ok else record.error_message)

    def _observe_point(self, point: LivePoint, error_message: str | None) -> None:
        if not point.ok and self._first_message is None:
            self._first_message = error_message
        with self._lock:
            self._done += 1
            self._failed += not point.ok
            if point.ok and point.ttft_ms is not None:
                bisect.insort(self._ttfts, point.ttft_ms)
            if point.tpot_ms is not None:
                bisect.insort(self._tpots, point.tpot_ms)
            self._points.append(point)
            self._check_early_failures()

    def _check_early_failures(self) -> None:
        """Stop a job whose first requests all failed the same way: more would fail too."""
        first = min(EARLY_FAILURES, self.cfg.requests or EARLY_FAILURES)
        if self._done != first or self._failed != first or self._error is not None:
            return
        classes = {p.error_class for p in self._points}
        if len(classes) != 1:
            return
        (error_class,) = classes
        if error_class not in SETUP_ERRORS:
            return
        self._error = ui_message(
            f"the first {first} requests all failed with {error_class}: "
            f"{self._first_message or 'no detail'}; the probe was stopped. Check the "
            "endpoint URL, API style, model and key"
        )
        self._cancel.set()

    # -- what callers use: cancel(), wait(), active, worker_pid (WorkerJob) ---------
    def _phase(self, state: JobState, update: ProgressUpdate | None, done: int) -> str:
        if state != "running":
            return "finished"
        if update is not None and update.phase != "finished":
            return update.phase
        return "measure" if done or not self.cfg.warmup else "warmup"

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            update = self._update
            state = self._state if not self._thread.is_alive() else "running"
            ttft = _pcts(self._ttfts)
            tpot = _pcts(self._tpots)
            points = tuple(self._points)
            done, failed = self._done, self._failed
            finished_s = self._finished_elapsed_s
        elapsed_s = (
            finished_s
            if finished_s is not None
            else ((time.perf_counter_ns() - self._start_ns) / 1e9)
        )
        in_measure = update is not None and update.phase == "measure"
        return JobSnapshot(
            run_id=self.run_id,
            label=self.info.label,
            endpoint=self.info.endpoint,
            model=self.info.model,
            load=_load_text(self.cfg),
            state=state,
            phase=self._phase(state, update, done),
            done=done,
            failed=failed,
            in_flight=update.in_flight if update and state == "running" else 0,
            planned=update.planned if update is not None else self.cfg.requests,
            duration_s=self.cfg.duration_s,
            elapsed_s=elapsed_s,
            ttft_p50_ms=ttft[0],
            ttft_p95_ms=ttft[1],
            tpot_p50_ms=tpot[0],
            tpot_p95_ms=tpot[1],
            points=points,
            error=self._error,
            saved=self._saved,
            session_id=self.session_id,
            db_path=str(self.store.path),
            measure_elapsed_s=update.elapsed_s if in_measure and update else None,
            saturation=update.saturation if update is not None else None,
            engine=_engine_text(self.info),
        )


def _engine_text(info: RunInfo) -> str:
    """The engine the job runs on, as the CLI's `show` names it."""
    engine = engine_json(info)
    if engine is None:
        return ""
    workers = engine["workers"]
    note = engine["note"]
    return engine_label(
        str(engine["name"]),
        workers if isinstance(workers, int) else 1,
        note if isinstance(note, str) else None,
    )


def _same_config(a: SimConfig, b: SimConfig) -> bool:
    """Equal settings, even across a module reload (Streamlit's file watcher makes a
    new SimConfig class, and dataclass equality requires the same class)."""
    return dataclasses.asdict(a) == dataclasses.asdict(b)


class SimManager:
    """The dashboard's own simulated endpoints, one per distinct setting in use."""

    def __init__(self, process: bool = True) -> None:
        # A child process keeps the sim's timing free of this process's GIL (Streamlit
        # reruns, the probe's own loop); in-thread is for tests that read its truth.
        self.process = process
        self._lock = threading.Lock()
        self._sims: list[SimServer] = []

    def ensure(self, config: SimConfig, busy_urls: Iterable[str] = ()) -> str:
        """Base URL of an idle sim with `config`; starts one on a free loopback port.

        A sim in `busy_urls` (used by a running job) is never handed out again: two
        probes sharing one sim would queue behind each other's streams and each read the
        other's load as the server's. Busy sims are kept, idle sims of other settings
        are stopped, so restarting with new settings never cuts a probe.
        """
        busy = set(busy_urls)
        with self._lock:
            keep: list[SimServer] = []
            found: SimServer | None = None
            for sim in self._sims:
                if not sim.running:
                    continue
                if found is None and _same_config(sim.config, config) and sim.base_url not in busy:
                    found = sim
                    keep.append(sim)
                elif sim.base_url in busy:
                    keep.append(sim)
                else:
                    sim.stop()
            if found is None:
                found = SimServer(config, host="127.0.0.1", port=0, process=self.process).start()
                keep.append(found)
            self._sims = keep
            return found.base_url

    def config_for(self, url: str) -> SimConfig | None:
        """Settings of the running sim serving `url` (trailing slash ignored), if any."""
        with self._lock:
            for sim in self._sims:
                if sim.running and sim.base_url == url.rstrip("/"):
                    return sim.config
        return None

    def urls(self) -> list[str]:
        with self._lock:
            return [s.base_url for s in self._sims if s.running]

    def current(self) -> tuple[SimConfig, str] | None:
        """Settings and URL of the most recently started sim, if one runs."""
        with self._lock:
            for sim in reversed(self._sims):
                if sim.running:
                    return sim.config, sim.base_url
        return None

    def stop_all(self) -> None:
        with self._lock:
            for sim in self._sims:
                sim.stop()
            self._sims = []


def dashboard_sim_config(
    ttft_ms: float = 200.0,
    tpot_ms: float = 20.0,
    jitter_ms: float = 0.0,
    max_batch: int = 256,
    tpot_growth_per_stream_ms: float = 0.0,
    prefill_ms_per_1k_tokens: float = 0.0,
    error_500_pct: float = 0.0,
    prefix_cache: bool = False,
) -> SimConfig:
    """The sim settings the Probe page exposes (no ground-truth buffer: nobody reads it)."""
    return SimConfig(
        ttft_ms=ttft_ms,
        tpot_ms=tpot_ms,
        jitter_ms=jitter_ms,
        max_batch=max_batch,
        tpot_growth_per_stream_ms=tpot_growth_per_stream_ms,
        prefill_ms_per_1k_tokens=prefill_ms_per_1k_tokens,
        error_500_pct=error_500_pct,
        prefix_cache=prefix_cache,
        model=SIM_MODEL,
        truth_limit=0,
    )


class JobManager:
    """The process-wide registry of probe and quality jobs (newest first) and the built-in sim.

    Both kinds pass the same checks (target policy, per-session limits) and count
    towards the same cap on running jobs per session.
    """

    def __init__(
        self, sim_process: bool = True, job_process: bool = True, resolve: Resolver | None = None
    ) -> None:
        # job_process=False runs probes in threads of this process (the old way; the
        # bench compares the two). `resolve` replaces DNS in tests (never leave loopback).
        self.job_process = job_process
        self.resolve = resolve
        self._lock = threading.Lock()
        self._jobs: dict[str, ProbeJob] = {}
        self._quality: dict[str, QualityJob] = {}
        self.sims = SimManager(process=sim_process)

    def sim_url(self, config: SimConfig | None = None) -> str:
        """The base URL of a built-in simulated endpoint no running probe uses, started
        when needed: each probe of the simulator has the server to itself."""
        busy = [j.cfg.url for j in self.jobs() if j.active]
        busy += [j.url for j in self.quality_jobs() if j.active]
        return self.sims.ensure(config or dashboard_sim_config(), busy)

    def own_urls(self) -> list[str]:
        """Endpoints this process serves itself (allowed despite an allow-list)."""
        return self.sims.urls()

    def apply_limits(self, cfg: ProbeConfig, policy: NetPolicy) -> ProbeConfig:
        """`cfg` within the per-session limits; JobError when it asks for more."""
        lim = policy.limits
        if cfg.load_mode == "concurrency" and cfg.concurrency > lim.max_concurrency:
            raise JobError(
                f"Concurrency {cfg.concurrency} is above this dashboard's limit of "
                f"{lim.max_concurrency}; lower it (the limit is INFERLAB_MAX_CONCURRENCY)."
            )
        if cfg.load_mode == "sessions":
            if cfg.sessions > lim.max_concurrency:
                raise JobError(
                    f"{cfg.sessions} sessions is above this dashboard's limit of "
                    f"{lim.max_concurrency} at once; lower it (INFERLAB_MAX_CONCURRENCY)."
                )
            if cfg.sessions * cfg.turns > lim.max_requests:
                raise JobError(
                    f"{cfg.sessions} sessions x {cfg.turns} turns is "
                    f"{cfg.sessions * cfg.turns:,} requests, above this dashboard's limit of "
                    f"{lim.max_requests:,} per probe; lower one (INFERLAB_MAX_REQUESTS)."
                )
            if cfg.duration_s is not None and cfg.duration_s > lim.max_duration_s:
                raise JobError(
                    f"A duration of {cfg.duration_s:g} s is above this dashboard's limit of "
                    f"{lim.max_duration_s:g} s; shorten it (INFERLAB_MAX_DURATION_S)."
                )
            # Think times make a session run as long as it likes: the limit ends it.
            return replace(cfg, requests=None, duration_s=cfg.duration_s or lim.max_duration_s)
        if cfg.requests is not None and cfg.requests > lim.max_requests:
            raise JobError(
                f"{cfg.requests:,} requests is above this dashboard's limit of "
                f"{lim.max_requests:,} per probe; lower it (INFERLAB_MAX_REQUESTS)."
            )
        if cfg.duration_s is not None and cfg.duration_s > lim.max_duration_s:
            raise JobError(
                f"A duration of {cfg.duration_s:g} s is above this dashboard's limit of "
                f"{lim.max_duration_s:g} s; shorten it (INFERLAB_MAX_DURATION_S)."
            )
        if cfg.load_mode != "concurrency":
            cap = cfg.concurrency or lim.max_concurrency
            if cap > lim.max_concurrency:
                raise JobError(
                    f"An in-flight cap of {cap} is above this dashboard's limit of "
                    f"{lim.max_concurrency}; lower it (INFERLAB_MAX_CONCURRENCY)."
                )
            cfg = replace(cfg, concurrency=cap)
        if cfg.requests is None:
            cfg = replace(cfg, requests=lim.max_requests)  # a duration run still stops by count
        if cfg.deadline_s > lim.max_duration_s:
            if cfg.request_deadline_s is not None:
                raise JobError(
                    f"A request deadline of {cfg.request_deadline_s:g} s is above this "
                    f"dashboard's limit of {lim.max_duration_s:g} s (INFERLAB_MAX_DURATION_S)."
                )
            cfg = replace(cfg, request_deadline_s=lim.max_duration_s)
        if (
            cfg.max_event_bytes > DEFAULT_MAX_EVENT_BYTES
            or (cfg.max_response_bytes or 0) > DEFAULT_MAX_RESPONSE_BYTES
        ):
            raise JobError(
                f"This dashboard caps a request at {DEFAULT_MAX_RESPONSE_BYTES:,} bytes and an "
                f"SSE event at {DEFAULT_MAX_EVENT_BYTES:,}; use the CLI for larger responses."
            )
        # Every request is bounded in time and size, so no job holds its slot forever.
        return replace(cfg, request_deadline_s=cfg.deadline_s)

    def start(
        self,
        cfg: ProbeConfig,
        *,
        session_id: str = "",
        policy: NetPolicy | None = None,
        check_endpoint: bool = True,
        db_path: Path | None = None,
        ray_workers: int | None = None,
    ) -> ProbeJob:
        """Validate, check the endpoint (a few seconds at most) and start a job.

        Raises JobError with a message for the page when the probe cannot start:
        bad settings, a target the policy refuses, a limit, or an endpoint that is
        unreachable, rejects the key or is not OpenAI-compatible. With `ray_workers`,
        the job runs the Ray engine on that many local actors (`distributed` extra).
        """
        policy = policy or load_policy()
        try:
            target = check_target(
                cfg.url, policy, also_allowed=self.own_urls(), resolve=self.resolve
            )
        except TargetError as exc:
            raise JobError(str(exc)) from None
        self._check_metrics_urls(cfg, policy)
        # From here on only the checked addresses are contacted (preflight and probe).
        cfg = replace(self.apply_limits(cfg, policy), pins=target.pins)
        try:
            cfg.validate()
        except ConfigError as exc:
            raise JobError(ui_message(str(exc))) from None
        self._check_running(session_id, policy)
        if check_endpoint:
            try:
                asyncio.run(
                    preflight(
                        cfg.url,
                        cfg.model,
                        api=cfg.api,
                        api_key=cfg.api_key,
                        headers=dict(cfg.headers),
                        pins=cfg.pins,
                    )
                )
            except PreflightError as exc:
                raise JobError(ui_message(str(exc))) from None
        info = make_run_info(cfg)
        # The CLI's engine choice for the same settings (one process up to 64 streams).
        info = engine_info(info, ray_workers) if ray_workers else choose(info)
        try:
            store = Store(db_path or default_db_path())
            job = ProbeJob(
                cfg,
                info,
                store,
                session_id,
                process=self.job_process,
                policy=policy,
                # The built-in sim's /metrics is the dashboard's own too.
                also_allowed=[*self.own_urls(), *map(default_metrics_url, self.own_urls())],
            )
            job._start()
        except StoreError as exc:
            raise JobError(f"The run cannot be saved: {exc}") from None
        with self._lock:
            self._jobs[info.run_id] = job
        return job

    def _check_metrics_urls(self, cfg: ProbeConfig, policy: NetPolicy) -> None:
        """The form's metrics URLs pass the same target checks as the endpoint (JobError)."""
        own = self.own_urls()
        for url in cfg.server_metrics if cfg.server_metrics_enabled else ():
            try:
                check_target(
                    url,
                    policy,
                    also_allowed=[*own, *map(default_metrics_url, own)],
                    resolve=self.resolve,
                )
            except (TargetError, ValueError) as exc:
                raise JobError(
                    f"The metrics URL {endpoint_for_display(url)} cannot be scraped: {exc}"
                ) from None

    def _check_running(self, session_id: str, policy: NetPolicy) -> None:
        """JobError when the session already runs as many jobs (of either kind) as allowed."""
        running = [j for j in self.jobs() if j.active and j.session_id == session_id]
        running_q = [j for j in self.quality_jobs() if j.active and j.session_id == session_id]
        if len(running) + len(running_q) >= policy.limits.max_running_jobs:
            raise JobError(
                f"{len(running) + len(running_q)} probes of yours are still running, the most "
                "this dashboard allows at once (INFERLAB_MAX_RUNNING_JOBS); wait for one or "
                "cancel it."
            )

    def start_quality(
        self,
        cfg: QualityProbeConfig,
        *,
        session_id: str = "",
        policy: NetPolicy | None = None,
        check_endpoint: bool = True,
        db_path: Path | None = None,
    ) -> QualityJob:
        """Check a quality probe like a probe and start it in the background.

        Raises JobError with a message for the page: a target the policy refuses,
        more requests or concurrency than the dashboard allows, bad settings, too
        many running jobs, an endpoint that cannot be probed, a store that cannot
        be written.
        """
        from inferlab.dashboard.quality_job import QualityJob

        policy = policy or load_policy()
        try:
            target = check_target(
                cfg.url, policy, also_allowed=self.own_urls(), resolve=self.resolve
            )
        except TargetError as exc:
            raise JobError(str(exc)) from None
        # From here on only the checked addresses are contacted (preflight and probe).
        cfg = replace(cfg, pins=target.pins)
        lim = policy.limits
        total = cfg.requests_per_temperature * len(cfg.temperatures)
        if total > lim.max_requests or cfg.concurrency > lim.max_concurrency:
            raise JobError(
                f"This probe would send {total:,} requests at concurrency {cfg.concurrency}; "
                f"this dashboard allows {lim.max_requests:,} requests and concurrency "
                f"{lim.max_concurrency}. Lower the repeats or temperatures."
            )
        try:
            cfg.validate()
        except ConfigError as exc:
            raise JobError(f"{exc}.") from None
        self._check_running(session_id, policy)
        warnings: tuple[str, ...] = ()
        if check_endpoint:
            try:
                check = asyncio.run(
                    preflight(cfg.url, cfg.model, api=cfg.api, api_key=cfg.api_key, pins=cfg.pins)
                )
            except PreflightError as exc:
                raise JobError(f"The endpoint cannot be probed: {exc}.") from None
            warnings = check.warnings
        try:
            store = Store(db_path or default_db_path())
            job = QualityJob(cfg, store, session_id, warnings, process=self.job_process)
            job.start()
        except StoreError as exc:
            raise JobError(f"The run could not be saved: {exc}") from None
        with self._lock:
            self._quality[job.job_id] = job
        return job

    def quality_jobs(self, session_id: str | None = None) -> list[QualityJob]:
        """Quality jobs of this process (of one session if given), newest first."""
        with self._lock:
            jobs = [
                j
                for j in self._quality.values()
                if session_id is None or j.session_id == session_id
            ]
        return sorted(jobs, key=lambda j: j.created_s, reverse=True)

    def get_quality(self, job_id: str) -> QualityJob | None:
        with self._lock:
            return self._quality.get(job_id)

    def jobs(self, session_id: str | None = None) -> list[ProbeJob]:
        """The jobs of this process, newest first: all of them, or one visitor's."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.created_s, reverse=True)
        return jobs if session_id is None else [j for j in jobs if j.session_id == session_id]

    def get(self, run_id: str) -> ProbeJob | None:
        with self._lock:
            return self._jobs.get(run_id)

    def cancel(self, run_id: str) -> bool:
        job = self.get(run_id)
        if job is None:
            return False
        job.cancel()
        return True

    def forget(self, run_id: str) -> None:
        """Drop a finished job from the registry (its run stays in the store)."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None and not job.active:
                del self._jobs[run_id]

    def clear(self) -> None:
        """Forget every finished job (tests; the runs stay in the store)."""
        for job in self.jobs():
            self.forget(job.run_id)
        with self._lock:
            self._quality = {k: j for k, j in self._quality.items() if j.active}

    def shutdown(self) -> None:
        """Cancel every job, wait for them, stop the sims (tests, process exit)."""
        every: list[ProbeJob | QualityJob] = [*self.jobs(), *self.quality_jobs()]
        for job in every:
            job.cancel()
        for job in every:
            job.wait(30)
        self.sims.stop_all()


def list_models(
    url: str,
    api_key: str | None = None,
    *,
    policy: NetPolicy | None = None,
    also_allowed: Iterable[str] = (),
    timeout_s: float = 5.0,
    resolve: Resolver | None = None,
) -> tuple[str, ...]:
    """Model ids the endpoint lists at GET {url}/models; JobError with the reason if it cannot.

    The target is checked against the policy first and only its checked addresses
    are contacted; redirects are not followed.
    """
    try:
        target = check_target(
            url, policy or load_policy(), also_allowed=also_allowed, resolve=resolve
        )
    except TargetError as exc:
        raise JobError(str(exc)) from None
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    base = url.strip().rstrip("/")
    try:
        with httpx.Client(
            transport=guarded_sync(httpx.HTTPTransport(trust_env=False), target.pins),
            timeout=timeout_s,
            follow_redirects=False,
            trust_env=False,
        ) as client:
            r = client.get(base + "/models", headers=headers)
    except httpx.HTTPError as exc:
        raise JobError(ui_message(connect_message(url, exc))) from None
    if r.is_redirect:
        raise JobError(redirect_refusal(r.status_code, r.headers.get("location")))
    if r.status_code in (401, 403):
        raise JobError(
            f"The endpoint rejected the credentials (HTTP {r.status_code}); check the API key."
        )
    if r.status_code != 200:
        raise JobError(
            f"The endpoint does not list models (GET /models answered HTTP {r.status_code}); type the model name."
        )
    try:
        data = r.json().get("data")
    except (ValueError, AttributeError):
        data = None
    if not isinstance(data, list):
        raise JobError(
            "GET /models did not return an OpenAI model list; the endpoint URL should be the API "
            "root, e.g. http://host:8000/v1."
        )
    return tuple(str(m["id"]) for m in data if isinstance(m, dict) and m.get("id"))


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def get_manager() -> JobManager:
    """The process-wide job manager (created on first use)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = JobManager()
            atexit.register(_MANAGER.sims.stop_all)
        return _MANAGER


def new_session_id() -> str:
    return uuid.uuid4().hex


def probe_simulator_once(
    *,
    requests: int = 32,
    concurrency: int = 8,
    max_tokens: int = 48,
    prompt_tokens: int = 128,
    label: str = "First run: built-in simulator",
    tags: tuple[str, ...] = ("sim", "first-run"),
    wait: bool = True,
    timeout_s: float = 120.0,
    db_path: Path | None = None,
) -> str:
    """Probe the built-in simulated endpoint once and return the run id.

    For the Runs page's first-run button: with the defaults it takes about five
    seconds. `wait=False` returns at once; the job then shows on the Probe page.
    """
    manager = get_manager()
    cfg = ProbeConfig(
        url=manager.sim_url(),
        model=SIM_MODEL,
        concurrency=concurrency,
        requests=requests,
        max_tokens=max_tokens,
        prompt_tokens=prompt_tokens,
        label=label,
        tags=tags,
    )
    job = manager.start(cfg, policy=NetPolicy(), check_endpoint=False, db_path=db_path)
    if wait and not job.wait(timeout_s):
        job.cancel()
        job.wait(30)
    snap = job.snapshot()
    if snap.error:
        raise JobError(snap.error)
    return job.run_id
