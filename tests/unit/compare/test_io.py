"""Runs page helpers for import/export: upload messages, downloads, imported-run panel."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferlab.compare.io import (
    downloads,
    import_panel,
    import_uploads,
    report_download,
    upload_messages,
)
from inferlab.store import Store

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "import"


@pytest.fixture
def store(isolated_db: Path) -> Store:
    return Store(isolated_db)


def test_upload_messages_say_what_happened_to_each_file(store: Store) -> None:
    files = [
        ("benchmarks.json", (FIX / "guidellm-concurrent-c2.json").read_bytes()),
        ("oops.json", b'{"nothing": 1}'),
    ]
    msgs = upload_messages(import_uploads(store, files))
    levels = [m[0] for m in msgs]
    assert levels == ["success", "error"]
    assert "imported 1 run" in msgs[0][1] and "16 requests" in msgs[0][1]
    assert "first and last token" in msgs[0][1]  # the importer's note is shown
    assert "**oops.json** was not imported" in msgs[1][1]
    # the dashboard names its own control, not the CLI's flag
    assert "choose it under **Format**" in msgs[1][1] and "--format" not in msgs[1][1]
    again = upload_messages(import_uploads(store, files[:1]))
    assert again[0][0] == "info" and "imported before" in again[0][1]


def test_downloads_and_report_are_files_for_buttons(store: Store) -> None:
    rid = import_uploads(store, [("v.json", (FIX / "vllm-detailed.json").read_bytes())])[0].runs[0]
    files = downloads(store, [rid.run_id], "csv")
    assert [f.file_name for f in files] == ["inferlab-runs.csv", "inferlab-runs.summaries.csv"]
    assert files[0].data.startswith(b"run_id,index,")
    assert [f.mime for f in downloads(store, [rid.run_id], "json")] == ["application/json"]
    rep = report_download(store, [rid.run_id])
    assert rep.mime == "text/html" and b"<!DOCTYPE html>" in rep.data[:50]


def test_import_panel_shows_tool_numbers_and_disagreements(store: Store) -> None:
    out = import_uploads(store, [("b.json", (FIX / "guidellm-concurrent-c2.json").read_bytes())])
    panel = import_panel(store, out[0].runs[0].run_id)
    assert panel is not None
    assert panel.caption.startswith("Imported from b.json (guidellm 0.8.1)")
    assert panel.disagreements >= 1
    differ = panel.comparison[panel.comparison["Verdict"] == "differ"]
    assert (differ["Why they differ"] != "").all()
    assert "time_to_first_token_ms" in set(panel.tool_metrics["name"])


def test_inferlab_runs_have_no_import_panel(store: Store) -> None:
    from datetime import UTC, datetime

    from inferlab.records import RunInfo

    store.create_run(RunInfo("own-run", datetime(2026, 1, 1, tzinfo=UTC), "http://x/v1", "m"))
    assert import_panel(store, "own-run") is None


def test_export_files_are_known_before_building_and_match_the_export(store: Store) -> None:
    from inferlab.compare.io import export_file_bytes, export_files

    rid = import_uploads(store, [("v.json", (FIX / "vllm-detailed.json").read_bytes())])[0]
    ids = [rid.runs[0].run_id]
    for fmt in ("csv", "parquet", "json"):
        names = [f.file_name for f in export_files(fmt)]
        assert names == [d.file_name for d in downloads(store, ids, fmt)]
        assert export_file_bytes(store, ids, fmt, names[0])
