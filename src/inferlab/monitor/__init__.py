"""Continuous monitoring: recurring probes, per-series trends, change points and alerts.

`series` names a monitored configuration and finds its runs by tag, `changes`
detects level shifts in a metric's history (PELT from ruptures, plus a minimum
effect size), `trends` turns the stored runs of a series into points and a
report, `alerts` parses rules and decides which fire (once per change),
`deliver` sends them to a command or a webhook, and `schedule` runs the probe
every interval. Never imports streamlit.
"""

from inferlab.monitor.alerts import Alert, AlertRule, RuleError, evaluate_rules, parse_rules
from inferlab.monitor.changes import (
    METRICS,
    Change,
    MetricSpec,
    detect_changes,
    metric_spec,
)
from inferlab.monitor.series import (
    MONITOR_TAG,
    SERIES_TAG_PREFIX,
    SeriesError,
    check_series_name,
    series_name,
    series_of,
    series_tag,
)
from inferlab.monitor.trends import (
    SeriesPoint,
    SeriesTrend,
    load_series,
    series_points,
    trend_of,
)

__all__ = [
    "METRICS",
    "MONITOR_TAG",
    "SERIES_TAG_PREFIX",
    "Alert",
    "AlertRule",
    "Change",
    "MetricSpec",
    "RuleError",
    "SeriesError",
    "SeriesPoint",
    "SeriesTrend",
    "check_series_name",
    "detect_changes",
    "evaluate_rules",
    "load_series",
    "metric_spec",
    "parse_rules",
    "series_name",
    "series_of",
    "series_points",
    "series_tag",
    "trend_of",
]
