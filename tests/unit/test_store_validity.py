"""Validity facts travel with a run: probe -> run writer -> spool -> database -> show/compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferlab.cli import main
from inferlab.store import Store
from inferlab.validity import ValidityFacts
from tests.unit.store_helpers import make_info, make_record

LAGGY = ValidityFacts(
    loop_lag_p50_ms=3.0,
    loop_lag_p99_ms=40.0,
    loop_lag_max_ms=80.0,
    loop_lag_samples=300,
    client_cpu_pct=30.0,
    target_concurrency=8.0,
    achieved_concurrency=7.9,
    kernel_stamps=True,
)
CALM = ValidityFacts(
    loop_lag_p50_ms=0.3, loop_lag_p99_ms=1.0, loop_lag_max_ms=2.0, loop_lag_samples=300
)


def _save(store: Store, run_id: str, facts: ValidityFacts | None) -> None:
    with store.run_writer(make_info(run_id)) as writer:
        writer.add_many([make_record(i) for i in range(20)])
        if facts is not None:
            writer.set_validity(facts)


def test_facts_given_to_the_writer_are_saved_and_judged(isolated_db: Path) -> None:
    store = Store(isolated_db)
    _save(store, "laggy", LAGGY)
    _save(store, "calm", CALM)
    _save(store, "old", None)
    laggy = store.validity("laggy")
    assert laggy.verdict == "suspect" and laggy.facts == LAGGY
    assert "lagged 40 ms at p99" in laggy.reasons[0]
    assert store.validity("calm").verdict == "valid"
    assert store.validity("old").verdict == "unknown"
    assert set(store.validities(["laggy", "calm", "nope"])) == {"laggy", "calm"}


def test_imported_runs_are_unknown_with_the_tool_named(isolated_db: Path) -> None:
    store = Store(isolated_db)
    store.create_run(make_info("imp", source_tool="aiperf"))
    store.add_requests("imp", [make_record(i) for i in range(5)])
    store.finish_run("imp", "completed")
    v = store.validity("imp")
    assert v.verdict == "unknown" and "imported from aiperf" in v.reasons[0]


def test_deleting_a_run_deletes_its_facts(isolated_db: Path) -> None:
    store = Store(isolated_db)
    _save(store, "gone", LAGGY)
    store.delete_run("gone")
    _save(store, "gone", CALM)  # the same id again starts clean
    assert store.validity("gone").verdict == "valid"


def test_show_json_has_the_validity_object(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _save(Store(isolated_db), "laggy", LAGGY)
    assert main(["show", "laggy", "--json"]) == 0
    v = json.loads(capsys.readouterr().out)["validity"]
    assert v["verdict"] == "suspect" and "lagged 40 ms" in v["reasons"][0]
    assert v["loop_lag_ms"] == {"p50": 3.0, "p99": 40.0, "max": 80.0, "samples": 300}
    assert v["client_cpu_pct"] == 30.0
    assert v["concurrency"] == {"target": 8.0, "achieved": 7.9}
    assert main(["show", "laggy"]) == 0
    assert "validity: suspect: client event loop lagged 40 ms" in capsys.readouterr().out


def test_compare_says_when_a_suspect_run_is_involved(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(isolated_db)
    _save(store, "calm", CALM)
    _save(store, "laggy", LAGGY)
    main(["compare", "calm", "laggy", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["validity"]["baseline"]["verdict"] == "valid"
    assert out["validity"]["run"]["verdict"] == "suspect"
    assert "involves a suspect run" in out["validity"]["warning"]
    main(["compare", "calm", "laggy"])
    text = capsys.readouterr().out
    assert "Validity: this comparison involves a suspect run" in " ".join(text.split())
    _save(store, "calm2", CALM)
    main(["compare", "calm", "calm2", "--json"])
    assert json.loads(capsys.readouterr().out)["validity"]["warning"] is None
