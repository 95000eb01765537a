"""JSON output is always valid JSON (issue 18 item 8): a run holding an infinite value (saved
before imports were checked) or an undefined statistic prints null, never Infinity or NaN."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from inferlab.cli import main
from inferlab.store import Store
from tests.unit.store_helpers import make_info, make_record


def strict_loads(text: str) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def odd_runs(isolated_db: Path) -> Path:
    store = Store(isolated_db)
    recs = [make_record(i) for i in range(6)]
    recs[2] = replace(recs[2], ttft_ms=math.inf, e2e_ms=math.inf)
    store.create_run(make_info("inf-run", load_value=math.inf))
    store.add_requests("inf-run", recs)
    store.finish_run("inf-run", "completed")
    store.create_run(make_info("empty-run"))  # no requests: every statistic undefined
    store.finish_run("empty-run", "completed")
    return isolated_db


@pytest.mark.parametrize("run_id", ["inf-run", "empty-run"])
def test_show_json_is_valid_json(
    odd_runs: Path, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", run_id, "--json"]) == 0
    obj = strict_loads(capsys.readouterr().out)
    assert obj["run_id"] == run_id
    if run_id == "empty-run":
        assert obj["ttft_ms"]["p50"] is None


def test_runs_and_compare_json_are_valid_json(
    odd_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "--json"]) == 0
    rows = strict_loads(capsys.readouterr().out)
    assert {r["run_id"] for r in rows} == {"inf-run", "empty-run"}
    main(["compare", "inf-run", "empty-run", "--json"])
    strict_loads(capsys.readouterr().out)


def test_export_json_writes_null_for_infinity(
    odd_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.json"
    assert main(["export", "inf-run", "empty-run", "--format", "json", "-o", str(out)]) == 0
    doc = strict_loads(out.read_text())
    inf_run = doc["runs"][0]
    assert inf_run["info"]["load_value"] is None
    assert inf_run["requests"][2]["ttft_ms"] is None
    assert inf_run["requests"][3]["ttft_ms"] == pytest.approx(203.0)
