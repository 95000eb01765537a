from urllib.parse import parse_qs, urlparse

from inferlab.dashboard.latency import LATENCY_PARAMS
from inferlab.dashboard.params import NumberParam, check_params, share_url, unknown_messages

TOKENS = NumberParam("tokens", "Output tokens", 256, 1, 1_000_000, integer=True)


def test_valid_and_absent_params_have_no_problems() -> None:
    assert check_params({"ttft_ms": "1200", "tpot_ms": "80", "tokens": "50"}, LATENCY_PARAMS) == []
    assert check_params({}, LATENCY_PARAMS) == []


def test_bad_values_are_named_with_reason_and_fallback() -> None:
    problems = check_params(
        {
            "ttft_ms": "abc",
            "tpot_ms": "-3",
            "tokens": "2000000",
            "ttft_b_ms": "nan",
            "tpot_b_ms": "1e9",
        },
        LATENCY_PARAMS,
    )
    by_name = {p.name: p for p in problems}
    assert set(by_name) == {"ttft_ms", "tpot_ms", "tokens", "ttft_b_ms", "tpot_b_ms"}
    assert "not a number" in by_name["ttft_ms"].reason
    assert "below the minimum" in by_name["tpot_ms"].reason
    assert "above the maximum 1,000,000" in by_name["tokens"].reason
    assert "finite" in by_name["ttft_b_ms"].reason
    assert by_name["tokens"].fallback == 256
    assert "default 256" in by_name["tokens"].message("Output tokens")


def test_integer_param_rejects_fractions() -> None:
    assert check_params({"tokens": "2.5"}, [TOKENS])[0].reason == "2.5 is not a whole number"
    assert TOKENS.parse("50") == 50


def test_repeated_param_uses_last_value() -> None:
    assert check_params({"tokens": ["abc", "5"]}, [TOKENS]) == []


def test_share_url_keeps_only_changed_values_and_round_trips() -> None:
    defaults = {p.name: p.default for p in LATENCY_PARAMS}
    values = {**defaults, "ttft_ms": 1200.0, "tpot_ms": 80.0, "tokens": 50}
    url = share_url("http://localhost:8501/latency?old=1", values, defaults)
    assert url == "http://localhost:8501/latency?ttft_ms=1200&tpot_ms=80&tokens=50"
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    assert check_params(query, LATENCY_PARAMS) == []
    assert share_url("http://x/latency", defaults, defaults) == "http://x/latency"


def test_seconds_are_never_in_scientific_notation() -> None:
    from inferlab.dashboard.params import seconds

    assert seconds(5.2) == "5.2 s"
    assert seconds(5.12, 4) == "5.12 s"
    assert seconds(20000.2) == "20,000 s"
    assert seconds(12345.6, 4) == "12,346 s"
    assert "e+" not in seconds(1e7)


def test_durations_side_by_side_have_as_many_decimals() -> None:
    from inferlab.dashboard.params import seconds_alike

    assert seconds_alike([5.32, 5.3], 4) == ["5.32 s", "5.30 s"]
    assert seconds_alike([5.2, 5.12], 4) == ["5.20 s", "5.12 s"]
    assert seconds_alike([6.0, 6.0], 4) == ["6 s", "6 s"]
    assert seconds_alike([20480.4, 1.5], 4) == ["20,480.4 s", "1.5 s"]


def test_visitor_token_survives_the_cookie_being_re_masked() -> None:
    from inferlab.dashboard.widgets import _xsrf_token

    token = bytes(range(16))

    def cookie(mask: bytes) -> str:
        masked = bytes(t ^ mask[i % 4] for i, t in enumerate(token))
        return f"2|{mask.hex()}|{masked.hex()}|1700000000"

    assert _xsrf_token(cookie(b"\x01\x02\x03\x04")) == token
    assert _xsrf_token(cookie(b"\xff\x00\xaa\x55")) == token
    assert _xsrf_token("2|zz|yy|1") is None and _xsrf_token("2|only|three") is None


def test_unknown_link_parameters_are_named_with_the_closest_setting() -> None:
    messages = unknown_messages(["concurrency", "zzz", "conc"], ["conc", "params_b", "tpot_ms"])
    assert len(messages) == 2  # `conc` is a setting: nothing to say
    assert messages[0].startswith("The link's `concurrency` is not a setting of this page")
    assert "did you mean `conc`?" in messages[0]
    assert messages[1].startswith("The link's `zzz`") and "did you mean" not in messages[1]
    assert unknown_messages(["conc"], ["conc"]) == []
