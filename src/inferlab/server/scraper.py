"""GET Prometheus /metrics while a probe runs: one scrape before the first request,
one every `interval_s`, one after the last (within a grace of 2 intervals).

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
from inferlab.server.samples import MetricsParseError, Scrape, parse_metrics_text

__all__ = ["DEFAULT_INTERVAL_S", "Scraper", "default_metrics_url", "scrape_urls"]

DEFAULT_INTERVAL_S = 1.0
GRACE_INTERVALS = 2
# Names of the client library's own process/runtime metrics: not the server's view.
_SKIP_PREFIXES = ("python_", "process_")

ScrapeCallback = Callable[[Scrape], None]


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

    async def stop(self) -> list[Scrape]:
        """The last scrape (bounded by the grace), then close; returns every scrape."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._clients:
            try:
                await self._scrape_all()
            finally:
                clients, self._clients = self._clients, {}
                for client in clients.values():
                    await client.aclose()
        return self.scrapes

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
            samples = await asyncio.to_thread(parse_metrics_text, body)
        except MetricsParseError as exc:
            self._record(Scrape(shown, t_ms, False, f"{shown}: {exc}"))
            return
        kept = tuple(s for s in samples if not s.name.startswith(_SKIP_PREFIXES))
        self._record(Scrape(shown, t_ms, True, None, kept))
