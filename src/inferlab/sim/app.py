"""The sim's ASGI application (Starlette): an OpenAI-compatible API on a timing model.

Routes: ``POST /v1/chat/completions``, ``POST /v1/completions`` (SSE streams
or whole responses), ``GET /v1/models``, ``GET /health``,
``GET /metrics`` (Prometheus, vLLM's names: sim/metrics.py), and the sim's own
``GET /sim/truth`` (ground truth as JSON), ``DELETE /sim/truth``,
``GET /sim/stats``.

A request may force its fault with the header ``x-inferlab-sim-fault``
(``none``, ``500``, ``429``, ``disconnect``, ``truncate``, ``malformed``);
otherwise the configured percentages decide. ``x-request-id`` is kept in the
truth record so a client can match its requests to the sim's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from inferlab.sim.config import FAULTS, SimConfig, count_prompt_tokens
from inferlab.sim.metrics import CONTENT_TYPE, SimMetrics
from inferlab.sim.model import Admission, AnswerBook, draw_fault, filler_words, jitter_rng
from inferlab.sim.prefix_cache import PrefixCache
from inferlab.sim.truth import TruthLog, TruthRecord

__all__ = ["FAULT_HEADER", "SimState", "build_app"]

FAULT_HEADER = "x-inferlab-sim-fault"
_NS_PER_MS = 1_000_000
_TOKEN_RE = re.compile(r"\s*\S+")
_perf_ns = time.perf_counter_ns


class _DropInjectedDisconnect(logging.Filter):
    """uvicorn reports an app that stops mid-response as an error; for the sim it is a feature."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


logging.getLogger("uvicorn.error").addFilter(_DropInjectedDisconnect())


class SimState:
    """Shared state of one running sim: config, admission queue, ground truth."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.truth = TruthLog(config.truth_limit)
        self.answers = AnswerBook(config.answers, config) if config.answers is not None else None
        self.requests = 0
        self._admission: Admission | None = None
        self.metrics = SimMetrics(
            config.model,
            running=lambda: self._admission.active if self._admission else 0,
            waiting=lambda: self._admission.queued if self._admission else 0,
            max_batch=config.max_batch,
        )
        self.prefix_cache = PrefixCache(config.prefix_cache_blocks) if config.prefix_cache else None

    @property
    def admission(self) -> Admission:
        # Created on first use so its futures belong to the server's own loop.
        if self._admission is None:
            self._admission = Admission(self.config.max_batch)
        return self._admission

    def next_index(self) -> int:
        self.requests += 1
        return self.requests - 1


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code or {400: "invalid_request", 401: "invalid_api_key"}.get(status, "")


def _error(
    status: int, message: str, kind: str, param: str | None = None, code: str = ""
) -> Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code or None}}
    return JSONResponse(body, status_code=status)


def _text_of(content: object) -> str:
    """Text of a chat message's content: a string or a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    raise _BadRequest(400, "message content must be a string or a list of parts", "messages")


def _int_param(body: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _BadRequest(400, f"{name} must be a whole number from {low} to {high}", name)
    return value


def _chat_prompt(body: dict[str, Any], max_output: int) -> tuple[str, str, int, int | None]:
    """(last user message, whole prompt text, prompt tokens, max tokens asked) of a chat body."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest(400, "messages must be a non-empty list", "messages")
    texts: list[str] = []
    last_user = ""
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise _BadRequest(400, "each message needs a role and content", "messages")
        text = _text_of(m.get("content"))
        texts.append(text)
        if m["role"] == "user":
            last_user = text
    prompt_text = "\n".join(texts)
    limit = _int_param(body, "max_completion_tokens", 1, max_output)
    if limit is None:
        limit = _int_param(body, "max_tokens", 1, max_output)
    return last_user, prompt_text, count_prompt_tokens(prompt_text), limit


def _completion_prompt(body: dict[str, Any], max_output: int) -> tuple[str, str, int, int | None]:
    """The same for a completions body: a prompt string, or token ids (never cached)."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if isinstance(prompt, str):
        text, tokens = prompt, count_prompt_tokens(prompt)
    elif (
        isinstance(prompt, list)
        and prompt
        and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt)
    ):
        text, tokens = "", len(prompt)
    else:
        raise _BadRequest(400, "prompt must be a string (or a list of token ids)", "prompt")
    return text, text, tokens, _int_param(body, "max_tokens", 1, max_output)


