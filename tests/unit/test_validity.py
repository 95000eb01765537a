"""The validity verdict: what a run's own client cost, judged (pure functions)."""

from __future__ import annotations

import json

from inferlab.validity import ValidityFacts, comparison_warning, judge, validity_json

CALM = ValidityFacts(
    loop_lag_p50_ms=0.4,
    loop_lag_p99_ms=2.0,
    loop_lag_max_ms=6.0,
    loop_lag_samples=500,
    client_cpu_pct=12.0,
    target_concurrency=64.0,
    achieved_concurrency=63.5,
    dispatch_lag_p50_ms=0.2,
    dispatch_lag_p99_ms=1.5,
    connections_opened=64,
    connect_p50_ms=0.2,
    connect_max_ms=0.9,
    kernel_stamps=True,
)


def with_(**kw: object) -> ValidityFacts:
    return ValidityFacts.from_json({**CALM.to_json(), **kw})


def test_a_calm_client_gives_a_valid_run() -> None:
    v = judge(CALM)
    assert (v.verdict, v.reasons, v.label) == ("valid", (), "valid")


def test_event_loop_lag_makes_a_run_suspect_and_says_what_it_means() -> None:
    v = judge(with_(loop_lag_p99_ms=40.0))
    assert v.verdict == "suspect"
    assert v.reasons == ("client event loop lagged 40 ms at p99: TTFT and ITL may read high",)
    assert v.label.startswith("suspect: client event loop lagged 40 ms")


def test_a_worst_stall_far_beyond_the_p99_is_named_too() -> None:
    # p99 30 ms but one 365 ms stall: "30 ms" alone understated what a request could see.
    v = judge(with_(loop_lag_p99_ms=30.0, loop_lag_max_ms=365.0))
    assert v.reasons[0] == (
        "client event loop lagged 30 ms at p99 and 365 ms at worst: TTFT and ITL may read high"
    )
    assert "at worst" not in judge(with_(loop_lag_p99_ms=40.0, loop_lag_max_ms=70.0)).reasons[0]


def test_one_long_stall_is_named_even_with_a_low_p99() -> None:
    v = judge(with_(loop_lag_max_ms=250.0))
    assert v.verdict == "suspect" and "stalled once for 250 ms" in v.reasons[0]


def test_busy_client_short_load_and_late_dispatch_are_each_reasons() -> None:
    v = judge(with_(client_cpu_pct=95.0, achieved_concurrency=40.0, dispatch_lag_p99_ms=120.0))
    assert v.verdict == "suspect" and len(v.reasons) == 3
    assert "95% of a core" in v.reasons[0]
    assert "only 40.0 of 64 streams" in v.reasons[1]
    assert "120 ms late" in v.reasons[2]


def test_rate_runs_are_judged_on_the_rate_they_achieved() -> None:
    facts = with_(target_concurrency=None, achieved_concurrency=None, target_rps=10.0)
    assert judge(ValidityFacts.from_json({**facts.to_json(), "achieved_rps": 9.8})).verdict == (
        "valid"
    )
    short = judge(ValidityFacts.from_json({**facts.to_json(), "achieved_rps": 6.0}))
    assert short.reasons == ("sent 6.00 requests/s of the 10 asked",)


def test_runs_without_facts_are_unknown_and_say_why() -> None:
    imported = judge(None, "aiperf")
    assert imported.verdict == "unknown"
    assert imported.reasons == ("imported from aiperf: its client's own cost was not recorded",)
    older = judge(None)
    assert older.verdict == "unknown" and "before inferlab checked" in older.reasons[0]


def test_facts_round_trip_through_json_and_ignore_unknown_keys() -> None:
    data = json.loads(json.dumps(CALM.to_json()))
    assert ValidityFacts.from_json({**data, "from_a_newer_version": 1}) == CALM
    assert with_(loop_lag_p99_ms=float("nan")).to_json()["loop_lag_p99_ms"] is None


def test_json_shape_of_show() -> None:
    out = validity_json(judge(with_(loop_lag_p99_ms=40.0)))
    assert out["verdict"] == "suspect" and out["reasons"]
    assert out["loop_lag_ms"] == {"p50": 0.4, "p99": 40.0, "max": 6.0, "samples": 500}
    assert out["client_cpu_pct"] == 12.0
    assert out["concurrency"] == {"target": 64.0, "achieved": 63.5}
    assert out["dispatch_lag_ms"] == {"p50": 0.2, "p99": 1.5}
    assert out["connections"]["opened"] == 64 and out["kernel_stamps"] is True
    assert validity_json(judge(None, "vllm")) == {
        "verdict": "unknown",
        "reasons": ["imported from vllm: its client's own cost was not recorded"],
    }


def test_a_comparison_with_a_suspect_run_says_so() -> None:
    good, bad = judge(CALM), judge(with_(loop_lag_p99_ms=40.0))
    assert comparison_warning([("baseline a", good), ("run b", good)]) is None
    warning = comparison_warning([("baseline a", good), ("run b", bad)])
    assert warning is not None
    assert warning.startswith("this comparison involves a suspect run")
    assert "run b is suspect: client event loop lagged 40 ms" in warning
    unknown = comparison_warning([("baseline a", judge(None, "guidellm")), ("run b", good)])
    assert unknown == "validity unknown for baseline a (its client's cost was not recorded)"
