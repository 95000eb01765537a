"""`inferlab probe` scrapes the sim; `inferlab show --json` gives the server block beside the client's."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from inferlab.cli import main
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store

KEYS = {
    "kind", "endpoint", "scrapes", "prompt_tokens", "generation_tokens", "requests_completed",
    "ttft_ms", "decode_ms_per_token", "queue_ms", "waiting_max", "running_max",
    "kv_cache_max_pct", "other_traffic", "notes", "simulated",
}  # fmt: skip


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(SimConfig(ttft_ms=5, tpot_ms=1)) as s:
        yield s


def probe(sim: SimServer, db: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    args = ["probe", "--url", sim.base_url, "--model", "inferlab-sim", "--requests", "4"]
    assert main([*args, "--max-tokens", "9", "--db", str(db), "--json", *flags]) == 0
    out = json.loads(capsys.readouterr().out)
    return str(out["run_id"])


def show(run_id: str, db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["show", run_id, "--db", str(db), "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_show_json_has_the_server_block(
    sim: SimServer, isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = probe(sim, isolated_db, capsys, "--server-metrics-interval", "0.2")
    server = show(run_id, isolated_db, capsys)["server"]
    assert isinstance(server, dict) and set(server) == KEYS
    assert server["kind"] == "vllm" and server["endpoint"].endswith("/metrics")
    assert server["simulated"] is True  # vLLM's names, but the sim says what it is
    assert server["generation_tokens"] == 4 * 9 and server["requests_completed"] == 4
    assert server["other_traffic"] is False
    assert set(server["ttft_ms"]) == {"mean", "p50_estimate", "p99_estimate"}


def test_no_server_metrics_gives_null(
    sim: SimServer, isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = probe(sim, isolated_db, capsys, "--no-server-metrics")
    assert show(run_id, isolated_db, capsys)["server"] is None


def test_a_bad_server_metrics_url_is_a_clear_usage_error(
    sim: SimServer, isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["probe", "--url", sim.base_url, "--model", "m", "--server-metrics", "ftp://x/metrics"]
    assert main([*args, "--db", str(isolated_db)]) != 0
    err = capsys.readouterr().err
    assert "--server-metrics 'ftp://x/metrics' is not an http(s) URL" in err
    assert "Traceback" not in err


def test_probe_and_show_print_the_server_lines(
    sim: SimServer, isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["probe", "--url", sim.base_url, "--model", "inferlab-sim", "--requests", "3"]
    assert main([*args, "--max-tokens", "5", "--db", str(isolated_db)]) == 0
    out = capsys.readouterr().out
    assert (
        "server inferlab simulator (vLLM's metric names) at" in out
        and "generation tokens 15, requests completed 3" in out
    )
    assert "decode" in out and "ms/token" in out


def test_a_server_metrics_url_with_a_password_is_refused_without_echoing_it(
    sim: SimServer, isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = "http://u:hunter2@127.0.0.1:9/metrics"
    args = ["probe", "--url", sim.base_url, "--model", "m", "--server-metrics", bad]
    assert main([*args, "--db", str(isolated_db)]) != 0
    err = capsys.readouterr().err
    assert "user name or password" in err and "hunter2" not in err


def test_a_run_whose_server_served_others_keeps_it_and_compare_says_so(
    isolated_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimServer(SimConfig(ttft_ms=2, tpot_ms=1)) as shared:
        clean = probe(shared, isolated_db, capsys, "--server-metrics-interval", "0.2")
        stop, answered = threading.Event(), threading.Event()

        def someone_else() -> None:  # another client, sending until the probe is done
            body = {"model": "inferlab-sim", "max_tokens": 4, "prompt": "hi"}
            with httpx.Client(timeout=10) as client:
                while not stop.is_set():
                    client.post(f"{shared.base_url}/completions", json=body)
                    answered.set()

        other = threading.Thread(target=someone_else, daemon=True)
        other.start()
        try:
            assert answered.wait(30)  # the other traffic is flowing before the probe starts
            busy = probe(shared, isolated_db, capsys, "--server-metrics-interval", "0.2")
        finally:
            stop.set()
            other.join(30)
    meta = Store(isolated_db).run_metadata(busy)
    assert "requests" in meta["other_traffic"]  # "the server completed N requests, ..."
    assert "other_traffic" not in Store(isolated_db).run_metadata(clean)
    assert main(["compare", clean, busy, "--db", str(isolated_db), "--json"]) in (0, 1)
    verdict = json.loads(capsys.readouterr().out)["verdict"]
    assert "a server shared with other traffic (" in verdict[1]
    assert "shared" not in verdict[0]
