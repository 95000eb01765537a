"""URL parameters of the Throughput and Cost calculators beyond plain numbers.

:mod:`inferlab.dashboard.params` checks numeric parameters; this module adds choices
(a selectbox or radio whose URL value must be one of its options) and the
messages for free-text parameters (catalog edits, run ids), in the same
wording, so a hand-edited link always gets a warning naming the parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["ChoiceParam", "check_choices", "first_value", "ignored_message"]


def first_value(raw: str | list[str]) -> str:
    return raw[-1] if isinstance(raw, list) else raw


def ignored_message(name: str, label: str, reason: str, fallback: str) -> str:
    """The warning for a link value that could not be used."""
    return f"The link's `{name}` ({label}) was ignored: {reason}. {fallback}"


@dataclass(frozen=True)
class ChoiceParam:
    """A page input that lives in the URL under `name` and must be one of `options`."""

    name: str
    label: str
    default: str
    options: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.default not in self.options:
            raise ValueError(f"{self.name}: default {self.default!r} is not an option")

    def with_options(self, options: Iterable[str], default: str | None = None) -> ChoiceParam:
        """The same parameter over a different option list (e.g. an edited catalog)."""
        opts = tuple(options)
        fallback = default if default is not None else self.default
        if fallback not in opts:
            fallback = opts[0]
        return ChoiceParam(self.name, self.label, fallback, opts)


def check_choices(query: Mapping[str, str | list[str]], specs: Iterable[ChoiceParam]) -> list[str]:
    """Warnings for URL values of `specs` that are not among their options."""
    messages = []
    for spec in specs:
        if spec.name not in query:
            continue
        raw = first_value(query[spec.name])
        if raw not in spec.options:
            shown = ", ".join(spec.options[:8]) + (", ..." if len(spec.options) > 8 else "")
            messages.append(
                ignored_message(
                    spec.name,
                    spec.label,
                    f"'{raw}' is not one of {shown}",
                    f"Using {spec.default} instead; choose in the form.",
                )
            )
    return messages
