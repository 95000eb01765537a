"""The one JSON encoder: always valid JSON, null where a number is undefined."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlab.jsonsafe import dumps, json_safe


def strict_loads(text: str) -> Any:
    """json.loads that refuses NaN / Infinity, as every other JSON reader does."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_undefined_numbers_become_null_and_the_rest_plain_values() -> None:
    obj = {
        "nan": math.nan,
        "inf": [math.inf, -math.inf, 1e308],
        "np": (np.float64("nan"), np.int32(7), np.array([1.5, np.inf])),
        "pd": [pd.NA, pd.NaT],
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "path": Path("/tmp/x"),
        5: {"nested": {math.nan}},
    }
    assert strict_loads(dumps(obj)) == {
        "nan": None,
        "inf": [None, None, 1e308],
        "np": [None, 7, [1.5, None]],
        "pd": [None, None],
        "when": "2026-01-02T03:04:05+00:00",
        "path": "/tmp/x",
        "5": {"nested": [None]},
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(json_values)
def test_any_value_gives_valid_json(value: Any) -> None:
    strict_loads(dumps(value))
    assert json_safe(json_safe(value)) == json_safe(value)


def test_indent_and_other_options_pass_through() -> None:
    assert dumps({"a": [1, math.nan]}, indent=1) == '{\n "a": [\n  1,\n  null\n ]\n}'
    with pytest.raises(TypeError):
        dumps({}, allow_nan=True)  # the guard cannot be turned off
