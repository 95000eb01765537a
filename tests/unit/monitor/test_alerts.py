"""Alert rules parse with clear errors, and fire once per change or breach, never every run."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from inferlab.monitor import Alert, RuleError, evaluate_rules, parse_rules, trend_of
from inferlab.monitor.alerts import alert_from_row, alert_row
from tests.unit.monitor.helpers import points


def test_rules_parse_relative_and_threshold_forms() -> None:
    rise, errors, absolute, fall = parse_rules("ttft_p95>+20%, error_rate>2%,e2e_p95>5000")[:3] + (
        parse_rules(["output_tps<-10%"])
    )
    assert (rise.metric, rise.op, rise.value, rise.relative) == ("ttft_p95", ">", 0.2, True)
    assert (errors.value, errors.relative) == (0.02, False)
    assert (absolute.value, absolute.relative) == (5000, False)
    assert (fall.value, fall.relative, fall.text) == (-0.1, True, "output_tps<-10%")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("ttft_p95", "must look like METRIC>VALUE"),
        ("ttft_p96>+20%", "unknown metric 'ttft_p96'"),
        ("ttft_p95>20%", "ttft_p95>+20%"),
        ("ttft_p95>+20", "needs %"),
        ("ttft_p95>-20%", "can never fire"),
        ("", "--alert is empty"),
    ],
)
def test_bad_rules_say_what_to_write(text: str, says: str) -> None:
    with pytest.raises(RuleError, match=says.replace("+", r"\+").replace("%", "%")):
        parse_rules(text)


def fire_as_runs_arrive(rule: str, values: Sequence[float | None], metric: str) -> list[Alert]:
    """Evaluate after every run, as the monitor does, remembering what fired."""
    rules = parse_rules(rule)
    fired: list[Alert] = []
    for n in range(1, len(values) + 1):
        trend = trend_of("s", points(values[:n], metric))
        fired += evaluate_rules(rules, trend, fired)
    return fired


def test_a_relative_rule_fires_once_for_one_change() -> None:
    values: list[float | None] = [50.0, 51, 49, 50, 52, 50, 300.0, 302, 298, 301, 299, 300]
    (alert,) = fire_as_runs_arrive("ttft_p95>+20%", values, "ttft_p95")
    assert alert.kind == "change" and alert.run_id == "run006"
    assert alert.before == pytest.approx(50, abs=1) and alert.after == pytest.approx(300, abs=2)
    assert "TTFT p95" in alert.message and "run006" in alert.message


def test_a_relative_rule_fires_again_for_a_second_change() -> None:
    values = [50.0] * 5 + [100.0] * 5 + [200.0] * 5
    alerts = fire_as_runs_arrive("ttft_p95>+20%", values, "ttft_p95")
    assert [a.run_id for a in alerts] == ["run005", "run010"]


def test_a_better_change_does_not_fire_a_rise_rule() -> None:
    assert fire_as_runs_arrive("ttft_p95>+20%", [300.0] * 5 + [50.0] * 5, "ttft_p95") == []


def test_a_change_smaller_than_the_rule_does_not_fire() -> None:
    assert fire_as_runs_arrive("ttft_p95>+50%", [100.0] * 5 + [130.0] * 5, "ttft_p95") == []


def test_a_threshold_fires_once_per_breach_and_again_after_recovery() -> None:
    values: list[float | None] = [0, 0, 0.5, 1, 1, 1, 0, 0, 1, 1]
    alerts = fire_as_runs_arrive("error_rate>2%", values, "error_rate")
    assert [a.run_id for a in alerts] == ["run002", "run008"]
    assert alerts[0].kind == "threshold" and alerts[0].before == 0 and alerts[0].after == 0.5


def test_runs_without_a_value_neither_breach_nor_recover() -> None:
    values: list[float | None] = [100, 900, None, 900, None, 900]
    alerts = fire_as_runs_arrive("e2e_p95>500", values, "e2e_p95")
    assert [a.run_id for a in alerts] == ["run001"]


def test_an_alert_survives_the_store_round_trip_shape() -> None:
    (alert,) = fire_as_runs_arrive("error_rate>2%", [0, 1], "error_rate")
    assert alert_from_row(alert_row(alert)) == alert
