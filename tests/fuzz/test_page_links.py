"""Every page opened with hostile share links: a warning at most, never an exception.

The URL parameters of a page are found by opening it once (the widgets bound to the
URL, with their ranges and options) plus those it reads without a widget. Values are
drawn inside each widget's range (which must always work), on its edges, and from
garbage; a parameter is sometimes repeated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from tests.conftest import APP
from tests.fuzz.strategies import GARBAGE_NUMBERS, fuzz_settings, number_text
from tests.runs_data import store_run

PAGES = tuple(sorted(p.stem for p in (Path(APP).parent / "pages").glob("*.py")))  # every page
RUN_IDS = ("base", "slow")  # stored runs, in one series
# Parameters a page reads without a bound widget, or whose widget only shows in some states.
UNBOUND = {
    "home": (),
    "latency": (),
    "throughput": ("run", "gpu_edit", "model"),
    "cost": ("run", "price_edit"),
    "probe": ("url", "model", "api", "key_env", "api_key"),
    "runs": ("runs", "baseline"),
    "quality": ("options", "qrun", "q_url", "q_model"),
    "trends": ("series", "metrics"),
}
# Parameters no page uses (and Streamlit's own): ignored, never a crash.
UNKNOWN = ("embed", "embed_options", "utm_source", "ü")
# Never a host name: a page that checks a target must not resolve names off loopback.
URLS = ("", "http://127.0.0.1:9/v1", "http://[::1]:9/v1", "127.0.0.1:9", "not a url",
        "http://user:pw@127.0.0.1:9/v1", "http://169.254.169.254/latest", "ftp://127.0.0.1/",
        "http://127.0.0.1:99999/v1", "javascript:alert(1)")  # fmt: skip
TEXTS = st.one_of(
    st.text(max_size=24),
    st.sampled_from((*GARBAGE_NUMBERS, *RUN_IDS, *URLS, "base,slow", "x" * 5000)),
)


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "number", "choice" or "text"
    lo: float = 0.0
    hi: float = 0.0
    integer: bool = False
    options: tuple[str, ...] = ()


def _nodes(node: Any) -> Any:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


def _open(page: str, query: dict[str, Any] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"pages/{page}.py")
    if query:
        at.query_params.update(query)
    at.run()
    return at


def page_params(page: str) -> list[Param]:
    """The page's URL parameters: its bound widgets (ranges, options) and UNBOUND."""
    at = _open(page)
    bound = set(at.session_state._state._state.query_params._bindings_by_param)
    found: dict[str, Param] = {}
    for node in _nodes(at._tree):
        key = getattr(node, "key", None)
        if key not in bound or key in found:
            continue
        if type(node).__name__ == "NumberInput":
            integer = isinstance(node.value, int) and float(node.step).is_integer()
            found[key] = Param(key, "number", float(node.min), float(node.max), integer)
        elif hasattr(node, "options"):
            opts = [str(o) for o in node.options] + [str(node.value)]
            found[key] = Param(key, "choice", options=tuple(dict.fromkeys(opts)))
        else:
            found[key] = Param(key, "text")
    for name in (*bound, *UNBOUND.get(page, ()), *UNKNOWN):
        found.setdefault(name, Param(name, "text"))
    return sorted(found.values(), key=lambda p: p.name)


def value_of(p: Param) -> st.SearchStrategy[str]:
    if p.kind == "number":
        return number_text(p.lo, p.hi, integer=p.integer)
    if p.kind == "choice":
        return st.one_of(st.sampled_from(p.options), st.sampled_from(p.options), TEXTS)
    return URLS_OR_TEXT if p.name in ("url", "q_url") else TEXTS


URLS_OR_TEXT = st.one_of(st.sampled_from(URLS), st.sampled_from(GARBAGE_NUMBERS))


def queries(params: list[Param]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the parameters, each once or (sometimes) repeated."""
    by_name = {p.name: p for p in params}

    def build(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries(
            {
                n: st.one_of(
                    value_of(by_name[n]),
                    value_of(by_name[n]),
                    value_of(by_name[n]),
                    st.lists(value_of(by_name[n]), min_size=2, max_size=2),
                )
                for n in names
            }
        )

    return st.lists(st.sampled_from(sorted(by_name)), unique=True, max_size=8).flatmap(build)


def assert_no_traceback(at: AppTest, query: dict[str, Any]) -> None:
    if at.exception:
        exc = at.exception[0]
        pytest.fail(f"{query}: {exc.message}\n" + "\n".join(exc.stack_trace[-6:]))
    shown = [
        getattr(e, "value", "") for k in ("error", "warning", "markdown", "info") for e in at.get(k)
    ]
    assert not any("Traceback" in str(s) for s in shown), f"{query}: a traceback is shown"


@pytest.fixture(autouse=True)
def error_details() -> Iterator[None]:
    """The page's real exception in a failure report (the app's config hides it from users)."""
    before = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", "full")
    yield
    config.set_option("client.showErrorDetails", before)


@pytest.fixture
def stored_runs(isolated_db: Path) -> Path:
    for k, rid in enumerate(RUN_IDS):
        store_run(
            isolated_db,
            rid,
            label=rid,
            n=40,
            ttft_ms=200 + 100 * k,
            fail_every=10 * k,
            tags=("series:nightly",),  # the Trends page shows series of runs
            minutes_ago=10 * (2 - k),
        )
    return isolated_db


@pytest.mark.parametrize("page", PAGES)
def test_no_share_link_crashes_a_page(page: str, stored_runs: Path) -> None:
    params = page_params(page)

    @fuzz_settings(12)
    @given(queries(params))
    def check(query: dict[str, Any]) -> None:
        assert_no_traceback(_open(page, query), query)

    check()
