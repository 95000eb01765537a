import pytest

from inferlab.dashboard.params import ChoiceParam, check_choices

GPU = ChoiceParam("gpu", "GPU", ("H100 SXM", "L4"), "H100 SXM")


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
        ChoiceParam("x", "X", ("a", "b"), "c")


def test_repeated_link_values_are_checked_by_the_last_one_as_streamlit_uses() -> None:
    from inferlab.dashboard.params import last_value

    assert last_value(["L4", "H100 SXM"]) == "H100 SXM"
    assert last_value("L4") == "L4"
    assert check_choices({"gpu": ["nope", "L4"]}, [GPU]) == []
    assert len(check_choices({"gpu": ["L4", "nope"]}, [GPU])) == 1


def test_one_choice_class_serves_code_label_maps_and_plain_labels() -> None:
    target = ChoiceParam("target", "Endpoint", {"sim": "Simulator", "url": "Other"}, "sim")
    assert target.labels == ("Simulator", "Other")
    assert target.code("Other") == "url"
    assert target.code("nope") is None
    assert target.default_label == "Simulator"
    assert GPU.options == {"H100 SXM": "H100 SXM", "L4": "L4"}
    assert ChoiceParam("gpu", "GPU", ("H100 SXM", "L4"), "H100 SXM") == GPU
    assert hash(GPU) == hash(ChoiceParam("gpu", "GPU", ("H100 SXM", "L4"), "H100 SXM"))
