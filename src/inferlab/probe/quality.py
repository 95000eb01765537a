"""The quality probe: an evaluation set against an endpoint, timed like any probe, answers kept.

Each temperature is one run in the store (tag "quality", one group per call):
every request is sent and measured by the probe engine's per-request worker
(`inferlab.probe.worker.send_request`, the same code `inferlab probe` uses), so
TTFT, TPOT and errors of the quality run mean what they mean everywhere else.
The engine's records carry no text, so the client's transport keeps a copy of
each response body as it streams through (appending bytes, nothing parsed
while the worker stamps arrivals); the answers are then parsed, scored and
saved by `inferlab.store.quality`.

Prompts are sent in order, each repeated `repeats` times, with `concurrency`
requests in flight.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from inferlab.netpolicy import Pins
from inferlab.outbound import guarded
from inferlab.probe import ConfigError, ProbeConfig, endpoint_for_display
from inferlab.probe.prompts import Prompt
from inferlab.probe.sink import Sink, SinkPump
from inferlab.probe.worker import Target, send_request
from inferlab.quality import QualityOutput, QualityReport, score_outputs
from inferlab.records import RequestRecord, RunInfo, RunStatus
from inferlab.redaction import redact

if TYPE_CHECKING:
    from inferlab.store.quality import QualityStore

__all__ = [
    "EVALS_DIR",
    "EvalItem",
    "QualityProbeConfig",
    "QualityProgress",
    "QualityRunResult",
    "answer_text",
    "list_eval_sets",
    "load_eval_set",
    "run_quality",
    "run_quality_sync",
    "save_result",
]

EVALS_DIR = Path(__file__).resolve().parents[3] / "data" / "evals"
MAX_EVAL_ITEMS = 1000
MAX_EVAL_BYTES = 5_000_000
QUALITY_TAG = "quality"


@dataclass(frozen=True)
class EvalItem:
    """One question of an evaluation set."""

    id: str
    prompt: str
    reference: str


def list_eval_sets(folder: Path = EVALS_DIR) -> dict[str, Path]:
    """The shipped sets by name (file stem), e.g. {'capitals': .../capitals.jsonl}."""
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.jsonl"))}


def parse_eval_set(text: str, name: str = "eval set") -> list[EvalItem]:
    """Items of a JSONL evaluation set; ValueError naming the line and the fix."""
    items: list[EvalItem] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name} line {lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where} is not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise ValueError(f'{where}: expected an object with "prompt" and "reference"')
        prompt = obj.get("prompt")
        reference = obj.get("reference", obj.get("answer"))
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f'{where}: "prompt" must be a non-empty string')
        if not isinstance(reference, str):
            raise ValueError(f'{where}: "reference" (or "answer") must be a string')
        item_id = obj.get("id", f"line-{lineno}")
        if not isinstance(item_id, str | int) or isinstance(item_id, bool):
            raise ValueError(f'{where}: "id" must be a string')
        item_id = str(item_id)
        if item_id in seen:
            raise ValueError(f'{where}: the id "{item_id}" is used twice')
        seen.add(item_id)
        items.append(EvalItem(item_id, prompt, reference))
        if len(items) > MAX_EVAL_ITEMS:
            raise ValueError(f"{name} has more than {MAX_EVAL_ITEMS} items; split it")
    if not items:
        raise ValueError(f'{name} has no items (one JSON object per line: "prompt", "reference")')
    return items


def load_eval_set(path: str | Path) -> list[EvalItem]:
    """Items of the JSONL file at `path` (or a shipped set's name, e.g. 'capitals')."""
    p = Path(path)
    shipped = list_eval_sets()
    if not p.exists() and str(path) in shipped:
        p = shipped[str(path)]
    try:
        if p.stat().st_size > MAX_EVAL_BYTES:
            raise ValueError(f"{p} is larger than {MAX_EVAL_BYTES:,} bytes")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        names = ", ".join(shipped) or "none"
        raise ValueError(
            f"no evaluation set {str(path)!r}: give a JSONL file or a shipped set ({names})"
        ) from None
    except UnicodeDecodeError:
        raise ValueError(f"{p} is not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"{p} cannot be read: {exc.strerror or exc}") from None
    return parse_eval_set(text, p.name)


@dataclass(frozen=True)
class QualityProbeConfig:
    """Settings of one quality probe. `api_key` is a secret: never stored, not in repr."""

    url: str
    model: str
    eval_set: str  # name shown and stored (file stem)
    items: tuple[EvalItem, ...]
    api: str = "chat"
    api_key: str | None = field(default=None, repr=False)
    repeats: int = 3
    temperatures: tuple[float, ...] = (0.0,)
    concurrency: int = 4
    max_tokens: int = 64
    timeout_s: float = 60.0
    label: str = ""
    pins: Pins | None = field(default=None, repr=False, compare=False)  # see ProbeConfig.pins

    def probe_config(self) -> ProbeConfig:
        """The settings of the timed requests every answer is fetched with."""
        return ProbeConfig(
            url=self.url,
            model=self.model,
            api="completions" if self.api == "completions" else "chat",
            api_key=self.api_key,
            concurrency=self.concurrency,
            max_tokens=self.max_tokens,
            timeout_s=self.timeout_s,
            pins=self.pins,
        )

    def validate(self) -> None:
        """Raise ConfigError naming the first unusable setting."""
        probe = self.probe_config()
        if self.api not in ("chat", "completions"):
            raise ConfigError(f"--api {self.api!r} is not chat or completions")
        probe.validate()
        if not self.items:
            raise ConfigError("the evaluation set has no items")
        if not 1 <= self.repeats <= 100:
            raise ConfigError(f"--repeats {self.repeats} must be between 1 and 100")
        if not self.temperatures:
            raise ConfigError("give at least one --temperature")
        for t in self.temperatures:
            if not 0.0 <= t <= 2.0:
                raise ConfigError(f"--temperature {t:g} must be between 0 and 2")

    @property
    def requests_per_temperature(self) -> int:
        return len(self.items) * self.repeats


@dataclass(frozen=True)
class QualityProgress:
    temperature: float
    step: int  # 0-based temperature index
    steps: int
    done: int
    failed: int
    planned: int


@dataclass(frozen=True)
class QualityRunResult:
    """One temperature's run: its store id, status, and scores."""

    info: RunInfo
    status: RunStatus
    report: QualityReport
    outputs: tuple[tuple[int, QualityOutput], ...]


@dataclass(frozen=True)
class _QualityTarget(Target):
    """The worker's target with a sampling temperature in the request body."""

    temperature: float = 0.0

    @classmethod
    def wrap(cls, base: Target, temperature: float) -> _QualityTarget:
        return cls(**{f.name: getattr(base, f.name) for f in fields(base)}, temperature=temperature)

    def body(self, prompt: Prompt) -> bytes:
        payload = json.loads(super().body(prompt))
        payload["temperature"] = self.temperature
        return json.dumps(payload).encode()


class _TeeStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, sink: bytearray) -> None:
        self._inner = inner
        self._sink = sink

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._sink.extend(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _TeeTransport(httpx.AsyncBaseTransport):
    """Keeps a copy of each response body, keyed by the request's X-Request-Id."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.bodies: dict[str, bytearray] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        rid = request.headers.get("X-Request-Id")
        if rid is None:
            return response
        buf = self.bodies.setdefault(rid, bytearray())
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_TeeStream(stream, buf),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def answer_text(body: bytes, api: str = "chat") -> str:
    """The answer text of an OpenAI SSE stream: content deltas (chat) or text (completions)."""
    parts: list[str] = []
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: hostile, deeply nested JSON
            continue
        choices = obj.get("choices") if isinstance(obj, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            continue
        choice: dict[str, Any] = choices[0]
        if api == "chat":
            delta = choice.get("delta")
            text = delta.get("content") if isinstance(delta, dict) else None
        else:
            text = choice.get("text")
        if isinstance(text, str):
            parts.append(text)
    return "".join(parts)


def _run_info(cfg: QualityProbeConfig, temperature: float, group_id: str) -> RunInfo:
    label = cfg.label or f"quality {cfg.eval_set} · {cfg.model}"
    return RunInfo(
        run_id=uuid.uuid4().hex[:12],
        started_at=datetime.now(UTC),
        endpoint=endpoint_for_display(cfg.url),
        model=cfg.model,
        api=cfg.api,
        load_mode="concurrency",
        load_value=float(cfg.concurrency),
        label=f"{label} · T={temperature:g}",
        tags=(QUALITY_TAG,),
        source_tool="inferlab",
        group_id=group_id,
        settings={
            "quality_eval_set": cfg.eval_set,
            "quality_items": len(cfg.items),
            "quality_repeats": cfg.repeats,
            "temperature": temperature,
            "requests": cfg.requests_per_temperature,
            "max_tokens": cfg.max_tokens,
            "timeout_s": cfg.timeout_s,
            "authenticated": cfg.api_key is not None,
        },
    )


async def _one_temperature(
    cfg: QualityProbeConfig,
    temperature: float,
    info: RunInfo,
    sink: Sink,
    progress: Callable[[QualityProgress], None] | None,
    step: int,
    cancel: threading.Event | None,
) -> QualityRunResult:
    probe_cfg = cfg.probe_config()
    target = _QualityTarget.wrap(
        Target.from_config(probe_cfg, request_id_prefix=f"{info.run_id}-"), temperature
    )
    jobs = [(item, r) for item in cfg.items for r in range(cfg.repeats)]
    tee = _TeeTransport(
        guarded(
            httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=cfg.concurrency + 8,
                    max_keepalive_connections=cfg.concurrency + 8,
                ),
                trust_env=False,
            ),
            cfg.pins,
        )
    )
    client = httpx.AsyncClient(
        transport=tee,
        timeout=httpx.Timeout(cfg.timeout_s),
        follow_redirects=False,
        trust_env=False,
    )
    pump = SinkPump(sink)
    records: dict[int, RequestRecord] = {}
    anchor_ns = time.perf_counter_ns()
    next_job = 0
    failed = 0
    status: RunStatus = "failed"

    def report() -> None:
        if progress is not None:
            progress(
                QualityProgress(
                    temperature, step, len(cfg.temperatures), len(records), failed, len(jobs)
                )
            )

    async def slot() -> None:
        nonlocal next_job, failed
        while next_job < len(jobs):
            if cancel is not None and cancel.is_set():
                return
            index = next_job
            next_job += 1
            item, _ = jobs[index]
            now_ms = (time.perf_counter_ns() - anchor_ns) / 1e6
            record = await send_request(
                client,
                target,
                Prompt(text=item.prompt),
                index=index,
                scheduled_ms=now_ms,
                anchor_ns=anchor_ns,
            )
            records[index] = record
            failed += not record.ok
            pump.put(record)
            report()

    try:
        async with client:
            await asyncio.gather(*[slot() for _ in range(min(cfg.concurrency, len(jobs)))])
        status = "cancelled" if cancel is not None and cancel.is_set() else "completed"
    finally:
        await asyncio.to_thread(pump.close, status)
    outputs = []
    for index in sorted(records):
        record = records[index]
        item, repeat = jobs[index]
        body = tee.bodies.get(f"{info.run_id}-{index}", bytearray())
        # An answer is server text like any other: a key it echoes is not stored.
        text = redact(answer_text(bytes(body), cfg.api), target.secrets) if record.ok else None
        outputs.append(
            (
                index,
                QualityOutput(
                    item.id,
                    repeat,
                    temperature,
                    item.prompt,
                    item.reference,
                    text,
                    record.ok,
                    record.error_class,
                ),
            )
        )
    report_ = score_outputs([o for _, o in outputs])
    return QualityRunResult(info, status, report_, tuple(outputs))


async def run_quality(
    cfg: QualityProbeConfig,
    open_sink: Callable[[RunInfo], Sink],
    *,
    save: Callable[[QualityRunResult], None] | None = None,
    progress: Callable[[QualityProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[QualityRunResult]:
    """One run per temperature; timings go to `open_sink(info)`, results to `save`.

    Raises ConfigError (before anything is sent) for unusable settings.
    """
    cfg.validate()
    group_id = uuid.uuid4().hex[:12]
    results = []
    for step, temperature in enumerate(cfg.temperatures):
        info = _run_info(cfg, temperature, group_id)
        result = await _one_temperature(
            cfg, temperature, info, open_sink(info), progress, step, cancel
        )
        if save is not None:
            save(result)
        results.append(result)
        if result.status != "completed":
            break
    return results


def run_quality_sync(
    cfg: QualityProbeConfig,
    open_sink: Callable[[RunInfo], Sink],
    *,
    save: Callable[[QualityRunResult], None] | None = None,
    progress: Callable[[QualityProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[QualityRunResult]:
    """`run_quality` for callers without an event loop."""
    return asyncio.run(run_quality(cfg, open_sink, save=save, progress=progress, cancel=cancel))


def save_result(qstore: QualityStore, cfg: QualityProbeConfig, result: QualityRunResult) -> None:
    """Keep one temperature's answers and scores with its run (nothing if it scored none)."""
    scores = result.report.by_temperature
    if scores:
        qstore.save(
            result.info.run_id,
            group_id=result.info.group_id,
            eval_set=cfg.eval_set,
            repeats=cfg.repeats,
            outputs=result.outputs,
            scores=scores[0],
        )


def with_items(cfg: QualityProbeConfig, items: Sequence[EvalItem]) -> QualityProbeConfig:
    return replace(cfg, items=tuple(items))
