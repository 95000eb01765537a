"""Quality against speed and cost: the trade-off explorer and answer scoring.

:mod:`inferlab.quality.tradeoff` (candidates, Pareto fronts, constraints, the
satisfaction model), :mod:`inferlab.quality.scoring` (exact match, ROUGE-L,
consistency), :mod:`inferlab.quality.runs` (candidates from stored runs) and
:mod:`inferlab.quality.table` (the candidates table as CSV / link).
"""

from __future__ import annotations

from inferlab.quality.scoring import (
    QualityOutput,
    QualityReport,
    TemperatureScores,
    consistency,
    exact_match,
    normalize_answer,
    rouge_l,
    score_outputs,
)
from inferlab.quality.tradeoff import (
    METRICS,
    Candidate,
    Choice,
    Constraints,
    Metric,
    SatisfactionModel,
    Sense,
    best_option,
    compare_to_baseline,
    first_dominators,
    metric_value,
    pareto_front,
    violations,
)

__all__ = [
    "METRICS",
    "Candidate",
    "Choice",
    "Constraints",
    "Metric",
    "QualityOutput",
    "QualityReport",
    "SatisfactionModel",
    "Sense",
    "TemperatureScores",
    "best_option",
    "compare_to_baseline",
    "consistency",
    "exact_match",
    "first_dominators",
    "metric_value",
    "normalize_answer",
    "pareto_front",
    "rouge_l",
    "score_outputs",
    "violations",
]
