"""The scheduler: runs one probe (or a sweep of them) and reports progress.

It decides when each request is sent (fixed concurrency, constant, Poisson or
gamma rate, a replayed trace, multi-turn sessions; the shapes themselves are
pure functions in `schedule`, `trace` and `sessions`), hands the request to the worker, passes finished records to the sink
and calls the injected progress callback a few times per second. A
cancellation (Ctrl-C, a dashboard button) stops sending, drops requests still
in flight and closes the run as `cancelled` with every completed request.
Under a rate-driven load a `SaturationDetector` watches the requests in flight
and TTFT; its verdict goes out with the progress, and with
`stop_on_saturation` it ends the run (requests in flight are dropped).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx

from inferlab.metrics.percentile import percentiles
from inferlab.netpolicy import NetPolicy
from inferlab.probe import transport as _transport
from inferlab.probe.config import ConfigError, ProbeConfig, make_run_info, sweep_configs
from inferlab.probe.prompts import Prompt, PromptSource
from inferlab.probe.saturation import Saturation, SaturationDetector
from inferlab.probe.schedule import arrival_offsets_s, slot_start_offsets_s
from inferlab.probe.sessions import Conversation, SessionSpec, session_id
from inferlab.probe.sink import Sink, SinkPump
from inferlab.probe.trace import TracePrompts, load_trace, trace_offsets_s
from inferlab.probe.worker import (
    Target,
    build_clients,
    close_unused,
    open_connections,
    send_request,
)
from inferlab.records import RequestRecord, RunInfo, RunStatus
from inferlab.server.samples import Scrape
from inferlab.server.scraper import Expected, Scraper, scrape_urls
from inferlab.validity import ValidityFacts

__all__ = [
    "CancelEvent",
    "ProbeResult",
    "ProgressCallback",
    "ProgressUpdate",
    "prompt_source",
    "run_probe",
    "run_probe_sync",
    "run_sweep",
    "run_sweep_sync",
    "share_of",
]

PROGRESS_INTERVAL_S = 0.25
LOOP_LAG_INTERVAL_S = 0.01  # how often the client's own event-loop lag is sampled

CancelEvent = asyncio.Event | threading.Event


@dataclass(frozen=True)
class ProgressUpdate:
    """A snapshot of a running probe (measured requests only; warm-up has its phase)."""

    run_id: str
    step: int  # 0-based sweep step; 0 for a single run
    steps: int
    load_value: float
    phase: Literal["warmup", "measure", "finished"]
    done: int  # finished requests of the phase, ok and failed
    failed: int
    in_flight: int
    planned: int | None  # request count of the phase, when it stops by count
    elapsed_s: float
    duration_s: float | None  # the phase's time limit, when it stops by duration
    ttft_p50_ms: float | None
    tpot_p50_ms: float | None
    # (index, scheduled_ms) of the requests in flight: what a distributed driver fails
    # when the worker running them is lost (probe/engines/ray.py).
    in_flight_requests: tuple[tuple[int, float], ...] = ()
    saturation: str | None = None  # why the server cannot keep up, once detected


ProgressCallback = Callable[[ProgressUpdate], None]


@dataclass(frozen=True)
class ProbeResult:
    """How a run ended; the records themselves went to the sink."""

    info: RunInfo
    status: RunStatus
    completed: int  # measured requests recorded (ok and failed)
    failed: int
    warmup: int
    elapsed_s: float
    anchor_ns: int  # perf_counter_ns of the run's time zero (scheduled_ms/sent_ms count from it)
    validity: ValidityFacts | None = None  # what the client itself cost while measuring
    worker_cpu_s: float | None = None  # CPU of the engine's worker processes, if any
    # The server's /metrics during the run; their samples went to the sink's
    # add_scrape when it has one (then only the scrapes' times and errors are here).
    scrapes: tuple[Scrape, ...] = ()
    saturation: Saturation | None = None  # the over-saturation verdict (rate-driven runs)
    stopped_on_saturation: bool = False  # stop_on_saturation ended the run
    dropped: int = 0  # requests in flight when the run was stopped on saturation

    def saturation_metadata(self) -> dict[str, object]:
        """What the store keeps with the run (`Store.add_run_metadata`); {} when none."""
        if self.saturation is None:
            return {}
        return {
            "saturation": {
                **self.saturation.to_json(),
                "stopped": self.stopped_on_saturation,
                "dropped": self.dropped,
            }
        }


def share_of(total: int, share: tuple[int, int]) -> int:
    """Worker k of n's part of `total` (the first total % n workers get one more)."""
    k, n = share
    return total // n + (k < total % n)


