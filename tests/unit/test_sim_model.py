"""The sim's timing and answer model: queueing, TPOT growth, seeded jitter, answer mode."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from inferlab.sim import SimConfig, SimServer, TruthRecord, count_prompt_tokens, load_answers
from inferlab.sim.model import AnswerBook, draw_fault


async def _stream_all(url: str, bodies: list[dict[str, Any]]) -> list[str]:
    """Send every body at once; the concatenated content of each response."""
    limits = httpx.Limits(max_connections=len(bodies) + 2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def one(body: dict[str, Any]) -> str:
            text = []
            async with client.stream("POST", url, json=body) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: {"):
                        for choice in json.loads(line[6:])["choices"]:
                            text.append(choice["delta"].get("content") or "")
            return "".join(text)

        return list(await asyncio.gather(*(one(b) for b in bodies)))


def body(prompt: str = "hello", max_tokens: int = 4, **extra: Any) -> dict[str, Any]:
    return {
        "model": "inferlab-sim",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": True,
        **extra,
    }


def planned_offsets(record: TruthRecord) -> list[int]:
    """Due times of the content chunks relative to the schedule's start."""
    assert record.admitted_ns is not None
    return [d - record.admitted_ns for d in record.chunk_deadline_ns]


def test_requests_beyond_max_batch_queue_and_their_ttft_rises() -> None:
    # A long TTFT keeps the first two busy while the other two arrive, even on a slow machine.
    config = SimConfig(ttft_ms=400, tpot_ms=5, max_batch=2)
    with SimServer(config) as sim:
        asyncio.run(_stream_all(f"{sim.base_url}/chat/completions", [body()] * 4))
        records = sorted(sim.truth(), key=lambda r: r.admitted_ns or 0)
    waited = [r for r in records if r.queue_ns]
    assert len(waited) == 2
    first_done = min(r.chunk_sent_ns[-1] for r in records[:2])
    for r in waited:
        # A queued request starts only when a slot frees, and its TTFT includes the wait.
        assert r.admitted_ns is not None and r.admitted_ns >= first_done
        assert r.ttft_ns is not None
        assert r.ttft_ns > max(x.ttft_ns or 0 for x in records[:2])
        # Its own schedule is the configured one, from admission.
        assert planned_offsets(r)[0] == 400_000_000


def test_tpot_grows_with_the_number_of_active_streams() -> None:
    config = SimConfig(ttft_ms=200, tpot_ms=5, tpot_growth_per_stream_ms=3)
    with SimServer(config) as sim:
        url = f"{sim.base_url}/chat/completions"
        asyncio.run(_stream_all(url, [body(max_tokens=4)]))
        (alone,) = sim.truth()
        sim.clear_truth()
        asyncio.run(_stream_all(url, [body(max_tokens=4)] * 4))
        together = sim.truth()
    assert [b - a for a, b in itertools.pairwise(alone.chunk_deadline_ns)] == [5_000_000] * 3
    gaps = [b - a for r in together for a, b in itertools.pairwise(r.chunk_deadline_ns)]
    # 5 ms plus 3 ms for each other stream active when the gap was planned.
    assert set(gaps) <= {5_000_000, 8_000_000, 11_000_000, 14_000_000}
    assert max(gaps) > 5_000_000


def test_prefill_time_grows_with_prompt_tokens() -> None:
    config = SimConfig(ttft_ms=5, tpot_ms=1, prefill_ms_per_1k_tokens=10)
    with SimServer(config) as sim:
        url = f"{sim.base_url}/chat/completions"
        asyncio.run(_stream_all(url, [body("x" * 4000, max_tokens=1)]))
        (record,) = sim.truth()
    assert record.prompt_tokens == 1000
    assert planned_offsets(record) == [15_000_000]  # 5 ms + 10 ms per 1,000 tokens


def test_prompt_tokens_are_characters_over_four_rounded_up() -> None:
    assert count_prompt_tokens("") == 0
    assert count_prompt_tokens("abcd") == 1
    assert count_prompt_tokens("abcde") == 2


def _jittered_schedules(seed: int) -> list[list[int]]:
    config = SimConfig(ttft_ms=5, tpot_ms=2, jitter_ms=1.5, seed=seed)
    with SimServer(config) as sim:
        for _ in range(3):
            asyncio.run(_stream_all(f"{sim.base_url}/chat/completions", [body(max_tokens=6)]))
        return [planned_offsets(r) for r in sim.truth()]


def test_jitter_is_reproducible_with_the_same_seed_and_stays_in_bounds() -> None:
    first, again, other = _jittered_schedules(1), _jittered_schedules(1), _jittered_schedules(2)
    assert first == again
    assert first != other
    for offsets in first:
        assert 3_500_000 <= offsets[0] <= 6_500_000
        for a, b in itertools.pairwise(offsets):
            assert 500_000 <= b - a <= 3_500_000
    assert len({b - a for o in first for a, b in itertools.pairwise(o)}) > 1


