"""The Quality page's state: its URL parameters and their checks, the probe form.

Every input is a bound widget checked here first, so a hand-edited link gets a
warning that names the parameter instead of being silently dropped. The
candidates table itself is :mod:`inferlab.quality.table`. The quality probe is
started here as a background job of the dashboard's JobManager
(:func:`start_quality_probe`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from inferlab.dashboard.params import ChoiceParam, NumberParam, last_value
from inferlab.exercise import CHATBOT
from inferlab.quality import (
    METRICS,
    Candidate,
    Constraints,
    QualityOutput,
    QualityReport,
    SatisfactionModel,
    compare_to_baseline,
    exact_match,
    score_outputs,
    violations,
)
from inferlab.quality.runs import run_names
from inferlab.quality.table import EXAMPLE_CANDIDATES, TABLE_PARAM, decode_table
from inferlab.quality.tradeoff import SatisfactionRow, pareto_optimal

if TYPE_CHECKING:
    from inferlab.dashboard.jobs import JobManager
    from inferlab.dashboard.quality_job import QualityJob
    from inferlab.metrics.summary import RunSummary
    from inferlab.probe.quality import EvalItem
    from inferlab.sim import SimConfig
    from inferlab.store import Store

__all__ = [
    "AXIS_LABELS",
    "CHOICE_PARAMS",
    "EDITOR_COLUMNS",
    "MORE_EDITOR_COLUMNS",
    "NUMBER_PARAMS",
    "OPTIONAL_PARAMS",
    "OPTIONS_HELP",
    "OPTIONS_WIDTHS",
    "SATISFACTION_HELP",
    "UNKNOWN",
    "QualityGroup",
    "QualityProbeForm",
    "answers_frame",
    "baseline_comparison",
    "check_probe_params",
    "check_quality_params",
    "exercise_state",
    "find_option",
    "initial_table",
    "load_quality_group",
    "option_names",
    "options_frame",
    "parse_temperatures",
    "quality_group_labels",
    "quality_sim_config",
    "satisfaction_frame",
    "satisfaction_model",
    "share_defaults",
    "shares_probes",
    "shown_quality_job",
    "start_quality_probe",
    "stored_run_labels",
    "temperature_frame",
]

# ---------------------------------------------------------------------------
# URL parameters

AXIS_LABELS: dict[str, str] = {
    "quality_pct": "Quality (%)",
    "satisfaction_pct": "Satisfaction (%)",
    "cost_per_request_usd": "Cost per request ($)",
    "total_latency_s": "Total latency (s)",
    "p95_latency_s": "p95 latency (s)",
    "ttft_ms": "TTFT (ms)",
    "tpot_ms": "TPOT (ms)",
    "error_rate_pct": "Error rate (%)",
}
assert set(AXIS_LABELS) == set(METRICS)
OBJECTIVE_LABELS: dict[str, str] = {
    "satisfaction_pct": "Highest expected satisfaction",
    "quality_pct": "Highest quality",
    "cost_per_request_usd": "Lowest cost per request",
    "total_latency_s": "Lowest total latency",
    "p95_latency_s": "Lowest p95 latency",
    "error_rate_pct": "Lowest error rate",
}


CHOICE_PARAMS: tuple[ChoiceParam, ...] = (
    ChoiceParam("x", "Horizontal axis", AXIS_LABELS, "cost_per_request_usd"),
    ChoiceParam("y", "Vertical axis", AXIS_LABELS, "satisfaction_pct"),
    ChoiceParam("size", "Marker size and colour", AXIS_LABELS, "quality_pct"),
    ChoiceParam("goal", "Optimise for", OBJECTIVE_LABELS, "satisfaction_pct"),
)

_MAX_S = 3_600.0
NUMBER_PARAMS: tuple[NumberParam, ...] = (
    NumberParam(
        "sat_base_pct", "Satisfaction of the baseline (%)", CHATBOT.satisfaction * 100, 0, 100
    ),
    NumberParam("sat_per_s", "Satisfaction points per second", 3.0, 0, 100),
    NumberParam("fast_enough_s", "Fast enough below (s)", 2.0, 0, _MAX_S),
    NumberParam("sat_per_quality", "Satisfaction points per quality point", 1.0, 0, 10),
)
# Constraints: blank (absent from the link) means no limit.
OPTIONAL_PARAMS: tuple[NumberParam, ...] = (
    NumberParam("min_quality_pct", "Minimum quality (%)", 0, 0, 100),
    NumberParam("max_p95_s", "Maximum p95 latency (s)", 0, 0, _MAX_S),
    NumberParam("max_cost_usd", "Maximum cost per request ($)", 0, 0, 1_000),
)
BASELINE_PARAM = "baseline"


def check_quality_params(
    query: Mapping[str, str | list[str]], names: Sequence[str] | None = None
) -> list[str]:
    """Warnings (Markdown) for link values the page cannot use; each names the fallback.

    `names` are the candidate names of the table in effect, used to check the baseline.
    """
    out: list[str] = []
    for p in NUMBER_PARAMS:
        if p.name in query:
            raw = last_value(query[p.name])
            try:
                p.parse(raw)
            except ValueError as exc:
                out.append(
                    f"The link's `{p.name}` ({p.label}) was ignored: {exc}. "
                    f"Using the default {p.default:g} instead; change it in the form."
                )
    for p in OPTIONAL_PARAMS:
        if p.name in query:
            raw = last_value(query[p.name])
            if not raw.strip():
                continue
            try:
                p.parse(raw)
            except ValueError as exc:
                out.append(
                    f"The link's `{p.name}` ({p.label}) was ignored: {exc}. "
                    "No limit is applied; set one in the form."
                )
    for c in CHOICE_PARAMS:
        if c.name in query:
            raw = last_value(query[c.name])
            if raw not in c.options.values():
                choices = ", ".join(f"'{v}'" for v in c.options.values())
                out.append(
                    f"The link's `{c.name}` ({c.label}) was ignored: '{raw}' is not one of "
                    f"{choices}. Using '{c.options[c.default]}' instead."
                )
    if BASELINE_PARAM in query and names is not None:
        raw = last_value(query[BASELINE_PARAM])
        if raw not in names:
            first = names[0] if names else "none"
            out.append(
                f"The link's `{BASELINE_PARAM}` (baseline option) was ignored: '{raw}' is not "
                f"an option in the table. Using '{first}' instead."
            )
    return out


def constraints_from(
    min_quality_pct: float | None, max_p95_s: float | None, max_cost_usd: float | None
) -> Constraints:
    return Constraints(min_quality_pct, max_p95_s, max_cost_usd)


def satisfaction_model(
    baseline: Candidate | None,
    sat_base_pct: float,
    sat_per_s: float,
    fast_enough_s: float,
    sat_per_quality: float,
) -> SatisfactionModel | None:
    """The model anchored on `baseline`; None when the baseline's latency is unknown."""
    if baseline is None or baseline.total_latency_s is None:
        return None
    return SatisfactionModel(
        baseline_satisfaction_pct=sat_base_pct,
        baseline_latency_s=baseline.total_latency_s,
        baseline_quality_pct=baseline.quality_pct,
        pct_per_s=sat_per_s,
        fast_enough_s=fast_enough_s,
        pct_per_quality_pct=sat_per_quality,
    )


