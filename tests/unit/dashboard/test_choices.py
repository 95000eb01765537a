import pytest

from inferlab.dashboard.choices import ChoiceParam, check_choices

GPU = ChoiceParam("gpu", "GPU", "H100 SXM", ("H100 SXM", "L4"))


def test_known_and_absent_choices_have_no_problems() -> None:
    assert check_choices({"gpu": "L4"}, [GPU]) == []
    assert check_choices({}, [GPU]) == []


def test_unknown_choice_is_named_with_options_and_fallback() -> None:
    (message,) = check_choices({"gpu": "TPU v5"}, [GPU])
    assert message == (
        "The link's `gpu` (GPU) was ignored: 'TPU v5' is not one of H100 SXM, L4. "
        "Using H100 SXM instead; choose in the form."
    )


def test_with_options_keeps_a_valid_default() -> None:
    assert GPU.with_options(["A", "B"]).default == "A"
    assert GPU.with_options(["L4", "H100 SXM"]).default == "H100 SXM"
    with pytest.raises(ValueError, match="not an option"):
        ChoiceParam("x", "X", "c", ("a", "b"))
