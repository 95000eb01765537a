"""The Quality page's candidates table as data: its columns, CSV form and link form.

The candidates table cannot be bound to the URL by Streamlit, so it travels
as one parameter, `options`: the table's CSV, zlib-compressed and
base64url-encoded, prefixed with a version ("v1."). Parsing names every cell
it cannot use, so a broken file or hand-edited link gets a clear message.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import pandas as pd

from inferlab.exercise import CHATBOT
from inferlab.quality.tradeoff import Candidate

__all__ = [
    "CANDIDATE_COLUMNS",
    "EXAMPLE_CANDIDATES",
    "EXAMPLE_SOURCE",
    "MAX_CSV_BYTES",
    "MAX_ROWS",
    "TABLE_PARAM",
    "Column",
    "candidates_from_frame",
    "candidates_from_rows",
    "candidates_to_frame",
    "decode_table",
    "encode_table",
    "parse_csv",
    "same_table",
    "to_csv",
]

TABLE_PARAM = "options"
MAX_CSV_BYTES = 1_000_000
MAX_ROWS = 200

EXAMPLE_SOURCE = "example: assumed numbers for the chatbot exercise, not a measurement"

# The chatbot exercise (TTFT 1.2 s, TPOT 80 ms, 50 tokens, $0.05, 85% satisfied) and
# options a team might weigh against it. Every number except the exercise's own is
# an illustrative assumption; the quality figures especially.
EXAMPLE_CANDIDATES: tuple[Candidate, ...] = (
    Candidate(
        "Baseline (exercise)",
        quality_pct=80.0,
        ttft_ms=CHATBOT.ttft_ms,
        tpot_ms=CHATBOT.tpot_ms,
        output_tokens=CHATBOT.tokens,
        cost_per_request_usd=CHATBOT.cost_per_request_usd,
        source=EXAMPLE_SOURCE + " (TTFT, TPOT, N and cost from the exercise; quality assumed)",
    ),
    Candidate(
        "Alternative config (Q2)",
        quality_pct=80.0,
        ttft_ms=CHATBOT.ttft_b_ms,
        tpot_ms=CHATBOT.tpot_b_ms,
        output_tokens=CHATBOT.tokens,
        cost_per_request_usd=CHATBOT.cost_per_request_usd,
        source=EXAMPLE_SOURCE + " (TTFT and TPOT from the exercise's Q2)",
    ),
    Candidate(
        "Smaller model",
        quality_pct=70.0,
        ttft_ms=400.0,
        tpot_ms=30.0,
        output_tokens=CHATBOT.tokens,
        cost_per_request_usd=0.01,
        source=EXAMPLE_SOURCE,
    ),
    Candidate(
        "Faster GPUs",
        quality_pct=80.0,
        ttft_ms=600.0,
        tpot_ms=40.0,
        output_tokens=CHATBOT.tokens,
        cost_per_request_usd=0.08,
        source=EXAMPLE_SOURCE,
    ),
    Candidate(
        "Prompt caching",
        quality_pct=80.0,
        ttft_ms=300.0,
        tpot_ms=CHATBOT.tpot_ms,
        output_tokens=CHATBOT.tokens,
        cost_per_request_usd=0.04,
        source=EXAMPLE_SOURCE,
    ),
)


@dataclass(frozen=True)
class Column:
    """One column of the candidates table."""

    key: str
    label: str
    help: str
    min_value: float | None = 0.0
    max_value: float | None = None
    numeric: bool = True


CANDIDATE_COLUMNS: tuple[Column, ...] = (
    Column("name", "Option", "A short unique name.", numeric=False),
    Column(
        "quality_pct",
        "Quality (%)",
        "Share of correct answers on your evaluation (0–100): from a quality run, or typed in.",
        0.0,
        100.0,
    ),
    Column("ttft_ms", "TTFT (ms)", "Time to first token.", 0.0, 3_600_000.0),
    Column("tpot_ms", "TPOT (ms)", "Time per output token after the first.", 0.0, 3_600_000.0),
    Column("output_tokens", "Output tokens N", "Typical answer length.", 0.0, 1_000_000.0),
    Column(
        "p95_latency_s",
        "p95 latency (s)",
        "95th-percentile end-to-end latency, measured by a stored run (or typed in). Blank: "
        "the p95 limit is checked against the typical TTFT + TPOT × N, marked typical.",
        0.0,
        3_600.0,
    ),
    Column(
        "cost_per_request_usd",
        "Cost per request ($)",
        "What one request costs. Blank: price per 1M tokens × N / 10⁶.",
        0.0,
        1_000.0,
    ),
    Column(
        "price_per_mtok_usd",
        "Price per 1M tokens ($)",
        "Used only when cost per request is blank; applied to the N output tokens.",
        0.0,
        100_000.0,
    ),
    Column("error_rate_pct", "Error rate (%)", "Share of failed requests (0–100).", 0.0, 100.0),
    Column("source", "Source", "Where the numbers come from.", numeric=False),
)
_COLUMN_BY_KEY = {c.key: c for c in CANDIDATE_COLUMNS}
_COLUMN_BY_LABEL = {c.label.lower(): c for c in CANDIDATE_COLUMNS}
_CANDIDATE_FIELDS = [f.name for f in fields(Candidate)]
assert [c.key for c in CANDIDATE_COLUMNS] == _CANDIDATE_FIELDS


def _blank(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or bool(pd.isna(value))  # type: ignore[call-overload]


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a number")
    if isinstance(value, int | float):
        out = float(value)
    else:
        text = str(value).strip().replace(",", "").lstrip("$").rstrip("%").strip()
        try:
            out = float(text)
        except ValueError:
            raise ValueError(f"'{value}' is not a number") from None
    if not math.isfinite(out):
        raise ValueError(f"'{value}' is not a finite number")
    return out


def candidates_from_rows(rows: Sequence[Mapping[str, object]]) -> tuple[list[Candidate], list[str]]:
    """Candidates from table rows keyed by column key; unusable cells become blank with a message.

    Rows without a name and without any number are dropped silently (the
    editor's empty new row); a missing name becomes "Option k"; duplicate
    names get " (2)", " (3)", ...
    """
    problems: list[str] = []
    out: list[Candidate] = []
    seen: set[str] = set()
    for i, row in enumerate(rows[: MAX_ROWS + 1], start=1):
        if i > MAX_ROWS:
            problems.append(f"Only the first {MAX_ROWS} rows are used.")
            break
        if all(_blank(row.get(c.key)) for c in CANDIDATE_COLUMNS):
            continue
        name = "" if _blank(row.get("name")) else str(row.get("name")).strip()
        if not name:
            name = f"Option {i}"
            problems.append(f"Row {i} has no name; it is called '{name}'.")
        base, k = name, 2
        while name in seen:
            name = f"{base} ({k})"
            k += 1
        if name != base:
            problems.append(f"Row {i}: the name '{base}' is used twice; this row is '{name}'.")
        seen.add(name)
        values: dict[str, object] = {"name": name}
        for col in CANDIDATE_COLUMNS:
            if not col.numeric or col.key == "name":
                continue
            raw = row.get(col.key)
            if _blank(raw):
                values[col.key] = None
                continue
            try:
                v = _number(raw)
                if col.min_value is not None and v < col.min_value:
                    raise ValueError(f"{v:g} is below {col.min_value:g}")
                if col.max_value is not None and v > col.max_value:
                    raise ValueError(f"{v:g} is above {col.max_value:g}")
            except ValueError as exc:
                problems.append(
                    f"Row {i} ({name}), {col.label}: {exc}; left blank. Type a valid number."
                )
                values[col.key] = None
                continue
            values[col.key] = v
        src = row.get("source")
        values["source"] = "" if _blank(src) else str(src).strip()
        out.append(Candidate(**values))  # type: ignore[arg-type]
    return out, problems


def candidates_from_frame(frame: pd.DataFrame) -> tuple[list[Candidate], list[str]]:
    """Candidates from the page's table (columns keyed as CANDIDATE_COLUMNS)."""
    rows = [{k: row.get(k) for k in _CANDIDATE_FIELDS} for row in frame.to_dict("records")]
    return candidates_from_rows(rows)


def candidates_to_frame(candidates: Sequence[Candidate]) -> pd.DataFrame:
    """The table the page's editor shows: one row per candidate, blanks as missing values."""
    data = {
        c.key: pd.Series(
            [getattr(cand, c.key) for cand in candidates],
            dtype="Float64" if c.numeric else "string",
        )
        for c in CANDIDATE_COLUMNS
    }
    return pd.DataFrame(data)


def to_csv(candidates: Sequence[Candidate], labels: bool = True) -> str:
    """CSV with a header (readable labels by default); blanks are empty cells."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.label if labels else c.key for c in CANDIDATE_COLUMNS])
    for cand in candidates:
        row = []
        for c in CANDIDATE_COLUMNS:
            v = getattr(cand, c.key)
            row.append("" if v is None else (f"{v:.10g}" if isinstance(v, float) else str(v)))
        writer.writerow(row)
    return buf.getvalue()


def parse_csv(data: bytes | str) -> tuple[list[Candidate], list[str]]:
    """Candidates from a CSV file (header: column keys or labels, any order).

    Raises ValueError with a message naming what is wrong when the file cannot
    be used at all; smaller problems come back as messages.
    """
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise ValueError(f"the file is {len(data):,} bytes; the limit is {MAX_CSV_BYTES:,}")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("the file is not UTF-8 text; save it as CSV (UTF-8)") from None
    else:
        text = data
    try:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        body = list(reader)
    except csv.Error as exc:
        raise ValueError(f"not readable as CSV ({exc})") from None
    if not header:
        raise ValueError("the file is empty; it needs a header row such as 'name,quality_pct,...'")
    keys: list[str | None] = []
    problems: list[str] = []
    for h in header:
        h_clean = h.strip()
        col = _COLUMN_BY_KEY.get(h_clean) or _COLUMN_BY_LABEL.get(h_clean.lower())
        keys.append(col.key if col else None)
        if col is None and h_clean:
            problems.append(f"Column '{h_clean}' is not a known column and was ignored.")
    if "name" not in keys:
        known = ", ".join(c.key for c in CANDIDATE_COLUMNS)
        raise ValueError(f"no 'name' column in the header; known columns: {known}")
    rows = []
    for line in body:
        row: dict[str, object] = {}
        for k, v in zip(keys, line, strict=False):
            if k is not None:
                row[k] = v
        rows.append(row)
    candidates, more = candidates_from_rows(rows)
    if not candidates:
        raise ValueError("the file has a header but no rows with a name or a number")
    return candidates, problems + more


def encode_table(candidates: Sequence[Candidate]) -> str:
    """The compact link form of the table (see the module docstring)."""
    raw = zlib.compress(to_csv(candidates, labels=False).encode("utf-8"), 9)
    return "v1." + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_table(value: str) -> tuple[list[Candidate], list[str]]:
    """Candidates from `encode_table`'s output; ValueError naming the problem when unusable."""
    if not value.startswith("v1."):
        raise ValueError("it does not start with 'v1.' (was it copied completely?)")
    body = value[3:]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj()
        # Bounded: a small link must not inflate into something huge.
        data = inflater.decompress(raw, MAX_CSV_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise ValueError("damaged or too large")
        text = data.decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError):
        raise ValueError("it is damaged (was it cut off or edited?)") from None
    return parse_csv(text)


def same_table(a: Sequence[Candidate], b: Sequence[Candidate]) -> bool:
    return list(a) == list(b)
