"""Streamlit widgets shared by the calculator pages (Throughput, Cost, Quality).

Every widget is bound to the URL under its parameter's name, so the browser
address is always a share link; values a link gets wrong are reported by
:func:`show_link_warnings` before the widgets drop them.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from inferlab.compare.run_facts import list_run_choices
from inferlab.dashboard.params import (
    ChoiceParam,
    NumberParam,
    bad_choice,
    check_choices,
    check_params,
    ignored_message,
    last_value,
    repeated_messages,
    share_url,
    unknown_messages,
    unusual_messages,
)
from inferlab.dashboard.share import share_box
from inferlab.dashboard.urlguard import drop_infinite_seeds, forget_link_values, keep_last_values
from inferlab.store import Store, default_db_path

__all__ = [
    "EditableCatalog",
    "candidate_column_config",
    "catalog_link_or_download",
    "choice",
    "edited_catalog",
    "flag_unknown_params",
    "link_notice_area",
    "linked_catalog",
    "number",
    "pick_run",
    "query_text",
    "share_block",
    "show_link_warnings",
    "stored_runs",
    "visitor_id",
]

C = TypeVar("C")


def number(
    col: DeltaGenerator,
    spec: NumberParam,
    step: float,
    help_text: str,
    fmt: str = "%g",
    label: str | None = None,
) -> float:
    """A number input bound to the URL parameter `spec.name`; its help names the range (a
    typed value outside it only turns the box red, keeping the last value)."""
    help_text = f"{help_text} Allowed: {_plain(spec.min_value)} to {_plain(spec.max_value)}."
    if spec.integer:
        drop_infinite_seeds()  # pages that check links elsewhere: inf would crash the int widget
        return col.number_input(
            label or spec.label,
            min_value=int(spec.min_value),
            max_value=int(spec.max_value),
            step=max(int(step), 1),
            key=spec.name,
            bind="query-params",
            help=help_text,
            value=int(spec.default),
        )
    return col.number_input(
        label or spec.label,
        min_value=float(spec.min_value),
        max_value=float(spec.max_value),
        step=float(step),
        key=spec.name,
        bind="query-params",
        help=help_text,
        format=fmt,
        value=float(spec.default),
    )


def _plain(x: float) -> str:
    """1,000,000 and 0.001, never 1e+06."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.6g}"


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
            spec.labels,
            index=spec.labels.index(spec.default_label),
            key=spec.name,
            bind="query-params",
            help=help_text,
            horizontal=True,
            on_change=on_change,
        )
    else:
        value = col.selectbox(
            spec.label,
            spec.labels,
            index=spec.labels.index(spec.default_label),
            key=spec.name,
            bind="query-params",
            help=help_text,
            on_change=on_change,
        )
    return str(value if value is not None else spec.default)


# Widths (px) that show every header whole and fit the default columns in a 1400 px window.
EDITOR_WIDTHS_PX: dict[str, int] = {
    "name": 190,
    "quality_pct": 95,
    "cost_per_request_usd": 150,
    "ttft_ms": 90,
    "tpot_ms": 90,
    "output_tokens": 125,
    "p95_latency_s": 125,
    "error_rate_pct": 110,
    "price_per_mtok_usd": 150,
}


def candidate_column_config() -> dict[str, Any]:
    """Column settings of the Quality page's options editor, one per candidate column."""
    from inferlab.quality.table import CANDIDATE_COLUMNS

    config: dict[str, Any] = {}
    for col in CANDIDATE_COLUMNS:
        if not col.numeric:
            config[col.key] = st.column_config.TextColumn(
                col.label, help=col.help, width=EDITOR_WIDTHS_PX.get(col.key, "large")
            )
        else:
            fmt = "$%.4g" if col.key.endswith("_usd") else "%g"
            config[col.key] = st.column_config.NumberColumn(
                col.label,
                help=col.help,
                min_value=col.min_value,
                max_value=col.max_value,
                format=fmt,
                width=EDITOR_WIDTHS_PX.get(col.key),
            )
    return config


def query_text(name: str) -> str | None:
    """The raw value of a URL parameter no widget is bound to."""
    raw = st.query_params.to_dict().get(name)
    return None if raw is None else last_value(raw)


