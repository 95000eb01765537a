"""The sim's decisions, free of HTTP: admission queue, faults, jitter, answer text.

Every random choice comes from ``random.Random`` seeded with the config seed
and the request's arrival index (string seeds hash the same in every
process), so the same seed and the same order of requests give the same
faults, jitter and answers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Mapping

from inferlab.sim.config import FAULTS, SimConfig

__all__ = ["Admission", "AnswerBook", "draw_fault", "filler_words", "jitter_rng"]

_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "measured",
    "tokens",
    "stream",
    "from",
    "the",
    "simulated",
    "endpoint",
    "at",
    "the",
    "pace",
    "its",
    "settings",
    "ask",
    "for",
]


def filler_words(count: int, start: int = 0) -> list[str]:
    """`count` filler tokens (words; all but the very first start with a space)."""
    return [(" " if i else "") + _WORDS[i % len(_WORDS)] for i in range(start, start + count)]


def draw_fault(config: SimConfig, index: int) -> str | None:
    """The fault injected into request `index`, or None (one uniform draw per request)."""
    pcts = config.fault_pcts()
    if not any(pcts):
        return None
    roll = random.Random(f"{config.seed}:{index}:fault").random() * 100.0
    edge = 0.0
    for name, pct in zip(FAULTS, pcts, strict=True):
        edge += pct
        if roll < edge:
            return name
    return None


def jitter_rng(config: SimConfig, index: int) -> random.Random:
    """The generator of request `index`'s timing jitter."""
    return random.Random(f"{config.seed}:{index}:jitter")


class Admission:
    """At most `max_batch` active streams; the rest wait first-come first-served.

    ``acquire()`` returns None when a slot was free at once, else the
    ``perf_counter_ns`` at which a finishing stream handed its slot over, so a
    queued request's schedule starts when its slot freed, not when its
    coroutine next ran.
    """

    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch
        self.active = 0
        self._waiters: deque[asyncio.Future[int]] = deque()

    @property
    def queued(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    def try_acquire(self) -> bool:
        """Take a free slot at once if there is one (and nobody is queued before us)."""
        if self.active < self.max_batch and not self._waiters:
            self.active += 1
            return True
        return False

    async def acquire(self) -> int | None:
        if self.try_acquire():
            return None
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter  # release() hands its slot over without changing `active`
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(time.perf_counter_ns())
                return
        self.active -= 1


class AnswerBook:
    """Answer mode: reference answers returned with a set accuracy and determinism.

    Each prompt has a fixed *base* outcome: exactly ``round(accuracy * N)`` of
    the N prompts (a seeded choice) get their reference, the others a fixed
    wrong answer. A request repeats its base outcome, except with probability
    ``(1 - determinism) * min(temperature, 1)`` (temperature defaults to 1),
    when it is drawn afresh: the reference with probability ``accuracy``, else
    a randomly chosen wrong answer. Temperature 0 is therefore deterministic.
    Wrong answers are other prompts' references or "I am not sure." variants,
    never the prompt's own reference.
    """

    def __init__(self, answers: Mapping[str, str], config: SimConfig) -> None:
        self._answers = {k.strip(): v for k, v in answers.items()}
        self._config = config
        keys = sorted(self._answers)
        random.Random(f"{config.seed}:answers").shuffle(keys)
        n_correct = round(config.answer_accuracy * len(keys))
        self._correct = set(keys[:n_correct])
        self._pool = sorted(set(self._answers.values()))

    def __contains__(self, prompt: str) -> bool:
        return prompt.strip() in self._answers

    def _wrong(self, reference: str, rng: random.Random) -> str:
        choices = [a for a in self._pool if a != reference]
        choices += [f"I am not sure, maybe {w.strip()}." for w in filler_words(8)]
        return rng.choice(choices)

    def answer(self, prompt: str, index: int, temperature: float | None) -> tuple[str, bool]:
        """(text, is_reference) for request `index` asking `prompt` (must be known)."""
        key = prompt.strip()
        reference = self._answers[key]
        cfg = self._config
        temp = 1.0 if temperature is None else max(0.0, temperature)
        p_vary = (1.0 - cfg.answer_determinism) * min(temp, 1.0)
        rng = random.Random(f"{cfg.seed}:{index}:answer")
        if p_vary > 0 and rng.random() < p_vary:
            if rng.random() < cfg.answer_accuracy:
                return reference, True
            return self._wrong(reference, rng), False
        if key in self._correct:
            return reference, True
        return self._wrong(reference, random.Random(f"{cfg.seed}:wrong:{key}")), False
