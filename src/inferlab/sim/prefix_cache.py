"""The sim's prefix cache: prompt text already seen skips prefill.

Like vLLM's automatic prefix caching, the cache holds fixed-size blocks keyed
by the hash of everything before them and the block itself, so a block hits
only when the whole prefix up to it is the same. Blocks are
:data:`BLOCK_CHARS` characters (16 tokens at the sim's 4 characters per
token); a hit is counted in whole blocks from the start of the prompt, and at
least one prompt token is always computed (as vLLM does). The cache keeps
the `capacity_blocks` most recently used blocks.
"""

from __future__ import annotations

from collections import OrderedDict

from inferlab.sim.config import CHARS_PER_TOKEN

__all__ = ["BLOCK_CHARS", "PrefixCache"]

BLOCK_CHARS = 16 * CHARS_PER_TOKEN


def _block_keys(text: str) -> list[int]:
    keys: list[int] = []
    key = 0
    for start in range(0, len(text) - BLOCK_CHARS + 1, BLOCK_CHARS):
        key = hash((key, text[start : start + BLOCK_CHARS]))
        keys.append(key)
    return keys


class PrefixCache:
    """Blocks of prompt (and answer) text seen before, least recently used dropped first."""

    def __init__(self, capacity_blocks: int) -> None:
        self.capacity_blocks = capacity_blocks
        self._blocks: OrderedDict[int, None] = OrderedDict()
        self.hit_tokens = 0  # totals, for the sim's stats
        self.query_tokens = 0

    def __len__(self) -> int:
        return len(self._blocks)

    def cached_tokens(self, text: str, prompt_tokens: int) -> int:
        """Prompt tokens of `text` found in the cache (whole blocks from the start)."""
        hit_blocks = 0
        for key in _block_keys(text):
            if key not in self._blocks:
                break
            self._blocks.move_to_end(key)
            hit_blocks += 1
        cached = min(hit_blocks * BLOCK_CHARS // CHARS_PER_TOKEN, max(prompt_tokens - 1, 0))
        self.hit_tokens += cached
        self.query_tokens += prompt_tokens
        return cached

    def insert(self, text: str) -> None:
        """Keep every whole block of `text` (after prefill, and with the answer at the end)."""
        if self.capacity_blocks <= 0:
            return
        for key in _block_keys(text):
            self._blocks[key] = None
            self._blocks.move_to_end(key)
        while len(self._blocks) > self.capacity_blocks:
            self._blocks.popitem(last=False)