def with_source(candidates: Sequence[Candidate], source: str) -> list[Candidate]:
    return [replace(c, source=c.source or source) for c in candidates]


# ---------------------------------------------------------------------------
# The quality probe's form

PROBE_NUMBER_PARAMS: tuple[NumberParam, ...] = (
    NumberParam("q_repeats", "Repeats per prompt", 3, 1, 20, integer=True),
    NumberParam("q_concurrency", "Concurrency", 4, 1, 64, integer=True),
    NumberParam("q_max_tokens", "Max tokens per answer", 64, 1, 4096, integer=True),
    NumberParam("sim_accuracy_pct", "Simulator accuracy (%)", 80, 0, 100),
    NumberParam("sim_determinism_pct", "Simulator determinism (%)", 50, 0, 100),
)
PROBE_TARGETS = {"sim": "Built-in simulator (answer mode)", "url": "Another endpoint"}
TEMPS_PARAM = "q_temps"
DEFAULT_TEMPS = "0, 1"
EVAL_PARAM = "q_eval"
RUN_PARAM = "qrun"
MAX_TEMPERATURES = 4


def parse_temperatures(text: str) -> tuple[float, ...]:
    """'0, 0.7,1' -> (0.0, 0.7, 1.0); ValueError saying what to type."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError("no temperature given; type e.g. 0 or 0, 0.7, 1")
    values = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise ValueError(f"'{p}' is not a number; type e.g. 0, 0.7, 1") from None
        if not (math.isfinite(v) and 0 <= v <= 2):
            raise ValueError(f"{p} is outside 0–2")
        values.append(v)
    unique = tuple(dict.fromkeys(values))
    if len(unique) > MAX_TEMPERATURES:
        raise ValueError(f"at most {MAX_TEMPERATURES} temperatures per probe")
    return unique


def check_probe_params(query: Mapping[str, str | list[str]], eval_sets: Sequence[str]) -> list[str]:
    """Warnings for the quality probe's link values (same wording as the other inputs)."""
    out: list[str] = []
    for p in PROBE_NUMBER_PARAMS:
        if p.name in query:
            try:
                p.parse(last_value(query[p.name]))
            except ValueError as exc:
                out.append(
                    f"The link's `{p.name}` ({p.label}) was ignored: {exc}. "
                    f"Using the default {p.default:g} instead; change it in the form."
                )
    if "q_target" in query and last_value(query["q_target"]) not in PROBE_TARGETS.values():
        out.append(
            f"The link's `q_target` (endpoint) was ignored: '{last_value(query['q_target'])}' is "
            f"not one of {', '.join(repr(v) for v in PROBE_TARGETS.values())}."
        )
    if EVAL_PARAM in query and last_value(query[EVAL_PARAM]) not in eval_sets:
        out.append(
            f"The link's `{EVAL_PARAM}` (evaluation set) was ignored: "
            f"'{last_value(query[EVAL_PARAM])}' is not one of {', '.join(eval_sets)}."
        )
    if TEMPS_PARAM in query:
        try:
            parse_temperatures(last_value(query[TEMPS_PARAM]))
        except ValueError as exc:
            out.append(
                f"The link's `{TEMPS_PARAM}` (temperatures) cannot be used: {exc}. "
                "Fix it in the form before running."
            )
    return out


