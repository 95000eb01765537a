"""The one JSON encoder for everything inferlab prints or writes as JSON.

Python's json writes `NaN` and `Infinity`, which are not JSON: a stored run
with an undefined statistic (no completed request) or an infinite value (a
file imported before values were checked) would make `show --json` print
invalid JSON and `export --format json` fail. Here every non-finite number
becomes null ("undefined"), numpy and pandas scalars become plain values,
times become ISO 8601 text, and `allow_nan=False` guards the result.
No heavy imports: the CLI's light commands use it too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any

__all__ = ["dumps", "json_safe"]

_MISSING = ("NaTType", "NAType")  # pandas' NaT and NA: undefined, like NaN


def json_safe(obj: Any) -> Any:
    """`obj` as plain JSON values: non-finite floats and missing values -> None."""
    if obj is None or isinstance(obj, str | bool | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if type(obj).__name__ in _MISSING:
        return None
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [json_safe(v) for v in obj]
    if isinstance(obj, datetime | date | time):
        return obj.isoformat()
    if isinstance(obj, PurePath):
        return str(obj)
    if hasattr(obj, "dtype") and hasattr(obj, "tolist"):  # numpy scalar or array
        return json_safe(obj.tolist())
    return str(obj)


def dumps(obj: Any, **kwargs: Any) -> str:
    """json.dumps of `json_safe(obj)`: always valid JSON (null where a number is undefined)."""
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)