def test_fault_draws_follow_the_percentages_and_the_seed() -> None:
    config = SimConfig(error_500_pct=10, disconnect_pct=20, malformed_pct=5, seed=3)
    draws = [draw_fault(config, i) for i in range(4000)]
    share = {f: draws.count(f) / len(draws) for f in ("500", "disconnect", "malformed", None)}
    assert share["500"] == pytest.approx(0.10, abs=0.02)
    assert share["disconnect"] == pytest.approx(0.20, abs=0.02)
    assert share["malformed"] == pytest.approx(0.05, abs=0.02)
    assert share[None] == pytest.approx(0.65, abs=0.03)
    assert draws == [draw_fault(config, i) for i in range(4000)]
    assert draw_fault(SimConfig(), 0) is None


# --- answer mode ----------------------------------------------------------------------------

ANSWERS = {f"What is {i} + {i}?": f"{2 * i}" for i in range(20)}


def test_answer_mode_accuracy_is_exact_over_the_set() -> None:
    book = AnswerBook(ANSWERS, SimConfig(answers=ANSWERS, answer_accuracy=0.75))
    results = [book.answer(p, i, 0.0) for i, p in enumerate(ANSWERS)]
    assert sum(ok for _, ok in results) == 15
    for (prompt, reference), (text, ok) in zip(ANSWERS.items(), results, strict=True):
        assert (text == reference) == ok, prompt


def test_answer_mode_is_deterministic_at_temperature_zero() -> None:
    config = SimConfig(answers=ANSWERS, answer_accuracy=0.5, answer_determinism=0.0)
    book = AnswerBook(ANSWERS, config)
    prompt = next(iter(ANSWERS))
    assert len({book.answer(prompt, i, 0.0) for i in range(30)}) == 1


def test_answer_mode_determinism_below_one_makes_repeats_vary() -> None:
    varied = AnswerBook(
        ANSWERS, SimConfig(answers=ANSWERS, answer_accuracy=0.5, answer_determinism=0.2)
    )
    steady = AnswerBook(
        ANSWERS, SimConfig(answers=ANSWERS, answer_accuracy=0.5, answer_determinism=1.0)
    )
    prompt = next(iter(ANSWERS))
    assert len({varied.answer(prompt, i, 1.0)[0] for i in range(40)}) > 2
    assert len({steady.answer(prompt, i, 1.0)[0] for i in range(40)}) == 1
    # The same seed replays the same sequence.
    again = AnswerBook(
        ANSWERS, SimConfig(answers=ANSWERS, answer_accuracy=0.5, answer_determinism=0.2)
    )
    assert [varied.answer(prompt, i, 1.0) for i in range(40)] == [
        again.answer(prompt, i, 1.0) for i in range(40)
    ]


def test_answer_mode_end_to_end_returns_references_over_http() -> None:
    answers = {"Capital of France?": "Paris is the capital.", "2 + 2?": "4"}
    config = SimConfig(ttft_ms=2, tpot_ms=1, answers=answers)
    with SimServer(config) as sim:
        url = f"{sim.base_url}/chat/completions"
        texts = asyncio.run(
            _stream_all(
                url,
                [body(p, max_tokens=50, temperature=0) for p in answers] + [body("other", 3)],
            )
        )
        truth = {r.index: r for r in sim.truth()}
        short = httpx.post(url, json=body("Capital of France?", max_tokens=2, stream=False))
    assert texts[:2] == list(answers.values())
    assert texts[2] == "the quick brown"  # unknown prompts get filler
    assert sorted(r.completion_tokens for r in truth.values()) == [1, 3, 4]
    assert sorted(r.answer_correct is True for r in truth.values()) == [False, True, True]
    choice = short.json()["choices"][0]
    assert choice["message"]["content"] == "Paris is"
    assert choice["finish_reason"] == "length"


def test_load_answers_reads_jsonl_and_names_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "set.jsonl"
    good.write_text(
        '{"prompt": "a?", "reference": "A"}\n\n{"prompt": " b? ", "answer": "B"}\n', "utf-8"
    )
    assert load_answers(good) == {"a?": "A", "b?": "B"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a?", "reference": "A"}\n{"prompt": 3}\n', "utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: 'prompt'"):
        load_answers(bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{nope\n", "utf-8")
    with pytest.raises(ValueError, match=r"broken\.jsonl:1: not valid JSON"):
        load_answers(broken)
    with pytest.raises(ValueError, match="cannot read"):
        load_answers(tmp_path / "missing.jsonl")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"ttft_ms": -1}, "ttft_ms must be between"),
        ({"tpot_ms": float("nan")}, "tpot_ms must be between"),
        ({"tokens_per_chunk": 0}, "tokens_per_chunk must be between"),
        ({"max_batch": 1.5}, "max_batch must be a whole number"),
        ({"error_500_pct": 60, "truncate_pct": 50}, "add up to 110"),
        ({"answer_accuracy": 1.5}, "answer_accuracy must be between"),
        ({"model": ""}, "model must be"),
        ({"api_key": ""}, "api_key must not be empty"),
    ],
)
def test_config_rejects_unusable_settings(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        SimConfig(**kwargs)


def test_public_settings_hide_the_key_and_answers() -> None:
    public = SimConfig(api_key="k", answers={"q": "a"}).public_dict()
    assert public["api_key_required"] is True
    assert public["answers"] == 1
    assert "api_key" not in public
    assert '"k"' not in json.dumps(public)
