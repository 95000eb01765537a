"""Request bodies: synthetic prompts of a target length, or prompts from a JSONL file.

Synthetic prompts are built from common English words that are one token each
in the usual BPE vocabularies (with their leading space), so N words is close
to N prompt tokens (the server's `usage.prompt_tokens` gives the exact count).
Each prompt starts with its own seeded words, so a server's prefix cache cannot
hide prefill cost; `shared_prefix` makes all prompts identical except a short
tail, to measure exactly that cache.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from inferlab.probe.config import ConfigError, ProbeConfig

__all__ = ["Prompt", "PromptSource", "load_prompts_file", "synthetic_prompt"]

_VOCABULARY = (
    "the of and to in is that for it as was with be by on not he this are or his from at "
    "which but have an had they you were their one all we can her has there been if more "
    "when will would who so no out up into do than only other new some could time these "
    "two may first then any like my now over such our man me even most made after also "
    "did many before must through back years where much your way well down should because "
    "each just those people how too little state good very make world still own see men "
    "work long get here between both life being under never day same another know while "
    "last might us great old year off come since against go came right used take three "
    "water river stone light music garden city market window story paper morning summer "
    "winter forest bridge table letter number family school place point house night"
)
_WORDS = tuple(_VOCABULARY.split())
_UNIQUE_HEAD = 8  # words at the start that differ between prompts (two KV blocks' worth)
_SHARED_TAIL = 8  # words at the end that differ in shared-prefix mode


@dataclass(frozen=True)
class Prompt:
    """One request's input: `text` for completions, `messages` for chat."""

    text: str | None = None
    messages: tuple[dict[str, str], ...] | None = None
    max_tokens: int | None = None  # per-prompt override from a JSONL file

    def chat_messages(self) -> list[dict[str, str]]:
        if self.messages is not None:
            return list(self.messages)
        return [{"role": "user", "content": self.text or ""}]

    def completion_text(self) -> str:
        if self.text is not None:
            return self.text
        return "\n".join(m.get("content", "") for m in self.messages or ())


def _words(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(_WORDS) for _ in range(n)]


def synthetic_prompt(index: int, tokens: int, seed: int, shared_prefix: bool = False) -> str:
    """About `tokens` tokens of text; request `index` starts differently unless shared_prefix."""
    if shared_prefix:
        body = _words(random.Random(f"{seed}:shared"), max(tokens - _SHARED_TAIL, 0))
        tail = _words(random.Random(f"{seed}:{index}"), min(tokens, _SHARED_TAIL))
        return " ".join(body + tail)
    rng = random.Random(f"{seed}:{index}")
    head = _words(rng, min(tokens, _UNIQUE_HEAD))
    return " ".join(head + _words(rng, max(tokens - _UNIQUE_HEAD, 0)))


def jsonl_items(
    path: str | Path, flag: str, max_lines: int | None = None
) -> Iterator[tuple[object, str]]:
    """(parsed object, "FLAG file line N") of every non-blank line of a JSONL file named
    by the command-line `flag`; ConfigError naming the file and line when unusable."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{flag} {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{flag} {str(p)!r} cannot be read: {exc}") from None
    count = 0
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        if max_lines is not None and count >= max_lines:
            raise ConfigError(f"{flag} {p.name} has more than {max_lines:,} requests")
        where = f"{flag} {p.name} line {lineno}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where} is not JSON ({exc.msg})") from None
        count += 1
        yield item, where


def load_prompts_file(path: str | Path) -> list[Prompt]:
    """Read a JSONL file: one object per line with "prompt" (text) or "messages"
    (chat), optionally "max_tokens"; a bare JSON string is a prompt too."""
    prompts = [
        _prompt_from_item(item, where) for item, where in jsonl_items(path, "--prompts-file")
    ]
    if not prompts:
        raise ConfigError(
            f"--prompts-file {Path(path).name} has no prompts (one JSON object per line)"
        )
    return prompts


def _prompt_from_item(item: object, where: str) -> Prompt:
    if isinstance(item, str):
        return Prompt(text=item)
    if not isinstance(item, dict):
        raise ConfigError(f'{where}: expected an object with "prompt" or "messages"')
    max_tokens = item.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise ConfigError(f'{where}: "max_tokens" must be a positive integer')
    if isinstance(item.get("prompt"), str):
        return Prompt(text=item["prompt"], max_tokens=max_tokens)
    messages = item.get("messages")
    if isinstance(messages, list) and messages:
        ok = all(
            isinstance(m, dict)
            and isinstance(m.get("role"), str)
            and isinstance(m.get("content"), str)
            for m in messages
        )
        if ok:
            return Prompt(messages=tuple(dict(m) for m in messages), max_tokens=max_tokens)
        raise ConfigError(f'{where}: each message needs string "role" and "content"')
    raise ConfigError(f'{where}: expected "prompt" (a string) or "messages" (a list)')


class PromptSource:
    """The prompt for request i: from the file in order (cycling), else synthetic."""

    def __init__(self, cfg: ProbeConfig) -> None:
        self._cfg = cfg
        self._file = load_prompts_file(cfg.prompts_file) if cfg.prompts_file else None

    def __call__(self, index: int) -> Prompt:
        if self._file is not None:
            return self._file[index % len(self._file)]
        cfg = self._cfg
        return Prompt(text=synthetic_prompt(index, cfg.prompt_tokens, cfg.seed, cfg.shared_prefix))
