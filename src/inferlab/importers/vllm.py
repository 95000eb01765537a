"""vLLM `vllm bench serve --save-result` files: one JSON object, or one per line (`--append-result`).

Every object is a run; several in one file form a sweep group. The run's own
numbers (`duration`, `request_throughput`, `mean_ttft_ms`, `p99_itl_ms`, ...)
are kept under their names. With `--save-detailed` the per-request arrays
(seconds; `start_times` are perf_counter values) become requests:
`start_times` -> `sent_ms`, minus `queue_times` (client semaphore wait) ->
`scheduled_ms`, chunk arrivals = `ttfts` + running sum of `itls`, E2E = the
last chunk (inferlab's convention; vLLM's `latencies` may end later, at the end
of the stream), `output_lens` / `input_lens` -> tokens, a non-empty `errors`
entry -> a failed request. vLLM's TPOT is inferlab's TPOT; its ITL is the
per-chunk gap, as inferlab's.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from inferlab.importers.base import (
    ImportFileError,
    JsonError,
    ParsedRun,
    Problems,
    ToolMetric,
    as_count,
    empty_requests,
    finite,
    http_error_class,
    parse_json,
    requests_table,
)
from inferlab.importers.checks import check_requests
from inferlab.records import RequestRecord, RunInfo

__all__ = ["looks_like_vllm", "parse_vllm", "read_objects"]

FMT = "vllm"
_DETAIL_FIELDS = ("input_lens", "output_lens", "ttfts", "itls", "latencies", "start_times",
                  "queue_times", "errors", "generated_texts")  # fmt: skip
_SETTINGS = ("num_prompts", "request_rate", "burstiness", "max_concurrency", "tokenizer_id",
             "backend", "endpoint_type", "ramp_up_strategy", "ramp_up_start_rps",
             "ramp_up_end_rps")  # fmt: skip
_REASONS = {
    "bad request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not found": 404,
    "too many requests": 429,
    "internal server error": 500,
    "bad gateway": 502,
    "service unavailable": 503,
    "gateway timeout": 504,
}
_STATUS_RE = re.compile(r"\b([45]\d\d)\b")


def looks_like_vllm(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        ("request_throughput" in obj and ("completed" in obj or "duration" in obj))
        or ("mean_ttft_ms" in obj and "model_id" in obj)
    )


def read_objects(path: Path, fmt: str) -> list[Any]:
    """The file's JSON value(s): one document, or one per non-empty line (JSON lines)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(path, fmt, "the file is not UTF-8 text") from None
    if not text.strip():
        raise ImportFileError(path, fmt, "the file is empty")
    try:
        doc = parse_json(text)
    except JsonError as whole_exc:
        lines = text.splitlines()
        filled = [i for i, ln in enumerate(lines) if ln.strip()]
        if (
            len(filled) == 1
            or not lines[filled[0]].lstrip().startswith("{")
            or (lines[filled[0]].strip() == "{")
        ):
            # One document (single line or pretty-printed): report its own error.
            raise ImportFileError(path, fmt, str(whole_exc)) from None
        objs: list[Any] = []
        for i in filled:
            try:
                objs.append(parse_json(lines[i]))
            except JsonError as exc:
                last = i == filled[-1] and not text.endswith("\n")
                hint = " (the file looks truncated)" if last else ""
                raise ImportFileError(
                    path, fmt, f"line {i + 1} is not valid JSON: {exc.reason}{hint}"
                ) from None
        return objs
    return doc if isinstance(doc, list) else [doc]


def _error_status(msg: str) -> int | None:
    m = _STATUS_RE.search(msg)
    if m:
        return int(m.group(1))
    low = msg.lower()
    for reason, code in _REASONS.items():
        if reason in low:
            return code
    return None


