from inferlab.exercise import CHATBOT, EXACT_FORM_HINT, check_answer


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


def test_the_exact_form_answer_gets_a_hint_not_too_low() -> None:
    check = check_answer(
        5.12, CHATBOT.q1_total_s, "s", alternatives={CHATBOT.q1_exact_s: EXACT_FORM_HINT}
    )
    assert not check.correct
    assert "exact form" in check.message and "textbook" in check.message
    assert "too low" not in check.message
    assert CHATBOT.q1_exact_s == 5.12 and CHATBOT.q2_exact_s == 5.7
