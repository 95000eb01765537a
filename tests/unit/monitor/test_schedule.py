"""The monitor's clock: intervals parse, overruns skip slots, a stop ends it between runs."""

from __future__ import annotations

import asyncio

import pytest

from inferlab.monitor.schedule import IntervalError, next_due_s, parse_interval, run_every


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("30s", 30), ("1h", 3600), ("1.5h", 5400), ("250ms", 0.25), ("90", 90)],
)
def test_intervals_parse(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "-5m", "0s", "m"])
def test_bad_intervals_say_the_accepted_form(text: str) -> None:
    with pytest.raises(IntervalError, match="--every"):
        parse_interval(text)


def test_the_next_slot_is_on_the_grid_and_skips_missed_ones() -> None:
    assert next_due_s(100.0, 101.0, 10.0) == 110.0  # on time
    assert next_due_s(100.0, 125.0, 10.0) == 130.0  # overran two slots: skip them
    assert next_due_s(100.0, 100.0, 10.0) == 110.0


def test_count_ticks_run_in_order() -> None:
    seen: list[int] = []

    async def tick(i: int) -> None:
        seen.append(i)

    async def main() -> int:
        return await run_every(0.001, tick, count=4, stop=asyncio.Event())

    assert asyncio.run(main()) == 4
    assert seen == [0, 1, 2, 3]


def test_a_stop_ends_the_loop_without_waiting_for_the_next_slot() -> None:
    async def main() -> int:
        stop = asyncio.Event()

        async def tick(i: int) -> None:
            if i == 1:
                stop.set()

        return await run_every(0.001, tick, stop=stop)

    assert asyncio.run(main()) == 2


def test_a_stop_during_a_long_wait_ends_it() -> None:
    async def main() -> int:
        stop = asyncio.Event()

        async def tick(i: int) -> None:
            asyncio.get_running_loop().call_soon(stop.set)  # arrives while waiting an hour

        return await run_every(3600.0, tick, stop=stop)

    assert asyncio.run(main()) == 1
