import json
import threading
from pathlib import Path
from typing import Any

import pytest

from inferlab.cli import main
from inferlab.probe import ConfigError, MemorySink
from inferlab.probe.quality import (
    QualityProbeConfig,
    answer_text,
    list_eval_sets,
    load_eval_set,
    parse_eval_set,
    run_quality_sync,
)
from inferlab.records import RunInfo
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store
from inferlab.store.quality import QualityStore


def test_shipped_eval_sets_are_well_formed() -> None:
    sets = list_eval_sets()
    assert {"arithmetic", "capitals", "units"} <= set(sets)
    for name in sets:
        items = load_eval_set(name)
        assert len(items) >= 10
        assert len({i.id for i in items}) == len(items)
        assert all(i.reference.strip() and "Answer with only" in i.prompt for i in items)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "has no items"),
        ("{not json", "line 1 is not JSON"),
        ('{"reference": "x"}', '"prompt" must be a non-empty string'),
        ('{"prompt": "q"}', '"reference" (or "answer") must be a string'),
        (
            '{"prompt": "q", "reference": "a", "id": "x"}\n{"prompt": "r", "answer": "b", "id": "x"}',
            "used twice",
        ),
        ("[1, 2]", "expected an object"),
    ],
)
def test_bad_eval_sets_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_eval_set(text, "set.jsonl")
    assert message in str(exc.value)


def test_load_eval_set_missing_file_lists_shipped_sets(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shipped set"):
        load_eval_set(tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match="not UTF-8"):
        load_eval_set(bad)


def test_answer_text_joins_content_deltas() -> None:
    chat = (
        b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":"New"}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":" Delhi"}}]}\n\n'
        b'data: {"choices":[],"usage":{"completion_tokens":2}}\n\n'
        b"data: [DONE]\n\n"
        b'data: {"choices":[{"delta":{"content":"ignored"}}]}\n\n'
    )
    assert answer_text(chat) == "New Delhi"
    comp = b'data: {"choices":[{"text":"4"}]}\n\ndata: {"choices":[{"text":"2"}]}\n\ndata: [DONE]\n'
    assert answer_text(comp, "completions") == "42"
    assert answer_text(b"garbage\ndata: {broken\n") == ""


def config(url: str, set_name: str = "capitals", **kw: Any) -> QualityProbeConfig:
    items = tuple(load_eval_set(set_name))
    return QualityProbeConfig(url, "inferlab-sim", set_name, items, **kw)


def answers(set_name: str) -> dict[str, str]:
    return {i.prompt: i.reference for i in load_eval_set(set_name)}


def test_quality_run_against_the_sim_scores_what_the_sim_was_told(isolated_db: Path) -> None:
    sim_cfg = SimConfig(
        ttft_ms=5, tpot_ms=1, answers=answers("capitals"), answer_accuracy=0.5, seed=3
    )
    store = Store(isolated_db)
    qstore = QualityStore(isolated_db)
    with SimServer(sim_cfg) as sim:
        cfg = config(sim.base_url, repeats=3, temperatures=(0.0,), concurrency=4)
        writer: Any = store.run_writer  # a Sink whose close() also reports success
        results = run_quality_sync(
            cfg,
            writer,
            save=lambda r: qstore.save(
                r.info.run_id,
                group_id=r.info.group_id,
                eval_set=cfg.eval_set,
                repeats=cfg.repeats,
                outputs=r.outputs,
                scores=r.report.by_temperature[0],
            ),
        )
    (result,) = results
    t0 = result.report.by_temperature[0]
    # round(0.5 x 20) = 10 prompts answered right, always, at temperature 0.
    assert (t0.requests, t0.failed, t0.answered) == (60, 0, 60)
    assert t0.exact_match == pytest.approx(0.5)
    assert t0.identical_share == 1.0 and t0.pairwise_similarity == 1.0
    # Timings of the same run are in the store like any probe's.
    summary = store.summary(result.info.run_id)
    assert summary.requests == 60 and summary.failed == 0
    assert summary.ttft_ms.p50 is not None and summary.ttft_ms.p50 >= 5
    info = store.get_run(result.info.run_id)
    assert info is not None and "quality" in info.tags
    assert info.settings["temperature"] == 0.0 and info.settings["quality_eval_set"] == "capitals"
    # Answers and scores are stored beside it.
    outputs = qstore.outputs(result.info.run_id)
    assert len(outputs) == 60 and all(o.output for o in outputs)
    assert qstore.exact_match_pct(result.info.run_id) == pytest.approx(50.0)
    scores = qstore.scores()
    assert list(scores["run_id"]) == [result.info.run_id]
    assert qstore.exact_match_pct("nope") is None