@dataclass(frozen=True)
class QualityProbeForm:
    """What the quality probe's form says. `typed_key` is a secret: never in repr."""

    target: str  # a key of PROBE_TARGETS
    eval_set: str | None  # a shipped set's name
    eval_path: Path | None
    temperatures: str  # as typed, e.g. "0, 1"
    repeats: int
    concurrency: int
    max_tokens: int
    sim_accuracy_pct: float = 80.0
    sim_determinism_pct: float = 50.0
    url: str = ""
    model: str = ""
    key_source: str = "none"  # none | field | env
    typed_key: str | None = field(default=None, repr=False)
    key_env: str | None = None


def quality_sim_config(
    items: Sequence[EvalItem], accuracy_pct: float, determinism_pct: float
) -> SimConfig:
    """The built-in simulator in answer mode: the set's references, right `accuracy_pct` of
    the time, repeats agreeing `determinism_pct` of the time."""
    from inferlab.sim import SimConfig

    return SimConfig(
        ttft_ms=150.0,
        tpot_ms=15.0,
        jitter_ms=5.0,
        answers={i.prompt: i.reference for i in items},
        answer_accuracy=accuracy_pct / 100,
        answer_determinism=determinism_pct / 100,
        seed=0,
    )


def shown_quality_job(
    manager: JobManager, job_id: str | None, *, shared: bool = False, visitor: str = ""
) -> QualityJob | None:
    """The quality probe this page shows: the one it launched, else the newest running one
    of this visitor (the same browser after a refresh) or, on a dashboard that shares its
    probes (INFERLAB_SHARED_PROBES), of anybody."""
    job = manager.get_quality(job_id) if job_id else None
    if job is not None:
        return job
    return next(
        (
            j
            for j in manager.quality_jobs()
            if j.active and (shared or (visitor and j.session_id == visitor))
        ),
        None,
    )


