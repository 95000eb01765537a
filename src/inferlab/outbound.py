"""Outbound HTTP that goes only to the addresses the policy checked.

Every request inferlab sends on a visitor's behalf (probe, preflight, model
list, quality probe, and any webhook or scraper added later) should use a
client from :func:`checked_client` / :func:`checked_async_client`, or wrap its
own transport with :func:`guarded` / :func:`guarded_sync` and the
:class:`~inferlab.netpolicy.Pins` of :func:`~inferlab.netpolicy.check_target`.

With pins, a request is connected to a pinned address of its host and port,
tried in the order checked, and to nothing else: there is no second DNS
lookup, so neither a name that answers differently the second time (DNS
rebinding) nor one Python and httpx spell differently (IDNA 2003 vs 2008) can
lead elsewhere; a host that was not checked is refused. The request keeps its
URL (Host header, messages); only the connection goes to the IP, and TLS keeps
the name for SNI and the certificate check (httpcore's ``sni_hostname``).
Without pins (the CLI: the user's own machine, no policy) requests pass as
they are. Either way a URL carrying a user name or password is refused, as
httpx would send it as Basic auth.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Iterable
from typing import Any

import httpx

from inferlab.netpolicy import NetPolicy, Pins, Resolver, Target, check_target

__all__ = [
    "GuardedAsyncTransport",
    "GuardedTransport",
    "OutboundRefused",
    "checked_async_client",
    "checked_client",
    "guarded",
    "guarded_sync",
]


class OutboundRefused(httpx.ConnectError):
    """A request the outbound policy does not let through (a ConnectError for httpx)."""


def _addresses(request: httpx.Request, pins: Pins | None) -> tuple[str, ...] | None:
    """The addresses to connect `request` to; None to send it as it is (no pins)."""
    url = request.url
    if url.userinfo:
        raise OutboundRefused(
            "the URL contains a user name or password; remove it and pass the key with "
            "--api-key-env VAR (in the dashboard: the API key field)",
            request=request,
        )
    if pins is None:
        return None
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = pins.addresses(host, port)
    if addresses is None:
        raise OutboundRefused(
            f"{host}:{port} is not the target that was checked; the dashboard only connects "
            "to checked targets",
            request=request,
        )
    if not addresses:
        # Classed like any name that does not resolve (dns_error), with the same advice.
        raise OutboundRefused(
            f"{host} did not resolve to any address when it was checked", request=request
        ) from socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return addresses


@functools.lru_cache(maxsize=256)
def _url_at(url: httpx.URL, address: str) -> httpx.URL:
    # copy_with re-parses the URL (~18 us); a run sends the same few URLs again and again.
    return url.copy_with(host=address)


def _pinned(request: httpx.Request, address: str) -> httpx.Request:
    """`request` connected to `address`, with its Host header and its name for TLS."""
    extensions = dict(request.extensions)
    if request.url.scheme == "https":
        extensions.setdefault("sni_hostname", request.url.raw_host.decode("ascii"))
    return httpx.Request(
        request.method,
        _url_at(request.url, address),
        headers=request.headers,  # Host was set from the original URL
        stream=request.stream,
        extensions=extensions,
    )


class GuardedAsyncTransport(httpx.AsyncBaseTransport):
    """An async transport that connects only to pinned addresses (see the module doc)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, pins: Pins | None) -> None:
        self.inner = inner
        self.pins = pins

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        addresses = _addresses(request, self.pins)
        if addresses is None:
            return await self.inner.handle_async_request(request)
        for address in addresses[:-1]:
            try:
                return await self.inner.handle_async_request(_pinned(request, address))
            except httpx.ConnectError:
                continue  # nothing was sent: the next checked address
        return await self.inner.handle_async_request(_pinned(request, addresses[-1]))

    async def aclose(self) -> None:
        await self.inner.aclose()


class GuardedTransport(httpx.BaseTransport):
    """The synchronous twin of :class:`GuardedAsyncTransport`."""

    def __init__(self, inner: httpx.BaseTransport, pins: Pins | None) -> None:
        self.inner = inner
        self.pins = pins

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        addresses = _addresses(request, self.pins)
        if addresses is None:
            return self.inner.handle_request(request)
        for address in addresses[:-1]:
            try:
                return self.inner.handle_request(_pinned(request, address))
            except httpx.ConnectError:
                continue
        return self.inner.handle_request(_pinned(request, addresses[-1]))

    def close(self) -> None:
        self.inner.close()


def guarded(inner: httpx.AsyncBaseTransport, pins: Pins | None) -> GuardedAsyncTransport:
    """`inner` sending only to the addresses in `pins` (None: as it is, user info refused)."""
    return GuardedAsyncTransport(inner, pins)


def guarded_sync(inner: httpx.BaseTransport, pins: Pins | None) -> GuardedTransport:
    """`inner` sending only to the addresses in `pins` (None: as it is, user info refused)."""
    return GuardedTransport(inner, pins)


def _check(
    url: str, policy: NetPolicy, also_allowed: Iterable[str], resolve: Resolver | None
) -> Target:
    return check_target(url, policy, also_allowed=also_allowed, resolve=resolve)


def checked_client(
    url: str,
    policy: NetPolicy,
    *,
    also_allowed: Iterable[str] = (),
    resolve: Resolver | None = None,
    **client_args: Any,
) -> httpx.Client:
    """An httpx.Client for `url` once the policy allows it; TargetError (a message) if not.

    The client connects only to the addresses checked for `url`'s host and port,
    follows no redirects and ignores proxy settings of the environment.
    `client_args` go to httpx.Client (e.g. ``timeout``).
    """
    target = _check(url, policy, also_allowed, resolve)
    transport = guarded_sync(httpx.HTTPTransport(trust_env=False), target.pins)
    return httpx.Client(transport=transport, follow_redirects=False, trust_env=False, **client_args)


def checked_async_client(
    url: str,
    policy: NetPolicy,
    *,
    also_allowed: Iterable[str] = (),
    resolve: Resolver | None = None,
    **client_args: Any,
) -> httpx.AsyncClient:
    """The httpx.AsyncClient twin of :func:`checked_client`."""
    target = _check(url, policy, also_allowed, resolve)
    transport = guarded(httpx.AsyncHTTPTransport(trust_env=False), target.pins)
    return httpx.AsyncClient(
        transport=transport, follow_redirects=False, trust_env=False, **client_args
    )
