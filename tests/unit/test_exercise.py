from inferlab.exercise import CHATBOT, check_answer


def test_preset_holds_the_exercise_numbers_by_url_key() -> None:
    assert CHATBOT.preset() == {
        "ttft_ms": 1200.0,
        "tpot_ms": 80.0,
        "tokens": 50,
        "ttft_b_ms": 800.0,
        "tpot_b_ms": 100.0,
    }


def test_check_answer_accepts_within_tolerance_and_says_why_not() -> None:
    assert check_answer(5.2, 5.2, "s").correct
    assert check_answer(5.22, 5.2, "s").correct
    wrong = check_answer(4.0, 5.2, "s")
    assert not wrong.correct and "too low" in wrong.message
    assert "too high" in check_answer(9, 5.2, "s").message
    assert not check_answer(None, 5.2, "s").correct