def _tool_metrics(obj: dict[str, Any]) -> list[ToolMetric]:
    out: list[ToolMetric] = []
    for k, v in obj.items():
        if k in _SETTINGS or k in _DETAIL_FIELDS:
            continue
        x = finite(v)
        if x is None:
            continue
        if k.endswith("_ms"):
            unit = "ms"
        elif k == "duration":
            unit = "s"
        elif k in ("request_throughput", "request_goodput"):
            unit = "requests/s"
        elif k.endswith("throughput") or k == "max_output_tokens_per_s":
            unit = "tokens/s"
        elif k.startswith("total_") and k.endswith("tokens"):
            unit = "tokens"
        else:
            unit = ""
        out.append(ToolMetric(k, "value", x, unit))
    return out


def _list(obj: dict[str, Any], name: str, n: int, path: Path, where: str) -> list[Any] | None:
    v = obj.get(name)
    if v is None:
        return None
    if not isinstance(v, list) or len(v) != n:
        got = len(v) if isinstance(v, list) else type(v).__name__
        raise ImportFileError(
            path, FMT, f"{where}: `{name}` should be a list of {n} values (like `ttfts`), got {got}"
        )
    return v


def _num(x: Any, path: Path, where: str) -> float:
    v = finite(x)
    if v is None:
        raise ImportFileError(path, FMT, f"{where} is not a number: {x!r}")
    return v


def _count(values: list[Any] | None, i: int, path: Path, where: str) -> int | None:
    if values is None or values[i] is None:
        return None
    n = as_count(values[i])
    if n is None:
        raise ImportFileError(path, FMT, f"{where} is not a token count: {values[i]!r:.40}")
    return n


# Where inferlab's request columns come from, for messages about impossible values.
_FIELDS = {
    "sent_ms": "start_times",
    "scheduled_ms": "start_times - queue_times",
    "ttft_ms": "ttfts",
    "e2e_ms": "ttfts + itls, or latencies",
    "chunk_offsets_ms": "ttfts + itls",
}


def _requests(obj: dict[str, Any], path: Path, where: str) -> tuple[list[RequestRecord], bool]:
    """Per-request records from the --save-detailed arrays; also whether send times are real."""
    ttfts = obj["ttfts"]
    if not isinstance(ttfts, list):
        raise ImportFileError(path, FMT, f"{where}: `ttfts` is not a list")
    n = len(ttfts)
    itls = _list(obj, "itls", n, path, where)
    lats = _list(obj, "latencies", n, path, where)
    starts = _list(obj, "start_times", n, path, where)
    queues = _list(obj, "queue_times", n, path, where)
    errors = _list(obj, "errors", n, path, where)
    in_lens = _list(obj, "input_lens", n, path, where)
    out_lens = _list(obj, "output_lens", n, path, where)
    sends = [_num(s, path, f"{where}.start_times[{i}]") for i, s in enumerate(starts or [])]
    queue_s = [finite(q) or 0.0 for q in (queues or [0.0] * n)]
    anchor = min((s - q for s, q in zip(sends, queue_s, strict=False)), default=0.0)
    records = []
    for i in range(n):
        err = str(errors[i] or "") if errors is not None else ""
        ttft_s = _num(ttfts[i], path, f"{where}.ttfts[{i}]")
        gaps = itls[i] if itls is not None else []
        if not isinstance(gaps, list):
            raise ImportFileError(path, FMT, f"{where}.itls[{i}] is not a list")
        ok = not err
        offsets: list[float] = []
        if ok and ttft_s != 0:  # vLLM leaves 0 when no token came; < 0 is for the checks
            t = ttft_s * 1000.0
            offsets.append(t)
            for j, g in enumerate(gaps):
                t += _num(g, path, f"{where}.itls[{i}][{j}]") * 1000.0
                offsets.append(t)
        e2e: float | None = offsets[-1] if offsets else None
        if e2e is None and ok and lats is not None:
            e2e = _num(lats[i], path, f"{where}.latencies[{i}]") * 1000.0
        sent_ms = (sends[i] - anchor) * 1000.0 if starts is not None else 0.0
        out_tok = _count(out_lens, i, path, f"{where}.output_lens[{i}]")
        in_tok = _count(in_lens, i, path, f"{where}.input_lens[{i}]")
        status = _error_status(err) if err else None
        records.append(
            RequestRecord(
                index=i,
                scheduled_ms=sent_ms - queue_s[i] * 1000.0 if starts is not None else 0.0,
                sent_ms=sent_ms,
                ok=ok,
                ttft_ms=offsets[0] if offsets else None,
                e2e_ms=e2e,
                chunk_offsets_ms=tuple(offsets),
                input_tokens=in_tok,
                output_tokens=out_tok if ok else None,
                token_count_source="imported",
                http_status=status,
                error_class=(http_error_class(status) if status else "client_error")
                if err
                else None,
                error_message=err[:500] or None,
            )
        )
    return records, starts is not None


