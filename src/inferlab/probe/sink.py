"""Where records go while a run is going: the store's run writer, or memory in tests.

`SinkPump` calls the sink from its own thread, so a slow disk write never
delays the event loop that is stamping chunk arrivals.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Protocol

from inferlab.records import RequestRecord, RunStatus
from inferlab.server.samples import Scrape
from inferlab.validity import ValidityFacts

__all__ = ["MemorySink", "Sink", "SinkError", "SinkPump"]


class Sink(Protocol):
    """What the probe needs from a writer (the store's `run_writer(info)` is one).

    A sink may also have `set_validity(facts)`: the probe calls it once, just
    before `close`, with what its own client cost (inferlab.validity).
    """

    def add(self, record: RequestRecord) -> None: ...

    def close(self, status: RunStatus) -> None: ...


class SinkError(RuntimeError):
    """The sink failed to save records; the message says why."""


class MemorySink:
    """Keeps records in a list (tests, callers that want the raw records)."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []
        self.scrapes: list[Scrape] = []
        self.status: RunStatus | None = None
        self.validity: ValidityFacts | None = None

    def set_validity(self, facts: ValidityFacts) -> None:
        self.validity = facts

    def add(self, record: RequestRecord) -> None:
        self.records.append(record)

    def add_scrape(self, scrape: Scrape) -> None:
        """Optional sink method: one /metrics scrape of the server."""
        self.scrapes.append(scrape)

    def close(self, status: RunStatus) -> None:
        self.status = status

    @property
    def measured(self) -> list[RequestRecord]:
        """Records that count (warm-up excluded)."""
        return [r for r in self.records if not r.warmup]


class SinkPump:
    """Feeds a sink from a background thread; `close` drains it and closes the sink."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._queue: queue.SimpleQueue[RequestRecord | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self.failed = threading.Event()  # set when the sink refused a record: stop the run
        self._thread = threading.Thread(target=self._run, name="inferlab-sink", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (record := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._sink.add(record)
                except BaseException as exc:  # kept and reported at close
                    self._error = exc
                    self.failed.set()

    def put(self, record: RequestRecord) -> None:
        self._queue.put(record)

    def close(self, status: RunStatus) -> None:
        """Blocking: drain the queue, then close the sink with `status`."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            with contextlib.suppress(Exception):  # what was saved stays, cut short
                self._sink.close("interrupted")
            raise SinkError(f"saving the run failed: {self._error}") from self._error
        try:
            self._sink.close(status)
        except Exception as exc:
            raise SinkError(f"closing the run failed: {type(exc).__name__}: {exc}") from exc
