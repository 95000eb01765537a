"""Write data/traces/sample.jsonl: a small Mooncake-format trace made here.

Run: `.venv/bin/python bench/make_sample_trace.py` (deterministic, seed 13).
120 requests over about 12 s (Poisson, 10 req/s); every prompt starts with one of
three shared 512-token "system prompt" blocks (hash ids 0-2), about a third of the
requests continue an earlier request's conversation (its blocks, plus new ones),
the rest add blocks of their own; outputs 16-256 tokens.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "traces" / "sample.jsonl"
BLOCK = 512


def main() -> None:
    rng = random.Random(13)
    t_ms = 0.0
    next_id = 3
    lines: list[dict[str, int | list[int]]] = []
    earlier: list[list[int]] = []
    for _ in range(120):
        follow_up = earlier and rng.random() < 1 / 3  # an earlier prompt is its prefix
        ids = list(rng.choice(earlier)) if follow_up else [rng.randrange(3)]
        for _ in range(rng.randint(1, 3)):
            ids.append(next_id)
            next_id += 1
        earlier.append(ids)
        input_length = (len(ids) - 1) * BLOCK + rng.randint(1, BLOCK)
        lines.append(
            {
                "timestamp": round(t_ms),
                "input_length": input_length,
                "output_length": rng.randint(16, 256),
                "hash_ids": ids,
            }
        )
        t_ms += rng.expovariate(10.0) * 1000.0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    print(f"wrote {len(lines)} requests over {t_ms / 1000:.1f} s to {OUT}")


if __name__ == "__main__":
    main()
