"""The chatbot exercise: preset numbers, questions and answer checking."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from inferlab.metrics import breakeven, total_latency_exact_ms, total_latency_textbook_ms

__all__ = ["CHATBOT", "EXACT_FORM_HINT", "ChatbotExercise", "Check", "check_answer"]


@dataclass(frozen=True)
class ChatbotExercise:
    ttft_ms: float = 1200.0
    tpot_ms: float = 80.0
    tokens: int = 50
    ttft_b_ms: float = 800.0
    tpot_b_ms: float = 100.0
    cost_per_request_usd: float = 0.05
    satisfaction: float = 0.85

    @property
    def q1_total_s(self) -> float:
        return total_latency_textbook_ms(self.ttft_ms, self.tpot_ms, self.tokens) / 1000.0

    @property
    def q1_exact_s(self) -> float:
        return total_latency_exact_ms(self.ttft_ms, self.tpot_ms, self.tokens) / 1000.0

    @property
    def q2_exact_s(self) -> float:
        return total_latency_exact_ms(self.ttft_b_ms, self.tpot_b_ms, self.tokens) / 1000.0

    @property
    def q2_total_s(self) -> float:
        return total_latency_textbook_ms(self.ttft_b_ms, self.tpot_b_ms, self.tokens) / 1000.0

    @property
    def breakeven_tokens(self) -> float:
        tokens = breakeven(self.ttft_ms, self.tpot_ms, self.ttft_b_ms, self.tpot_b_ms).tokens
        assert tokens is not None  # the preset's lines do cross
        return tokens

    def preset(self) -> dict[str, float | int]:
        """Widget values (by URL key) that load the exercise into the Latency page."""
        return {
            "ttft_ms": self.ttft_ms,
            "tpot_ms": self.tpot_ms,
            "tokens": self.tokens,
            "ttft_b_ms": self.ttft_b_ms,
            "tpot_b_ms": self.tpot_b_ms,
        }


CHATBOT = ChatbotExercise()


@dataclass(frozen=True)
class Check:
    correct: bool
    message: str


EXACT_FORM_HINT = (
    "that is the exact form, TTFT + TPOT × (N − 1). The question asks for the textbook "
    "form, TTFT + TPOT × N: one TPOT more"
)


def check_answer(
    given: float | None,
    expected: float,
    unit: str,
    tolerance: float = 0.05,
    alternatives: Mapping[float, str] | None = None,
) -> Check:
    """Compare a typed answer with the expected one within `tolerance` (absolute, same unit).

    `alternatives` maps other defensible answers (e.g. the exact form of a textbook
    question) to what to tell a learner who gave one of them, instead of "too low".
    """
    if given is None:
        return Check(False, "Type a number first.")
    if abs(given - expected) <= tolerance:
        return Check(True, f"Correct: {expected:g} {unit}.")
    for value, hint in (alternatives or {}).items():
        if abs(given - value) <= tolerance:
            return Check(False, f"Close: {given:g} {unit} — {hint} ({expected:g} {unit}).")
    hint = "too high" if given > expected else "too low"
    return Check(
        False, f"Not quite: {given:g} {unit} is {hint}. Try again, or reveal the solution."
    )