def shares_probes(secrets: Mapping[str, object]) -> bool:
    """Whether the deployment shows every visitor's probes to everybody (False if unsure)."""
    from inferlab.netpolicy import PolicyError, load_policy

    section = secrets.get("inferlab")
    try:
        policy = load_policy(secrets=section if isinstance(section, Mapping) else None)
    except PolicyError:
        return False  # the form reports the broken setting when a probe is started
    return policy.shared_probes


def start_quality_probe(
    manager: JobManager,
    form: QualityProbeForm,
    *,
    session_id: str,
    environ: Mapping[str, str],
    secrets: Mapping[str, object],
) -> QualityJob:
    """Start the form's quality probe as a background job.

    Raises ValueError (JobError, KeySourceError) with the message to show: bad
    temperatures or set, broken probe settings, a missing URL or model, a key
    that cannot be found, a refused target, a limit, an unreachable endpoint.
    """
    from inferlab.dashboard.jobs import JobError
    from inferlab.dashboard.probe import resolve_api_key
    from inferlab.netpolicy import PolicyError, load_policy
    from inferlab.probe.quality import QualityProbeConfig, load_eval_set

    try:
        temps = parse_temperatures(form.temperatures)
    except ValueError as exc:
        raise JobError(f"Temperatures: {exc}.") from None
    try:
        items = load_eval_set(form.eval_path) if form.eval_path is not None else []
    except ValueError as exc:
        raise JobError(f"Evaluation set: {exc}.") from None
    try:
        section = secrets.get("inferlab")
        policy = load_policy(secrets=section if isinstance(section, Mapping) else None)
    except PolicyError as exc:
        raise JobError(f"The dashboard's probe settings are broken: {exc}.") from None
    api_key: str | None = None
    if form.target == "sim":
        sim_cfg = quality_sim_config(items, form.sim_accuracy_pct, form.sim_determinism_pct)
        try:
            url, model = manager.sim_url(sim_cfg), sim_cfg.model
        except (OSError, RuntimeError) as exc:
            raise JobError(f"The built-in simulator did not start: {exc}; try again.") from None
    else:
        url, model = form.url.strip(), form.model.strip()
        if not url or not model:
            raise JobError("Type the endpoint's API root URL and the model name.")
        api_key = resolve_api_key(
            form.key_source,
            typed=form.typed_key,
            env_name=form.key_env,
            secret_name=None,
            environ=environ,
            secrets=secrets,
            policy=policy,
        )
    cfg = QualityProbeConfig(
        url,
        model,
        form.eval_set or "",
        tuple(items),
        api_key=api_key,
        repeats=form.repeats,
        temperatures=temps,
        concurrency=form.concurrency,
        max_tokens=form.max_tokens,
    )
    return manager.start_quality(
        cfg, session_id=session_id, policy=policy, check_endpoint=form.target != "sim"
    )


# ---------------------------------------------------------------------------
# The options table, Q3 and the constraints


def initial_table(query: Mapping[str, str | list[str]]) -> tuple[list[Candidate], list[str]]:
    """The options table a link opens with (the examples without one), and notes about it."""
    if TABLE_PARAM not in query:
        return list(EXAMPLE_CANDIDATES), []
    try:
        table, problems = decode_table(last_value(query[TABLE_PARAM]))
    except ValueError as exc:
        return list(EXAMPLE_CANDIDATES), [
            f"The link's `{TABLE_PARAM}` (the options table) was ignored: {exc}. "
            "Showing the example options instead."
        ]
    return table, [f"In the link's table: {p}" for p in problems]


