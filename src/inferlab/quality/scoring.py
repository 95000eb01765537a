"""Answer scoring for the quality probe: exact match after normalisation, ROUGE-L
(Google's `rouge-score`), consistency of repeated answers and reliability.

Pure: takes the probe's `QualityOutput`s and returns a `QualityReport`; rates are
0..1 fractions.
"""

from __future__ import annotations

import itertools
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "QualityOutput",
    "QualityReport",
    "TemperatureScores",
    "consistency",
    "exact_match",
    "normalize_answer",
    "rouge_l",
    "score_outputs",
]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
_NEGATIVE = re.compile(r"(?<![\w.])-(?=\d)")  # a minus sign, not a hyphen inside a word
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and the articles a/an/the, collapse whitespace (SQuAD style).

    Unlike SQuAD, numbers keep their decimal point ("3.5" is not "35") and sign
    ("-3" is not "3") and lose
    thousands separators ("1,000" is "1000"), and accents are dropped ("Brasília"
    matches "Brasilia").
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = _THOUSANDS.sub("", text)
    text = _NEGATIVE.sub("\x01", _DECIMAL.sub("\x00", text))
    text = text.translate(_PUNCT).replace("\x00", ".").replace("\x01", "-")
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> bool:
    """Equal after `normalize_answer`: 'The answer is 42.' does not match '42'; ' Paris.' matches 'paris'."""
    return normalize_answer(prediction) == normalize_answer(reference)


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    # Imported lazily: nltk's import costs a few hundred ms that pages without scoring need not pay.
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (0..1) by Google's `rouge-score`, with its Porter stemmer.

    Its tokenizer keeps only ASCII letters and digits, so text in other scripts scores 0.
    """
    return _rouge_l_cached(prediction, reference)


# Repeated answers are common (that is what consistency measures), so scores are memoised.
@lru_cache(maxsize=65_536)
def _rouge_l_cached(prediction: str, reference: str) -> float:
    return float(_rouge_scorer().score(reference, prediction)["rougeL"].fmeasure)


def consistency(outputs: Sequence[str]) -> tuple[float, float | None]:
    """(share of identical outputs, mean pairwise ROUGE-L) for repeats of one prompt.

    The identical share is how many outputs equal the most common one (after
    `normalize_answer`) divided by all: 1.0 when every repeat agrees, 1/n when
    all differ. The pairwise similarity averages ROUGE-L over every unordered
    pair; None with fewer than two outputs.
    """
    if not outputs:
        raise ValueError("consistency needs at least one output")
    counts = Counter(normalize_answer(o) for o in outputs)
    identical = counts.most_common(1)[0][1] / len(outputs)
    pairs = list(itertools.combinations(outputs, 2))
    if not pairs:
        return identical, None
    return identical, sum(rouge_l(a, b) for a, b in pairs) / len(pairs)


@dataclass(frozen=True)
class QualityOutput:
    """One request of a quality run: which prompt, which repeat, what came back."""

    prompt_id: str
    repeat: int
    temperature: float
    prompt: str
    reference: str
    output: str | None
    ok: bool
    error_class: str | None = None


@dataclass(frozen=True)
class TemperatureScores:
    """Scores of one temperature of a quality run. Rates are 0..1."""

    temperature: float
    requests: int
    failed: int
    answered: int  # successful requests with a non-empty answer
    exact_match: float | None  # share of answered requests matching the reference
    rouge_l: float | None  # mean ROUGE-L F of answered requests against the reference
    identical_share: float | None  # mean over prompts with >= 2 answers
    pairwise_similarity: float | None
    failure_classes: dict[str, int]

    @property
    def error_rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class QualityReport:
    by_temperature: tuple[TemperatureScores, ...]
    per_prompt: tuple[
        dict[str, Any], ...
    ]  # prompt_id, temperature, answers, exact_match, rouge_l, identical_share

    @property
    def overall_exact_match(self) -> float | None:
        hits = sum((t.exact_match or 0) * t.answered for t in self.by_temperature)
        n = sum(t.answered for t in self.by_temperature)
        return hits / n if n else None


def _mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return sum(vals) / len(vals) if vals else None


def score_outputs(outputs: Sequence[QualityOutput]) -> QualityReport:
    """Accuracy, consistency and reliability of a quality run, per temperature.

    Accuracy counts only answered requests (failures are in the error rate, so a
    flaky endpoint does not look inaccurate too). An answer that came back
    empty is counted as failure class 'empty_answer', not as answered.
    """
    temps = sorted({o.temperature for o in outputs})
    by_temp = []
    per_prompt: list[dict[str, Any]] = []
    for temp in temps:
        rows = [o for o in outputs if o.temperature == temp]
        failures: Counter[str] = Counter()
        answered: list[QualityOutput] = []
        for o in rows:
            if not o.ok:
                failures[o.error_class or "error"] += 1
            elif not (o.output or "").strip():
                failures["empty_answer"] += 1
            else:
                answered.append(o)
        em = [float(exact_match(o.output or "", o.reference)) for o in answered]
        rl = [rouge_l(o.output or "", o.reference) for o in answered]
        by_prompt: dict[str, list[QualityOutput]] = {}
        for o in answered:
            by_prompt.setdefault(o.prompt_id, []).append(o)
        identical: list[float] = []
        pairwise: list[float] = []
        for pid in sorted({o.prompt_id for o in rows}):
            mine = by_prompt.get(pid, [])
            texts = [o.output or "" for o in mine]
            row: dict[str, Any] = {
                "prompt_id": pid,
                "temperature": temp,
                "requests": sum(1 for o in rows if o.prompt_id == pid),
                "answers": len(texts),
                "exact_match": _mean(float(exact_match(t, mine[0].reference)) for t in texts),
                "rouge_l": _mean(rouge_l(t, mine[0].reference) for t in texts),
                "identical_share": None,
            }
            if len(texts) >= 2:
                same, sim = consistency(texts)
                identical.append(same)
                row["identical_share"] = same
                if sim is not None:
                    pairwise.append(sim)
            per_prompt.append(row)
        by_temp.append(
            TemperatureScores(
                temperature=temp,
                requests=len(rows),
                failed=sum(failures.values()),
                answered=len(answered),
                exact_match=_mean(em),
                rouge_l=_mean(rl),
                identical_share=_mean(identical),
                pairwise_similarity=_mean(pairwise),
                failure_classes=dict(failures.most_common()),
            )
        )
    return QualityReport(tuple(by_temp), tuple(per_prompt))
