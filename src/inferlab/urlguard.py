"""A guard against one Streamlit 1.67 crash with hand-edited links.

Seeding an integer ``number_input`` bound to the URL from a value such as
``inf`` or ``1e999`` raises OverflowError inside Streamlit, before any page code
can catch it. ``app.py`` calls :func:`drop_infinite_seeds` before the page runs:
such values are taken out of the copy Streamlit seeds widgets from, so the
widget keeps its default. ``st.query_params`` still holds them, so the page's
own check (inferlab.share.check_params) shows its usual warning.
This touches Streamlit internals; the pin (streamlit 1.67.x) keeps them stable.
"""

from __future__ import annotations

import math

__all__ = ["drop_infinite_seeds", "is_infinite_number"]


def is_infinite_number(raw: str) -> bool:
    """True for text that parses as a float but is not finite: inf, -Infinity, 1e999, nan."""
    try:
        return not math.isfinite(float(raw))
    except ValueError:
        return False


def drop_infinite_seeds() -> list[str]:
    """Remove non-finite numbers from Streamlit's widget-seeding URL values; returns their names."""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    try:
        initial = get_session_state()._state.query_params._initial_query_params
    except AttributeError:  # not in a script run (bare mode) or internals moved
        return []
    dropped = []
    for name, value in list(initial.items()):
        values = value if isinstance(value, list) else [value]
        if any(is_infinite_number(str(v)) for v in values):
            del initial[name]
            dropped.append(name)
    return dropped