class _Job:
    """One parsed request and everything needed to answer it."""

    def __init__(self, state: SimState, request: Request, api: str, body: dict[str, Any]) -> None:
        cfg = state.config
        self.state = state
        self.api = api
        model = body.get("model")
        if model is not None and model != cfg.model:
            raise _BadRequest(
                404, f"The model `{model}` does not exist.", "model", "model_not_found"
            )
        if body.get("n", 1) != 1:
            raise _BadRequest(400, "the sim only supports n=1", "n")
        parse = _chat_prompt if api == "chat" else _completion_prompt
        self.prompt, self.prompt_text, self.prompt_tokens, limit = parse(
            body, cfg.max_output_tokens
        )
        self.max_tokens = cfg.default_max_tokens if limit is None else limit
        self.stream = bool(body.get("stream", False))
        options = body.get("stream_options") or {}
        if not isinstance(options, dict):
            raise _BadRequest(400, "stream_options must be an object", "stream_options")
        self.include_usage = self.stream and bool(options.get("include_usage", False))
        temperature = body.get("temperature")
        if temperature is not None and (
            isinstance(temperature, bool) or not isinstance(temperature, int | float)
        ):
            raise _BadRequest(400, "temperature must be a number", "temperature")
        ignore_eos = bool(body.get("ignore_eos", False))

        self.index = state.next_index()
        prefix = "chatcmpl" if api == "chat" else "cmpl"
        self.request_id = f"{prefix}-sim{self.index}"
        self.created = int(time.time())

        forced = request.headers.get(FAULT_HEADER)
        if forced is not None:
            if forced not in (*FAULTS, "none"):
                raise _BadRequest(
                    400, f"{FAULT_HEADER} must be one of none, {', '.join(FAULTS)}", FAULT_HEADER
                )
            self.fault = None if forced == "none" else forced
        else:
            self.fault = draw_fault(cfg, self.index)

        # Output tokens: the answer's words in answer mode, else filler up to max_tokens.
        self.answer_correct: bool | None = None
        book = state.answers
        if book is not None and self.prompt in book:
            text, self.answer_correct = book.answer(self.prompt, self.index, temperature)
            tokens = _TOKEN_RE.findall(text)
            finish = "stop"
            if ignore_eos and len(tokens) < self.max_tokens:
                tokens += filler_words(self.max_tokens - len(tokens), start=1)
                finish = "length"
            if len(tokens) >= self.max_tokens:
                finish = "length" if len(tokens) > self.max_tokens or ignore_eos else "stop"
                tokens = tokens[: self.max_tokens]
        else:
            tokens = filler_words(self.max_tokens)
            finish = "length"
        self.tokens = tokens
        self.finish_reason = finish
        self.cached_tokens = 0  # set at admission when the prefix cache is on

        self.record = TruthRecord(
            index=self.index,
            request_id=self.request_id,
            api=api,
            stream=self.stream,
            arrival_ns=0,
            client_request_id=request.headers.get("x-request-id"),
            prompt_tokens=self.prompt_tokens,
            completion_tokens=len(tokens),
            fault=self.fault,
            answer_correct=self.answer_correct,
        )

    def usage(self) -> dict[str, object]:
        n = len(self.tokens)
        usage: dict[str, object] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": n,
            "total_tokens": self.prompt_tokens + n,
        }
        if self.state.prefix_cache is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return usage

    def look_up_prefix(self) -> int:
        """Prompt tokens the prefix cache already holds (0 without a cache)."""
        cache = self.state.prefix_cache
        if cache is not None and self.prompt_text:
            self.cached_tokens = cache.cached_tokens(self.prompt_text, self.prompt_tokens)
            self.record.cached_tokens = self.cached_tokens
            self.state.metrics.prefix_queries.inc(self.prompt_tokens)
            self.state.metrics.prefix_hits.inc(self.cached_tokens)
        return self.cached_tokens

    def remember(self, with_answer: bool) -> None:
        """Put the prompt (and, when done, the answer after it) into the prefix cache."""
        cache = self.state.prefix_cache
        if cache is None or not self.prompt_text:
            return
        text = self.prompt_text
        if with_answer and self.api == "chat":
            # The next turn re-sends this answer as an assistant message after the prompt.
            text = text + "\n" + "".join(self.tokens)
        cache.insert(text)

    def chunk_plan(self) -> list[int]:
        """Tokens per content chunk: the first token alone, then tokens_per_chunk at a time."""
        n = len(self.tokens)
        if n == 0:
            return []
        k = self.state.config.tokens_per_chunk
        rest = n - 1
        return [1] + [k] * (rest // k) + ([rest % k] if rest % k else [])


class _Clock:
    """Token deadlines of one request on its absolute schedule (ns, perf_counter)."""

    def __init__(self, state: SimState, job: _Job, admitted_ns: int) -> None:
        cfg = state.config
        self._cfg = cfg
        self._admission = state.admission
        self._rng = jitter_rng(cfg, job.index)
        prefill_tokens = job.prompt_tokens - job.look_up_prefix()
        first_ms = cfg.ttft_ms + cfg.prefill_ms_per_1k_tokens * prefill_tokens / 1000.0
        self.token_ns = admitted_ns + round(self._jittered(first_ms) * _NS_PER_MS)

    def _jittered(self, ms: float) -> float:
        j = self._cfg.jitter_ms
        return max(0.0, ms + self._rng.uniform(-j, j)) if j else ms

    def advance(self, tokens: int) -> int:
        """Deadline of the next `tokens` tokens (TPOT at the current number of active streams)."""
        cfg = self._cfg
        growth = cfg.tpot_growth_per_stream_ms * max(0, self._admission.active - 1)
        for _ in range(tokens):
            self.token_ns += round(self._jittered(cfg.tpot_ms + growth) * _NS_PER_MS)
        return self.token_ns


# asyncio wakes on whole-millisecond epoll timeouts, rounded up, so a sleep to the
# deadline lands up to 1 ms late; aiming half a millisecond early centres the error.
_AIM_EARLY_NS = 500_000


async def _sleep_until(deadline_ns: int) -> None:
    delay_ns = deadline_ns - _AIM_EARLY_NS - _perf_ns()
    if delay_ns > 0:
        await asyncio.sleep(delay_ns / 1e9)


class _DisconnectWatch:
    """Notices when the client goes away (uvicorn answers receive() with http.disconnect)."""

    def __init__(self, receive: Receive) -> None:
        self.gone = False
        self.task = asyncio.get_running_loop().create_task(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.gone = True
                return

    def stop(self) -> None:
        self.task.cancel()


class _SimResponse(Response):
    """Serves one job: waits its turn, then writes on the job's absolute schedule."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        job = self.job
        watch = _DisconnectWatch(receive)
        try:
            if job.stream:
                await self._stream(send, watch)
            else:
                await self._whole(send, watch)
        except asyncio.CancelledError:
            # Only the server's shutdown cancels a response; ending quietly lets uvicorn
            # close the connection without logging a traceback for a deliberate stop.
            job.record.client_disconnected |= watch.gone
        finally:
            watch.stop()
            job.record.finished_ns = _perf_ns()

    async def _admit(self, watch: _DisconnectWatch) -> int | None:
        """Wait for a batch slot; the schedule's start (arrival, or when the slot freed).

        None when the client left while queued: it gives up its place in the queue.
        """
        record = self.job.record
        admission = self.job.state.admission
        if admission.try_acquire():
            record.admitted_ns = record.arrival_ns
            self._count_admitted()
            return record.arrival_ns
        acquire = asyncio.ensure_future(admission.acquire())
        await asyncio.wait({acquire, watch.task}, return_when=asyncio.FIRST_COMPLETED)
        if not acquire.done():
            acquire.cancel()  # Admission hands a slot granted meanwhile on to the next
            with contextlib.suppress(asyncio.CancelledError):
                await acquire
            record.client_disconnected = True
            return None
        granted = acquire.result()
        admitted = record.arrival_ns if granted is None else granted
        record.admitted_ns = admitted
        self._count_admitted()
        return admitted

    def _count_admitted(self) -> None:
        record, metrics = self.job.record, self.job.state.metrics
        metrics.queue.observe(
            max(0, (record.admitted_ns or record.arrival_ns) - record.arrival_ns) / 1e9
        )
        metrics.prompt_tokens.inc(self.job.prompt_tokens)

    def _count_chunk(self, n_tokens: int) -> None:
        record, metrics = self.job.record, self.job.state.metrics
        sent = record.chunk_sent_ns
        if len(sent) == 1:
            metrics.ttft.observe((sent[0] - record.arrival_ns) / 1e9)
            # The sim's prefill: from admission (the end of its queue) to the first token.
            admitted = record.admitted_ns or record.arrival_ns
            metrics.prefill.observe(max(0, sent[0] - admitted) / 1e9)
        else:
            metrics.itl.observe((sent[-1] - sent[-2]) / 1e9)
        metrics.generation_tokens.inc(n_tokens)

    def _count_success(self) -> None:
        record, metrics = self.job.record, self.job.state.metrics
        end = record.chunk_sent_ns[-1] if record.chunk_sent_ns else _perf_ns()
        metrics.e2e.observe((end - record.arrival_ns) / 1e9)
        lag_ms = self.job.state.config.metrics_lag_ms
        if lag_ms > 0:
            asyncio.get_running_loop().call_later(
                lag_ms / 1000, metrics.success, self.job.finish_reason
            )
        else:
            metrics.success(self.job.finish_reason)

    async def _stream(self, send: Send, watch: _DisconnectWatch) -> None:
        job, record = self.job, self.job.record
        chat = job.api == "chat"
        head = (
            f'data: {{"id":"{job.request_id}","object":'
            f'"{"chat.completion.chunk" if chat else "text_completion"}",'
            f'"created":{job.created},"model":{json.dumps(job.state.config.model)},'
            f'"choices":[{{"index":0,'
        ).encode()
        usage_null = b',"usage":null' if job.include_usage else b""
        tail = b',"logprobs":null,"finish_reason":null}]' + usage_null + b"}\n\n"
        content_key = b'"delta":{"content":' if chat else b'"text":'
        content_end = b"}" if chat else b""

        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-request-id", job.request_id.encode()),
                ],
            }
        )
        if job.state.config.role_first_chunk and chat:
            role = head + b'"delta":{"role":"assistant","content":""}' + tail
            record.role_chunk_sent_ns = _perf_ns()
            await send({"type": "http.response.body", "body": role, "more_body": True})

        admitted = await self._admit(watch)
        if admitted is None:
            return
        try:
            clock = _Clock(job.state, job, admitted)
            plan = job.chunk_plan()
            cut = max(1, len(plan) // 2) if job.fault else -1
            position = 0
            for i, n_tokens in enumerate(plan):
                deadline = clock.token_ns if i == 0 else clock.advance(n_tokens)
                await _sleep_until(deadline)
                if watch.gone:
                    record.client_disconnected = True
                    return
                text = "".join(job.tokens[position : position + n_tokens])
                position += n_tokens
                body = head + content_key + json.dumps(text).encode() + content_end + tail
                # Stamped just before the write: a client can never see the bytes earlier.
                record.chunk_sent_ns.append(_perf_ns())
                self._count_chunk(n_tokens)
                await send({"type": "http.response.body", "body": body, "more_body": True})
                record.chunk_deadline_ns.append(deadline)
                record.tokens.append(n_tokens)
                if i == 0:
                    job.remember(with_answer=False)  # prefill done: the prompt is cached
                if i + 1 == cut and await self._inject(send, head):
                    return
            if not plan and job.fault and await self._inject(send, head):
                return
            finish = json.dumps(job.finish_reason).encode()
            empty = b'"delta":{}' if chat else b'"text":""'
            trailer = head + empty + b',"logprobs":null,"finish_reason":' + finish + b"}]"
            trailer += usage_null + b"}\n\n"
            if job.include_usage:
                usage = json.dumps(job.usage(), separators=(",", ":")).encode()
                trailer += head[: head.index(b'"choices"')] + b'"choices":[],"usage":'
                trailer += usage + b"}\n\n"
            trailer += b"data: [DONE]\n\n"
            self._count_success()
            job.remember(with_answer=True)
            await send({"type": "http.response.body", "body": trailer, "more_body": False})
        finally:
            job.state.admission.release()

    async def _inject(self, send: Send, head: bytes) -> bool:
        """Apply a mid-stream fault; True when the stream must stop here."""
        fault = self.job.fault
        if fault == "disconnect":
            return True  # returning without finishing makes uvicorn drop the connection
        if fault == "truncate":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return True
        if fault == "malformed":
            bad = head + b'"delta":{"content":"unterminated\n\n'
            await send({"type": "http.response.body", "body": bad, "more_body": True})
        return False

    async def _whole(self, send: Send, watch: _DisconnectWatch) -> None:
        job, record = self.job, self.job.record
        admitted = await self._admit(watch)
        if admitted is None:
            return
        try:
            clock = _Clock(job.state, job, admitted)
            n = len(job.tokens)
            deadline = clock.token_ns if n <= 1 else clock.advance(n - 1)
            await _sleep_until(deadline)
            if watch.gone:
                record.client_disconnected = True
                return
            text = "".join(job.tokens)
            if job.api == "chat":
                choice: dict[str, object] = {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": job.finish_reason,
                }
                kind = "chat.completion"
            else:
                choice = {
                    "index": 0,
                    "text": text,
                    "logprobs": None,
                    "finish_reason": job.finish_reason,
                }
                kind = "text_completion"
            payload = {
                "id": job.request_id,
                "object": kind,
                "created": job.created,
                "model": job.state.config.model,
                "choices": [choice],
                "usage": job.usage(),
            }
            body = json.dumps(payload).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", job.request_id.encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            if job.fault == "disconnect":
                part = body[: len(body) // 2]
                await send({"type": "http.response.body", "body": part, "more_body": True})
                return
            if job.fault in ("truncate", "malformed"):
                # Same length, cut JSON: the framing is complete, the document is not.
                body = body[: len(body) // 2].ljust(len(body))
            record.chunk_sent_ns.append(_perf_ns())
            self._count_chunk(n)
            if not job.fault:
                self._count_success()
            job.remember(with_answer=True)
            await send({"type": "http.response.body", "body": body, "more_body": False})
            record.chunk_deadline_ns.append(deadline)
            record.tokens.append(n)
        finally:
            job.state.admission.release()


def _completion_endpoint(state: SimState, api: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        arrival = _perf_ns()
        cfg = state.config
        if cfg.api_key is not None:
            auth = request.headers.get("authorization", "")
            if auth != f"Bearer {cfg.api_key}":
                return _error(
                    401,
                    "Incorrect API key provided.",
                    "invalid_request_error",
                    None,
                    "invalid_api_key",
                )
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "request body is not valid JSON", "invalid_request_error")
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object", "invalid_request_error")
        try:
            job = _Job(state, request, api, body)
        except _BadRequest as exc:
            return _error(exc.status, str(exc), "invalid_request_error", exc.param, exc.code)
        job.record.arrival_ns = arrival
        state.truth.add(job.record)
        if job.fault == "500":
            job.record.status = 500
            job.record.finished_ns = _perf_ns()
            return _error(500, "injected internal server error", "server_error")
        if job.fault == "429":
            job.record.status = 429
            job.record.finished_ns = _perf_ns()
            response = _error(429, "injected rate limit: slow down", "rate_limit_exceeded")
            response.headers["retry-after"] = str(cfg.retry_after_s)
            return response
        return _SimResponse(job)

    return endpoint


def build_app(state: SimState) -> Starlette:
    """The ASGI app serving `state`'s config."""
    cfg = state.config

    async def models(request: Request) -> Response:
        card = {"id": cfg.model, "object": "model", "created": 0, "owned_by": "inferlab-sim"}
        return JSONResponse({"object": "list", "data": [card]})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "model": cfg.model})

    async def truth(request: Request) -> Response:
        if request.method == "DELETE":
            state.truth.clear()
            return JSONResponse({"cleared": True})
        return JSONResponse([r.to_json() for r in state.truth.snapshot()])

    async def stats(request: Request) -> Response:
        admission = state.admission
        return JSONResponse(
            {
                "requests": state.requests,
                "active": admission.active,
                "queued": admission.queued,
                "config": cfg.public_dict(),
                "prefix_cache": None
                if state.prefix_cache is None
                else {
                    "blocks": len(state.prefix_cache),
                    "hit_tokens": state.prefix_cache.hit_tokens,
                    "query_tokens": state.prefix_cache.query_tokens,
                },
            }
        )

    async def metrics(request: Request) -> Response:
        return Response(state.metrics.exposition(), media_type=CONTENT_TYPE)

    routes = [
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/chat/completions", _completion_endpoint(state, "chat"), methods=["POST"]),
        Route("/v1/completions", _completion_endpoint(state, "completions"), methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/sim/truth", truth, methods=["GET", "DELETE"]),
        Route("/sim/stats", stats, methods=["GET"]),
    ]
    return Starlette(routes=routes)
