"""Background probe jobs against the in-process simulated endpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from inferlab.dashboard.jobs import (
    JobError,
    JobManager,
    dashboard_sim_config,
    get_manager,
    list_models,
    probe_simulator_once,
    ui_message,
)
from inferlab.netpolicy import Limits, NetPolicy
from inferlab.probe import ProbeConfig
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store

FAST = dashboard_sim_config(ttft_ms=5, tpot_ms=1)
OPEN = NetPolicy()


@pytest.fixture
def manager() -> Iterator[JobManager]:
    m = JobManager(sim_process=False)  # the dashboard's own runs in a child process
    yield m
    m.shutdown()


def cfg(url: str, **kw: object) -> ProbeConfig:
    base: dict[str, object] = {
        "url": url,
        "model": "inferlab-sim",
        "concurrency": 4,
        "requests": 12,
        "prompt_tokens": 16,
        "max_tokens": 8,
    }
    base.update(kw)
    return ProbeConfig(**base)  # type: ignore[arg-type]


def wait_until(cond, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_job_runs_to_completion_and_saves_every_request(
    manager: JobManager, isolated_db: Path
) -> None:
    url = manager.sim_url(FAST)
    job = manager.start(cfg(url, label="smoke", tags=("a",)), policy=OPEN, session_id="s1")
    assert job.wait(60)
    snap = job.snapshot()
    assert (snap.state, snap.done, snap.failed, snap.fraction) == ("completed", 12, 0, 1.0)
    assert snap.saved and snap.label == "smoke" and snap.session_id == "s1"
    assert len(snap.points) == 12 and all(p.ok for p in snap.points)
    store = Store(isolated_db)
    assert store.run_status(job.run_id) == "completed"
    assert len(store.requests_frame(job.run_id)) == 12
    summary: Any = store.summary(job.run_id).to_json()
    assert snap.ttft_p50_ms == pytest.approx(summary["ttft_ms"]["p50"])
    assert snap.ttft_p95_ms == pytest.approx(summary["ttft_ms"]["p95"])
    assert snap.tpot_p50_ms == pytest.approx(summary["tpot_ms"]["p50"])
    # the sim sends the first token 5 ms after admission: the client cannot see it sooner
    assert snap.ttft_p50_ms is not None and snap.ttft_p50_ms >= 5
    assert snap.tpot_p50_ms is not None and snap.tpot_p95_ms is not None
    assert snap.tpot_p95_ms >= snap.tpot_p50_ms >= 0
    assert manager.get(job.run_id) is job and manager.jobs()[0] is job


def test_cancel_stops_the_job_and_keeps_completed_requests(
    manager: JobManager, isolated_db: Path
) -> None:
    url = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=10))
    job = manager.start(cfg(url, concurrency=2, requests=1000, max_tokens=20), policy=OPEN)
    wait_until(lambda: job.snapshot().done >= 2)
    assert job.snapshot().active
    assert manager.cancel(job.run_id)
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.state == "cancelled" and 2 <= snap.done < 1000
    store = Store(isolated_db)
    assert store.run_status(job.run_id) == "cancelled"
    assert len(store.requests_frame(job.run_id)) == snap.done


def test_two_jobs_run_at_once(manager: JobManager, isolated_db: Path) -> None:
    # Neither job can end on its own before the test cancels it (10,000 requests of
    # 20 tokens at 5 ms each): both are active when both have measured a request,
    # however slowly the machine starts their processes. No race, only events.
    config = dashboard_sim_config(ttft_ms=5, tpot_ms=5)
    endless = {"requests": 10_000, "max_tokens": 20}
    url_a = manager.sim_url(config)
    a = manager.start(cfg(url_a, label="A", **endless), policy=OPEN)
    # The same settings while A runs: a sim of its own, not A's (they would queue
    # behind each other's streams and read each other's load as the server's).
    url_b = manager.sim_url(config)
    assert url_b != url_a
    b = manager.start(
        cfg(url_b, label="B", load_mode="constant", rate_rps=50.0, **endless), policy=OPEN
    )
    assert a.run_id != b.run_id
    wait_until(lambda: a.snapshot().done >= 1 and b.snapshot().done >= 1, timeout_s=120)
    assert a.active and b.active
    for job in (a, b):
        job.cancel()
    assert a.wait(60) and b.wait(60)
    store = Store(isolated_db)
    for job in (a, b):
        snap = job.snapshot()
        assert snap.state == "cancelled" and snap.done >= 1
        assert len(store.requests_frame(job.run_id)) == snap.done
    assert [j.run_id for j in manager.jobs()] == [b.run_id, a.run_id]
    # Both done: the next probe reuses an idle sim, the other idle one is stopped.
    assert manager.sim_url(config) in (url_a, url_b) and len(manager.own_urls()) == 1


def test_progress_is_visible_while_running_and_its_timer_never_runs_backwards(
    manager: JobManager,
) -> None:
    url = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=5))
    job = manager.start(
        cfg(url, concurrency=2, requests=10_000, max_tokens=10, warmup=4), policy=OPEN
    )
    elapsed: list[float] = []

    def measuring() -> bool:
        snap = job.snapshot()
        elapsed.append(snap.elapsed_s)
        return snap.done >= 4

    wait_until(measuring, timeout_s=120)  # through the warm-up into the measured phase
    snap = job.snapshot()
    elapsed.append(snap.elapsed_s)
    assert snap.active  # 10,000 requests: it cannot have finished
    assert snap.phase == "measure" and 0 < snap.fraction < 1  # type: ignore[operator]
    assert snap.ttft_p50_ms is not None and snap.planned == 10_000
    job.cancel()
    assert job.wait(60)
    elapsed.append(job.snapshot().elapsed_s)
    assert elapsed == sorted(elapsed)  # warm-up -> measure -> finished: never backwards


def test_unreachable_endpoint_is_refused_before_a_job_starts(manager: JobManager) -> None:
    with SimServer(FAST) as sim:
        dead = sim.base_url
    with pytest.raises(JobError, match="Nothing is listening") as err:
        manager.start(cfg(dead), policy=OPEN)
    assert "--" not in str(err.value)
    assert manager.jobs() == []


def test_wrong_key_is_refused_with_a_clear_message_before_a_job_starts(
    manager: JobManager,
) -> None:
    # The preflight sends one request, so a rejected key never becomes a job.
    with (
        SimServer(SimConfig(ttft_ms=1, tpot_ms=1, api_key="right-key-123")) as sim,
        pytest.raises(JobError) as err,
    ):
        manager.start(cfg(sim.base_url, api_key="wrong-key-456", requests=500), policy=OPEN)
    message = str(err.value)
    assert "rejected the credentials" in message and "check the API key" in message
    assert "wrong-key-456" not in message and "--api-key-env" not in message
    assert manager.jobs() == []


def test_forbidden_target_and_limits_are_refused(manager: JobManager) -> None:
    with pytest.raises(JobError, match="link-local"):
        manager.start(cfg("http://169.254.10.10:8000/v1"), policy=OPEN)
    tight = NetPolicy(limits=Limits(max_concurrency=4, max_requests=10, max_running_jobs=1))
    url = manager.sim_url(FAST)
    with pytest.raises(JobError, match="Concurrency 8 is above"):
        manager.start(cfg(url, concurrency=8), policy=tight)
    with pytest.raises(JobError, match="12 requests is above"):
        manager.start(cfg(url), policy=tight)
    allow_other = NetPolicy(allowed=("api.example.com",))
    # the built-in sim is served by this process: allowed despite the allow-list
    job = manager.start(cfg(url, requests=2), policy=allow_other)
    assert job.wait(30)
    with pytest.raises(JobError, match="not on this dashboard's list"):
        manager.start(cfg("http://127.0.0.1:1/v1"), policy=allow_other)


def test_running_jobs_per_session_are_limited(manager: JobManager) -> None:
    url = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=10))
    one = NetPolicy(limits=Limits(max_running_jobs=1))
    job = manager.start(
        cfg(url, requests=1000, concurrency=1, max_tokens=20), policy=one, session_id="x"
    )
    with pytest.raises(JobError, match="still running"):
        manager.start(cfg(url), policy=one, session_id="x")
    other = manager.start(cfg(url, requests=2), policy=one, session_id="y")
    job.cancel()
    assert job.wait(30) and other.wait(30)


def test_rate_mode_gets_the_concurrency_cap_and_duration_runs_stop_by_count(
    manager: JobManager,
) -> None:
    policy = NetPolicy(limits=Limits(max_concurrency=16, max_requests=50))
    c = manager.apply_limits(
        ProbeConfig(
            url="http://x/v1",
            model="m",
            load_mode="poisson",
            rate_rps=5.0,
            concurrency=0,
            requests=None,
            duration_s=10.0,
        ),
        policy,
    )
    assert c.concurrency == 16 and c.requests == 50


def test_every_dashboard_request_gets_a_deadline_within_the_limits(manager: JobManager) -> None:
    policy = NetPolicy(limits=Limits(max_duration_s=30.0))
    base = ProbeConfig(url="http://x/v1", model="m", timeout_s=60, max_tokens=4096)
    assert manager.apply_limits(base, policy).request_deadline_s == 30.0  # default clamped
    small = replace(base, max_tokens=8, timeout_s=5)
    assert manager.apply_limits(small, policy).request_deadline_s == 5 + 8 * 0.5
    with pytest.raises(JobError, match="request deadline of 90 s is above"):
        manager.apply_limits(replace(base, request_deadline_s=90.0), policy)
    with pytest.raises(JobError, match="caps a request at"):
        manager.apply_limits(replace(base, max_response_bytes=1 << 30), policy)


def test_sim_restart_with_new_settings_keeps_busy_instances(manager: JobManager) -> None:
    first = manager.sim_url(FAST)
    assert manager.sim_url(FAST) == first
    slow = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=10))
    assert slow != first and manager.own_urls() == [slow]
    job = manager.start(cfg(slow, requests=1000, concurrency=1, max_tokens=20), policy=OPEN)
    third = manager.sim_url(FAST)
    assert set(manager.own_urls()) == {slow, third}  # the busy one is kept
    job.cancel()
    assert job.wait(30)
    current = manager.sims.current()
    assert current is not None and current[1] == third


def test_probe_simulator_once_saves_a_run(isolated_db: Path) -> None:
    run_id = probe_simulator_once(requests=4, concurrency=4, max_tokens=4)
    store = Store(isolated_db)
    assert store.run_status(run_id) == "completed"
    assert len(store.requests_frame(run_id)) == 4
    assert get_manager().get(run_id) is not None


def test_api_key_never_reaches_the_database_or_spool(
    manager: JobManager, isolated_db: Path
) -> None:
    key = "sk-test-DO-NOT-STORE-8c1f"
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=1, api_key=key)) as sim:
        job = manager.start(cfg(sim.base_url, api_key=key, requests=4), policy=OPEN)
        assert job.wait(30)
    assert job.snapshot().state == "completed" and job.snapshot().failed == 0
    files = [p for p in isolated_db.parent.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert key.encode() not in path.read_bytes(), path
    assert key not in repr(job.snapshot()) and job.cfg.api_key is None  # dropped at the end


def test_ui_message_replaces_cli_flags() -> None:
    assert ui_message(
        "nothing is listening at x (connection refused); start the server "
        "(or `inferlab sim`) or fix --url"
    ) == (
        "Nothing is listening at x (connection refused); start the server or fix the endpoint URL"
    )
    assert "check the API key" in ui_message(
        "rejected (HTTP 401); set the key in an environment variable and pass --api-key-env VAR"
    )


class _Redirector:
    """A loopback server that answers every request with a redirect to `target`."""

    def __init__(self, target: str) -> None:
        import http.server
        import threading

        location = target

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(302)
                self.send_header("Location", location + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_redirects_are_never_followed(manager: JobManager) -> None:
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=1)) as sim:
        redirector = _Redirector(sim.url)
        try:
            with pytest.raises(JobError, match="Redirects are not followed"):
                list_models(redirector.url, policy=OPEN)
            # The preflight meets the redirect first, so no job starts.
            with pytest.raises(JobError, match="302"):
                manager.start(cfg(redirector.url, requests=3), policy=OPEN)
            assert manager.jobs() == []
        finally:
            redirector.close()
        assert sim.truth() == []  # nothing reached the host the redirect pointed to


def test_a_server_that_is_not_openai_compatible_is_named(manager: JobManager) -> None:
    import http.server
    import threading

    class Html(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>Welcome to nginx</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        with pytest.raises(JobError, match="not an OpenAI-compatible API") as err:
            manager.start(cfg(url), policy=OPEN)
        assert "--url" not in str(err.value)
        with pytest.raises(JobError, match="OpenAI model list"):
            list_models(url, policy=OPEN)
    finally:
        server.shutdown()
        server.server_close()
    assert manager.jobs() == []


def test_server_errors_are_measured_not_taken_for_a_bad_setup(manager: JobManager) -> None:
    url = manager.sim_url(dashboard_sim_config(ttft_ms=1, tpot_ms=1, error_500_pct=100))
    job = manager.start(cfg(url, requests=8), policy=OPEN)
    assert job.wait(30)
    snap = job.snapshot()
    assert (snap.state, snap.done, snap.failed, snap.error) == ("completed", 8, 8, None)


def test_a_job_measures_in_its_own_process(manager: JobManager, isolated_db: Path) -> None:
    import os

    url = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=10))
    job = manager.start(cfg(url, concurrency=2, requests=1000, max_tokens=20), policy=OPEN)
    pid = job.worker_pid
    assert pid is not None and pid != os.getpid()
    wait_until(lambda: job.snapshot().done >= 2)
    snap = job.snapshot()
    assert snap.active and snap.points and snap.ttft_p50_ms is not None
    job.cancel()
    assert job.wait(30)
    assert job.snapshot().state == "cancelled"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the process ended with the job


def test_a_process_that_dies_fails_the_job_and_keeps_its_requests(
    manager: JobManager, isolated_db: Path
) -> None:
    import os
    import signal

    url = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=10))
    job = manager.start(cfg(url, concurrency=2, requests=1000, max_tokens=20), policy=OPEN)
    wait_until(lambda: job.snapshot().done >= 4)
    pid = job.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.state == "failed" and not snap.active
    assert snap.error is not None and "ended unexpectedly" in snap.error
    assert "interrupted run" in snap.error and f"{-signal.SIGKILL}" in snap.error
    store = Store(isolated_db)
    assert store.run_status(job.run_id) == "interrupted"
    assert len(store.requests_frame(job.run_id)) >= 4


def test_thread_mode_runs_the_same_job(isolated_db: Path) -> None:
    m = JobManager(sim_process=False, job_process=False)
    try:
        url = m.sim_url(FAST)
        job = m.start(cfg(url, requests=6), policy=OPEN, check_endpoint=False)
        assert job.worker_pid is None
        assert job.wait(30)
        snap = job.snapshot()
        assert (snap.state, snap.done, snap.failed, snap.saved) == ("completed", 6, 0, True)
        assert Store(isolated_db).run_status(job.run_id) == "completed"
    finally:
        m.shutdown()


def test_a_run_that_cannot_be_saved_is_refused_at_start(
    manager: JobManager, isolated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    import inferlab.dashboard.jobs as jobs_module
    from inferlab.probe import make_run_info as original

    url = manager.sim_url(FAST)
    first = manager.start(cfg(url, requests=2), policy=OPEN)
    assert first.wait(30)
    # The probe's process opens the run writer: a duplicate run id is refused there.
    monkeypatch.setattr(
        jobs_module, "make_run_info", lambda c: replace(original(c), run_id=first.run_id)
    )
    with pytest.raises(JobError, match="already exists"):
        manager.start(cfg(url, requests=2), policy=OPEN)
    assert len(Store(isolated_db).requests_frame(first.run_id)) == 2


def test_the_api_key_is_not_in_the_probe_process_arguments_or_environment(
    manager: JobManager, isolated_db: Path
) -> None:
    key = "sk-test-NOT-IN-ARGV-41d7"
    with SimServer(SimConfig(ttft_ms=5, tpot_ms=10, api_key=key)) as sim:
        job = manager.start(
            cfg(sim.base_url, api_key=key, concurrency=1, requests=1000, max_tokens=20),
            policy=OPEN,
        )
        wait_until(lambda: job.snapshot().done >= 1)
        pid = job.worker_pid
        assert pid is not None
        for name in ("cmdline", "environ"):
            assert key.encode() not in Path(f"/proc/{pid}/{name}").read_bytes(), name
        job.cancel()
        assert job.wait(30)
    assert job.snapshot().failed == 0  # the key did reach the endpoint, in memory


def _system_like_dns(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """Like socket.getaddrinfo: a non-ASCII name is looked up in its IDNA 2003 spelling."""

    def resolve(host: str) -> list[str]:
        name = host.encode("idna").decode("ascii")
        if name not in table:
            raise OSError("name does not resolve")
        return table[name]

    return resolve


def _port_free_on_both() -> int:
    import socket

    for _ in range(50):
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.2", 0))
            port: int = a.getsockname()[1]
            try:
                b.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no common free port")


ONLY_127_0_0_2 = NetPolicy(allowed=("127.0.0.2/32",), source="INFERLAB_ALLOWED_TARGETS")


def test_an_internationalised_name_cannot_bypass_the_allow_list() -> None:
    # issue 18: hosts entries strasse -> 127.0.0.2 (allowed), xn--strae-oqa -> 127.0.0.1
    dns = _system_like_dns(
        {"strasse.evil.test": ["127.0.0.2"], "xn--strae-oqa.evil.test": ["127.0.0.1"]}
    )
    port = _port_free_on_both()
    m = JobManager(sim_process=False, job_process=False, resolve=dns)
    try:
        with SimServer(FAST, host="127.0.0.1", port=port) as decoy:
            url = f"http://straße.evil.test:{port}/v1"
            with pytest.raises(JobError, match="not on this dashboard's list"):
                m.start(cfg(url), policy=ONLY_127_0_0_2)
            with pytest.raises(JobError, match="not on this dashboard's list"):
                list_models(url, policy=ONLY_127_0_0_2, resolve=dns)
            assert decoy.stats()["requests"] == 0 and m.jobs() == []
    finally:
        m.shutdown()


def test_the_probe_and_its_preflight_connect_only_to_the_checked_address(
    isolated_db: Path,
) -> None:
    # The name answers 127.0.0.2 when checked and 127.0.0.1 ever after (DNS rebinding);
    # the job runs in its own process, where the name does not resolve at all.
    calls: list[str] = []

    def rebinding(host: str) -> list[str]:
        calls.append(host)
        return ["127.0.0.2"] if len(calls) == 1 else ["127.0.0.1"]

    port = _port_free_on_both()
    m = JobManager(sim_process=False, resolve=rebinding)
    try:
        with (
            SimServer(FAST, host="127.0.0.2", port=port) as good,
            SimServer(FAST, host="127.0.0.1", port=port) as decoy,
        ):
            url = f"http://straße.evil.test:{port}/v1"
            models = list_models(url, policy=ONLY_127_0_0_2, resolve=rebinding)
            assert models == ("inferlab-sim",)
            calls.clear()
            job = m.start(cfg(url, requests=5), policy=ONLY_127_0_0_2)
            assert job.worker_pid is not None  # its own process
            assert job.wait(30)
            snap = job.snapshot()
            assert (snap.state, snap.done, snap.failed) == ("completed", 5, 0), snap.error
            assert calls == ["xn--strae-oqa.evil.test"]  # checked once, never again
            # the preflight's tiny request and the 5 of the run, all on the checked address
            assert good.stats()["requests"] >= 6 and decoy.stats()["requests"] == 0
    finally:
        m.shutdown()


def test_a_dashboard_probe_is_the_cli_probe(manager: JobManager, isolated_db: Path) -> None:
    # Same engine, same settings, same facts: the dashboard's job (its own process) and
    # `inferlab probe` record the same run settings, both with validity facts, and both
    # open their 8 connections before the clock (the first wave sends like any other).
    # The TTFT p50s agree within 0.7 ms on a loaded 2-core machine:
    # bench/bench_dashboard_vs_cli.py measures it (docs/PERFORMANCE.md).
    from inferlab.cli import main

    url = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=1))
    settings = {"concurrency": 8, "requests": 8, "max_tokens": 8, "prompt_tokens": 16}
    job = manager.start(cfg(url, **settings), policy=OPEN)
    assert job.wait(60)
    argv = ["probe", "--url", url, "--model", "inferlab-sim", "--label", "cli"]
    argv += [f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]
    assert main(argv) == 0
    store = Store(isolated_db)
    cli_id = next(r for r in store.list_runs()["run_id"] if r != job.run_id)
    runs = [store.get_run(job.run_id), store.get_run(str(cli_id))]
    assert all(r is not None for r in runs)
    dash, cli = (r.settings for r in runs if r is not None)
    assert dash == cli
    for run_id in (job.run_id, str(cli_id)):
        v = store.validity(run_id)
        assert v.verdict in ("valid", "suspect") and v.facts is not None
        assert v.facts.target_concurrency == 8 and v.facts.connections_opened == 8
        assert len(store.requests_frame(run_id)) == 8


def test_a_many_stream_dashboard_probe_runs_on_worker_processes(
    manager: JobManager, isolated_db: Path
) -> None:
    # The CLI's choice for the same settings (auto: more than 64 streams -> processes),
    # started from the job's own (daemonic) process; the job card names the engine.
    url = manager.sim_url(FAST)
    job = manager.start(cfg(url, concurrency=80, requests=80), policy=OPEN)
    assert job.wait(120)
    snap = job.snapshot()
    assert snap.state == "completed", snap.error
    assert snap.engine == "engine processes x2"
    store = Store(isolated_db)
    run = store.get_run(job.run_id)
    assert run is not None and run.settings["engine"] == "processes"
    assert run.settings["workers"] == 2
    assert sorted(store.requests_frame(job.run_id)["index"]) == list(range(80))
    facts = store.validity(job.run_id).facts
    assert facts is not None and facts.engine == "processes" and facts.workers == 2
