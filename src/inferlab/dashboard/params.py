"""Page state <-> URL query parameters.

Widgets bound with ``bind="query-params"`` make Streamlit keep the URL in
sync, but Streamlit silently drops a value it cannot use. Pages therefore
check the raw parameters first with :func:`check_params`, so a hand-edited
link gets a visible warning naming the parameter and the fallback, and
:func:`share_url` builds the link shown to the user.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "ChoiceParam",
    "NumberParam",
    "ParamProblem",
    "check_choices",
    "check_params",
    "ignored_message",
    "last_value",
    "repeated_messages",
    "seconds",
    "seconds_alike",
    "share_url",
    "unknown_messages",
    "unusual_messages",
]


def seconds(value_s: float, digits: int = 3) -> str:
    """A duration for people: '5.2 s', '5.12 s', '20,480 s' (never '2e+04 s')."""
    if abs(value_s) >= 10**digits:
        return f"{value_s:,.0f} s"
    return f"{value_s:,.{digits}g} s"


def seconds_alike(values_s: Sequence[float], digits: int = 3) -> list[str]:
    """Durations shown side by side, with as many decimals each: 5.32 and 5.3 read
    '5.32 s' and '5.30 s', not '5.32 s' beside '5.3 s'."""
    texts = [seconds(v, digits) for v in values_s]
    if any("e" in t for t in texts):
        return texts
    decimals = max(len(t[:-2].partition(".")[2]) for t in texts)
    return [f"{v:,.{decimals}f} s" for v in values_s]


def _num(value: float) -> str:
    """1000000.0 -> '1,000,000'; 0.5 -> '0.5'."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class NumberParam:
    """A numeric page input that lives in the URL under `name`."""

    name: str
    label: str
    default: float
    min_value: float
    max_value: float
    integer: bool = False
    # Above this a value is allowed but unusual (a typo, or a link made to break the page):
    # the page uses it and says so.
    typical_max: float | None = None

    def unusual(self, value: float) -> str | None:
        """Why `value` deserves a second look, or None when it is ordinary."""
        if self.typical_max is not None and value > self.typical_max:
            return (
                f"{_num(value)} is unusually large for {self.label} "
                f"(typical values are up to {_num(self.typical_max)})"
            )
        return None

    def parse(self, raw: str) -> float | int:
        """The value `raw` stands for; ValueError with a reason when unusable."""
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"'{raw}' is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"'{raw}' is not a finite number")
        if value < self.min_value:
            raise ValueError(f"{raw} is below the minimum {_num(self.min_value)}")
        if value > self.max_value:
            raise ValueError(f"{raw} is above the maximum {_num(self.max_value)}")
        if self.integer:
            if value != int(value):
                raise ValueError(f"{raw} is not a whole number")
            return int(value)
        return value


@dataclass(frozen=True)
class ParamProblem:
    name: str
    raw: str
    reason: str
    fallback: float | int

    def message(self, label: str) -> str:
        return (
            f"The link's `{self.name}` ({label}) was ignored: {self.reason}. "
            f"Using the default {_num(self.fallback)} instead; change it in the form."
        )


def last_value(raw: str | list[str]) -> str:
    """The value Streamlit uses for a parameter repeated in a link: the last one.

    (Streamlit's ``st.query_params[name]`` returns the last of repeated values,
    so the checks look at the same one the widget gets seeded with.)
    """
    return raw[-1] if isinstance(raw, list) else raw


def ignored_message(name: str, label: str, reason: str, fallback: str) -> str:
    """The warning for a link value that could not be used."""
    return f"The link's {_named(name, label)} was ignored: {reason}. {fallback}"


def _named(name: str, label: str) -> str:
    """'`gpu` (GPU)'; just '`series`' when the label would only repeat the name."""
    return f"`{name}`" if label == name else f"`{name}` ({label})"


