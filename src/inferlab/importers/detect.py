"""Which tool wrote a file, from its first bytes (never from its name alone)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from inferlab.importers import aiperf, csv_format, guidellm, vllm
from inferlab.importers.base import ImportFileError, JsonError, parse_json

__all__ = ["HEAD_BYTES", "detect_format"]

HEAD_BYTES = 256 * 1024
_EXPECTED = (
    "expected a vLLM `bench serve --save-result` JSON, a guidellm benchmarks.json, "
    "an AIPerf profile_export.jsonl / profile_export_aiperf.json, or an inferlab CSV "
    "(columns sent_ms, ok, ...), Parquet or JSON export; pass --format if the file is one of these"
)


# Unknown JSON up to this size is parsed whole, to say where it is broken, if it is.
_PARSE_WHOLE_BYTES = 16 * 1024 * 1024


def _sniff_json(head: str) -> str | None:
    first = head.split("\n", 1)[0].strip()
    try:
        obj = parse_json(first)
    except JsonError:
        obj = None
    if obj is not None:
        if csv_format.looks_like_inferlab_json(obj):
            return "inferlab-json"
        if aiperf.looks_like_record(obj) or aiperf.looks_like_aggregate(obj):
            return "aiperf"
        if guidellm.looks_like_guidellm(obj):
            return "guidellm"
        if vllm.looks_like_vllm(obj):
            return "vllm"
        return None
    # A pretty-printed document or a first line longer than the sniffed head.
    if '"inferlab_export"' in head[:200]:
        return "inferlab-json"
    if '"benchmarks"' in head and ('"guidellm' in head or '"scheduler_state"' in head):
        return "guidellm"
    if '"aiperf_version"' in head or '"request_start_ns"' in head:
        return "aiperf"
    if '"model_id"' in head and ('"num_prompts"' in head or '"endpoint_type"' in head):
        return "vllm"
    if '"request_throughput"' in head and '"mean_ttft_ms"' in head:
        return "vllm"
    if '"benchmarks"' in head:
        return "guidellm"
    return None


def _refuse_unknown_json(path: Path, whole: bool) -> NoReturn:
    """ImportFileError for JSON of no known kind: where it is broken, when it is."""
    if whole or path.stat().st_size <= _PARSE_WHOLE_BYTES:
        try:
            parse_json(path.read_text(encoding="utf-8-sig", errors="replace"))
        except JsonError as exc:
            raise ImportFileError(path, None, str(exc)) from None
    raise ImportFileError(path, None, f"a JSON file of an unknown kind; {_EXPECTED}")


def detect_format(path: Path) -> str:
    """One of FORMATS; ImportFileError when the file is none of them."""
    with path.open("rb") as f:
        raw = f.read(HEAD_BYTES)
    if not raw.strip():
        raise ImportFileError(path, None, "the file is empty")
    if raw.startswith(b"PAR1"):
        return "parquet"
    if b"\x00" in raw[:4096]:
        raise ImportFileError(path, None, f"a binary file, not a result file; {_EXPECTED}")
    head = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = head.lstrip()
    if stripped.startswith(("{", "[")):
        fmt = _sniff_json(stripped)
        if fmt is None:
            _refuse_unknown_json(path, len(raw) < HEAD_BYTES)
        return fmt
    if csv_format.looks_like_csv(stripped) or path.suffix.lower() == ".csv":
        return "csv"
    raise ImportFileError(path, None, f"not a recognised result file; {_EXPECTED}")