def exercise_state() -> dict[str, object]:
    """Widget values (by URL key) that reset the page to the chatbot exercise's assumption."""
    state: dict[str, object] = {p.name: p.default for p in NUMBER_PARAMS}
    state |= {p.name: None for p in OPTIONAL_PARAMS}
    state |= {c.name: c.default for c in CHOICE_PARAMS}
    state[BASELINE_PARAM] = EXAMPLE_CANDIDATES[0].name
    return state


def option_names(candidates: Sequence[Candidate]) -> list[str]:
    return [c.name for c in candidates]


def find_option(candidates: Sequence[Candidate], name: str | None) -> Candidate | None:
    """The first option called `name`, if any."""
    return next((c for c in candidates if c.name == name), None)


def baseline_comparison(
    candidates: Sequence[Candidate], baseline: Candidate, model: SatisfactionModel
) -> str:
    """Every option against the baseline in words, one paragraph each (Markdown)."""
    return "\n\n".join(compare_to_baseline(c, baseline, model) for c in candidates)


def stored_run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """Run id -> 'sweep · c=4 · model · 2026-12-04 03:56' for the stored-runs picker: the
    run's unique name (`run_names`), its model, when it started, and its status unless it
    completed."""
    rows = runs.to_dict("records")
    names = run_names(rows)
    out = {}
    for r in rows:
        run_id = str(r["run_id"])
        started: Any = r.get("started_at")
        date = "" if started is None or pd.isna(started) else f" · {started:%Y-%m-%d %H:%M}"
        status = "" if r.get("status") == "completed" else f" · {r.get('status')}"
        out[run_id] = f"{names[run_id]} · {r['model']}{date}{status}"
    return out


SATISFACTION_HELP: dict[str, str] = {
    "Option": "The option's name in the table above.",
    "Cost ($)": "Per request; — : not known (type it in).",
    "Δ $ per 1k": "Cost of 1,000 requests against the baseline's.",
    "Latency (s)": "Total latency TTFT + TPOT × N.",
    "Quality (%)": "Share of correct answers; — : not known.",
    "Satisfaction (%)": "Expected satisfaction under your assumption.",
    "Δ satisfaction": "Percentage points against the baseline.",
    "$/satisfied request": "Cost per request / share of requests whose user is satisfied.",
    "Break-even (pts/s)": "The latency sensitivity at which an option that trades speed for "
    "quality (or back) is exactly as satisfying as the baseline; — : it does not trade "
    "one against the other, so no sensitivity flips the verdict.",
}


def satisfaction_frame(rows: Sequence[SatisfactionRow]) -> pd.DataFrame:
    """Q3's table: every option against the baseline under the satisfaction model (text
    cells, `UNKNOWN` where unknown)."""
    return pd.DataFrame(
        [
            {
                "Option": r.name,
                "Cost ($)": _num(r.cost_usd, ".4g", "$"),
                "Δ $ per 1k": _num(r.delta_cost_per_1k_usd, "+.2f"),
                "Latency (s)": _num(r.total_latency_s, ".3g"),
                "Quality (%)": _num(r.quality_pct, ".3g"),
                "Satisfaction (%)": _num(r.satisfaction_pct, ".1f"),
                "Δ satisfaction": _num(r.delta_satisfaction_pct, "+.1f"),
                "$/satisfied request": _num(r.usd_per_satisfied_request, ".3g", "$"),
                "Break-even (pts/s)": _num(r.breakeven_pct_per_s, ".3g"),
            }
            for r in rows
        ],
        columns=list(SATISFACTION_HELP),
    )


# The options editor's columns: cost right after quality, the two every comparison needs;
# the rest behind a toggle so the table fits a 1400 px window.
EDITOR_COLUMNS = (
    "name",
    "quality_pct",
    "cost_per_request_usd",
    "ttft_ms",
    "tpot_ms",
    "output_tokens",
    "p95_latency_s",
)
MORE_EDITOR_COLUMNS = ("error_rate_pct", "price_per_mtok_usd", "source")