@dataclass(frozen=True)
class ChoiceParam:
    """A selectbox or radio input bound to the URL under `name`.

    `options` maps a code (what the code works with) to the label shown;
    Streamlit writes a bound widget's *label* into the URL, so links carry labels
    (``target=Another+endpoint``). A plain sequence of labels is accepted too and
    means code == label. `default` is a code.
    """

    name: str
    label: str
    options: Mapping[str, str]
    default: str

    def __init__(
        self, name: str, label: str, options: Mapping[str, str] | Iterable[str], default: str
    ) -> None:
        opts: dict[str, str] = (
            dict(options) if isinstance(options, Mapping) else {o: o for o in options}
        )
        if default not in opts:
            raise ValueError(f"{name}: default {default!r} is not an option")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "options", opts)
        object.__setattr__(self, "default", default)

    def __hash__(self) -> int:
        return hash((self.name, self.label, tuple(self.options.items()), self.default))

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, ChoiceParam):
            return NotImplemented
        return (self.name, self.label, dict(self.options), self.default) == (
            other.name,
            other.label,
            dict(other.options),
            other.default,
        )

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.options.values())

    @property
    def default_label(self) -> str:
        return self.options[self.default]

    def code(self, label: str) -> str | None:
        """The code of the option shown as `label`; None when no option is."""
        return next((c for c, text in self.options.items() if text == label), None)

    def with_options(self, options: Iterable[str], default: str | None = None) -> ChoiceParam:
        """The same parameter over a different label list (e.g. an edited catalog)."""
        opts = tuple(options)
        fallback = default if default is not None else self.default
        if fallback not in opts:
            fallback = opts[0]
        return ChoiceParam(self.name, self.label, opts, fallback)


def bad_choice(query: Mapping[str, str | list[str]], spec: ChoiceParam) -> bool:
    """True when the link gives `spec` a value that is not one of its options' labels."""
    return spec.name in query and last_value(query[spec.name]) not in spec.labels


def check_choices(query: Mapping[str, str | list[str]], specs: Iterable[ChoiceParam]) -> list[str]:
    """Warnings for URL values of `specs` that are not among their options' labels."""
    messages = []
    for spec in specs:
        if bad_choice(query, spec):
            raw = last_value(query[spec.name])
            labels = spec.labels
            shown = ", ".join(labels[:8]) + (", ..." if len(labels) > 8 else "")
            messages.append(
                ignored_message(
                    spec.name,
                    spec.label,
                    f"'{raw}' is not one of {shown}",
                    f"Using {spec.default_label} instead; choose in the form.",
                )
            )
    return messages


def unusual_messages(
    query: Mapping[str, str | list[str]], specs: Iterable[NumberParam]
) -> list[str]:
    """Notices for link values that are valid but far outside what is typical."""
    messages = []
    for spec in specs:
        if spec.name not in query:
            continue
        try:
            value = spec.parse(last_value(query[spec.name]))
        except ValueError:
            continue  # check_params reports it
        reason = spec.unusual(value)
        if reason:
            messages.append(
                f"The link's `{spec.name}`: {reason}. It is used as given; check the link "
                "if that was not meant."
            )
    return messages


def unknown_messages(names: Iterable[str], known: Iterable[str]) -> list[str]:
    """Notices for link parameters the page has no setting for (a typo, another page's).

    Each names the closest setting of the page when there is one: a link with
    ``concurrency`` on a page whose setting is ``conc`` says "did you mean `conc`".
    """
    known = sorted(set(known))
    messages = []
    for name in sorted(set(names) - set(known)):
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        messages.append(
            f"The link's `{name}` is not a setting of this page{hint}; it was ignored and "
            "left out of the address and the share link."
        )
    return messages


def repeated_messages(repeated: Mapping[str, list[str]], labels: Mapping[str, str]) -> list[str]:
    """Notices for parameters a link gives more than once (Streamlit uses the last one)."""
    return [
        f"The link gives {_named(name, labels.get(name, name))} {len(values)} times "
        f"({', '.join(values[:5])}{', ...' if len(values) > 5 else ''}): using the last, "
        f"{values[-1]}."
        for name, values in repeated.items()
        if len(values) > 1
    ]


def check_params(
    query: Mapping[str, str | list[str]], specs: Iterable[NumberParam]
) -> list[ParamProblem]:
    """Problems with the URL values of `specs` (absent parameters are fine)."""
    problems = []
    for spec in specs:
        if spec.name not in query:
            continue
        raw = last_value(query[spec.name])
        try:
            spec.parse(raw)
        except ValueError as exc:
            problems.append(ParamProblem(spec.name, raw, str(exc), spec.default))
    return problems


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ",".join(_fmt(v) for v in value)
    return str(value)


def share_url(base_url: str, values: Mapping[str, object], defaults: Mapping[str, object]) -> str:
    """`base_url` with every value that differs from its default as a query parameter.

    Defaults are left out to keep links short, as Streamlit's own binding does;
    opening the link restores them anyway.
    """
    base = base_url.split("?", 1)[0]
    params = {k: _fmt(v) for k, v in values.items() if v is not None and v != defaults.get(k)}
    return f"{base}?{urlencode(params)}" if params else base
