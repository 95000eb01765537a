"""The Runs page's state: its URL parameters (runs, baseline, convention, metric, SLO),
their checks and the share link. The page lays these out; the data comes from
:mod:`inferlab.compare`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlencode

from inferlab.compare.loaders import DEFAULT_CONVENTION, DEFAULT_METRIC, METRIC_KEYS, METRIC_NAMES
from inferlab.compare.runs import CONVENTIONS, MAX_COMPARE
from inferlab.dashboard.params import NumberParam, check_params

__all__ = [
    "SLO_PARAMS",
    "SLO_SPEC",
    "link_problems",
    "runs_share_url",
    "url_run_ids",
]

MAX_LIMIT_MS = 3_600_000.0
SLO_PARAMS: tuple[NumberParam, ...] = (
    NumberParam("slo_ttft_ms", "TTFT limit (ms)", 0.0, 0.0, MAX_LIMIT_MS),
    NumberParam("slo_tpot_ms", "TPOT limit (ms)", 0.0, 0.0, MAX_LIMIT_MS),
    NumberParam("slo_e2e_ms", "E2E limit (ms)", 0.0, 0.0, MAX_LIMIT_MS),
    NumberParam("slo_target_pct", "Attainment target (%)", 95.0, 1.0, 100.0),
)
SLO_SPEC = {p.name: p for p in SLO_PARAMS}


def _all(query: Mapping[str, str | list[str]], name: str) -> list[str]:
    raw = query.get(name)
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


def url_run_ids(query: Mapping[str, str | list[str]]) -> list[str]:
    """Run ids in the link (`runs` repeated, as Streamlit writes them), de-duplicated."""
    out: list[str] = []
    for raw in _all(query, "runs"):
        if raw and raw not in out:
            out.append(raw)
    return out


def link_problems(query: Mapping[str, str | list[str]], existing_ids: Iterable[str]) -> list[str]:
    """Messages for every link value the page cannot use, naming it and the fallback."""
    existing = set(existing_ids)
    messages: list[str] = []
    ids = url_run_ids(query)
    missing = [i for i in ids if i not in existing]
    if missing:
        shown = ", ".join(f"`{i}`" for i in missing)
        rest = len(ids) - len(missing)
        messages.append(
            f"The link names {len(missing)} run(s) that no longer exist: {shown}. "
            + (
                f"Showing the other {rest}."
                if rest
                else "None of its runs exist; showing the newest runs instead."
            )
        )
    found = [i for i in ids if i in existing]
    if len(found) > MAX_COMPARE:
        messages.append(
            f"The link selects {len(found)} runs; at most {MAX_COMPARE} can be compared, "
            f"so only the first {MAX_COMPARE} are shown."
        )
    baseline = _all(query, "baseline")
    if baseline and found and baseline[-1] not in found[:MAX_COMPARE]:
        messages.append(
            f"The link's `baseline` ({baseline[-1]}) is not among the selected runs; "
            "using the first selected run as the baseline."
        )
    for name, allowed, default in (
        ("convention", tuple(CONVENTIONS), DEFAULT_CONVENTION),
        ("metric", tuple(METRIC_KEYS), METRIC_NAMES[DEFAULT_METRIC]),
    ):
        value = _all(query, name)
        if value and value[-1] not in allowed:
            messages.append(
                f"The link's `{name}` ({value[-1]}) was ignored: choose one of "
                f"{', '.join(allowed)}. Using {default} instead."
            )
    for problem in check_params(query, SLO_PARAMS):
        messages.append(problem.message(SLO_SPEC[problem.name].label))
    return messages


def runs_share_url(
    base_url: str,
    run_ids: Sequence[str],
    baseline: str | None,
    convention: str,
    metric: str,
    slo_values: Mapping[str, float | None],
) -> str:
    """The share link: run ids always, other values only when not the default."""
    base = base_url.split("?", 1)[0]
    params: list[tuple[str, str]] = [("runs", r) for r in run_ids]
    if baseline and run_ids and baseline != run_ids[0]:
        params.append(("baseline", baseline))
    if convention != DEFAULT_CONVENTION:
        params.append(("convention", convention))
    if metric != DEFAULT_METRIC:
        params.append(("metric", METRIC_NAMES[metric]))
    for p in SLO_PARAMS:
        v = slo_values.get(p.name)
        if v is not None and v != p.default:
            params.append((p.name, f"{v:g}"))
    return f"{base}?{urlencode(params)}" if params else base