def editor_columns(show_all: bool) -> list[str]:
    """The options editor's visible columns (hidden ones keep their values)."""
    return [*EDITOR_COLUMNS, *(MORE_EDITOR_COLUMNS if show_all else ())]


UNKNOWN = "—"  # what a table shows for an unknown value (never "None")
OPTIONS_HELP: dict[str, str] = {
    "Option": "The option's name in the table above.",
    "Quality (%)": "Share of correct answers; — : not known (type it in, or run the quality probe).",
    "Latency (s)": "The number the p95 limit is compared with: the measured p95 "
    "end-to-end latency where there is one, else the typical TTFT + TPOT × N.",
    "Statistic": "p95: the latency 95% of requests stay under (from a stored run, or typed "
    "in). typical: TTFT + TPOT × N from medians or typed-in figures; a p95 is higher, so an "
    "option checked this way may still break a p95 limit.",
    "Cost ($)": "Per request. — : not known (type it in; a run does not measure cost).",
    "Errors (%)": "Share of failed requests, measured by a stored run; — : not measured "
    "(typed-in and example options have no error rate).",
    "Pareto-optimal": "yes: no other option is at least as good on quality, latency and "
    "cost and better on one. — : a value is unknown.",
    "Constraints": "✓: meets every limit set above; ✗: what it breaks.",
}

# Short cells narrow, so the constraints broken get the room (fits a 1400 px window).
OPTIONS_WIDTHS: dict[str, int | Literal["small", "medium", "large"]] = {
    "Option": 165,
    "Quality (%)": 90,
    "Latency (s)": 85,
    "Statistic": 75,
    "Cost ($)": 70,
    "Errors (%)": 85,
    "Pareto-optimal": 110,
    "Constraints": "large",
}