def test_temperature_reaches_the_server_and_errors_are_classified() -> None:
    sim_cfg = SimConfig(
        ttft_ms=2,
        tpot_ms=1,
        answers=answers("arithmetic"),
        answer_accuracy=0.8,
        answer_determinism=0.0,
        error_500_pct=20,
        seed=5,
    )
    sinks: list[MemorySink] = []

    def open_sink(info: RunInfo) -> MemorySink:
        sinks.append(MemorySink())
        return sinks[-1]

    with SimServer(sim_cfg) as sim:
        cfg = config(sim.base_url, "arithmetic", repeats=4, temperatures=(0.0, 1.0))
        results = run_quality_sync(cfg, open_sink)
    t0, t1 = (r.report.by_temperature[0] for r in results)
    # Determinism 0: answers vary only when the temperature is above 0.
    assert t0.identical_share == 1.0
    assert t1.identical_share is not None and t1.identical_share < 1.0
    for t, sink in zip((t0, t1), sinks, strict=True):
        failed = [r for r in sink.records if not r.ok]
        assert t.failed == len(failed) > 0
        assert t.failure_classes == {"http_500": len(failed)}
        assert sink.status == "completed" and len(sink.records) == 80
    assert results[0].info.group_id == results[1].info.group_id


def test_cancel_stops_sending_and_marks_the_run() -> None:
    cancel = threading.Event()
    cancel.set()
    sink = MemorySink()
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=1, answers=answers("units"))) as sim:
        (result,) = run_quality_sync(config(sim.base_url, "units"), lambda _: sink, cancel=cancel)
    assert result.status == "cancelled" and sink.status == "cancelled" and not sink.records


def test_bad_settings_fail_before_sending() -> None:
    with pytest.raises(ConfigError, match="--repeats 0"):
        config("http://127.0.0.1:1/v1", repeats=0).validate()
    with pytest.raises(ConfigError, match="--temperature 3"):
        config("http://127.0.0.1:1/v1", temperatures=(3.0,)).validate()
    with pytest.raises(ConfigError, match="not an http"):
        config("ftp://x").validate()


def test_cli_prints_json_and_saves_runs(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimServer(SimConfig(ttft_ms=2, tpot_ms=1, answers=answers("units"))) as sim:
        code = main(
            [
                "quality",
                "--url",
                sim.base_url,
                "--model",
                "inferlab-sim",
                "--eval-set",
                "units",
                "--repeats",
                "2",
                "--temperature",
                "0,0.7",
                "--json",
            ]
        )
    assert code == 0
    objs = json.loads(capsys.readouterr().out)
    assert [o["temperature"] for o in objs] == [0.0, 0.7]
    assert all(o["exact_match"] == 1.0 and o["requests"] == 30 for o in objs)
    assert len(QualityStore(isolated_db).scores()) == 2


def test_cli_user_mistakes_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["quality", "--model", "m"]
    assert main([*base, "--url", "http://127.0.0.1:1/v1", "--eval-set", "nope"]) == 2
    assert "--eval-set: no evaluation set 'nope'" in capsys.readouterr().err
    assert main([*base, "--url", "http://127.0.0.1:1/v1", "--eval-set", "units"]) == 1
    assert "connection refused" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*base, "--url", "http://x/v1", "--eval-set", "units", "--temperature", "hot"])
    assert exc.value.code == 2


def test_the_quality_probe_connects_only_to_the_checked_address() -> None:
    from inferlab.netpolicy import Pins

    sim_cfg = SimConfig(ttft_ms=1, tpot_ms=1, answers=answers("units"))
    with SimServer(sim_cfg, host="127.0.0.2") as sim:
        url = f"http://quality-box.test:{sim.port}/v1"  # a name no DNS answers
        pins = Pins((("quality-box.test", sim.port, ("127.0.0.2",)),))
        sink = MemorySink()
        (result,) = run_quality_sync(config(url, "units", repeats=1, pins=pins), lambda _: sink)
        assert result.status == "completed" and sink.records and all(r.ok for r in sink.records)
        other = MemorySink()
        wrong = Pins((("elsewhere.test", sim.port, ("127.0.0.2",)),))
        run_quality_sync(config(url, "units", repeats=1, pins=wrong), lambda _: other)
        assert other.records and not any(r.ok for r in other.records)
        assert {r.error_class for r in other.records} == {"connect_error"}
