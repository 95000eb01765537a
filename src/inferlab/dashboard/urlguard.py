"""Keep hand-edited links from seeding widgets with values a page has rejected.

Streamlit seeds a widget bound to the URL from the link on first load. When a
page's own check (inferlab.dashboard.params.check_params) rejects a value and says it uses
the default, :func:`drop_seeds` makes that true: the value is taken out of the
copy Streamlit seeds widgets from (``st.query_params`` still shows it, so the
warning can name it). Without this, ``tokens=50.7`` would warn "using the
default" yet seed 50, and ``tokens=inf`` would crash Streamlit 1.67's integer
widget with OverflowError (:func:`drop_infinite_seeds` guards pages that check
their links elsewhere). This touches Streamlit internals; the pin (streamlit
1.67.x) keeps them stable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = [
    "drop_infinite_seeds",
    "drop_seeds",
    "forget_link_values",
    "is_infinite_number",
    "keep_last_values",
]


def is_infinite_number(raw: str) -> bool:
    """True for text that parses as a float but is not finite: inf, -Infinity, 1e999, nan."""
    try:
        return not math.isfinite(float(raw))
    except ValueError:
        return False


def _seed_values() -> dict[str, list[str]] | None:
    from streamlit.runtime.state.session_state_proxy import get_session_state

    try:
        seeds: dict[str, list[str]] = get_session_state()._state.query_params._initial_query_params
    except AttributeError:  # not in a script run (bare mode) or internals moved
        return None
    return seeds


def drop_seeds(names: Iterable[str]) -> list[str]:
    """Stop the URL values of `names` seeding their widgets; returns the names dropped."""
    seeds = _seed_values()
    if seeds is None:
        return []
    return [name for name in names if seeds.pop(name, None) is not None]


def drop_infinite_seeds() -> list[str]:
    """Remove non-finite numbers from Streamlit's widget-seeding URL values; returns their names."""
    initial = _seed_values()
    if initial is None:
        return []
    dropped = []
    for name, value in list(initial.items()):
        values = value if isinstance(value, list) else [value]
        if any(is_infinite_number(str(v)) for v in values):
            del initial[name]
            dropped.append(name)
    return dropped


def forget_link_values(names: Iterable[str]) -> list[str]:
    """`drop_seeds`, and take the values out of the address bar too, so what it shows (and
    a reload or a bookmark reopens) is the view on the page, not the rejected value. Call
    it after the warnings naming them were written: the next rerun no longer sees them."""
    import streamlit as st

    names = list(dict.fromkeys(names))
    dropped = drop_seeds(names)
    for name in names:
        if name in st.query_params:
            del st.query_params[name]
    return dropped


def keep_last_values(names: Iterable[str]) -> list[str]:
    """For each of `names` the link gives more than once, keep only the last value in the
    address bar (the one the page uses, as its warning said): reopening the link then
    neither warns again nor differs from the view. Returns the names collapsed."""
    import streamlit as st

    collapsed = []
    for name in dict.fromkeys(names):
        values = st.query_params.get_all(name)
        if len(values) > 1:
            st.query_params[name] = values[-1]
            collapsed.append(name)
    return collapsed
