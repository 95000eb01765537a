from inferlab.dashboard.urlguard import drop_infinite_seeds, is_infinite_number


def test_infinite_numbers_are_recognised_and_others_are_not() -> None:
    for raw in ("inf", "-inf", "Infinity", "1e999", "nan"):
        assert is_infinite_number(raw)
    for raw in ("50", "1e6", "-3.5", "abc", "", "infinite-loop"):
        assert not is_infinite_number(raw)


def test_outside_a_script_run_nothing_is_dropped() -> None:
    assert drop_infinite_seeds() == []


def test_drop_seeds_outside_a_script_run_drops_nothing() -> None:
    from inferlab.dashboard.urlguard import drop_seeds

    assert drop_seeds(["tokens"]) == []