def show_link_warnings(numbers: Iterable[NumberParam], choices: Iterable[ChoiceParam]) -> None:
    """One warning per link value the page cannot use, naming the parameter."""
    query = st.query_params.to_dict()
    numbers = list(numbers)
    labels = {p.name: p.label for p in numbers}
    problems = check_params(query, numbers)
    for problem in problems:
        st.warning(problem.message(labels[problem.name]), icon=":material/link_off:")
    choices = list(choices)
    for message in check_choices(query, choices):
        st.warning(message, icon=":material/link_off:")
    # The widgets then really start at the default, and the address bar says so.
    forget_link_values(
        [p.name for p in problems] + [c.name for c in choices if bad_choice(query, c)]
    )
    for message in unusual_messages(query, numbers):
        st.warning(message, icon=":material/priority_high:")
    labels.update({c.name: c.label for c in choices})
    repeated = {name: st.query_params.get_all(name) for name in labels}
    for message in repeated_messages(repeated, labels):
        st.warning(message, icon=":material/link:")
    keep_last_values(labels)


# Each session's script runs in a thread of its own: the notice area is per run.
_notice_area = threading.local()


def link_notice_area() -> None:
    """Keep a place at the top of the page for link notices found later in the run
    (app.py calls it before the page runs)."""
    _notice_area.container = st.container()


def flag_unknown_params(known: Iterable[str]) -> None:
    """Warn, at the top of the page, about link parameters that are none of `known` (the
    names the page's share link is built from), and drop them from the address bar so
    it matches the share link."""
    query = st.query_params.to_dict()
    messages = unknown_messages(query, known)
    if not messages:
        return
    area: DeltaGenerator = getattr(_notice_area, "container", None) or st.container()
    for message in messages:
        area.warning(message, icon=":material/link_off:")
    for name in set(query) - set(known):
        del st.query_params[name]


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


@dataclass(frozen=True)
class EditableCatalog(Generic[C]):
    """A shipped catalog a page lets people edit, with the edits carried in a URL parameter."""

    what: str  # in messages: "price catalog"
    shipped_file: str  # "data/catalog/prices.csv"
    param: str  # the URL parameter holding the encoded edits
    key: str  # session-state prefix: "<key>_start" is the editor's starting table
    load: Callable[[], C]
    apply_edits: Callable[[C, str], C]
    encode_edits: Callable[[C, C], str]
    from_frame: Callable[[pd.DataFrame], C]
    to_frame: Callable[[C], pd.DataFrame]


def linked_catalog(cat: EditableCatalog[C]) -> tuple[C, C]:
    """The shipped catalog and the one the link's edits make of it.

    Stops the page if the shipped file is broken; edits that do not apply get a warning
    and the shipped catalog. The first run stores the editor's starting table.
    """
    try:
        base = cat.load()
    except ValueError as exc:
        st.error(f"The shipped {cat.what} is broken: {exc}. Fix {cat.shipped_file}.")
        st.stop()
    current = base
    raw_edit = query_text(cat.param)
    if raw_edit:
        try:
            current = cat.apply_edits(base, raw_edit)
        except ValueError as exc:
            link_warning(
                cat.param, f"{cat.what} edits", str(exc), "Using the shipped catalog instead."
            )
    if f"{cat.key}_start" not in st.session_state:
        st.session_state[f"{cat.key}_start"] = cat.to_frame(current)
    return base, current


def edited_catalog(
    cat: EditableCatalog[C], frame: pd.DataFrame, base: C, previous: C, limit: int
) -> C:
    """The catalog of the editor's table (or `previous` if it is not usable), shared or offered."""
    try:
        edited = cat.from_frame(frame)
    except ValueError as exc:
        st.error(f"The edited catalog is not usable: {exc}. The page keeps the previous one.")
        edited = previous
    catalog_link_or_download(
        cat.param,
        cat.encode_edits(base, edited),
        limit,
        cat.to_frame(edited),
        Path(cat.shipped_file).name,
    )
    return edited


@st.cache_resource(max_entries=8, show_spinner=False)
def _store(db: str) -> Store:
    """Opened (and migrated) once per file: the Store holds no connection between calls."""
    return Store(db)


@st.cache_data(max_entries=8, show_spinner=False)
def _run_choices(db: str, stamp: tuple[int, ...]) -> dict[str, str]:
    """The runs of `db`; `stamp` (the file's and its WAL's mtime and size) invalidates it."""
    return list_run_choices(_store(db))


