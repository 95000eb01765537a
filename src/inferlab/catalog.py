"""The GPU and price catalogs in data/catalog/, and user edits to them.

Each catalog row carries a source URL and an as-of date. Users edit a copy in
the page; :func:`encode_gpu_edits` / :func:`encode_price_edits` turn the
difference from the shipped catalog into a short URL parameter (rows
separated by ``;``, fields by ``,``, ``-name`` deletes a row), and the
``decode_*`` functions apply such a parameter back, raising ValueError with
a message naming the bad row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import pandas as pd

from inferlab.capacity import GpuSpec
from inferlab.cost import ApiPrices

__all__ = [
    "CATALOG_DIR",
    "EDITED_SOURCE",
    "GPU_COLUMNS",
    "MAX_EDIT_CHARS",
    "PRICE_COLUMNS",
    "ApiOffer",
    "GpuOffer",
    "PriceCatalog",
    "apply_gpu_edits",
    "apply_price_edits",
    "encode_gpu_edits",
    "encode_price_edits",
    "gpus_from_frame",
    "gpus_to_frame",
    "load_gpus",
    "load_prices",
    "prices_from_frame",
    "prices_to_frame",
]

CATALOG_DIR = Path(__file__).resolve().parents[2] / "data" / "catalog"
GPU_COLUMNS = (
    "name",
    "memory_gb",
    "bandwidth_tb_s",
    "bf16_tflops",
    "fp8_tflops",
    "source_url",
    "as_of",
)
PRICE_COLUMNS = (
    "kind",
    "name",
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "gpu",
    "usd_per_gpu_hour",
    "source_url",
    "as_of",
)
EDITED_SOURCE = "edited by the user"
# Beyond this many characters the edits are offered as a CSV download instead of a link.
MAX_EDIT_CHARS = 600

C = TypeVar("C")
_FORBIDDEN = (",", ";")


@dataclass(frozen=True)
class ApiOffer:
    name: str
    prices: ApiPrices
    source_url: str = ""
    as_of: str = ""


@dataclass(frozen=True)
class GpuOffer:
    name: str
    usd_per_gpu_hour: float
    gpu: str = ""
    source_url: str = ""
    as_of: str = ""

    def __post_init__(self) -> None:
        if not math.isfinite(self.usd_per_gpu_hour) or self.usd_per_gpu_hour < 0:
            raise ValueError(f"{self.name}: price per GPU-hour must be at least 0")


@dataclass(frozen=True)
class PriceCatalog:
    api: tuple[ApiOffer, ...]
    gpu_hours: tuple[GpuOffer, ...]


def _text(value: object) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value))
        else str(value).strip()
    )


def _number(row: int, column: str, value: object, *, optional: bool = False) -> float | None:
    text = _text(value)
    if text == "":
        if optional:
            return None
        raise ValueError(f"row {row}: {column} is empty")
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"row {row}: {column} '{text}' is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"row {row}: {column} must be a number of at least 0, got '{text}'")
    return number


def _checked_name(row: int, value: object) -> str:
    name = _text(value)
    if not name:
        raise ValueError(f"row {row}: name is empty")
    if any(c in name for c in _FORBIDDEN):
        raise ValueError(f"row {row}: name '{name}' may not contain ',' or ';'")
    return name


def _read_catalog(path: Path, what: str, from_frame: Callable[[pd.DataFrame], C]) -> C:
    """The catalog CSV at `path`; ValueError naming the file when it is unreadable or invalid."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:
        raise ValueError(f"cannot read the {what} {path}: {exc}") from None
    try:
        return from_frame(frame)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from None


# ---------------------------------------------------------------- GPUs


def gpus_from_frame(frame: pd.DataFrame) -> list[GpuSpec]:
    """Validated GPU specs from a catalog frame; ValueError names the first bad row."""
    missing = [c for c in GPU_COLUMNS[:5] if c not in frame.columns]
    if missing:
        raise ValueError(f"GPU catalog lacks the column(s) {', '.join(missing)}")
    gpus: list[GpuSpec] = []
    seen: set[str] = set()
    for i, rec in enumerate(frame.to_dict("records"), start=1):
        name = _checked_name(i, rec.get("name"))
        if name in seen:
            raise ValueError(f"row {i}: GPU '{name}' appears twice")
        seen.add(name)
        values = {
            c: _number(i, c, rec.get(c)) for c in ("memory_gb", "bandwidth_tb_s", "bf16_tflops")
        }
        fp8 = _number(i, "fp8_tflops", rec.get("fp8_tflops"), optional=True)
        try:
            gpus.append(
                GpuSpec(
                    name,
                    float(values["memory_gb"] or 0),
                    float(values["bandwidth_tb_s"] or 0),
                    float(values["bf16_tflops"] or 0),
                    fp8,
                    _text(rec.get("source_url")),
                    _text(rec.get("as_of")),
                )
            )
        except ValueError as exc:
            raise ValueError(f"row {i}: {exc}") from None
    if not gpus:
        raise ValueError("GPU catalog is empty: add at least one GPU")
    return gpus


