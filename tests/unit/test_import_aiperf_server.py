"""AIPerf's server-metrics exports (JSONL raw scrapes, aggregated JSON): imported with
the profile export, stored as scrapes, shown as `show --json`'s server block; broken
files are named and never cost the run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inferlab.importers import ImportFileError, import_file, import_uploads
from inferlab.importers.aiperf_server import parse_server_metrics
from inferlab.server.run import server_block
from inferlab.server.samples import is_note
from inferlab.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "import"
RUN = FIX / "aiperf-c4"
SERVER = FIX / "aiperf-server-metrics"
JSONL = SERVER / "server_metrics_export.jsonl"
JSON = SERVER / "server_metrics_export.json"


@pytest.fixture
def store(isolated_db: Path) -> Store:
    return Store(isolated_db)


def run_folder(tmp_path: Path, *server_files: Path, name: str = "run") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for f in RUN.iterdir():
        shutil.copy(f, folder / f.name)
    for f in server_files:
        shutil.copy(f, folder / f.name)
    return folder


def client(store: Store, run_id: str) -> tuple[int, int]:
    records = store.records(run_id)
    return len(records), sum(r.output_tokens or 0 for r in records)


def test_the_jsonl_beside_the_profile_export_becomes_the_runs_scrapes(
    store: Store, tmp_path: Path
) -> None:
    (r,) = import_file(store, run_folder(tmp_path, JSONL))
    scrapes = store.server_scrapes(r.run_id)
    assert len(scrapes) == len(JSONL.read_text().splitlines())
    assert {s.endpoint for s in scrapes} == {"http://localhost:8000/metrics"}
    block = server_block(scrapes, store.records(r.run_id))
    assert block is not None and block["kind"] == "vllm"
    n, out_tokens = client(store, r.run_id)
    # The server's deltas are the run's (it had served 100 requests before).
    assert block["requests_completed"] == n == 24
    assert block["generation_tokens"] == out_tokens
    assert block["running_max"] == 4 and block["other_traffic"] is False
    # The fixture's server sees each TTFT 1.2 ms (transport) shorter than the client.
    client_ttft_ms = sum(x.ttft_ms or 0 for x in store.records(r.run_id)) / n
    assert block["ttft_ms"]["mean"] == pytest.approx(client_ttft_ms - 1.2, abs=0.01)
    assert block["decode_ms_per_token"] == pytest.approx(10.0, abs=0.5)
    # One time axis: the first scrape before the first request, the last after the last.
    records = store.records(r.run_id)
    assert scrapes[0].t_ms < min(x.sent_ms for x in records)
    assert scrapes[-1].t_ms > max(x.sent_ms + (x.e2e_ms or 0) for x in records)


def test_the_aggregated_json_gives_the_same_totals_without_a_timeline(
    store: Store, tmp_path: Path
) -> None:
    (r,) = import_file(store, run_folder(tmp_path, JSON))
    assert any("aggregated server_metrics_export.json" in n for n in r.notes)
    scrapes = store.server_scrapes(r.run_id)
    assert len([s for s in scrapes if s.ok]) == 2
    block = server_block(scrapes, store.records(r.run_id))
    assert block is not None
    n, out_tokens = client(store, r.run_id)
    assert block["requests_completed"] == n and block["generation_tokens"] == out_tokens
    aggregated = json.loads(JSON.read_text())["metrics"]
    assert (
        block["running_max"] == aggregated["vllm:num_requests_running"]["series"][0]["stats"]["max"]
    )
    assert any("no timeline" in note for note in block["notes"])


def test_the_jsonl_is_preferred_when_both_are_beside(store: Store, tmp_path: Path) -> None:
    (r,) = import_file(store, run_folder(tmp_path, JSONL, JSON))
    assert len(store.server_scrapes(r.run_id)) > 3


def test_show_json_carries_the_imported_server_block(store: Store, tmp_path: Path) -> None:
    (r,) = import_file(store, run_folder(tmp_path, JSONL))
    out = subprocess.run(
        [sys.executable, "-m", "inferlab", "show", r.run_id, "--json", "--db", str(store.path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    server = json.loads(out.stdout)["server"]
    assert server["kind"] == "vllm" and server["requests_completed"] == 24


def test_a_server_metrics_file_given_explicitly_is_imported(store: Store, tmp_path: Path) -> None:
    folder = run_folder(tmp_path)
    elsewhere = tmp_path / "renamed_server_metrics.jsonl"
    shutil.copy(JSONL, elsewhere)
    (r,) = import_file(store, folder, server_metrics=elsewhere)
    assert len(store.server_scrapes(r.run_id)) > 3


def test_giving_the_server_metrics_file_imports_the_run_beside_it(
    store: Store, tmp_path: Path
) -> None:
    folder = run_folder(tmp_path, JSON)
    (r,) = import_file(store, folder / "server_metrics_export.json")
    assert r.requests == 24 and store.server_scrapes(r.run_id)


def test_a_server_metrics_file_alone_is_refused_with_what_to_do(
    store: Store, tmp_path: Path
) -> None:
    alone = tmp_path / "server_metrics_export.json"
    shutil.copy(JSON, alone)
    with pytest.raises(ImportFileError) as exc:
        import_file(store, alone)
    assert "server-metrics export, not a run" in str(exc.value)
    assert "profile_export.jsonl" in str(exc.value)
    assert store.list_runs().empty


def _broken_jsonl(tmp_path: Path) -> Path:
    lines = JSONL.read_text().splitlines()
    lines[2] = lines[2][:80]  # a torn line
    bad = json.loads(lines[4])
    bad["metrics"]["vllm:time_to_first_token_seconds"][0]["buckets"]["+Inf"] = "many"
    lines[4] = json.dumps(bad)
    path = tmp_path / "server_metrics_export.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_broken_file_given_explicitly_refuses_the_import_naming_it(
    store: Store, tmp_path: Path
) -> None:
    broken = _broken_jsonl(tmp_path)
    with pytest.raises(ImportFileError) as exc:
        import_file(store, run_folder(tmp_path), server_metrics=broken)
    text = str(exc.value)
    assert text.startswith("server_metrics_export.jsonl")
    assert "line 3: not JSON" in text and "line 5" in text and "should be a finite number" in text
    assert store.list_runs().empty  # all or nothing


def test_a_broken_file_beside_the_run_is_named_and_the_run_imported_without_it(
    store: Store, tmp_path: Path
) -> None:
    folder = run_folder(tmp_path)
    shutil.copy(_broken_jsonl(tmp_path), folder / "server_metrics_export.jsonl")
    (r,) = import_file(store, folder)
    assert r.requests == 24 and not r.duplicate
    (note,) = [n for n in r.notes if "server_metrics_export.jsonl" in n]
    assert "was not imported" in note and "line 3: not JSON" in note
    assert store.server_scrapes(r.run_id) == []


def test_server_metrics_imported_later_are_added_and_a_broken_one_never_costs_the_run(
    store: Store, tmp_path: Path
) -> None:
    folder = run_folder(tmp_path)
    (first,) = import_file(store, folder)
    before = store.summary(first.run_id).to_json()
    # A broken file for the stored run: named, and the run is left as it was.
    with pytest.raises(ImportFileError) as exc:
        import_file(store, folder, server_metrics=_broken_jsonl(tmp_path))
    assert "server_metrics_export.jsonl" in str(exc.value)
    assert store.summary(first.run_id).to_json() == before
    assert store.server_scrapes(first.run_id) == []
    # The good file: the stored run gets its scrapes (once).
    shutil.copy(JSONL, folder / JSONL.name)
    (again,) = import_file(store, folder)
    assert again.duplicate and again.server_metrics_added
    n = len(store.server_scrapes(first.run_id))
    assert n == len(JSONL.read_text().splitlines())
    (third,) = import_file(store, folder)
    assert not third.server_metrics_added and len(store.server_scrapes(first.run_id)) == n
    assert store.summary(first.run_id).to_json() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("summary"), "not an AIPerf server-metrics export"),
        (
            lambda d: d["metrics"]["vllm:request_success"].update(type="summary"),
            "type 'summary' is not counter",
        ),
        (
            lambda d: d["metrics"]["vllm:request_success"]["series"][0]["stats"].pop("total"),
            "stats.total should be a finite number",
        ),
        (
            lambda d: d["metrics"]["vllm:e2e_request_latency_seconds"]["series"][0][
                "buckets"
            ].update({"+Inf": 3}),
            "bucket counts match neither the count",
        ),
        (
            lambda d: [d["summary"].pop(k) for k in ("endpoint_info", "start_time", "end_time")],
            "no collection period for http://localhost:8000/metrics",
        ),
    ],
)
def test_a_broken_aggregated_json_says_what_is_wrong(
    tmp_path: Path, change: object, message: str
) -> None:
    doc = json.loads(JSON.read_text())
    change(doc)  # type: ignore[operator]
    path = tmp_path / "server_metrics_export.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ImportFileError) as exc:
        parse_server_metrics(path)
    assert message in str(exc.value) and str(exc.value).startswith("server_metrics_export.json")


def test_not_json_and_empty_files_are_named(tmp_path: Path) -> None:
    path = tmp_path / "server_metrics_export.json"
    path.write_text("{ nope")
    with pytest.raises(ImportFileError, match=r"server_metrics_export\.json"):
        parse_server_metrics(path)
    path.write_text("")
    with pytest.raises(ImportFileError, match="the file is empty"):
        parse_server_metrics(path)


def test_secrets_in_endpoint_urls_are_not_stored(tmp_path: Path) -> None:
    lines = [json.loads(x) for x in JSONL.read_text().splitlines()]
    for line in lines:
        line["endpoint_url"] = "http://u:pw-SECRET@localhost:8000/metrics?token=tok-SECRET"
    path = tmp_path / "server_metrics_export.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    got = parse_server_metrics(path)
    assert {s.endpoint for s in got.scrapes} == {"http://localhost:8000/metrics"}


def test_uploads_pair_the_server_metrics_with_their_run(store: Store) -> None:
    files = [(f.name, f.read_bytes()) for f in (*RUN.iterdir(), JSONL)]
    outcomes = import_uploads(store, files)
    assert [o.error for o in outcomes] == [None]
    (r,) = outcomes[0].runs
    scrapes = store.server_scrapes(r.run_id)
    assert scrapes and not any(is_note(s) for s in scrapes)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inferlab", "import", *args], capture_output=True, text=True
    )


def test_cli_import_with_server_metrics(store: Store, tmp_path: Path) -> None:
    folder = run_folder(tmp_path)
    broken = _broken_jsonl(tmp_path)
    bad = _cli(str(folder), "--server-metrics", str(broken), "--db", str(store.path))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "server_metrics_export.jsonl" in bad.stderr and "line 3: not JSON" in bad.stderr
    ok = _cli(str(folder), "--server-metrics", str(JSONL), "--db", str(store.path))
    assert ok.returncode == 0, ok.stderr
    (run_id,) = store.list_runs()["run_id"]
    assert len(store.server_scrapes(run_id)) == len(JSONL.read_text().splitlines())
    two = _cli(str(folder), str(folder), "--server-metrics", str(JSONL), "--db", str(store.path))
    assert two.returncode == 2 and "one AIPerf FILE" in two.stderr


def test_uploading_the_server_metrics_later_adds_them_and_says_so(store: Store) -> None:
    from inferlab.compare.io import upload_messages

    run_files = [(f.name, f.read_bytes()) for f in RUN.iterdir()]
    (first,) = import_uploads(store, run_files)
    (again,) = import_uploads(store, [*run_files, (JSON.name, JSON.read_bytes())])
    (level, text) = upload_messages([again])[0]
    assert level == "info" and "its server metrics were added" in text
    assert store.server_scrapes(first.runs[0].run_id)


def test_not_utf8_empty_and_blank_line_files_are_named(tmp_path: Path) -> None:
    latin = tmp_path / "server_metrics_export.jsonl"
    latin.write_bytes(JSONL.read_bytes() + b'{"endpoint_url": "caf\xe9"}\n')
    with pytest.raises(ImportFileError, match="not UTF-8 text"):
        parse_server_metrics(latin)
    latin.write_text("\n  \n")
    with pytest.raises(ImportFileError, match="the file is empty"):
        parse_server_metrics(latin)
    # blank lines between scrapes (and a BOM) are fine: the same scrapes as the original
    lines = JSONL.read_text().splitlines()
    latin.write_text("\ufeff" + "\n\n".join(lines) + "\n\n")
    assert parse_server_metrics(latin) == parse_server_metrics(JSONL)
