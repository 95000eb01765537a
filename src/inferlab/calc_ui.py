"""Streamlit widgets shared by the Throughput and Cost pages.

Every widget is bound to the URL under its parameter's name, so the browser
address is always a share link; values a link gets wrong are reported by
:func:`show_link_warnings` before the widgets drop them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from inferlab.calc_params import ChoiceParam, check_choices, first_value, ignored_message
from inferlab.share import NumberParam, check_params, share_url

__all__ = [
    "catalog_link_or_download",
    "choice",
    "number",
    "query_text",
    "share_block",
    "show_link_warnings",
]


def number(
    col: DeltaGenerator,
    spec: NumberParam,
    step: float,
    help_text: str,
    fmt: str = "%g",
    label: str | None = None,
) -> float:
    """A number input bound to the URL parameter `spec.name`."""
    if spec.integer:
        return col.number_input(
            label or spec.label,
            min_value=int(spec.min_value),
            max_value=int(spec.max_value),
            value=int(spec.default),
            step=max(int(step), 1),
            key=spec.name,
            bind="query-params",
            help=help_text,
        )
    return col.number_input(
        label or spec.label,
        min_value=float(spec.min_value),
        max_value=float(spec.max_value),
        value=float(spec.default),
        step=float(step),
        key=spec.name,
        bind="query-params",
        help=help_text,
        format=fmt,
    )


def choice(
    col: DeltaGenerator,
    spec: ChoiceParam,
    help_text: str,
    *,
    horizontal: bool = False,
    on_change: Callable[[], None] | None = None,
) -> str:
    """A selectbox (or horizontal radio) bound to the URL parameter `spec.name`."""
    if horizontal:
        value = col.radio(
            spec.label,
            spec.options,
            index=spec.options.index(spec.default),
            key=spec.name,
            bind="query-params",
            help=help_text,
            horizontal=True,
            on_change=on_change,
        )
    else:
        value = col.selectbox(
            spec.label,
            spec.options,
            index=spec.options.index(spec.default),
            key=spec.name,
            bind="query-params",
            help=help_text,
            on_change=on_change,
        )
    return str(value if value is not None else spec.default)


def query_text(name: str) -> str | None:
    """The raw value of a URL parameter no widget is bound to."""
    raw = st.query_params.to_dict().get(name)
    return None if raw is None else first_value(raw)


def show_link_warnings(numbers: Iterable[NumberParam], choices: Iterable[ChoiceParam]) -> None:
    """One warning per link value the page cannot use, naming the parameter."""
    query = st.query_params.to_dict()
    numbers = list(numbers)
    labels = {p.name: p.label for p in numbers}
    for problem in check_params(query, numbers):
        st.warning(problem.message(labels[problem.name]), icon=":material/link_off:")
    for message in check_choices(query, choices):
        st.warning(message, icon=":material/link_off:")


def link_warning(name: str, label: str, reason: str, fallback: str) -> None:
    st.warning(ignored_message(name, label, reason, fallback), icon=":material/link_off:")


def catalog_link_or_download(
    param: str, encoded: str, limit: int, frame: pd.DataFrame, file_name: str
) -> None:
    """Put small catalog edits in the URL; offer the edited catalog as CSV either way."""
    current = query_text(param)
    if not encoded:
        if current is not None:
            del st.query_params[param]
        st.caption("No edits: the page uses the shipped catalog.")
    elif len(encoded) <= limit:
        if current != encoded:
            st.query_params[param] = encoded
        st.caption(f"Your edits are part of the share link (`{param}`).")
    else:
        if current is not None:
            del st.query_params[param]
        st.info(
            f"These edits are too large for a link ({len(encoded):,} characters, the limit is "
            f"{limit:,}): download the edited catalog as CSV to share it.",
            icon=":material/download:",
        )
    st.download_button(
        "Download this catalog as CSV",
        frame.to_csv(index=False).encode(),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=f"{param}_download",
    )


def share_block(
    page_path: str, values: Mapping[str, Any], defaults: Mapping[str, Any], extra: Mapping[str, str]
) -> None:
    """The share link of the current inputs (defaults left out), plus non-widget parameters."""
    st.markdown("**Share this view** — the link reopens the page with these inputs:")
    all_values = {**values, **extra}
    all_defaults = {**defaults, **{k: "" for k in extra}}
    base = st.context.url or f"http://localhost:8501/{page_path}"
    st.code(share_url(base, all_values, all_defaults), language=None)
