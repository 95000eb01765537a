"""GET Prometheus /metrics while a probe runs: one scrape before the first request,
one every `interval_s`, one after the last, then a grace of up to 2 intervals.

Servers update their counters a moment after the last byte (vLLM logs stats
asynchronously), so after the last request the scraper keeps scraping every
interval until the server's request-success and generation-token counters
account for what the probe got (`Expected`), or, without expectations, until
they stop changing; when 2 intervals pass first, a note says so (stored with
the scrapes, shown in the run's server notes).

A scrape never fails the probe: every failure becomes a `Scrape(ok=False)`
whose `error` says why and what to do. Each URL goes through the outbound
policy first (`inferlab.netpolicy.check_target`) and is then connected only to
the addresses that check pinned (`inferlab.outbound.guarded`); the API key is
never sent to it. Parsing runs on a worker thread so the probe's event loop, which is
stamping chunk arrivals, only waits on the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import httpx

from inferlab.netpolicy import NetPolicy, Pins, TargetError, check_target
from inferlab.outbound import OutboundRefused, guarded
from inferlab.server.adapters import Series, adapter_for, detect_kind
from inferlab.server.samples import (
    MetricsParseError,
    Sample,
    Scrape,
    note_scrape,
    parse_metrics_text,
)

__all__ = [
    "DEFAULT_INTERVAL_S",
    "GRACE_INTERVALS",
    "Expected",
    "Scraper",
    "default_metrics_url",
    "progress_of",
    "scrape_urls",
]

DEFAULT_INTERVAL_S = 1.0
GRACE_INTERVALS = 2
# Names of the client library's own process/runtime metrics: not the server's view.
_SKIP_PREFIXES = ("python_", "process_")

# Servers count a cancelled request's tokens the client never saw, and the client
# may count a token or two the server does not: within this share is "caught up".
_TOKEN_SLACK = 0.02

ScrapeCallback = Callable[[Scrape], None]
# What the server's counters must reach: (requests the probe got answered, output tokens).
Expected = tuple[int, int | None]
# A scrape's (request-success total, generation-token total); None where the server has none.
Progress = tuple[float | None, float | None]


def _total(samples: Sequence[Sample], candidates: Sequence[Series]) -> float | None:
    """The first present candidate's sum; 0 when the server names such a counter but has
    no series yet (labelled series appear on first use); None when it has none."""
    if not candidates:
        return None
    names = {s.name for s in samples}
    for c in candidates:
        if c.name in names:
            where = dict(c.where)
            return sum(
                s.value
                for s in samples
                if s.name == c.name and all(dict(s.labels).get(k) == v for k, v in where.items())
            )
    return 0.0


def progress_of(samples: Sequence[Sample]) -> Progress:
    """The request-success and generation-token counters of one scrape (all series summed)."""
    names = {s.name for s in samples}
    kind = detect_kind(names)
    if kind is None:
        return (None, None)
    adapter = adapter_for(kind, names)
    return (_total(samples, adapter.requests_completed), _total(samples, adapter.generation_tokens))


def _parse(body: str) -> tuple[tuple[Sample, ...], Progress]:
    """The server's samples of one body and their counters (on a worker thread)."""
    kept = tuple(s for s in parse_metrics_text(body) if not s.name.startswith(_SKIP_PREFIXES))
    return kept, progress_of(kept)


def _caught_up(base: Progress, last: Progress, expected: Expected) -> bool:
    """Whether the counters' increase since `base` accounts for the `expected` work."""
    want_requests, want_tokens = expected
    checks = []
    if base[0] is not None and last[0] is not None:
        checks.append(last[0] < base[0] or last[0] - base[0] >= want_requests)
    if base[1] is not None and last[1] is not None and want_tokens is not None:
        checks.append(last[1] < base[1] or last[1] - base[1] >= want_tokens * (1 - _TOKEN_SLACK))
    return all(checks)  # a drop is a restart: nothing to wait for


def default_metrics_url(api_url: str) -> str:
    """The API root's scheme, host and port with path /metrics (no credentials, no query)."""
    parts = urlsplit(api_url.strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, "/metrics", "", ""))


def scrape_urls(
    api_url: str, explicit: Iterable[str] = (), enabled: bool = True
) -> tuple[str, ...]:
    """The URLs to scrape: the explicit ones, else the default; none when disabled."""
    if not enabled:
        return ()
    urls = tuple(dict.fromkeys(u.strip() for u in explicit if u.strip()))
    return urls or (default_metrics_url(api_url),)


