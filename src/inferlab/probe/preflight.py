"""Check an endpoint before a run: reachable, accepts the key, speaks the OpenAI API.

`GET {url}/models` must answer 200 with an OpenAI model list (or 404/405: some
servers lack it), then one tiny streaming request (max_tokens 1) to the chosen
API must answer with OpenAI chunks. Every failure is one sentence naming the
problem and what to try.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from httpx_sse import EventSource

from inferlab.netpolicy import Pins
from inferlab.outbound import guarded
from inferlab.probe.bounds import BoundedStream
from inferlab.probe.config import (
    ConfigError,
    ProbeConfig,
    api_url,
    check_url,
    endpoint_for_display,
)
from inferlab.probe.errors import classify_exception, scrub
from inferlab.probe.prompts import Prompt
from inferlab.probe.stale import send_stream
from inferlab.probe.stream import StreamAccumulator, StreamError
from inferlab.probe.worker import Target, http_error_message

__all__ = ["PreflightError", "PreflightResult", "connect_message", "preflight", "preflight_sync"]

PREFLIGHT_TIMEOUT_S = 5.0
_TINY_TRIES = 3
_TINY_MAX_BYTES = 1 << 20
_TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})


def _overall_s(timeout_s: float) -> float:
    """The whole preflight's bound: GET /models and every try of the test stream may each
    wait one timeout (a read timeout in the last try still gets its warning)."""
    return timeout_s * (2 + _TINY_TRIES) + sum(0.2 * a for a in range(_TINY_TRIES))


class PreflightError(Exception):
    """The endpoint cannot be probed; the message is one line for the user."""


@dataclass(frozen=True)
class PreflightResult:
    models: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())


def connect_message(url: str, exc: BaseException) -> str:
    """One line for a failure to reach `url` (refused, DNS, timeout, ...)."""
    error_class, detail = classify_exception(exc, response_started=False)
    shown = endpoint_for_display(url)
    host = urlsplit(url).hostname
    if error_class == "connection_refused":
        return (
            f"nothing is listening at {shown} (connection refused); start the server "
            "(or `inferlab sim`) or fix --url"
        )
    if error_class == "dns_error":
        return f"cannot resolve the host {host!r} of {shown}; check the spelling of --url"
    if error_class in ("connect_timeout", "read_timeout", "write_timeout", "pool_timeout"):
        return f"{shown} did not answer within {PREFLIGHT_TIMEOUT_S:g} s ({error_class})"
    return f"cannot reach {shown}: {detail}"


async def preflight(
    url: str,
    model: str,
    *,
    api: str = "chat",
    api_key: str | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = PREFLIGHT_TIMEOUT_S,
    pins: Pins | None = None,
) -> PreflightResult:
    """Raise PreflightError with a one-line reason unless `url` can be probed.

    `pins`: the addresses the dashboard's policy checked, the only ones contacted.
    """
    try:
        check_url(url)
    except ConfigError as exc:
        raise PreflightError(str(exc)) from None
    cfg = ProbeConfig(
        url=url,
        model=model,
        api="completions" if api == "completions" else "chat",
        api_key=api_key,
        headers=dict(headers or {}),
        max_tokens=1,
    )
    target = Target.from_config(cfg)
    get_headers = {k: v for k, v in target.headers.items() if k != "Content-Type"}
    get_headers["Accept"] = "application/json"
    base = url.strip().rstrip("/")
    shown = endpoint_for_display(url)
    secrets = list(target.secrets)
    try:
        async with httpx.AsyncClient(
            transport=guarded(httpx.AsyncHTTPTransport(trust_env=False), pins),
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
        ) as client:
            async with asyncio.timeout(_overall_s(timeout_s)):
                r = await client.get(api_url(url, "/models"), headers=get_headers)
                status = r.status_code
                if status in (401, 403):
                    raise _credentials_error(shown, status)
                warnings: list[str] = []
                models: tuple[str, ...] = ()
                if status == 200:
                    models = _model_list(r, shown)
                elif status in (404, 405):
                    warnings.append(f"{shown} has no /models route")
                elif status in _TRANSIENT:
                    warnings.append(
                        f"GET {shown}/models answered "
                        + http_error_message(status, r.content, r.headers)
                    )
                else:
                    raise PreflightError(
                        f"GET {shown}/models answered "
                        + http_error_message(status, r.content, r.headers)
                    )
                # Always one tiny request: /models may be open while the API wants a key,
                # and gateways may serve models they do not list.
                warnings += await _tiny_request(
                    client, target, shown, base, None if status == 200 else status, models
                )
                if models and model not in models:
                    warnings.append(f"model {model!r} is not in the server's list, but it answers")
                return PreflightResult(
                    models=models, warnings=tuple(scrub(w, secrets) for w in warnings)
                )
    except PreflightError as exc:
        raise PreflightError(scrub(str(exc), secrets)) from None
    except TimeoutError:
        raise PreflightError(f"{shown} did not answer within {_overall_s(timeout_s):g} s") from None
    except httpx.HTTPError as exc:
        raise PreflightError(scrub(connect_message(url, exc), secrets)) from None


def _model_list(r: httpx.Response, shown: str) -> tuple[str, ...]:
    try:
        obj = r.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        obj = None
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(data, list):
        kind = r.headers.get("content-type", "unknown").split(";")[0]
        raise PreflightError(
            f"{shown} is not an OpenAI-compatible API: GET /models returned {kind}, "
            "not a model list; --url should end with the API root, e.g. .../v1"
        )
    return tuple(str(m.get("id")) for m in data if isinstance(m, dict) and m.get("id"))


def _credentials_error(shown: str, status: int) -> PreflightError:
    return PreflightError(
        f"{shown} rejected the credentials (HTTP {status}); put the key in an environment "
        "variable and pass --api-key-env VAR"
    )


_connect_message = connect_message  # older name, used by inferlab.dashboard.jobs


async def _tiny_request(
    client: httpx.AsyncClient,
    target: Target,
    shown: str,
    base: str,
    models_status: int | None,
    models: tuple[str, ...],
) -> list[str]:
    """One streaming request of 1 token must answer like OpenAI's API.

    Raises PreflightError for what will not work (credentials, unknown model or
    path, not a stream); an overloaded or flaky server (429, 5xx, a broken
    stream) gets three tries and then a warning: the run records such faults.
    """
    body = target.body(Prompt(text="Hello"))
    path = urlsplit(target.url).path
    problem = ""
    for attempt in range(_TINY_TRIES):
        if attempt:
            await asyncio.sleep(0.2 * attempt)
        request = client.build_request("POST", target.url, content=body, headers=target.headers)
        r, _ = await send_stream(client, request)
        async with contextlib.aclosing(r):
            status = r.status_code
            if status in (401, 403):
                raise _credentials_error(shown, status)
            if status != 200:
                reason = http_error_message(status, await r.aread(), r.headers)
                if status in _TRANSIENT:
                    problem = f"POST {path} answered {reason}"
                    continue
                if models:
                    listed = ", ".join(models[:5]) + (", ..." if len(models) > 5 else "")
                    raise PreflightError(
                        f"model {target.model!r} is not served at {shown} ({reason}); "
                        f"it serves: {listed}"
                    )
                hint = ""
                if models_status == 404 and not urlsplit(base).path.rstrip("/").endswith("/v1"):
                    hint = f"; did you mean --url {shown}/v1 ?"
                raise PreflightError(
                    f"{shown} does not look like an OpenAI-compatible API: GET /models gave "
                    f"HTTP {models_status or 200} and POST {path} gave {reason}{hint}"
                )
            ctype = r.headers.get("content-type", "").split(";")[0]
            if ctype != "text/event-stream":
                raise PreflightError(
                    f"{shown} answered a streaming request with {ctype or 'no content type'}, "
                    "not text/event-stream"
                )
            acc = StreamAccumulator()
            assert isinstance(r.stream, httpx.AsyncByteStream)
            # A 1-token answer is a few hundred bytes; a server streaming without end
            # or one endless line must not fill memory here either.
            r.stream = BoundedStream(r.stream, _TINY_MAX_BYTES, _TINY_MAX_BYTES)
            try:
                async for sse in EventSource(r).aiter_sse():
                    acc.feed(0, sse.data)
            except StreamError as exc:
                problem = f"the test stream from POST {path} broke: {exc}"
                continue
            except httpx.TransportError as exc:
                reason = classify_exception(exc, response_started=True)[1]
                problem = f"the test stream from POST {path} broke: {reason}"
                continue
            if acc.events == 0:
                problem = f"POST {path} sent no stream chunks"
                continue
            return []
    return [f"{problem} ({_TINY_TRIES} tries); starting anyway"]


def preflight_sync(
    url: str,
    model: str,
    *,
    api: str = "chat",
    api_key: str | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = PREFLIGHT_TIMEOUT_S,
    pins: Pins | None = None,
) -> PreflightResult:
    """`preflight` for callers without an event loop."""
    return asyncio.run(
        preflight(
            url, model, api=api, api_key=api_key, headers=headers, timeout_s=timeout_s, pins=pins
        )
    )