def _median(values: list[float]) -> float | None:
    n = len(values)
    if n == 0:
        return None
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2


class _Run:
    """State of one run while it executes."""

    def __init__(
        self,
        cfg: ProbeConfig,
        info: RunInfo,
        prompts: PromptSource | TracePrompts,
        pump: SinkPump,
        progress: ProgressCallback | None,
        step: int,
        steps: int,
        share: tuple[int, int] = (0, 1),
    ) -> None:
        self.cfg = cfg
        self.share = share  # worker k of n: indexes k, k+n, ...; its part of the load
        self.info = info
        self.pump = pump
        self.progress = progress
        self.step, self.steps = step, steps
        self.prompts = prompts
        self.target = Target.from_config(cfg, request_id_prefix=f"{info.run_id}-")
        if cfg.load_mode == "sessions":
            self.target = replace(self.target, keep_text=True)  # answers join the history
        self.detector = SaturationDetector() if cfg.rate_driven else None
        self.stop_sending = asyncio.Event()
        self.stopped_on_saturation = False
        self.dropped = 0
        self.anchor_ns = time.perf_counter_ns()
        self.next_index = 0
        self.phase: Literal["warmup", "measure", "finished"] = "warmup"
        self.phase_start_ns = self.anchor_ns
        self.phase_planned: int | None = None
        self.phase_duration_s: float | None = None
        self.done = self.failed = self.in_flight = 0
        self.measured = self.measured_failed = self.warmup_done = 0
        # Output tokens of the answered requests (None once one did not say): what the
        # server's counters must show before the scraper's grace ends.
        self.ok_requests = 0
        self.ok_output_tokens: int | None = 0
        self._ttfts: list[float] = []
        self._tpots: list[float] = []
        # Validity facts of the measured phase (see inferlab.validity).
        self.sending = False  # the phase is still issuing requests
        self.loop_lags_ms: list[float] = []
        self._inflight_sum = 0
        self._inflight_samples = 0
        self._sends = 0
        self._send_span_ns = 0
        self._cpu_s = 0.0
        self._measure_wall_ns = 0
        self._queue_ms: list[float] = []
        self._connect_ms: list[float] = []
        self.aligned_start_ns = 0
        self.pending: dict[int, float] = {}  # index -> scheduled_ms of requests in flight

    def now_ms(self) -> float:
        return (time.perf_counter_ns() - self.anchor_ns) / 1e6

    def take_index(self) -> int:
        k, n = self.share
        i = k + n * self.next_index
        self.next_index += 1
        return i

    def add(self, record: RequestRecord) -> None:
        self.pump.put(record)
        self.done += 1
        self.failed += not record.ok
        self.ok_requests += record.ok
        if record.ok and self.ok_output_tokens is not None:
            out = record.output_tokens
            self.ok_output_tokens = None if out is None else self.ok_output_tokens + out
        if record.warmup:
            self.warmup_done += 1
            return
        self.measured += 1
        self.measured_failed += not record.ok
        self._queue_ms.append(record.client_queue_ms)
        if record.connect_ms is not None:
            self._connect_ms.append(record.connect_ms)
        if record.ok and record.ttft_ms is not None:
            bisect.insort(self._ttfts, record.ttft_ms)
            if self.detector is not None:
                self.detector.observe_ttft(self.phase_elapsed_s(), record.ttft_ms)
        tpot = record.tpot_ms if record.ok else None
        if tpot is not None:
            bisect.insort(self._tpots, tpot)

    def snapshot(self) -> ProgressUpdate:
        return ProgressUpdate(
            run_id=self.info.run_id,
            step=self.step,
            steps=self.steps,
            load_value=self.cfg.load_value,
            phase=self.phase,
            done=self.done,
            failed=self.failed,
            in_flight=self.in_flight,
            planned=self.phase_planned,
            elapsed_s=(time.perf_counter_ns() - self.phase_start_ns) / 1e9,
            duration_s=self.phase_duration_s,
            ttft_p50_ms=_median(self._ttfts),
            tpot_p50_ms=_median(self._tpots),
            in_flight_requests=tuple(self.pending.items()),
            saturation=None if self.saturation is None else self.saturation.reason,
        )

    @property
    def saturation(self) -> Saturation | None:
        return None if self.detector is None else self.detector.verdict

    def phase_elapsed_s(self) -> float:
        return (time.perf_counter_ns() - self.phase_start_ns) / 1e9

    def watch_saturation(self) -> None:
        """One tick of the over-saturation test (measured phase of a rate-driven run)."""
        if self.detector is None or self.phase != "measure":
            return
        now_s = self.phase_elapsed_s()
        self.detector.observe_in_flight(now_s, self.in_flight)
        stop = self.cfg.stop_on_saturation and not self.stop_sending.is_set()
        if self.detector.check(now_s) is not None and stop:
            self.stopped_on_saturation = True
            self.dropped = self.in_flight
            self.stop_sending.set()

    def result(self, status: RunStatus, started_ns: int, **more: Any) -> ProbeResult:
        """The run's outcome: counts so far, its time, and what the engine adds (`more`)."""
        return ProbeResult(
            info=self.info,
            status=status,
            completed=self.measured,
            failed=self.measured_failed,
            warmup=self.warmup_done,
            elapsed_s=(time.perf_counter_ns() - started_ns) / 1e9,
            anchor_ns=self.anchor_ns,
            **more,
        )

    def report(self) -> None:
        if self.progress is None:
            return
        try:
            self.progress(self.snapshot())
        except Exception:
            self.progress = None  # a broken display must not stop the measurement

    async def one(
        self,
        client: httpx.AsyncClient,
        scheduled_ms: float,
        warmup: bool,
        prompt: Prompt | None = None,
        session: tuple[str, int] | None = None,
        index: int | None = None,
    ) -> RequestRecord:
        if index is None:
            index = self.take_index()
        self.in_flight += 1
        if not warmup:
            self._sends += 1
        self.pending[index] = scheduled_ms
        try:
            record = await send_request(
                client,
                self.target,
                self.prompts(index) if prompt is None else prompt,
                index=index,
                scheduled_ms=scheduled_ms,
                anchor_ns=self.anchor_ns,
                warmup=warmup,
            )
        finally:
            self.in_flight -= 1
            self.pending.pop(index, None)
        if session is not None:
            record = replace(record, session_id=session[0], turn=session[1])
        self.add(replace(record, output_text=None) if record.output_text else record)
        return record

    async def run_phase(
        self,
        clients: Sequence[httpx.AsyncClient],
        count: int | None,
        duration_s: float | None,
        warmup: bool,
    ) -> None:
        self.phase = "warmup" if warmup else "measure"
        # An aligned run's first phase starts at the common time zero (see _align).
        self.phase_start_ns = self.aligned_start_ns or time.perf_counter_ns()
        self.aligned_start_ns = 0
        self.phase_planned, self.phase_duration_s = count, duration_s
        self.done = self.failed = 0
        deadline_ns = None if duration_s is None else self.phase_start_ns + int(duration_s * 1e9)
        self.sending = True
        cpu0 = time.process_time()
        try:
            cfg = self.cfg
            if cfg.load_mode == "concurrency":
                await self._closed_loop(clients, count, deadline_ns, warmup)
            elif cfg.load_mode == "sessions":
                await self._sessions(clients, deadline_ns)
            elif isinstance(self.prompts, TracePrompts):
                offsets = trace_offsets_s(self.prompts.entries, cfg.trace_speed)
                await self._open_loop(clients, count, deadline_ns, warmup, iter(offsets))
            else:
                arrivals = arrival_offsets_s(
                    cfg.load_mode,
                    float(cfg.rate_rps or 0.0),
                    cfg.seed + int(warmup),
                    burstiness=cfg.burstiness,
                    ramp_up_s=0.0 if warmup else cfg.ramp_up_s,
                )
                await self._open_loop(clients, count, deadline_ns, warmup, arrivals)
        finally:
            self.end_sending()
            if not warmup:
                self._cpu_s = time.process_time() - cpu0
                self._measure_wall_ns = time.perf_counter_ns() - self.phase_start_ns

    def end_sending(self) -> None:
        if self.sending:
            self.sending = False
            if self.phase == "measure":
                self._send_span_ns = time.perf_counter_ns() - self.phase_start_ns

    async def monitor(self) -> None:
        """Samples the event loop's lag (a timer firing late) and streams in flight."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LOOP_LAG_INTERVAL_S
            await asyncio.sleep(LOOP_LAG_INTERVAL_S)
            if self.phase != "measure":
                continue
            self.loop_lags_ms.append(max(0.0, (loop.time() - due) * 1e3))
            if self.sending:
                self._inflight_sum += self.in_flight
                self._inflight_samples += 1

    def validity(self) -> ValidityFacts:
        """What the client cost during the measured phase."""
        lags = sorted(self.loop_lags_ms)
        lag50, lag99 = percentiles(lags, (50, 99)) if lags else (None, None)
        queue = sorted(self._queue_ms)
        q50, q99 = percentiles(queue, (50, 99)) if queue else (None, None)
        conn = sorted(self._connect_ms)
        closed = self.cfg.load_mode == "concurrency"
        span_s = self._send_span_ns / 1e9
        target_c: float | None = None
        if closed:
            # This worker's share of the load (all of it unless several share the run).
            target_c = float(share_of(self.cfg.concurrency, self.share))
            if self.phase_planned is not None:
                target_c = float(min(target_c, share_of(self.phase_planned, self.share)))
        wall_s = self._measure_wall_ns / 1e9
        return ValidityFacts(
            loop_lag_p50_ms=lag50,
            loop_lag_p99_ms=lag99,
            loop_lag_max_ms=lags[-1] if lags else None,
            loop_lag_samples=len(lags),
            client_cpu_pct=100.0 * self._cpu_s / wall_s if wall_s > 0 else None,
            target_concurrency=target_c,
            achieved_concurrency=(
                self._inflight_sum / self._inflight_samples if self._inflight_samples else None
            ),
            target_rps=(
                None if closed or self.cfg.rate_rps is None else self.cfg.rate_rps / self.share[1]
            ),
            achieved_rps=None if closed or span_s <= 0 else max(0, self._sends - 1) / span_s,
            dispatch_lag_p50_ms=q50,
            dispatch_lag_p99_ms=q99,
            connections_opened=len(conn),
            connect_p50_ms=percentiles(conn, (50,))[0] if conn else None,
            connect_max_ms=conn[-1] if conn else None,
            kernel_stamps=_transport.kernel_stamps_for(self.cfg.url),
            engine=str(self.info.settings.get("engine", "local")),
            workers=self.share[1],
            engine_note=_note(self.info.settings.get("engine_note")),
        )

    async def _closed_loop(
        self,
        clients: Sequence[httpx.AsyncClient],
        count: int | None,
        deadline_ns: int | None,
        warmup: bool,
    ) -> None:
        issued = 0
        if count is not None:
            count = share_of(count, self.share)
        concurrency = share_of(self.cfg.concurrency, self.share)
        slots = concurrency if count is None else min(concurrency, count)
        starts = slot_start_offsets_s(slots, 0.0 if warmup else self.cfg.ramp_up_s)

        async def slot(client: httpx.AsyncClient, k: int) -> None:
            nonlocal issued
            if starts[k]:
                await asyncio.sleep(starts[k])  # ramp-up: slot k joins later
            while count is None or issued < count:
                if deadline_ns is not None and time.perf_counter_ns() >= deadline_ns:
                    self.end_sending()
                    return
                issued += 1
                if issued == count:
                    self.end_sending()  # the rest is the draining tail
                await self.one(client, self.now_ms(), warmup)

        await _gather_or_cancel([slot(clients[k % len(clients)], k) for k in range(slots)])

    async def _sessions(
        self, clients: Sequence[httpx.AsyncClient], deadline_ns: int | None
    ) -> None:
        cfg = self.cfg
        spec = SessionSpec(
            sessions=cfg.sessions,
            turns=cfg.turns,
            think_time_s=cfg.think_time_s,
            system_prompt_tokens=cfg.system_prompt_tokens,
            user_tokens=cfg.user_tokens,
            seed=cfg.seed,
        )
        # Worker j of n talks for users j, j+n, ...: each user's questions, ramp-up start
        # and session id are those it has in a one-process run.
        first, step = self.share
        mine = range(first, spec.sessions, step)
        self.phase_planned = len(mine) * spec.turns
        starts = slot_start_offsets_s(spec.sessions, cfg.ramp_up_s)

        async def user(k: int) -> None:
            if starts[k]:
                await asyncio.sleep(starts[k])
            conversation = Conversation(spec, k)
            sid = session_id(self.info.run_id, k)
            client = clients[(k // step) % len(clients)]
            scheduled_ms = self.now_ms()
            for turn in range(1, spec.turns + 1):
                if deadline_ns is not None and time.perf_counter_ns() >= deadline_ns:
                    return
                prompt = conversation.prompt(turn)
                record = await self.one(client, scheduled_ms, False, prompt, (sid, turn))
                if not record.ok:
                    return  # the user got no answer to build on: the session ends here
                conversation.answered(record.output_text or "")
                scheduled_ms = self.now_ms() + spec.think_time_s * 1000.0
                if turn < spec.turns and spec.think_time_s:
                    await asyncio.sleep(spec.think_time_s)

        await _gather_or_cancel([user(k) for k in mine])

    async def _open_loop(
        self,
        clients: Sequence[httpx.AsyncClient],
        count: int | None,
        deadline_ns: int | None,
        warmup: bool,
        arrivals: Iterator[float],
    ) -> None:
        cap = self.cfg.max_in_flight
        k, n = self.share
        if cap and n > 1:
            cap = max(1, share_of(cap, self.share))
        gate = asyncio.Semaphore(cap) if cap else None
        start_ns = self.phase_start_ns
        tasks: set[asyncio.Task[None]] = set()

        # A trace's long prompts are built before their send time, not on it.
        prebuild = isinstance(self.prompts, TracePrompts)

        async def gated(
            scheduled_ms: float, client: httpx.AsyncClient, ready: tuple[int, Prompt] | None
        ) -> None:
            index, prompt = ready if ready is not None else (None, None)
            if gate is None:
                await self.one(client, scheduled_ms, warmup, prompt, index=index)
                return
            async with gate:  # waiting here is client queue time
                await self.one(client, scheduled_ms, warmup, prompt, index=index)

        try:
            for issued, offset_s in enumerate(arrivals):
                if count is not None and issued >= count:
                    break
                if self.stop_sending.is_set():
                    break
                due_ns = start_ns + int(offset_s * 1e9)
                if deadline_ns is not None and due_ns >= deadline_ns:
                    break
                if issued % n != k:
                    continue  # another worker's arrival: each takes every n-th of one schedule
                ready = None
                if prebuild:
                    index = self.take_index()
                    ready = (index, self.prompts(index))
                delay_s = (due_ns - time.perf_counter_ns()) / 1e9
                if delay_s > 0:
                    await asyncio.sleep(delay_s)
                client = clients[issued % len(clients)]
                scheduled_ms = (due_ns - self.anchor_ns) / 1e6
                task = asyncio.create_task(gated(scheduled_ms, client, ready))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            self.end_sending()
            if tasks and not self.stop_sending.is_set():
                await self._drain(list(tasks))
        finally:
            for task in tasks:
                task.cancel()

    async def _drain(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for the requests in flight, unless the run is stopped on saturation."""
        gather = asyncio.ensure_future(_gather_or_cancel(tasks))
        stop = asyncio.ensure_future(self.stop_sending.wait())
        try:
            await asyncio.wait({gather, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not gather.done():
                gather.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await gather
        if gather.done() and not gather.cancelled():
            gather.result()

    async def ticker(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_S)
            self.watch_saturation()
            self.report()


def _note(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


async def _gather_or_cancel(aws: Sequence[Awaitable[None]]) -> None:
    """Await all; if this is cancelled or one fails, cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


async def _wait_cancel(cancel: CancelEvent) -> None:
    if isinstance(cancel, asyncio.Event):
        await cancel.wait()
        return
    while not cancel.is_set():
        await asyncio.sleep(0.05)


async def run_probe(
    cfg: ProbeConfig,
    sink: Sink,
    *,
    info: RunInfo | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelEvent | None = None,
    step: int = 0,
    steps: int = 1,
    share: tuple[int, int] = (0, 1),
    start_wall_ns: int | None = None,
    policy: NetPolicy | None = None,
    also_allowed: Sequence[str] = (),
) -> ProbeResult:
    """Run one probe; records go to `sink`, which is closed with the final status.

    `info` is the run the sink was opened for (a fresh one from `cfg` if None).
    `share` (k, n) makes this worker k of n: it sends request indexes k, k+n, ...,
    its part of the concurrency (closed loop) or every n-th arrival of the one
    schedule (open loop). `start_wall_ns` (time.time_ns) is the common time zero of
    several workers: the run waits for it and counts scheduled/sent times from it,
    while every duration stays measured with the monotonic clock.
    The server's /metrics are scraped meanwhile (`policy` decides which URLs may
    be contacted; scrapes go to the sink's `add_scrape` when it has one).
    Raises ConfigError for unusable settings (before anything is sent) and
    SinkError when records could not be saved.
    """
    try:
        cfg.validate()
        prompts = prompt_source(cfg)  # reads and checks the prompts or trace file
    except ConfigError:
        sink.close("failed")
        raise
    info = info or make_run_info(cfg)
    closed = cfg.load_mode == "concurrency"
    clients = build_clients(cfg.timeout_s, cfg.max_in_flight, closed_loop=closed, pins=cfg.pins)
    # Before the clock: lazy imports, and a closed loop's connections (a slot keeps
    # its connection, so the first wave sends at once like every later one).
    _transport.warm_imports()
    if closed:
        total = (cfg.requests or cfg.concurrency) + cfg.warmup
        slots = min(share_of(cfg.concurrency, share), share_of(total, share))
        await open_connections(clients, cfg.url, slots, cfg.timeout_s, cfg.pins)
    run = _Run(cfg, info, prompts, SinkPump(sink), progress, step, steps, share)
    status: RunStatus = "failed"
    ticker = asyncio.create_task(run.ticker())
    monitor = asyncio.create_task(run.monitor())
    started_ns = time.perf_counter_ns()
    scraper = _scraper(cfg, sink, run.anchor_ns, policy, also_allowed)
    scrapes: list[Scrape] = []
    try:
        await scraper.start()  # the baseline scrape, before the first request
        async with contextlib.AsyncExitStack() as stack:
            for client in clients:
                await stack.enter_async_context(client)
            if start_wall_ns is not None:
                await _align(run, start_wall_ns)
            work = asyncio.create_task(_phases(run, clients))
            waiters: set[asyncio.Task[None]] = {work}
            if cancel is not None:
                waiters.add(asyncio.create_task(_wait_cancel(cancel)))
            # A sink that cannot save (a full disk) stops the run: nothing more is kept.
            waiters.add(asyncio.create_task(_wait_cancel(run.pump.failed)))
            try:
                finished, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waiters:
                    task.cancel()
            if work in finished:
                work.result()  # re-raises a bug in the engine
                status = "completed"
            else:
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                status = "interrupted" if run.pump.failed.is_set() else "cancelled"
    except asyncio.CancelledError:
        status = "cancelled"
        raise
    finally:
        ticker.cancel()
        monitor.cancel()
        close_unused(clients)
        validity = run.validity()
        _give_validity(sink, validity)
        # The last scrape (and the grace), before the run is sealed.
        scrapes = await _stop_scraper(scraper, (run.ok_requests, run.ok_output_tokens))
        run.phase = "finished"
        run.report()
        await asyncio.to_thread(run.pump.close, status)
    return run.result(
        status,
        started_ns,
        validity=validity,
        scrapes=tuple(scrapes),
        saturation=run.saturation,
        stopped_on_saturation=run.stopped_on_saturation,
        dropped=run.dropped,
    )


def _give_validity(sink: Sink, facts: ValidityFacts) -> None:
    """Hand the facts to a sink that keeps them (`set_validity`), before it closes."""
    setter = getattr(sink, "set_validity", None)
    if callable(setter):
        with contextlib.suppress(Exception):  # the records matter more than these facts
            setter(facts)


async def _align(run: _Run, start_wall_ns: int) -> None:
    """Wait for the wall-clock start, then anchor the run's monotonic time zero to it."""
    delay_s = (start_wall_ns - time.time_ns()) / 1e9
    if delay_s > 0:
        await asyncio.sleep(delay_s)
    # Late (or woken late) by d ns: time zero was d ns ago, so scheduled times stay common.
    run.anchor_ns = time.perf_counter_ns() - max(0, time.time_ns() - start_wall_ns)
    run.phase_start_ns = run.aligned_start_ns = run.anchor_ns


def _scraper(
    cfg: ProbeConfig,
    sink: Sink,
    anchor_ns: int,
    policy: NetPolicy | None,
    also_allowed: Sequence[str],
) -> Scraper:
    urls = scrape_urls(cfg.url, cfg.server_metrics, cfg.server_metrics_enabled)
    return Scraper(
        urls,
        anchor_ns=anchor_ns,
        interval_s=cfg.server_metrics_interval_s,
        policy=policy,
        also_allowed=also_allowed,
        on_scrape=getattr(sink, "add_scrape", None),
    )


async def _stop_scraper(scraper: Scraper, expected: Expected) -> list[Scrape]:
    """Stop scraping; shielded so a cancelled run still gets its last scrape."""
    try:
        return await asyncio.shield(scraper.stop(expected))
    except (asyncio.CancelledError, Exception):
        return list(scraper.scrapes)


def prompt_source(cfg: ProbeConfig) -> PromptSource | TracePrompts:
    """Request i's prompt: the trace's, else the prompts file's or synthetic
    (sessions build their own). ConfigError for an unusable file."""
    if cfg.load_mode == "trace" and cfg.trace_file:
        return TracePrompts(load_trace(cfg.trace_file), cfg.seed)
    return PromptSource(cfg)


async def _phases(run: _Run, clients: Sequence[httpx.AsyncClient]) -> None:
    cfg = run.cfg
    if cfg.warmup:
        await run.run_phase(clients, cfg.warmup, None, warmup=True)
    await run.run_phase(clients, cfg.requests, cfg.duration_s, warmup=False)


async def run_sweep(
    cfg: ProbeConfig,
    values: Sequence[float],
    open_sink: Callable[[RunInfo], Sink],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelEvent | None = None,
    probe: Callable[..., Awaitable[ProbeResult]] = run_probe,
    policy: NetPolicy | None = None,
    also_allowed: Sequence[str] = (),
) -> list[ProbeResult]:
    """One run per value (concurrencies in concurrency mode, else rates), all
    sharing a new group id; a cancellation ends the sweep after saving the
    step that was running. `probe` runs each step (`run_probe`, or a distributed
    engine with the same keyword arguments)."""
    steps = sweep_configs(cfg, list(values))
    for step_cfg in steps:
        step_cfg.validate()
    group_id = uuid.uuid4().hex[:12]
    results = []
    for i, step_cfg in enumerate(steps):
        info = make_run_info(step_cfg, group_id=group_id)
        info = replace(info, settings={**info.settings, "sweep_step": i, "sweep_steps": len(steps)})
        result = await probe(
            step_cfg,
            open_sink(info),
            info=info,
            progress=progress,
            cancel=cancel,
            step=i,
            steps=len(steps),
            policy=policy,
            also_allowed=also_allowed,
        )
        results.append(result)
        if result.status != "completed":
            break
    return results


def run_probe_sync(
    cfg: ProbeConfig,
    sink: Sink,
    *,
    info: RunInfo | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> ProbeResult:
    """`run_probe` for callers without an event loop (e.g. a dashboard thread)."""
    return asyncio.run(run_probe(cfg, sink, info=info, progress=progress, cancel=cancel))


def run_sweep_sync(
    cfg: ProbeConfig,
    values: Sequence[float],
    open_sink: Callable[[RunInfo], Sink],
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[ProbeResult]:
    """`run_sweep` for callers without an event loop."""
    return asyncio.run(run_sweep(cfg, values, open_sink, progress=progress, cancel=cancel))
