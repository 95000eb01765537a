"""Alert rules, and which alerts fire: once per change, never on every run.

A rule is ``METRIC OP VALUE`` (``,`` between rules), METRIC one of
`changes.METRICS` (``ttft_p95``, ``error_rate``, ...) and OP ``>`` or ``<``:

- ``ttft_p95>+20%`` (a signed percentage) is relative: it fires when a
  detected change point (`changes.detect_changes`) moved the metric's latest
  segment more than 20 % above the one before. ``output_tps<-10%`` likewise.
- ``error_rate>2%``, ``ttft_p95>500`` (ms), ``output_tps<50`` are thresholds:
  a rule fires when a run breaches it after one that did not (or the first
  run does); it fires again only after a run that is back within it.

Each alert names the run its change or breach started at; rules already fired
for that change (the stored alerts) do not fire again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from inferlab.monitor.changes import METRICS, Change, MetricSpec, metric_spec
from inferlab.monitor.trends import SeriesTrend

__all__ = [
    "Alert",
    "AlertRule",
    "RuleError",
    "alert_from_row",
    "alert_row",
    "evaluate_rules",
    "parse_rules",
]

AlertKind = Literal["change", "threshold"]
_RULE = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+)\s*(?P<op>[<>])\s*(?P<sign>[+-]?)\s*(?P<num>\d+(?:\.\d*)?|\.\d+)"
    r"\s*(?P<pct>%?)\s*$"
)


class RuleError(ValueError):
    """A rule that cannot be read; the message shows the accepted form."""


@dataclass(frozen=True)
class AlertRule:
    """One parsed rule. `value` is a fraction for relative rules and error rates."""

    text: str  # normalised, e.g. "ttft_p95>+20%"
    metric: str
    op: Literal[">", "<"]
    value: float
    relative: bool

    @property
    def spec(self) -> MetricSpec:
        return metric_spec(self.metric)

    def breached_by(self, value: float) -> bool:
        return value > self.value if self.op == ">" else value < self.value

    def describe(self) -> str:
        spec = self.spec
        if self.relative:
            way = "rises" if self.op == ">" else "falls"
            return f"{spec.label} {way} by more than {abs(self.value):.0%} at a change point"
        return f"{spec.label} {'above' if self.op == '>' else 'below'} {spec.fmt(self.value)}"


def _parse_one(text: str) -> AlertRule:
    example = "e.g. ttft_p95>+20%, error_rate>2%, ttft_p95>500 or output_tps<-10%"
    m = _RULE.match(text)
    if m is None:
        raise RuleError(f"alert rule {text.strip()!r} must look like METRIC>VALUE, {example}")
    metric, op, sign, pct = m["metric"], m["op"], m["sign"], m["pct"]
    try:
        spec = metric_spec(metric)
    except KeyError:
        names = ", ".join(x.key for x in METRICS)
        raise RuleError(
            f"alert rule {text.strip()!r}: unknown metric {metric!r}; use {names}"
        ) from None
    number = float(m["num"])
    if sign and not pct:
        raise RuleError(
            f"alert rule {text.strip()!r}: a signed value is a relative change and needs %, "
            f"e.g. {metric}{op}{sign}20%"
        )
    relative = bool(sign)
    if pct and not relative and spec.unit != "%":
        raise RuleError(
            f"alert rule {text.strip()!r}: for a relative change write {metric}{op}+{m['num']}%"
            f" (or {metric}{op}-{m['num']}%); a plain number is in {spec.unit}"
        )
    if relative:
        value = (-number if sign == "-" else number) / 100
        if (op == ">" and value <= 0) or (op == "<" and value >= 0):
            raise RuleError(
                f"alert rule {text.strip()!r} can never fire: use >+N% for a rise, <-N% for a fall"
            )
    else:
        value = number / 100 if pct else number
    shown = f"{sign}{m['num']}{pct}"
    return AlertRule(f"{metric}{op}{shown}", metric, op, value, relative)  # type: ignore[arg-type]


def parse_rules(text: str | Iterable[str]) -> tuple[AlertRule, ...]:
    """Rules from "r1,r2" (or several such strings); RuleError for the first bad one."""
    items = [text] if isinstance(text, str) else list(text)
    rules = [_parse_one(part) for item in items for part in item.split(",") if part.strip()]
    if not rules:
        raise RuleError("--alert is empty; give rules such as ttft_p95>+20%,error_rate>2%")
    return tuple(rules)


@dataclass(frozen=True)
class Alert:
    """A fired alert: what changed, from which run, and the evidence."""

    alert_id: str
    fired_at: datetime
    series: str
    rule: str
    metric: str
    kind: AlertKind
    run_id: str  # the first run of the change or breach
    started_at: datetime  # that run's start
    latest_run_id: str  # the newest run when it fired
    latest_at: datetime  # that run's start
    before: float | None
    after: float
    message: str

    def to_json(self) -> dict[str, object]:
        return {
            "alert_id": self.alert_id,
            "fired_at": self.fired_at.isoformat(),
            "series": self.series,
            "rule": self.rule,
            "metric": self.metric,
            "kind": self.kind,
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "latest_run_id": self.latest_run_id,
            "latest_at": self.latest_at.isoformat(),
            "before": self.before,
            "after": self.after,
            "message": self.message,
        }


def _change_alert(
    rule: AlertRule, trend: SeriesTrend, fired: Sequence[Alert], now: datetime
) -> Alert | None:
    changes: tuple[Change, ...] = trend.changes.get(rule.metric, ())
    if not changes or changes[-1].relative is None:
        return None
    change = changes[-1]
    if not rule.breached_by(change.relative or 0.0):
        return None
    start, latest = trend.at(change), trend.points[-1]
    # A change that began before an earlier alert's newest run is the one that alert
    # reported (PELT may place it a run earlier or later as more runs arrive).
    if any(old.latest_at >= start.started_at for old in fired):
        return None
    spec = rule.spec
    message = (
        f"{trend.series}: {spec.label} {spec.fmt(change.before)} -> {spec.fmt(change.after)} "
        f"({change.relative:+.0%}) since run {start.run_id} "
        f"({start.started_at:%Y-%m-%d %H:%M} UTC); rule {rule.text}"
    )
    return Alert(
        uuid.uuid4().hex[:12], now, trend.series, rule.text, rule.metric, "change",
        start.run_id, start.started_at, latest.run_id, latest.started_at,
        change.before, change.after, message,
    )  # fmt: skip


def _threshold_alert(
    rule: AlertRule, trend: SeriesTrend, fired: Sequence[Alert], now: datetime
) -> Alert | None:
    valued = [(p, p.values.get(rule.metric)) for p in trend.points]
    valued = [(p, v) for p, v in valued if v is not None]
    if not valued or not rule.breached_by(valued[-1][1] or 0.0):
        return None
    first = len(valued) - 1
    while first > 0 and rule.breached_by(valued[first - 1][1] or 0.0):
        first -= 1
    start = valued[first][0]
    if any(old.run_id == start.run_id for old in fired):
        return None
    before = valued[first - 1][1] if first > 0 else None
    after = valued[-1][1] or 0.0
    spec = rule.spec
    since = f"since run {start.run_id} ({start.started_at:%Y-%m-%d %H:%M} UTC)"
    message = f"{trend.series}: {spec.label} {spec.fmt(after)} breaches {rule.text} {since}" + (
        f"; it was {spec.fmt(before)} before" if before is not None else ""
    )
    return Alert(
        uuid.uuid4().hex[:12], now, trend.series, rule.text, rule.metric, "threshold",
        start.run_id, start.started_at, valued[-1][0].run_id, valued[-1][0].started_at,
        before, after, message,
    )  # fmt: skip


def evaluate_rules(
    rules: Sequence[AlertRule],
    trend: SeriesTrend,
    fired: Sequence[Alert],
    now: datetime | None = None,
) -> list[Alert]:
    """Alerts to fire now for `trend`; `fired` are this series' earlier alerts."""
    when = now or datetime.now(UTC)
    out = []
    for rule in rules:
        previous = [a for a in fired if a.rule == rule.text and a.series == trend.series]
        pick = _change_alert if rule.relative else _threshold_alert
        alert = pick(rule, trend, previous, when)
        if alert is not None:
            out.append(alert)
    return out


def alert_row(alert: Alert) -> dict[str, object]:
    """The alert as a row for `Store.add_alert`."""
    row = alert.to_json()
    for col in ("fired_at", "started_at", "latest_at"):
        row[col] = getattr(alert, col)
    row["before_value"] = row.pop("before")
    row["after_value"] = row.pop("after")
    return row


def alert_from_row(row: dict[str, object]) -> Alert:
    """An alert read back by `Store.alerts`."""
    before = row.get("before_value")
    return Alert(
        alert_id=str(row["alert_id"]),
        fired_at=row["fired_at"],  # type: ignore[arg-type]
        series=str(row["series"]),
        rule=str(row["rule"]),
        metric=str(row["metric"]),
        kind="change" if row["kind"] == "change" else "threshold",
        run_id=str(row["run_id"]),
        started_at=row["started_at"],  # type: ignore[arg-type]
        latest_run_id=str(row["latest_run_id"]),
        latest_at=row["latest_at"],  # type: ignore[arg-type]
        before=None if before is None else float(before),  # type: ignore[arg-type]
        after=float(row["after_value"]),  # type: ignore[arg-type]
        message=str(row["message"]),
    )
