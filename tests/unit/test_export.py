"""Exports: CSV round trip to the same summaries, Parquet/JSON contents, no secrets, HTML report."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from inferlab.export import build_report, export_bytes, export_runs
from inferlab.importers import import_file
from inferlab.records import RequestRecord, RunInfo
from inferlab.store import Store, UnknownRunError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "import"
FILES = [
    FIX / "aiperf-with-error" / "profile_export.jsonl",
    FIX / "guidellm-sweep-c1-2-4.json",
    FIX / "vllm-append.jsonl",
]
SECRET = "sk-very-secret-123"


@pytest.fixture
def store(isolated_db: Path) -> Store:
    return Store(isolated_db)


def _probe_like_run(store: Store) -> str:
    """An inferlab run whose endpoint and settings held credentials (the store strips them)."""
    info = RunInfo(
        run_id="probe-1",
        started_at=datetime(2026, 11, 28, 1, 0, tzinfo=UTC),
        endpoint=f"https://user:{SECRET}@api.example.com/v1?api_key={SECRET}",
        model="m",
        label="probe with warm-up",
        tags=("a", "b"),
        settings={"api_key": SECRET, "max_tokens": 8},
    )
    recs = [
        RequestRecord(
            index=i,
            scheduled_ms=10.0 * i,
            sent_ms=10.0 * i + 0.5,
            ok=i != 3,
            ttft_ms=100.0 + i if i != 3 else None,
            e2e_ms=200.0 + i if i != 3 else None,
            chunk_offsets_ms=(100.0 + i, 150.0 + i, 200.0 + i) if i != 3 else (),
            chunk_tokens=(1, 2, 1) if i != 3 else (),
            input_tokens=16,
            output_tokens=4 if i != 3 else None,
            token_count_source="usage",
            http_status=None if i != 3 else 503,
            error_class=None if i != 3 else "http_503",
            error_message=None if i != 3 else "Service Unavailable",
            warmup=i == 0,
        )
        for i in range(6)
    ]
    store.create_run(info)
    store.add_requests("probe-1", recs)
    store.finish_run("probe-1", "completed")
    return "probe-1"


def _summaries(store: Store, ids: list[str]) -> list[dict[str, object]]:
    out = []
    for rid in ids:
        s = store.summary(rid).to_json()
        s.pop("run_id")
        out.append(s)
    return out


def test_csv_export_imports_back_to_the_same_summaries(store: Store, tmp_path: Path) -> None:
    ids = [_probe_like_run(store)]
    for f in FILES[:2]:
        ids += [r.run_id for r in import_file(store, f)]
    paths = export_runs(store, ids, "csv", tmp_path / "runs.csv")
    assert [p.name for p in paths] == ["runs.csv", "runs.summaries.csv"]
    other = Store(tmp_path / "other.duckdb")
    back = import_file(other, paths[0])
    assert len(back) == len(ids)
    assert _summaries(other, [r.run_id for r in back]) == _summaries(store, ids)
    # Settings travel too: labels, tags, load, source tool, sweep group.
    infos = [other.get_run(r.run_id) for r in back]
    assert (
        infos[0] is not None and infos[0].tags == ("a", "b") and infos[0].source_tool == "inferlab"
    )
    sweep = {i.group_id for i in infos[2:5] if i}
    assert len(sweep) == 1 and None not in sweep  # the guidellm sweep


def test_summaries_csv_has_one_row_per_run(store: Store, tmp_path: Path) -> None:
    ids = [r.run_id for r in import_file(store, FILES[1])]
    _, sums = export_runs(store, ids, "csv", tmp_path / "x.csv")
    df = pd.read_csv(sums)
    assert list(df["run_id"]) == ids
    assert df.loc[0, "ttft_p50_ms"] == pytest.approx(store.summary(ids[0]).ttft_ms.p50)
    assert "rps" in df and "source_tool" in df


def test_parquet_export_keeps_list_columns(store: Store, tmp_path: Path) -> None:
    rid = import_file(store, FILES[0])[0].run_id
    req, sums = export_runs(store, [rid], "parquet", tmp_path / "x.parquet")
    df = pd.read_parquet(req)
    assert len(df) == 24 and len(df["chunk_offsets_ms"].iloc[0]) == 32
    assert pd.read_parquet(sums).loc[0, "requests"] == 24


def test_json_export_holds_info_summary_metadata_and_requests(store: Store, tmp_path: Path) -> None:
    rid = import_file(store, FILES[0])[0].run_id
    (path,) = export_runs(store, [rid], "json", tmp_path / "x.json")
    doc = json.loads(path.read_text())
    run = doc["runs"][0]
    assert run["summary"] == store.summary(rid).to_json()
    assert run["info"]["source_tool"] == "aiperf"
    assert run["metadata"]["import"]["format"] == "aiperf"
    assert any(m["name"] == "time_to_first_token" for m in run["metadata"]["tool_metrics"])
    assert len(run["requests"]) == 24


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_exports_hold_no_secrets(store: Store, fmt: str) -> None:
    rid = _probe_like_run(store)
    files = export_bytes(store, [rid], fmt)
    assert files
    for data in files.values():
        assert SECRET.encode() not in data
        assert b"user:" not in data


def test_unknown_run_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(UnknownRunError, match="no run 'nope'"):
        export_runs(store, ["nope"], "csv", tmp_path / "x.csv")


def test_report_is_one_self_contained_interactive_file(store: Store) -> None:
    ids = [r.run_id for r in import_file(store, FILES[1])]
    ids.append(import_file(store, FILES[0])[0].run_id)
    page = build_report(store, ids, slo=None)
    assert page.startswith("<!DOCTYPE html>")
    # plotly.js is embedded once; nothing is loaded from elsewhere.
    assert page.count("Plotly.newPlot") >= 8
    assert not re.search(r"<script[^>]+src=", page)
    assert page.count("plotly.js v") <= 2  # the library's banner, once
    for rid in ids:
        assert rid in page
    assert "Sweep" in page  # the guidellm file is a sweep group
    assert "Little's law" in page
    assert page.index("<strong>Verdict</strong>") < page.index("<h2>TTFT")  # verdict on top
    assert "the baseline." in page
    assert "aiperf's numbers vs inferlab's" in page
    assert "inter_token_latency avg" in page  # the tool's own metric names
    # the dashboard's white look, not plotly's grey default theme
    assert '"plot_bgcolor":"#FFFFFF"' in page.replace(" ", "")
    assert "#E5ECF6" not in page  # plotly's grey plot background


def test_report_tables_name_runs_by_label_not_id(store: Store) -> None:
    from inferlab.compare import Slo

    ids = [r.run_id for r in import_file(store, FILES[1])]  # a guidellm sweep: one label
    page = build_report(store, ids, slo=Slo(ttft_ms=500.0))
    for heading in ("Service-level objectives", "Little's law check"):
        section = page[page.index(heading) :]
        table = section[: section.index("</table>")]
        rows = re.findall(r"<tr><td>([^<]*)</td>", table)
        assert len(rows) == len(ids), rows
        assert all(r.startswith("guidellm concurrent") for r in rows), rows
        assert not any(rid in r for rid in ids for r in rows)
        assert len(set(rows)) == len(rows)


def test_report_charts_and_comparison_use_the_same_unique_names(store: Store) -> None:
    """Issue 16: the report's legends said "label · run id" while its verdict said
    "label · c=1"; every part names a run the same way now."""
    from inferlab.compare import run_names
    from inferlab.compare.loaders import load_run

    ids = [r.run_id for r in import_file(store, FILES[1])]  # a sweep: one shared label
    names = run_names([load_run(store, rid) for rid in ids])
    assert len(set(names.values())) == len(ids)
    page = build_report(store, ids, slo=None)
    legends = set(re.findall(r'"name":"([^"]*)"', page))
    for name in names.values():
        assert name in legends
        assert f"<li>{name}:" in page  # the verdict
        assert f"<th>{name}" in page  # the comparison table's header
    assert not any(f"· {rid}" in n for n in legends for rid in ids)
    assert re.search(r"<p>(<strong>Knee</strong> at|No knee: )", page)  # the sweep's sentence


def test_report_notes_runs_of_another_model(isolated_db: Path, store: Store) -> None:
    from tests.runs_data import store_run

    store_run(isolated_db, "a", label="small", n=40)
    store_run(isolated_db, "b", label="alike", n=40, seed=1)
    assert "Different models" not in build_report(store, ["a", "b"], slo=None)
    store_run(isolated_db, "c", label="big", n=40, model="qwen-32b", seed=2)
    page = build_report(store, ["a", "c"], slo=None)
    verdict = page[page.index('<div class="verdict">') :]
    verdict = verdict[: verdict.index("</div>")]
    assert "Different models: the baseline small ran test-model, big ran qwen-32b" in verdict


def test_report_refuses_unknown_runs_and_bad_baseline(store: Store) -> None:
    rid = import_file(store, FILES[0])[0].run_id
    with pytest.raises(UnknownRunError):
        build_report(store, [rid, "nope"])
    with pytest.raises(ValueError, match="baseline"):
        build_report(store, [rid], baseline="other")


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_parquet_and_json_exports_import_back_to_the_same_summaries(
    store: Store, tmp_path: Path, fmt: str
) -> None:
    ids = [_probe_like_run(store)]
    ids += [r.run_id for r in import_file(store, FILES[1])]
    ids.append(import_file(store, FIX / "vllm-summary.json")[0].run_id)  # aggregates only
    paths = export_runs(store, ids, fmt, tmp_path / f"runs.{fmt}")
    other = Store(tmp_path / "other.duckdb")
    back = import_file(other, paths[0])
    want = ids if fmt == "json" else ids[:-1]  # a run without requests has no rows in Parquet
    assert len(back) == len(want)
    assert _summaries(other, [r.run_id for r in back]) == _summaries(store, want)
    if fmt == "json":
        # The tool's own numbers travel with the JSON export.
        from inferlab.importers import import_info

        info = import_info(other, back[-1].run_id)
        assert info is not None and any(m.name == "mean_ttft_ms" for m in info.tool_metrics)