def gpus_to_frame(gpus: list[GpuSpec]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "name": g.name,
                "memory_gb": g.memory_gb,
                "bandwidth_tb_s": g.bandwidth_tb_s,
                "bf16_tflops": g.bf16_tflops,
                "fp8_tflops": g.fp8_tflops,
                "source_url": g.source_url,
                "as_of": g.as_of,
            }
            for g in gpus
        ],
        columns=list(GPU_COLUMNS),
    )


def load_gpus(path: Path | None = None) -> list[GpuSpec]:
    """The shipped GPU catalog (data/catalog/gpus.csv)."""
    return _read_catalog(path or CATALOG_DIR / "gpus.csv", "GPU catalog", gpus_from_frame)


def _g(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _gpu_key(g: GpuSpec) -> tuple[float, float, float, float | None]:
    return (g.memory_gb, g.bandwidth_tb_s, g.bf16_tflops, g.fp8_tflops)


def encode_gpu_edits(base: list[GpuSpec], edited: list[GpuSpec]) -> str:
    """Rows of `edited` that differ from `base`, and deletions, as one URL parameter value."""
    by_name = {g.name: g for g in base}
    parts = []
    for g in edited:
        old = by_name.get(g.name)
        if old is None or _gpu_key(old) != _gpu_key(g):
            parts.append(
                ",".join(
                    [
                        g.name,
                        _g(g.memory_gb),
                        _g(g.bandwidth_tb_s),
                        _g(g.bf16_tflops),
                        _g(g.fp8_tflops),
                    ]
                )
            )
    names = {g.name for g in edited}
    parts += [f"-{g.name}" for g in base if g.name not in names]
    return ";".join(parts)


def apply_gpu_edits(base: list[GpuSpec], encoded: str) -> list[GpuSpec]:
    """`base` with the edits of :func:`encode_gpu_edits` applied."""
    gpus = {g.name: g for g in base}
    for i, part in enumerate(p for p in encoded.split(";") if p.strip()):
        row = i + 1
        if part.startswith("-"):
            gpus.pop(part[1:].strip(), None)
            continue
        fields = part.split(",")
        if len(fields) != 5:
            raise ValueError(
                f"edit {row} '{part}' needs 5 fields: name,memory_gb,bandwidth_tb_s,bf16_tflops,fp8_tflops"
            )
        name = _checked_name(row, fields[0])
        old = gpus.get(name)
        try:
            gpus[name] = GpuSpec(
                name,
                float(_number(row, "memory_gb", fields[1]) or 0),
                float(_number(row, "bandwidth_tb_s", fields[2]) or 0),
                float(_number(row, "bf16_tflops", fields[3]) or 0),
                _number(row, "fp8_tflops", fields[4], optional=True),
                EDITED_SOURCE,
                old.as_of if old else "",
            )
        except ValueError as exc:
            msg = str(exc)
            raise ValueError(msg if msg.startswith("row") else f"edit {row}: {msg}") from None
    if not gpus:
        raise ValueError("the edits delete every GPU")
    return list(gpus.values())


# ---------------------------------------------------------------- prices


def prices_from_frame(frame: pd.DataFrame) -> PriceCatalog:
    """Validated price rows (kind 'api' or 'gpu_hour'); ValueError names the first bad row."""
    if "kind" not in frame.columns or "name" not in frame.columns:
        raise ValueError("price catalog needs the columns kind and name")
    api: list[ApiOffer] = []
    hours: list[GpuOffer] = []
    seen: set[str] = set()
    for i, rec in enumerate(frame.to_dict("records"), start=1):
        name = _checked_name(i, rec.get("name"))
        if name in seen:
            raise ValueError(f"row {i}: '{name}' appears twice")
        seen.add(name)
        kind = _text(rec.get("kind"))
        src, as_of = _text(rec.get("source_url")), _text(rec.get("as_of"))
        if kind == "api":
            prices = ApiPrices(
                float(_number(i, "input_per_mtok", rec.get("input_per_mtok")) or 0),
                float(_number(i, "output_per_mtok", rec.get("output_per_mtok")) or 0),
                _number(
                    i, "cached_input_per_mtok", rec.get("cached_input_per_mtok"), optional=True
                ),
            )
            api.append(ApiOffer(name, prices, src, as_of))
        elif kind == "gpu_hour":
            usd = float(_number(i, "usd_per_gpu_hour", rec.get("usd_per_gpu_hour")) or 0)
            hours.append(GpuOffer(name, usd, _text(rec.get("gpu")), src, as_of))
        else:
            raise ValueError(f"row {i}: kind must be 'api' or 'gpu_hour', got '{kind}'")
    return PriceCatalog(tuple(api), tuple(hours))


def prices_to_frame(catalog: PriceCatalog) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    for a in catalog.api:
        rows.append(
            {
                "kind": "api",
                "name": a.name,
                "input_per_mtok": a.prices.input_per_mtok,
                "output_per_mtok": a.prices.output_per_mtok,
                "cached_input_per_mtok": a.prices.cached_input_per_mtok,
                "gpu": None,
                "usd_per_gpu_hour": None,
                "source_url": a.source_url,
                "as_of": a.as_of,
            }
        )
    for h in catalog.gpu_hours:
        rows.append(
            {
                "kind": "gpu_hour",
                "name": h.name,
                "input_per_mtok": None,
                "output_per_mtok": None,
                "cached_input_per_mtok": None,
                "gpu": h.gpu,
                "usd_per_gpu_hour": h.usd_per_gpu_hour,
                "source_url": h.source_url,
                "as_of": h.as_of,
            }
        )
    return pd.DataFrame(rows, columns=list(PRICE_COLUMNS))


def load_prices(path: Path | None = None) -> PriceCatalog:
    """The shipped price catalog (data/catalog/prices.csv)."""
    return _read_catalog(path or CATALOG_DIR / "prices.csv", "price catalog", prices_from_frame)


def _api_key(a: ApiOffer) -> tuple[float, float, float | None]:
    return (a.prices.input_per_mtok, a.prices.output_per_mtok, a.prices.cached_input_per_mtok)


def encode_price_edits(base: PriceCatalog, edited: PriceCatalog) -> str:
    """Changed/added rows ('api,name,in,out,cached' or 'gpu,name,usd') and '-name' deletions."""
    api_base = {a.name: a for a in base.api}
    hour_base = {h.name: h for h in base.gpu_hours}
    parts = []
    for a in edited.api:
        old = api_base.get(a.name)
        if old is None or _api_key(old) != _api_key(a):
            p = a.prices
            parts.append(
                f"api,{a.name},{_g(p.input_per_mtok)},{_g(p.output_per_mtok)},{_g(p.cached_input_per_mtok)}"
            )
    for h in edited.gpu_hours:
        old_h = hour_base.get(h.name)
        if old_h is None or old_h.usd_per_gpu_hour != h.usd_per_gpu_hour:
            parts.append(f"gpu,{h.name},{_g(h.usd_per_gpu_hour)}")
    names = {a.name for a in edited.api} | {h.name for h in edited.gpu_hours}
    parts += [f"-{n}" for n in [*api_base, *hour_base] if n not in names]
    return ";".join(parts)


def apply_price_edits(base: PriceCatalog, encoded: str) -> PriceCatalog:
    """`base` with the edits of :func:`encode_price_edits` applied."""
    api = {a.name: a for a in base.api}
    hours = {h.name: h for h in base.gpu_hours}
    for i, part in enumerate(p for p in encoded.split(";") if p.strip()):
        row = i + 1
        if part.startswith("-"):
            api.pop(part[1:].strip(), None)
            hours.pop(part[1:].strip(), None)
            continue
        fields = part.split(",")
        kind = fields[0]
        if kind == "api" and len(fields) == 5:
            name = _checked_name(row, fields[1])
            old = api.get(name)
            hours.pop(name, None)
            api[name] = ApiOffer(
                name,
                ApiPrices(
                    float(_number(row, "input_per_mtok", fields[2]) or 0),
                    float(_number(row, "output_per_mtok", fields[3]) or 0),
                    _number(row, "cached_input_per_mtok", fields[4], optional=True),
                ),
                EDITED_SOURCE,
                old.as_of if old else "",
            )
        elif kind == "gpu" and len(fields) == 3:
            name = _checked_name(row, fields[1])
            old_h = hours.get(name)
            api.pop(name, None)
            usd = float(_number(row, "usd_per_gpu_hour", fields[2]) or 0)
            base_h = old_h or GpuOffer(name, usd)
            hours[name] = replace(base_h, usd_per_gpu_hour=usd, source_url=EDITED_SOURCE)
        else:
            raise ValueError(
                f"edit {row} '{part}' must be 'api,name,input,output,cached' or 'gpu,name,usd_per_hour'"
            )
    return PriceCatalog(tuple(api.values()), tuple(hours.values()))