def _run_info(obj: dict[str, Any], run_id: str, group: str | None) -> RunInfo:
    backend = str(obj.get("backend") or obj.get("endpoint_type") or "")
    api = "chat" if "chat" in backend else "completions"
    rate = obj.get("request_rate")
    rate_f = finite(rate)
    conc = finite(obj.get("max_concurrency"))
    burst = finite(obj.get("burstiness"))
    if rate_f is not None:
        mode = "poisson" if burst in (None, 1.0) else "gamma"
        value = rate_f
        words = f"{rate_f:g} req/s" + (f", max {conc:g} in flight" if conc else "")
    else:
        mode = "concurrency"
        value = conc or finite(obj.get("num_prompts")) or 0.0
        words = f"concurrency {value:g}" if conc else f"all {value:g} requests at once"
    started = datetime.now(UTC)
    date = obj.get("date")
    if isinstance(date, str):
        with contextlib.suppress(ValueError):
            started = datetime.strptime(date, "%Y%m%d-%H%M%S")  # vLLM writes local time
    settings = {k: obj[k] for k in _SETTINGS if obj.get(k) is not None}
    label = str(obj.get("label") or "")
    return RunInfo(
        run_id=run_id,
        started_at=started,
        endpoint="",
        model=str(obj.get("model_id") or "unknown"),
        api=api,
        load_mode=mode,
        load_value=float(value),
        label=f"vLLM {label + ' ' if label else ''}{words}",
        source_tool="vllm",
        group_id=group,
        settings=settings,
    )


def parse_vllm(path: Path, run_id_prefix: str) -> list[ParsedRun]:
    objs = read_objects(path, FMT)
    if not objs:
        raise ImportFileError(path, FMT, "the file holds no results")
    multi = len(objs) > 1
    group = f"{run_id_prefix}-sweep" if multi else None
    runs = []
    for k, obj in enumerate(objs):
        where = f"result {k + 1}" if multi else "result"
        if not looks_like_vllm(obj):
            raise ImportFileError(
                path,
                FMT,
                f"{where} is not a vLLM bench serve result "
                "(expected request_throughput, completed/duration, mean_ttft_ms ...)",
            )
        info = _run_info(obj, f"{run_id_prefix}-{k}" if multi else run_id_prefix, group)
        notes: list[str] = []
        send_known = False
        if "ttfts" in obj:
            records, send_known = _requests(obj, path, where)
            table = requests_table(records)
            problems = Problems(path, FMT)
            check_requests(table, problems, partial("{}, request {}".format, where), _FIELDS)
            problems.check()
            if not send_known:
                notes.append(
                    "the file has no start_times (an older vLLM): send times are unknown, "
                    "so inferlab's duration, RPS and token rates are not meaningful"
                )
        else:
            table = empty_requests()
            notes.append(
                "saved without --save-detailed: only vLLM's aggregate numbers are available"
            )
        runs.append(
            ParsedRun(
                info=info,
                requests=table,
                tool_metrics=tuple(_tool_metrics(obj)),
                per_chunk_timings="itls" in obj,
                send_times_known=send_known,
                notes=tuple(notes),
            )
        )
    return runs
