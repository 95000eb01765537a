"""The Probe page's pure core: link checks, key sources, config and share values."""

from __future__ import annotations

import pytest

from inferlab.charts.probe import live_latency
from inferlab.dashboard.jobs import LivePoint
from inferlab.dashboard.params import share_url
from inferlab.dashboard.probe import (
    FormValues,
    KeySourceError,
    build_config,
    defaults,
    link_problems,
    parse_tags,
    resolve_api_key,
    share_values,
)
from inferlab.netpolicy import NetPolicy

OPEN = NetPolicy()


def key(source: str, **kw: object) -> str | None:
    args: dict[str, object] = {
        "typed": None,
        "env_name": None,
        "secret_name": None,
        "environ": {},
        "secrets": None,
        "policy": OPEN,
    }
    args.update(kw)
    result: str | None = resolve_api_key(source, **args)  # type: ignore[arg-type]
    return result


def test_key_sources() -> None:
    assert key("none", typed="ignored") is None
    assert key("field", typed=" sk-1 ") == "sk-1"
    assert key("env", env_name="OPENAI_API_KEY", environ={"OPENAI_API_KEY": "sk-2"}) == "sk-2"
    assert key("secret", secret_name="team", secrets={"api_keys": {"team": "sk-3"}}) == "sk-3"


@pytest.mark.parametrize(
    ("source", "kw", "words"),
    [
        ("field", {"typed": "  "}, "field is empty"),
        ("env", {"env_name": ""}, "Name the environment variable"),
        ("env", {"env_name": "PATH"}, "does not look like an API key"),
        ("env", {"env_name": "MISSING_API_KEY"}, "is not set"),
        ("secret", {"secret_name": "x", "secrets": {}}, "No entry 'x'"),
        ("secret", {"secret_name": "x", "secrets": {"api_keys": {"x": 3}}}, "No entry 'x'"),
    ],
)
def test_missing_keys_say_what_to_do(source: str, kw: dict[str, object], words: str) -> None:
    with pytest.raises(KeySourceError, match=words):
        key(source, **kw)


def test_link_problems_name_numbers_choices_and_keys() -> None:
    problems = link_problems(
        {"requests": "0", "load_mode": "burst", "api": "Chat completions", "api_key": "sk"}
    )
    text = " ".join(problems)
    assert "`requests`" in text and "`load_mode`" in text and "'Poisson arrivals'" in text
    assert "`api`" not in text
    assert "API key parameter" in text
    assert link_problems({"target": "Another endpoint", "requests": "20"}) == []


def test_build_config_per_load_mode() -> None:
    closed = build_config(
        FormValues(url=" http://h/v1 ", model="m", concurrency=3, tags="a,b,a"), "k"
    )
    assert (closed.url, closed.concurrency, closed.rate_rps, closed.duration_s) == (
        "http://h/v1",
        3,
        None,
        None,
    )
    assert closed.tags == ("a", "b") and closed.api_key == "k"
    open_loop = build_config(
        FormValues(
            url="http://h/v1",
            model="m",
            load_mode="poisson",
            rate_rps=2.5,
            max_in_flight=16,
            duration_s=30.0,
        ),
        None,
    )
    assert (open_loop.load_mode, open_loop.rate_rps, open_loop.concurrency) == ("poisson", 2.5, 16)
    assert open_loop.duration_s == 30.0
    assert build_config(FormValues(url="u", model=" "), None).model == ""  # refused at launch


def test_share_values_use_labels_and_never_the_key() -> None:
    form = FormValues(url="http://h/v1", model="m", load_mode="constant", rate_rps=3.0, label="x")
    values = share_values(form, "url", "field", {})
    assert values["target"] == "Another endpoint" and values["load_mode"] == "Constant rate"
    assert values["key_source"] == "Type it in" and "concurrency" not in values
    link = share_url("http://localhost:8501/probe", values, defaults())
    assert "key=" not in link.replace("key_source=", "")
    assert (
        share_url(
            "http://x/probe",
            share_values(FormValues(url="", model="inferlab-sim"), "sim", "none", {}),
            defaults(),
        )
        == "http://x/probe"
    )


def test_parse_tags() -> None:
    assert parse_tags(" a, b ,,a , c ") == ("a", "b", "c")


def test_live_chart_has_both_panels_and_marks_failures() -> None:
    points = [
        LivePoint(0.5, 200.0, 20.0, 2000.0, True),
        LivePoint(0.9, None, None, None, False, "http_500"),
        LivePoint(1.2, 210.0, None, 210.0, True),
    ]
    fig = live_latency(points)
    names = [t.name for t in fig.data]
    assert names == ["TTFT (ms)", "TPOT (ms/token)", "failed (1)"]
    assert list(fig.data[0].y) == [200.0, 210.0] and list(fig.data[1].y) == [20.0]
    assert fig.layout.yaxis.title.text == "TTFT (ms)"
    assert fig.layout.xaxis2.title.text == "Request finished (s since start)"
    assert len(live_latency([]).data) == 2


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("http://user:pw@gpu:8000/v1", "http://gpu:8000/v1"),
        ("https://a@b:c@[::1]:8000/v1", "https://[::1]:8000/v1"),
        ("http://:pw@gpu/v1", "http://gpu/v1"),
        ("user:pw@gpu:8000/v1", "gpu:8000/v1"),  # not a URL yet: still no password kept
        ("http://gpu:8000/v1/@team", "http://gpu:8000/v1/@team"),  # '@' in the path is fine
        ("http://gpu:8000/v1", "http://gpu:8000/v1"),
        ("", ""),
    ],
)
def test_user_info_is_taken_out_of_the_url(url: str, clean: str) -> None:
    from inferlab.dashboard.probe import without_user_info

    assert without_user_info(url) == clean


def test_share_link_and_link_check_never_keep_user_info() -> None:
    from inferlab.dashboard.probe import link_problems

    form = FormValues(url="http://user:s3cret@gpu:8000/v1", model="m")
    values = share_values(form, "url", "field", {})
    assert values["url"] == "http://gpu:8000/v1"
    assert "s3cret" not in share_url("http://dash/probe", values, {})
    (message,) = link_problems({"url": ["http://user:s3cret@gpu:8000/v1"]})
    assert "user name or password" in message and "API key field" in message
    assert "s3cret" not in message
    assert link_problems({"url": ["http://gpu:8000/v1/@team"]}) == []
