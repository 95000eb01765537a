"""ProbeConfig validation, run settings without secrets, and prompts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from inferlab.probe import ConfigError, MemorySink, ProbeConfig, make_run_info, run_probe
from inferlab.probe.config import api_url, endpoint_for_display, sweep_configs
from inferlab.probe.prompts import PromptSource, load_prompts_file, synthetic_prompt
from inferlab.probe.worker import Target


def good(**kw: object) -> ProbeConfig:
    base: dict[str, object] = {"url": "http://127.0.0.1:8001/v1", "model": "m"}
    return ProbeConfig(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"url": "127.0.0.1:8001"}, "not an http(s) URL"),
        ({"url": "http://:80/v1"}, "not an http(s) URL"),
        ({"url": "http://host:abc/v1"}, "invalid port"),
        ({"url": "http://127.0.0.1:8001/v1 x"}, "contains a space"),
        ({"model": " "}, "--model"),
        ({"concurrency": 0}, "--concurrency"),
        ({"load_mode": "poisson", "rate_rps": 0.0}, "--rate"),
        ({"load_mode": "constant"}, "--rate"),
        ({"requests": None}, "--requests N and/or --duration"),
        ({"requests": 0}, "--requests"),
        ({"duration_s": -1.0}, "--duration"),
        ({"warmup": -1}, "--warmup"),
        ({"timeout_s": 0.0}, "--timeout"),
        ({"max_tokens": 0}, "--max-tokens"),
        ({"headers": {"Bad Name": "x"}}, "header name"),
        ({"headers": {"X": "a\r\nb"}}, "line break"),
    ],
)
def test_unusable_settings_are_named(kw: dict[str, object], needle: str) -> None:
    base: dict[str, object] = {"url": "http://127.0.0.1:8001/v1", "model": "m"}
    cfg = ProbeConfig(**{**base, **kw})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=None) as err:
        cfg.validate()
    assert needle in str(err.value)


def test_run_settings_and_info_hold_no_secrets() -> None:
    cfg = good(
        url="http://user:pw@host:8001/v1/?key=abc",
        api_key="sk-secret",
        headers={"X-Api-Token": "tok-secret"},
        tags=("a",),
    )
    info = make_run_info(cfg, group_id="g1")
    text = repr(info) + json.dumps(info.settings) + repr(cfg)
    for secret in ("sk-secret", "tok-secret", "pw", "key=abc"):
        assert secret not in text
    assert info.endpoint == "http://host:8001/v1"
    assert info.settings["header_names"] == ["X-Api-Token"]
    assert info.group_id == "g1" and info.tags == ("a",)


def test_endpoint_for_display_keeps_ipv6_and_port() -> None:
    assert endpoint_for_display("http://[::1]:8001/v1/") == "http://[::1]:8001/v1"


def test_api_paths_keep_the_query_string() -> None:
    target = Target.from_config(good(url="https://h/openai/v1/?api-version=2024"))
    assert target.url == "https://h/openai/v1/chat/completions?api-version=2024"
    assert api_url("http://h:1/v1", "/models") == "http://h:1/v1/models"


def test_sweep_configs_reject_fractional_concurrency() -> None:
    with pytest.raises(ConfigError, match="whole"):
        sweep_configs(good(), [1.5])
    assert [c.concurrency for c in sweep_configs(good(), [1, 8])] == [1, 8]


def test_request_body_asks_for_usage_and_ignore_eos_only_when_asked() -> None:
    from inferlab.probe.prompts import Prompt

    body = json.loads(Target.from_config(good(max_tokens=7)).body(Prompt(text="hi")))
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["max_tokens"] == 7 and "ignore_eos" not in body
    comp = Target.from_config(good(api="completions", ignore_eos=True))
    assert comp.url.endswith("/v1/completions")
    body = json.loads(comp.body(Prompt(text="hi")))
    assert body["prompt"] == "hi" and body["ignore_eos"] is True


def test_synthetic_prompts_have_the_target_length_and_distinct_starts() -> None:
    prompts = [synthetic_prompt(i, 64, seed=1) for i in range(50)]
    assert all(len(p.split()) == 64 for p in prompts)
    starts = {" ".join(p.split()[:8]) for p in prompts}
    assert len(starts) == 50
    assert synthetic_prompt(3, 64, seed=1) == prompts[3]  # seeded
    assert synthetic_prompt(3, 64, seed=2) != prompts[3]


def test_shared_prefix_prompts_differ_only_at_the_end() -> None:
    a = synthetic_prompt(0, 64, seed=1, shared_prefix=True).split()
    b = synthetic_prompt(1, 64, seed=1, shared_prefix=True).split()
    assert len(a) == len(b) == 64
    assert a[:56] == b[:56] and a[56:] != b[56:]


def test_prompts_file_is_read_and_cycled(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text(
        '{"prompt": "one"}\n\n"two"\n'
        '{"messages": [{"role": "user", "content": "three"}], "max_tokens": 5}\n'
    )
    source = PromptSource(good(prompts_file=str(f)))
    assert [source(i).completion_text() for i in range(4)] == ["one", "two", "three", "one"]
    assert source(2).max_tokens == 5


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{broken\n", "line 1 is not JSON"),
        ('{"prompt": "a"}\n[1]\n', "line 2: expected an object"),
        ('{"messages": [{"role": "user"}]}\n', 'string "role" and "content"'),
        ('{"prompt": "a", "max_tokens": -3}\n', "max_tokens"),
        ("\n\n", "has no prompts"),
    ],
)
def test_broken_prompts_files_name_the_line(tmp_path: Path, content: str, needle: str) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_prompts_file(f)
    assert needle in str(err.value)


def test_missing_prompts_file_fails_before_sending_and_closes_the_sink(tmp_path: Path) -> None:
    sink = MemorySink()
    with pytest.raises(ConfigError, match="does not exist"):
        asyncio.run(run_probe(good(prompts_file=str(tmp_path / "nope.jsonl")), sink))
    assert sink.status == "failed" and sink.records == []
