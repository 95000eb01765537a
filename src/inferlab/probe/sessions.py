"""Multi-turn sessions: what each simulated user sends on each turn.

A session is one conversation of `turns` turns. Every turn re-sends the whole
history (the system prompt, the earlier questions and the server's real
answers) plus a new question, as a chat client does; the runner waits the
think time between a turn's answer and the next question. The system prompt
is the same for every session of a run (as an application's is), so a
server's prefix cache can share it across sessions; questions are seeded
per session and turn, so the same seed sends the same conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from inferlab.probe.prompts import Prompt, synthetic_prompt

__all__ = ["Conversation", "SessionSpec", "session_id"]


@dataclass(frozen=True)
class SessionSpec:
    """The shape of every session of a run."""

    sessions: int
    turns: int
    think_time_s: float = 0.0
    system_prompt_tokens: int = 0
    user_tokens: int = 64
    seed: int = 0


def session_id(run_id: str, k: int) -> str:
    """The id of session `k` (0-based) of run `run_id`."""
    return f"{run_id}-s{k}"


class Conversation:
    """One session's history; `prompt(turn)` is what that turn sends."""

    def __init__(self, spec: SessionSpec, k: int) -> None:
        self.spec = spec
        self.k = k
        self.messages: list[dict[str, str]] = []
        if spec.system_prompt_tokens:
            text = synthetic_prompt(
                0, spec.system_prompt_tokens, seed=spec.seed, shared_prefix=True
            )
            self.messages.append({"role": "system", "content": text})

    def question(self, turn: int) -> str:
        """Turn `turn`'s (1-based) new question, seeded by session and turn."""
        index = self.k * 1_000_003 + turn
        return synthetic_prompt(index, self.spec.user_tokens, seed=self.spec.seed + 1)

    def prompt(self, turn: int) -> Prompt:
        """The history plus turn `turn`'s question (the question joins the history)."""
        self.messages.append({"role": "user", "content": self.question(turn)})
        return Prompt(messages=tuple(dict(m) for m in self.messages))

    def answered(self, text: str) -> None:
        """Keep the server's real answer to the last question."""
        self.messages.append({"role": "assistant", "content": text})