def _shown(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _http_error(url: str, status: int) -> str:
    if status == 404:
        return (
            f"{url} answered HTTP 404: no metrics there (llama-server needs --metrics, "
            "SGLang --enable-metrics; or name the URL with --server-metrics)"
        )
    if status in (401, 403):
        return f"{url} answered HTTP {status}: the metrics need credentials inferlab does not send"
    return f"{url} answered HTTP {status}"


class Scraper:
    """Scrapes `urls` on the running event loop; `start()` then `stop()` -> all scrapes
    (without their samples when `on_scrape` took them)."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        anchor_ns: int,
        interval_s: float = DEFAULT_INTERVAL_S,
        policy: NetPolicy | None = None,
        also_allowed: Sequence[str] = (),
        on_scrape: ScrapeCallback | None = None,
    ) -> None:
        self.anchor_ns = anchor_ns
        self.interval_s = interval_s
        self.on_scrape = on_scrape
        self.scrapes: list[Scrape] = []
        self._pins: dict[str, Pins] = {}
        self._task: asyncio.Task[None] | None = None
        self._clients: dict[str, httpx.AsyncClient] = {}
        # Per URL: the counters of its first and of its latest successful scrapes.
        self._first: dict[str, Progress] = {}
        self._latest: dict[str, Progress] = {}
        for url in urls:
            try:
                target = check_target(url, policy or NetPolicy(), also_allowed=also_allowed)
            except (TargetError, ValueError) as exc:
                self._record(Scrape(_shown(url), self._now_ms(), False, f"not scraped: {exc}"))
                continue
            self._pins[url] = target.pins

    def _now_ms(self) -> float:
        return (time.perf_counter_ns() - self.anchor_ns) / 1e6

    def _record(self, scrape: Scrape) -> None:
        saved = False
        if self.on_scrape is not None:
            try:
                self.on_scrape(scrape)
                saved = True
            except Exception:
                self.on_scrape = None  # saving scrapes must never stop the probe
        # What the sink saved is not kept here too: an hour of vLLM scrapes is
        # millions of samples (the run's memory must not grow with its length).
        self.scrapes.append(replace(scrape, samples=()) if saved else scrape)

    async def start(self) -> None:
        """The first scrape (awaited: it is the baseline), then one every interval."""
        if not self._pins:
            return
        timeout = httpx.Timeout(max(self.interval_s * GRACE_INTERVALS, 1.0))
        self._clients = {
            url: httpx.AsyncClient(
                transport=guarded(httpx.AsyncHTTPTransport(trust_env=False), pins),
                timeout=timeout,
                follow_redirects=False,
                trust_env=False,
            )
            for url, pins in self._pins.items()
        }
        await self._scrape_all()
        self._task = asyncio.create_task(self._loop())

    async def stop(self, expected: Expected | None = None) -> list[Scrape]:
        """The last scrape, the grace (see the module), then close; returns every scrape.

        `expected` is what the probe got: (requests answered, output tokens), warm-up
        included; without it the grace lasts until the counters stop changing.
        """
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._clients:
            try:
                await self._scrape_all()
                await self._grace(expected)
            finally:
                clients, self._clients = self._clients, {}
                for client in clients.values():
                    await client.aclose()
        return self.scrapes

    async def _grace(self, expected: Expected | None) -> None:
        """Scrape every interval, at most GRACE_INTERVALS, until the counters caught up."""
        previous = dict(self._latest)
        waiting = [u for u in self._clients if not self._settled(u, expected, previous, True)]
        for _ in range(GRACE_INTERVALS):
            if not waiting:
                return
            await asyncio.sleep(self.interval_s)
            previous = dict(self._latest)
            await asyncio.gather(*(self._scrape(u, self._clients[u]) for u in waiting))
            waiting = [u for u in waiting if not self._settled(u, expected, previous, False)]
        for url in waiting:
            self._record(note_scrape(_shown(url), self._now_ms(), self._late_note(url, expected)))

    def _settled(
        self, url: str, expected: Expected | None, previous: dict[str, Progress], first: bool
    ) -> bool:
        base, last = self._first.get(url), self._latest.get(url)
        if base is None or last is None or last == (None, None):
            return True  # no counters to wait for
        if expected is not None:
            return _caught_up(base, last, expected)
        return not first and previous.get(url) == last  # unchanged since the scrape before

    def _late_note(self, url: str, expected: Expected | None) -> str:
        grace_s = GRACE_INTERVALS * self.interval_s
        head = (
            f"{_shown(url)}: the grace of {GRACE_INTERVALS} intervals ({grace_s:g} s) after "
            "the last request ran out before the server's counters "
        )
        base, last = self._first.get(url), self._latest.get(url)
        if expected is None or base is None or last is None:
            return head + "stopped changing; its totals may miss the last requests"
        got = []
        if base[0] is not None and last[0] is not None:
            got.append(f"{last[0] - base[0]:g} of {expected[0]} requests")
        if base[1] is not None and last[1] is not None and expected[1] is not None:
            got.append(f"{last[1] - base[1]:g} of {expected[1]} output tokens")
        return head + "counted the probe's work (they showed " + ", ".join(got) + ")"

    async def _loop(self) -> None:
        start = time.perf_counter()
        k = 1
        while True:
            delay = start + k * self.interval_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            k = max(k + 1, int((time.perf_counter() - start) / self.interval_s) + 1)
            await self._scrape_all()

    async def _scrape_all(self) -> None:
        await asyncio.gather(*(self._scrape(u, c) for u, c in self._clients.items()))

    async def _scrape(self, url: str, client: httpx.AsyncClient) -> None:
        shown = _shown(url)
        before = self._now_ms()
        try:
            r = await client.get(url, headers={"Accept": "text/plain"})
            body, status = r.text, r.status_code
        except httpx.TimeoutException:
            self._record(Scrape(shown, before, False, f"{shown} did not answer in time"))
            return
        except httpx.HTTPError as exc:
            why = str(exc) if isinstance(exc, OutboundRefused) else type(exc).__name__
            self._record(Scrape(shown, before, False, f"cannot reach {shown}: {why}"))
            return
        t_ms = (before + self._now_ms()) / 2  # the server rendered it somewhere in between
        if status != 200:
            self._record(Scrape(shown, t_ms, False, _http_error(shown, status)))
            return
        try:
            kept, progress = await asyncio.to_thread(_parse, body)
        except MetricsParseError as exc:
            self._record(Scrape(shown, t_ms, False, f"{shown}: {exc}"))
            return
        self._first.setdefault(url, progress)
        self._latest[url] = progress
        self._record(Scrape(shown, t_ms, True, None, kept))