def _file_stamp(db: Path) -> tuple[int, ...]:
    out: list[int] = []
    for path in (db, db.with_name(db.name + ".wal")):
        try:
            info = path.stat()
        except OSError:
            out += [-1, -1]
        else:
            out += [info.st_mtime_ns, info.st_size]
    return tuple(out)


def stored_runs(param: str) -> tuple[Store | None, dict[str, str], str | None]:
    """The run database, its runs (run_id -> description) and the run the link names.

    A database that cannot be opened is an error on the page and no runs; a linked run
    that does not exist is a warning and is dropped from the link. Both are cached
    between reruns: a widget change does not reopen the file; a write to it (a new run)
    changes its modification stamp and is seen on the next rerun.
    """
    store: Store | None = None
    try:
        db = default_db_path()
        store = _store(str(db))
        runs = _run_choices(str(db), _file_stamp(db))
    except Exception as exc:  # a broken or locked database file: say so, never a traceback
        st.error(f"Cannot open the run database: {exc}. Set INFERLAB_DB to a writable file.")
        runs = {}
    linked = query_text(param)
    if linked and linked not in runs:
        link_warning(
            param,
            "stored run",
            f"there is no run '{linked}' in this database",
            "Choose one of the stored runs instead.",
        )
        linked = None
        del st.query_params[param]  # keep the bad id out of the share link
    return store, runs, linked


def pick_run(
    runs: Mapping[str, str],
    linked: str | None,
    param: str,
    *,
    label: str = "Run",
    placeholder: str = "Choose a stored run",
    key: str = "run_pick",
) -> str | None:
    """A selectbox of the stored runs; the chosen one is written to the URL parameter."""
    ids = list(runs)
    run_id = st.selectbox(
        label,
        ids,
        index=ids.index(linked) if linked else None,
        format_func=lambda i: runs[i],
        placeholder=placeholder,
        key=key,
    )
    if run_id and query_text(param) != run_id:
        st.query_params[param] = run_id
    return run_id


def share_block(
    page_path: str,
    numbers: Iterable[NumberParam],
    choices: Iterable[ChoiceParam],
    chosen: Mapping[str, str],
    extra_params: Iterable[str],
) -> None:
    """The share link of the current inputs (defaults left out).

    `chosen` holds the choice widgets' values; `extra_params` names the URL parameters
    no widget is bound to (catalog edits, the stored run), copied from the current URL.
    """
    numbers = list(numbers)
    values: dict[str, Any] = {p.name: st.session_state.get(p.name) for p in numbers}
    values.update(chosen)
    defaults: dict[str, Any] = {p.name: p.default for p in numbers}
    defaults.update({c.name: c.default_label for c in choices})  # links carry labels
    extra = {name: query_text(name) or "" for name in extra_params}
    st.markdown("**Share this view** — the link reopens the page with these inputs:")
    all_values = {**values, **extra}
    all_defaults = {**defaults, **{k: "" for k in extra}}
    flag_unknown_params(all_values)
    base = st.context.url or f"http://localhost:8501/{page_path}"
    share_box(share_url(base, all_values, all_defaults))


def visitor_id() -> str:
    """Who launched a job, for caps and for showing visitors only their own probes.

    Streamlit's XSRF cookie stays the same across reloads and new tabs of one browser,
    so a visitor still finds their probes after pressing F5; it is hashed (never shown
    or stored raw). Without it (AppTest, XSRF protection off) each session is a visitor.
    """
    cookie = st.context.cookies.get("_streamlit_xsrf") if st.context.cookies else None
    token = _xsrf_token(cookie) if cookie else None
    if token:
        return "b-" + hashlib.sha256(token).hexdigest()[:24]
    if "probe_session" not in st.session_state:
        st.session_state["probe_session"] = uuid.uuid4().hex
    return str(st.session_state["probe_session"])


def _xsrf_token(cookie: str) -> bytes | None:
    """The token inside Streamlit's XSRF cookie: version 2 ("2|mask|masked|time") is
    re-masked on every page load, so the raw cookie changes while the token stays."""
    value = cookie.strip("\"'")
    if value.startswith("2|"):
        parts = value.split("|")
        if len(parts) != 4:
            return None
        try:
            mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
        except ValueError:
            return None
        return bytes(b ^ m for b, m in zip(masked, itertools.cycle(mask)))  # the mask repeats
    return value.encode() or None
