"""Trace replay: a JSONL schedule of requests in the Mooncake trace format.

One JSON object per line (format: docs/TRACES.md):

- ``timestamp``: when to send, in milliseconds from any origin (the first
  request is sent at once; the others keep their distance to it);
- ``input_length``: prompt tokens; ``output_length``: tokens to generate
  (sent as ``max_tokens``);
- ``hash_ids`` (optional): the prompt's blocks of :data:`BLOCK_TOKENS` tokens;
  requests with the same leading ids share that prefix, so a server's prefix
  cache sees what it saw in production.

Prompts are synthetic words, one block of words per hash id (the same id is
the same text in every request), padded with words of the request's own to
``input_length``. `--trace-speed X` divides every distance by X.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from inferlab.probe.config import ConfigError
from inferlab.probe.prompts import Prompt, jsonl_items, synthetic_prompt

__all__ = ["BLOCK_TOKENS", "TraceEntry", "TracePrompts", "load_trace", "trace_offsets_s"]

BLOCK_TOKENS = 512  # Mooncake's block size
MAX_TRACE_LINES = 1_000_000


@dataclass(frozen=True)
class TraceEntry:
    """One request of a trace."""

    timestamp_ms: float
    input_length: int
    output_length: int
    hash_ids: tuple[int, ...] = ()


def _count(item: dict[str, object], name: str, where: str, minimum: int) -> int:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f'{where}: "{name}" must be a whole number of at least {minimum}')
    return value


def _entry(item: object, where: str) -> TraceEntry:
    if not isinstance(item, dict):
        raise ConfigError(f'{where}: expected an object with "timestamp", "input_length", ...')
    ts = item.get("timestamp")
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts) or ts < 0:
        raise ConfigError(f'{where}: "timestamp" must be a number of milliseconds, 0 or more')
    hash_ids = item.get("hash_ids", [])
    if not isinstance(hash_ids, list) or not all(
        isinstance(h, int) and not isinstance(h, bool) for h in hash_ids
    ):
        raise ConfigError(f'{where}: "hash_ids" must be a list of whole numbers')
    return TraceEntry(
        timestamp_ms=float(ts),
        input_length=_count(item, "input_length", where, 1),
        output_length=_count(item, "output_length", where, 1),
        hash_ids=tuple(hash_ids),
    )


def load_trace(path: str | Path) -> list[TraceEntry]:
    """Read and check a trace file; ConfigError naming the file and line when unusable.

    Entries are returned in timestamp order (a file out of order is sorted, as
    the requests are sent by their timestamps anyway).
    """
    entries = [_entry(item, where) for item, where in jsonl_items(path, "--trace", MAX_TRACE_LINES)]
    if not entries:
        raise ConfigError(f"--trace {Path(path).name} has no requests (one JSON object per line)")
    entries.sort(key=lambda e: e.timestamp_ms)
    return entries


def trace_offsets_s(entries: list[TraceEntry], speed: float = 1.0) -> list[float]:
    """Send offsets (s from the first request), distances divided by `speed`."""
    if not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"trace speed must be positive, got {speed}")
    if not entries:
        return []
    t0 = entries[0].timestamp_ms
    return [(e.timestamp_ms - t0) / 1000.0 / speed for e in entries]


class TracePrompts:
    """The prompt of trace request i: its hash-id blocks, then its own words."""

    def __init__(self, entries: list[TraceEntry], seed: int = 0) -> None:
        self._entries = entries
        self._seed = seed
        self._blocks: dict[int, str] = {}

    def _block(self, hash_id: int) -> str:
        text = self._blocks.get(hash_id)
        if text is None:
            text = synthetic_prompt(0, BLOCK_TOKENS, seed=self._seed * 1_000_003 + hash_id)
            self._blocks[hash_id] = text
        return text

    @property
    def entries(self) -> list[TraceEntry]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __call__(self, index: int) -> Prompt:
        e = self._entries[index % len(self._entries)]
        n_blocks = min(len(e.hash_ids), math.ceil(e.input_length / BLOCK_TOKENS))
        parts = [self._block(h) for h in e.hash_ids[:n_blocks]]
        words = " ".join(parts).split(" ") if parts else []
        words = words[: e.input_length]
        if len(words) < e.input_length:
            own = synthetic_prompt(index, e.input_length - len(words), seed=-1 - self._seed)
            words += own.split(" ")
        return Prompt(text=" ".join(words), max_tokens=e.output_length)
