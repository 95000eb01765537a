"""Broken, truncated, unknown and huge files; duplicates; nothing half-imported; uploads."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from inferlab.importers import ImportFileError, import_file, import_uploads, max_upload_bytes
from inferlab.store import Store
from inferlab.store import db as db_mod

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "import"
AIPERF = FIX / "aiperf-c4" / "profile_export.jsonl"
GUIDELLM = FIX / "guidellm-concurrent-c2.json"
SWEEP = FIX / "guidellm-sweep-c1-2-4.json"
VLLM_APPEND = FIX / "vllm-append.jsonl"


@pytest.fixture
def store(isolated_db: Path) -> Store:
    return Store(isolated_db)


def _copy(src: Path, dst: Path, data: bytes | None = None) -> Path:
    dst.write_bytes(src.read_bytes() if data is None else data)
    return dst


def test_truncated_aiperf_jsonl_names_the_line(store: Store, tmp_path: Path) -> None:
    raw = AIPERF.read_bytes()
    p = _copy(AIPERF, tmp_path / "profile_export.jsonl", raw[: len(raw) - 700])
    with pytest.raises(ImportFileError) as exc:
        import_file(store, p)
    msg = str(exc.value)
    assert msg.startswith("profile_export.jsonl (as aiperf): line 24 is not valid JSON")
    assert "truncated" in msg
    assert store.list_runs().empty


def test_truncated_guidellm_json_says_so(store: Store, tmp_path: Path) -> None:
    raw = GUIDELLM.read_bytes()
    p = _copy(GUIDELLM, tmp_path / "benchmarks.json", raw[: len(raw) // 2])
    with pytest.raises(
        ImportFileError,
        match=r"benchmarks\.json \(as guidellm\): truncated JSON: the document stops "
        r"unfinished at byte 78,2\d\d \(line 1\); the file looks cut off",
    ):
        import_file(store, p)


def test_malformed_vllm_line_is_named(store: Store, tmp_path: Path) -> None:
    lines = VLLM_APPEND.read_text().splitlines()
    p = tmp_path / "results.jsonl"
    p.write_text(lines[0] + "\n{not json}\n")
    with pytest.raises(
        ImportFileError, match=r"results\.jsonl \(as vllm\): line 2 is not valid JSON"
    ):
        import_file(store, p)


def test_wrong_structure_inside_a_known_format_is_a_clear_error(
    store: Store, tmp_path: Path
) -> None:
    obj = json.loads(VLLM_APPEND.read_text().splitlines()[0])
    obj["itls"] = obj["itls"][:3]
    p = tmp_path / "short.json"
    p.write_text(json.dumps(obj))
    with pytest.raises(ImportFileError, match=r"`itls` should be a list of 24 values"):
        import_file(store, p)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"hello": "world"}\n', "a JSON file of an unknown kind"),
        (b"just some text\nnothing else\n", "not a recognised result file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "a binary file"),
        (b"", "the file is empty"),
    ],
)
def test_unknown_files_are_refused_with_what_was_expected(
    store: Store, tmp_path: Path, content: bytes, problem: str
) -> None:
    p = tmp_path / "mystery.dat"
    p.write_bytes(content)
    with pytest.raises(ImportFileError) as exc:
        import_file(store, p)
    assert str(exc.value).startswith("mystery.dat (")
    assert problem in str(exc.value)


def test_missing_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match=r"nothere\.json \(format detection\): no such file"):
        import_file(store, tmp_path / "nothere.json")


def test_huge_file_is_refused_before_reading(store: Store, tmp_path: Path) -> None:
    p = _copy(SWEEP, tmp_path / "big.json")
    with pytest.raises(
        ImportFileError,
        match=r"big\.json \(format detection\): the file is 0.39 MB, over the import limit of 0.10 MB",
    ):
        import_file(store, p, max_bytes=100_000)
    assert store.list_runs().empty


def test_upload_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFERLAB_MAX_UPLOAD_MB", raising=False)
    assert max_upload_bytes() == 200 * 1024 * 1024
    monkeypatch.setenv("INFERLAB_MAX_UPLOAD_MB", "0.5")
    assert max_upload_bytes() == 512 * 1024
    monkeypatch.setenv("INFERLAB_MAX_UPLOAD_MB", "lots")
    assert max_upload_bytes() == 200 * 1024 * 1024
    assert max_upload_bytes(3) == 3 * 1024 * 1024


def test_csv_problems_name_row_and_column(store: Store, tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("sent_ms,ok,ttft_ms\n0,true,10\n5,maybe,12\n")
    with pytest.raises(ImportFileError, match=r"row 3: column ok should be true or false"):
        import_file(store, p)
    p.write_text("sent_ms,ok,ttft_ms\n0,true,fast\n")
    with pytest.raises(ImportFileError, match=r"row 2: column ttft_ms is not a number"):
        import_file(store, p)
    p.write_text("when,latency\n0,10\n")
    with pytest.raises(ImportFileError, match=r"missing required column\(s\) sent_ms, ok"):
        import_file(store, p, "csv")


BAD_ROWS_CSV = (
    "sent_ms,ok,ttft_ms,e2e_ms,output_tokens\n"
    "0,true,100,400,32\n"
    "10,true,garbage,400,32\n"  # row 3: not a number
    "20,true,-5,400,32\n"  # row 4: negative TTFT
    "30,true,100,50,32\n"  # row 5: E2E before TTFT
    "40,maybe,100,400,32\n"  # row 6: not a boolean
    "50,true,100,400,-3\n"  # row 7: negative tokens
)


def test_every_bad_csv_row_is_reported_in_one_pass(store: Store, tmp_path: Path) -> None:
    """Unreadable cells and impossible values together: fixing the first two must not
    reveal three more on the next try (issue 16)."""
    p = tmp_path / "bad.csv"
    p.write_text(BAD_ROWS_CSV)
    with pytest.raises(ImportFileError) as err:
        import_file(store, p)
    rows = [d.split(":", 1)[0] for d in err.value.details]
    assert rows == ["row 3", "row 4", "row 5", "row 6", "row 7"]
    assert err.value.count == 5
    assert "e2e_ms (50 ms) is before ttft_ms (100 ms)" in err.value.details[2]
    assert str(err.value).count("bad.csv") == 1
    assert store.list_runs().empty


def test_the_upload_message_lists_every_bad_row_and_names_the_file_once(store: Store) -> None:
    from inferlab.compare.io import upload_messages

    [(level, text)] = upload_messages(import_uploads(store, [("bad.csv", BAD_ROWS_CSV.encode())]))
    assert level == "error"
    assert text.count("bad.csv") == 1
    assert "5 problems" in text
    for row in ("row 3", "row 4", "row 5", "row 6", "row 7"):
        assert f"- {row}:" in text


def test_importing_the_same_file_twice_adds_nothing(store: Store, tmp_path: Path) -> None:
    first = import_file(store, SWEEP)
    again = import_file(store, _copy(SWEEP, tmp_path / "renamed.json"))
    assert [r.run_id for r in again] == [r.run_id for r in first]
    assert all(r.duplicate for r in again) and not any(r.duplicate for r in first)
    assert len(store.list_runs()) == 3


def test_a_failure_while_saving_leaves_nothing_behind(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real = db_mod._insert_requests

    def fail_on_second(con: object, run_id: str, table: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise duckdb.IOException("disk full")
        real(con, run_id, table)  # type: ignore[arg-type]

    monkeypatch.setattr(db_mod, "_insert_requests", fail_on_second)
    with pytest.raises(ImportFileError, match=r"nothing was imported: .*disk full"):
        import_file(store, SWEEP)
    assert calls["n"] == 2
    assert store.list_runs().empty
    monkeypatch.undo()
    assert len(import_file(store, SWEEP)) == 3  # and a retry imports everything


def test_a_run_saved_meanwhile_by_another_import_counts_as_already_imported(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process imports the same file at the same moment: its second run
    # appears between our duplicate check and our save.
    ids = [r.run_id for r in import_file(store, SWEEP)]
    for rid in (ids[0], ids[2]):
        store.delete_run(rid)
    monkeypatch.setattr(store, "run_status", lambda run_id: None)
    again = import_file(store, SWEEP)
    assert [(r.run_id, r.duplicate) for r in again] == [
        (ids[0], False),
        (ids[1], True),
        (ids[2], False),
    ]
    assert sorted(store.list_runs()["run_id"]) == sorted(ids)


def test_kill_9_in_the_middle_of_an_import_leaves_no_run(store: Store, tmp_path: Path) -> None:
    # The child saves the first run's requests, then kills itself with SIGKILL
    # while saving the second: the open transaction must vanish with it.
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, signal
            from inferlab.importers import import_file
            from inferlab.store import Store
            from inferlab.store import db

            real, calls = db._insert_requests, []

            def die_on_second(con, run_id, table):
                calls.append(run_id)
                if len(calls) == 2:
                    os.kill(os.getpid(), signal.SIGKILL)
                real(con, run_id, table)

            db._insert_requests = die_on_second
            import_file(Store({str(store.path)!r}), {str(SWEEP)!r})
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    after = Store(store.path)
    assert after.list_runs().empty  # no `running` (or any) run left behind
    runs = import_file(after, SWEEP)
    assert len(runs) == 3 and not any(r.duplicate for r in runs)
    assert {after.run_status(r.run_id) for r in runs} == {"completed"}


def test_a_parse_error_in_a_later_run_imports_none_of_the_file(
    store: Store, tmp_path: Path
) -> None:
    lines = VLLM_APPEND.read_text().splitlines()
    bad = json.loads(lines[1])
    bad["ttfts"][3] = "soon"
    p = tmp_path / "two.jsonl"
    p.write_text(lines[0] + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(ImportFileError, match=r"result 2\.ttfts\[3\] is not a number"):
        import_file(store, p)
    assert store.list_runs().empty


def test_uploads_pair_aiperf_files_and_report_each_file(store: Store) -> None:
    files = [
        ("profile_export.jsonl", AIPERF.read_bytes()),
        ("profile_export_aiperf.json", (AIPERF.parent / "profile_export_aiperf.json").read_bytes()),
        ("broken.json", b'{"benchmarks": [{"requests"'),
        ("big.json", SWEEP.read_bytes()),
    ]
    out = import_uploads(store, files, max_bytes=200_000)
    by_name = {o.name: o for o in out}
    assert set(by_name) == {"profile_export.jsonl", "broken.json", "big.json"}
    ok = by_name["profile_export.jsonl"]
    assert ok.error is None and ok.runs[0].requests == 24
    info = store.get_run(ok.runs[0].run_id)
    assert info is not None and info.model == "refmodel"  # the aggregate was used
    assert "broken.json (as guidellm): truncated JSON" in (by_name["broken.json"].error or "")
    assert "over the import limit" in (by_name["big.json"].error or "")
    assert len(store.list_runs()) == 1


def test_an_aiperf_artifact_folder_can_be_given(store: Store) -> None:
    run = import_file(store, AIPERF.parent)[0]
    assert run.requests == 24 and run.file == "profile_export.jsonl"


def test_credential_named_values_in_a_result_file_are_not_kept(
    store: Store, tmp_path: Path
) -> None:
    obj = json.loads((FIX / "vllm-summary.json").read_text())
    obj["api_key"] = "12345"  # vLLM copies --metadata KEY=VALUE pairs into the result
    p = tmp_path / "with-metadata.json"
    p.write_text(json.dumps(obj))
    rid = import_file(store, p)[0].run_id
    assert "12345" not in json.dumps(store.run_metadata(rid))