def _num(value: float | None, fmt: str, prefix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNKNOWN
    return prefix + format(value, fmt)


def options_frame(candidates: Sequence[Candidate], constraints: Constraints) -> pd.DataFrame:
    """Every option: the latency its limit is checked against (and which statistic that is),
    Pareto-optimality and the constraints it breaks; text cells, `UNKNOWN` where unknown."""
    complete, optimal = pareto_optimal(candidates)
    rows = []
    for c in candidates:
        why = violations(c, constraints)
        rows.append(
            {
                "Option": c.name,
                "Quality (%)": _num(c.quality_pct, ".3g"),
                "Latency (s)": _num(c.slo_latency_s, ".3g"),
                "Statistic": c.latency_basis or UNKNOWN,
                "Cost ($)": _num(c.cost_usd, ".4g", "$"),
                "Errors (%)": _num(c.error_rate_pct, ".3g"),
                "Pareto-optimal": "yes"
                if c.name in optimal
                else ("no" if c in complete else UNKNOWN),
                "Constraints": "✓ meets all" if not why else "✗ " + ", ".join(why),
            }
        )
    return pd.DataFrame(rows, columns=list(OPTIONS_HELP))


# ---------------------------------------------------------------------------
# A stored quality run (one group of runs, one per temperature)


@dataclass(frozen=True)
class QualityGroup:
    """A quality probe's runs: their answers, scores and speed."""

    group_id: str
    model: str
    eval_set: str
    repeats: int
    run_ids: tuple[str, ...]  # by temperature
    scores: pd.DataFrame  # its rows of `QualityStore.scores`
    outputs: tuple[QualityOutput, ...]
    report: QualityReport
    speed: Mapping[float, RunSummary]  # by temperature; empty when the timings cannot be read
    speed_error: str | None

    @property
    def heading(self) -> str:
        plural = "s" if self.repeats != 1 else ""
        return (
            f"**Quality run {self.group_id}**: {self.model} on *{self.eval_set}*, "
            f"{self.repeats} repeat{plural} per prompt."
        )


def load_quality_group(store: Store, scores: pd.DataFrame, group_id: str) -> QualityGroup | None:
    """The group's answers, scores and timings; None when `scores` has no such group.

    StoreError when the answers cannot be read; timings that cannot be read
    leave `speed` empty and say why in `speed_error`.
    """
    from inferlab.store import StoreError
    from inferlab.store.quality import QualityStore

    rows = scores[scores["group_id"] == group_id]
    if rows.empty:
        return None
    run_ids = tuple(str(r) for r in rows.sort_values("temperature")["run_id"])
    qstore = QualityStore(store)
    outputs = tuple(o for rid in run_ids for o in qstore.outputs(rid))
    speed: dict[float, RunSummary] = {}
    speed_error = None
    try:
        for rid, temp in zip(rows["run_id"], rows["temperature"], strict=True):
            speed[float(temp)] = store.summary(str(rid))
    except StoreError as exc:
        speed_error = f"The runs' timings cannot be read: {exc}"
    first = rows.iloc[0]
    return QualityGroup(
        group_id=group_id,
        model=str(first["model"]),
        eval_set=str(first["eval_set"]),
        repeats=int(first["repeats"]),
        run_ids=run_ids,
        scores=rows,
        outputs=outputs,
        report=score_outputs(outputs),
        speed=speed,
        speed_error=speed_error,
    )


def _pct(share: float | None) -> float | None:
    return None if share is None else share * 100


def temperature_frame(group: QualityGroup) -> pd.DataFrame:
    """One row per temperature: accuracy, consistency, errors and the run's speed."""
    rows = []
    for t in group.report.by_temperature:
        s = group.speed.get(t.temperature)
        rows.append(
            {
                "Temperature": t.temperature,
                "Requests": t.requests,
                "Exact match (%)": _pct(t.exact_match),
                "ROUGE-L (%)": _pct(t.rouge_l),
                "Identical repeats (%)": _pct(t.identical_share),
                "Pairwise similarity (%)": _pct(t.pairwise_similarity),
                "Error rate (%)": t.error_rate * 100,
                "Failures": ", ".join(f"{k}: {v}" for k, v in t.failure_classes.items()) or "none",
                "TTFT p50 (ms)": s.ttft_ms.p50 if s is not None else None,
                "TPOT p50 (ms)": s.tpot_ms.p50 if s is not None else None,
                "p95 latency (s)": s.e2e_ms.p95 / 1000
                if s is not None and s.e2e_ms.p95 is not None
                else None,
            }
        )
    return pd.DataFrame(rows)


def answers_frame(outputs: Sequence[QualityOutput]) -> pd.DataFrame:
    """Every answer next to its prompt and reference, and whether it matched exactly."""
    return pd.DataFrame(
        [
            {
                "Temperature": o.temperature,
                "Prompt": o.prompt,
                "Reference": o.reference,
                "Answer": o.output if o.ok else f"(failed: {o.error_class})",
                "Exact match": exact_match(o.output or "", o.reference) if o.ok else None,
            }
            for o in outputs
        ]
    )


def quality_group_labels(scores: pd.DataFrame) -> dict[str, str]:
    """Group id -> 'date · model · set' for the stored quality runs picker, newest first."""
    groups = scores.drop_duplicates("group_id")
    return {
        str(g["group_id"]): f"{g['created_at']:%Y-%m-%d %H:%M} · {g['model']} · {g['eval_set']}"
        for g in groups.to_dict("records")
    }


def share_defaults(names: Sequence[str], eval_sets: Sequence[str]) -> dict[str, object]:
    """Each shareable value's default, left out of the link when unchanged."""
    defaults: dict[str, object] = {c.name: c.options[c.default] for c in CHOICE_PARAMS}
    defaults |= {p.name: float(p.default) for p in NUMBER_PARAMS}
    defaults[BASELINE_PARAM] = names[0] if names else None
    defaults |= {p.name: p.default for p in PROBE_NUMBER_PARAMS}
    defaults |= {
        "q_target": PROBE_TARGETS["sim"],
        EVAL_PARAM: next(iter(eval_sets), None),
        TEMPS_PARAM: DEFAULT_TEMPS,
    }
    return defaults
