"""Impossible values in imported requests: every importer's table passes these checks.

A peer file (or a hand-made CSV) can hold numbers no measurement produces: an
infinite or negative TTFT, an E2E before the first token, 1e308 ms, chunk
arrivals going backwards, a token count of -3. Saved as they are, they poison
every summary and break JSON output, so a file holding any is refused and the
message names each row and field (the first few, and how many more).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from inferlab.importers.base import Problems

__all__ = ["MAX_LATENCY_MS", "MAX_OFFSET_MS", "check_requests"]

MAX_LATENCY_MS = 30 * 86_400_000.0  # 30 days: no single request takes longer
MAX_OFFSET_MS = 10 * 365 * 86_400_000.0  # 10 years between a run's first and last send
_LATENCIES = ("ttft_ms", "e2e_ms", "ttfot_ms")
_OFFSETS = ("sent_ms", "scheduled_ms")
_COUNTS = ("input_tokens", "output_tokens")
_SLACK_MS = 1e-6  # float round-off between sums of gaps and their total

RowName = Callable[[int], str]
_NameOf = Callable[..., str]  # (column, index=None) -> how the message names it


class _Found:
    """Problems by row; past _PER_CHECK hits of one check only their number is kept."""

    _PER_CHECK = 1000

    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []
        self.uncounted = 0

    def hits(self, mask: np.ndarray) -> list[int]:
        where = np.flatnonzero(mask)
        self.uncounted += max(0, where.size - self._PER_CHECK)
        return [int(i) for i in where[: self._PER_CHECK]]

    def append(self, item: tuple[int, str]) -> None:
        self.items.append(item)


def _values(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64, NaN where null; whether the file gave a value) of a column."""
    col = table.column(name)
    valid = np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False), dtype=bool)
    v = pc.fill_null(col.cast(pa.float64()), np.nan)
    return np.asarray(v.to_numpy(), dtype=np.float64), valid


def _g(v: float) -> str:
    return f"{v:g}"


def _check_numbers(table: pa.Table, found: _Found, name_of: _NameOf) -> None:
    for name in (*_OFFSETS, *_LATENCIES):
        v, valid = _values(table, name)
        limit = MAX_OFFSET_MS if name in _OFFSETS else MAX_LATENCY_MS
        finite = np.isfinite(v)
        for i in found.hits(valid & ~finite):
            found.append((i, f"{name_of(name)} is {_g(v[i])}, not a finite number"))
        if name in _LATENCIES:
            for i in found.hits(finite & (v < 0)):
                found.append((i, f"{name_of(name)} is negative ({_g(v[i])} ms)"))
        for i in found.hits(finite & (np.abs(v) > limit)):
            found.append(
                (i, f"{name_of(name)} is {_g(v[i])} ms, beyond {limit / 86_400_000:,.0f} days")
            )
    ttft, e2e, ttfot = (_values(table, n)[0] for n in _LATENCIES)
    ok = np.isfinite(ttft) & (ttft >= 0)  # (negative and non-finite ones are named above)
    for i in found.hits(ok & np.isfinite(e2e) & (e2e >= 0) & (e2e < ttft - _SLACK_MS)):
        found.append((i, f"e2e_ms ({_g(e2e[i])} ms) is before ttft_ms ({_g(ttft[i])} ms)"))
    for i in found.hits(ok & np.isfinite(ttfot) & (ttfot >= 0) & (ttfot < ttft - _SLACK_MS)):
        found.append((i, f"ttfot_ms ({_g(ttfot[i])} ms) is before ttft_ms ({_g(ttft[i])} ms)"))
    for name in _COUNTS:
        v, _ = _values(table, name)
        for i in found.hits(v < 0):
            found.append((i, f"{name_of(name)} is negative ({int(v[i])})"))
    status, _ = _values(table, "http_status")
    for i in found.hits((status < 100) | (status > 599)):
        found.append(
            (i, f"{name_of('http_status')} {int(status[i])} is not an HTTP status (100-599)")
        )


def _flat(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(all values, the row each belongs to, each row's first position) of a list column."""
    arr = col.combine_chunks()
    lengths = np.asarray(pc.fill_null(pc.list_value_length(arr), 0).to_numpy(), dtype=np.int64)
    values = np.asarray(arr.flatten().to_numpy(zero_copy_only=False), dtype=np.float64)
    starts = np.concatenate([[0], np.cumsum(lengths)])[:-1]
    return values, np.repeat(np.arange(len(arr)), lengths), starts


def _first_per_row(mask: np.ndarray, owner: np.ndarray) -> list[tuple[int, int]]:
    """(row, position of its first flagged value) for every row with a flagged value."""
    where = np.flatnonzero(mask)
    rows, first = np.unique(owner[where], return_index=True)
    return [(int(r), int(where[f])) for r, f in zip(rows[:1000], first[:1000], strict=True)]


def _check_chunks(table: pa.Table, found: _Found, name_of: _NameOf) -> None:
    flat, owner, starts = _flat(table.column("chunk_offsets_ms"))
    if flat.size:
        bad = ~np.isfinite(flat) | (flat < 0) | (flat > MAX_LATENCY_MS)
        back = np.zeros(flat.size, dtype=bool)
        back[1:] = (owner[1:] == owner[:-1]) & (flat[1:] < flat[:-1] - _SLACK_MS)
        name = name_of("chunk_offsets_ms")
        for i, k in _first_per_row(bad, owner):
            at = name_of("chunk_offsets_ms", k - int(starts[i]))
            found.append(
                (
                    i,
                    f"{at} is {_g(flat[k])} ms: chunk arrivals are 0 to "
                    f"{MAX_LATENCY_MS / 86_400_000:,.0f} days after the send",
                )
            )
        bad_rows = set(np.unique(owner[bad]).tolist())
        for i, k in _first_per_row(back, owner):
            if i not in bad_rows:
                found.append((i, f"{name} go backwards at chunk {k - starts[i]}"))
    tok, t_owner, _ = _flat(table.column("chunk_tokens"))
    for i in np.unique(t_owner[tok < 0])[:1000]:
        found.append((int(i), f"{name_of('chunk_tokens')} holds a negative count"))


def check_requests(
    table: pa.Table,
    problems: Problems,
    row: RowName,
    fields: Mapping[str, str] | None = None,
) -> None:
    """Add a problem for every impossible value in `table` (the store's request columns).

    `row(i)` names table row i as the file does ("row 5", "line 12", "benchmarks[0]...");
    `fields` maps a column to the file's own field name when they differ. Problems are
    added in row order.
    """
    if table.num_rows == 0:
        return
    names = fields or {}

    def name_of(column: str, index: int | None = None) -> str:
        src = names.get(column)
        at = column if index is None else f"{column}[{index}]"
        return f"{at} (from {src})" if src else at

    found = _Found()
    with np.errstate(invalid="ignore"):
        _check_numbers(table, found, name_of)
        _check_chunks(table, found, name_of)
    for i, problem in sorted(found.items, key=lambda f: f[0]):
        problems.add(row(i), problem)
    problems.add_uncounted(found.uncounted)
