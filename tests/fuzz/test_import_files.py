"""Every importer fed hostile files: a run it can save, or our own clear refusal, nothing else.

The files are real fixtures with a few parts replaced by hostile values (-1e308,
Infinity, 10**400, "garbage", deep nesting, a list where a number belongs, ...),
keys deleted, lines dropped or the text cut at a random byte; CSVs are generated
cell by cell; format detection gets arbitrary bytes. A parsed file must also pass
the impossible-value checks and be saved by the store without an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferlab.importers import ImportFileError, import_file, parse_file
from inferlab.importers.base import Problems
from inferlab.importers.checks import check_requests
from inferlab.importers.csv_format import REQUEST_COLUMNS, RUN_COLUMNS
from inferlab.store import Store
from tests.fuzz.strategies import GARBAGE_NUMBERS, fuzz_settings

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "import"
AIPERF_DIR = FIX / "aiperf-with-error"
FIXTURES = {
    "guidellm": FIX / "guidellm-concurrent-c2.json",
    "vllm": FIX / "vllm-detailed.json",
    "vllm-append": FIX / "vllm-append.jsonl",
}
HOSTILE: tuple[Any, ...] = (None, True, 0, -1, 0.5, -1e308, 1e308, math.inf, -math.inf, math.nan,
                            10**20, -(10**20), 10**400, 2**31, 2**63, "garbage", "", "1", [], {},
                            [1, "x"], {"value": "x"}, [[[[[]]]]])  # fmt: skip
DEEP = "[" * 5000 + "]" * 5000
Path_ = tuple[str | int, ...]


def node_paths(doc: Any, limit_depth: int = 12) -> list[Path_]:
    """Where a mutation can land: every number, and every container (its value or its key)."""
    out: list[Path_] = []

    def walk(node: Any, path: Path_) -> None:
        if len(path) > limit_depth:
            return
        if isinstance(node, dict):
            out.append(path)
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            out.append(path)
            for i, v in enumerate(node[:4]):  # a few items of each list are enough
                walk(v, (*path, i))
        elif (isinstance(node, int | float) and not isinstance(node, bool)) or path[-1:] in (
            ("type_",),
            ("unit",),
        ):
            out.append(path)

    walk(doc, ())
    return [p for p in out if p]


def mutate(doc: Any, path: Path_, value: Any, delete: bool) -> None:
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if delete and isinstance(parent, dict):
        parent.pop(last, None)
    elif delete and isinstance(parent, list):
        del parent[last]  # type: ignore[arg-type]
    else:
        parent[last] = value


def encode(doc: Any, pretty: bool) -> str:
    text = json.dumps(doc, indent=1 if pretty else None)  # NaN/Infinity literals on purpose
    return text.replace('"__deep__"', DEEP)


def _small(doc: Any) -> Any:
    """A guidellm document with 3 requests of each kind (parsing stays fast); others as is."""
    for bench in doc.get("benchmarks", []) if isinstance(doc, dict) else []:
        for kind, items in (bench.get("requests") or {}).items():
            if isinstance(items, list):
                bench["requests"][kind] = items[:3]
    return doc


@st.composite
def mutated_json(draw: st.DrawFn, source: Path) -> str:
    """A fixture document with 1-3 parts replaced or deleted, maybe cut short."""
    doc = _small(json.loads(source.read_text()))
    for _ in range(draw(st.integers(1, 3))):
        paths = node_paths(doc)
        if not paths:
            break
        path = paths[draw(st.integers(0, len(paths) - 1))]
        value = draw(st.sampled_from((*HOSTILE, "__deep__")))
        mutate(doc, path, value, delete=draw(st.integers(0, 4)) == 0)
    text = encode(doc, pretty=draw(st.booleans()))
    if draw(st.integers(0, 5)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


@st.composite
def mutated_jsonl(draw: st.DrawFn, source: Path) -> str:
    """JSON lines with one or two records mutated, lines dropped, garbage or blank lines added."""
    lines = source.read_text().splitlines()
    for _ in range(draw(st.integers(1, 2))):
        k = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(("mutate", "mutate", "mutate", "drop", "garbage", "blank")))
        if action == "drop" and len(lines) > 1:
            del lines[k]
            continue
        if action == "garbage":
            lines[k] = draw(st.sampled_from(("{", "[]", "null", "nope", DEEP, '{"metadata": 1}')))
            continue
        if action == "blank":
            lines.insert(k, "")
            continue
        try:
            rec = json.loads(lines[k])
        except (ValueError, RecursionError):
            continue  # a garbage line from the previous round
        paths = node_paths(rec)
        if not paths:
            continue
        path = paths[draw(st.integers(0, len(paths) - 1))]
        mutate(rec, path, draw(st.sampled_from((*HOSTILE, "__deep__"))), draw(st.booleans()))
        lines[k] = encode(rec, pretty=False)
    text = "\n".join(lines) + ("\n" if draw(st.booleans()) else "")
    if draw(st.integers(0, 5)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


CELL_TEXTS = ("true", "false", "yes", "maybe", "[1, 2]", "[1.5, 2.5]", "[]", "[1e400]",
              "[99999999999999999999]", '["a"]', "[[1]]", "[true]", "2026-01-01T00:00:00",
              "usage", DEEP)  # fmt: skip
CELLS = st.one_of(
    st.floats(-1e3, 1e6, allow_nan=False).map(repr),
    st.integers(-5, 10**6).map(str),
    st.sampled_from((*GARBAGE_NUMBERS, *CELL_TEXTS)),
)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    extra = draw(st.lists(st.sampled_from((*REQUEST_COLUMNS, *RUN_COLUMNS)), max_size=6))
    cols = list(dict.fromkeys(("sent_ms", "ok", *extra)))
    if draw(st.integers(0, 9)) == 0:
        cols.remove(draw(st.sampled_from(cols)))
    rows = draw(st.lists(st.lists(CELLS, min_size=len(cols), max_size=len(cols)), max_size=5))
    quote = '"{}"'.format
    lines = [",".join(cols)] + [",".join(quote(c.replace('"', '""')) for c in r) for r in rows]
    return "\n".join(lines) + "\n"


FILE_BYTES = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=64).map(str.encode),
    st.sampled_from(tuple(FIXTURES.values())).flatmap(
        lambda p: st.integers(0, 3000).map(lambda n: p.read_bytes()[:n])
    ),
    st.integers(1, 60_000).map(lambda n: b"[" * n + b"]" * n),
    st.sampled_from((b"\xef\xbb\xbf{}", b"PAR1garbage", b"sent_ms,ok\n", b"{\n", b"\x00{}")),
)


def assert_imported_or_refused(
    store: Store | None, path: Path, fmt: str | None, names: tuple[str, ...] = ()
) -> None:
    """Either our own refusal naming the file (or `names`: its pair), or sane runs, saved
    in `store` when one is given."""
    try:
        _, _, runs = parse_file(path, fmt)
    except ImportFileError as exc:
        msg = str(exc)
        assert msg.startswith(tuple(f"{n} (" for n in (path.name, *names))), msg
        assert "Traceback" not in msg
        assert "unexpected structure" not in msg, msg  # a shape the importer did not name
        return
    for run in runs:
        problems = Problems(path, fmt or "detected")
        check_requests(run.requests, problems, str)
        assert not problems, f"parsed with impossible values: {problems.items[:3]}"
        assert math.isfinite(run.info.load_value)
    if store is None:
        return
    try:
        import_file(store, path, fmt)
    except ImportFileError as exc:  # e.g. a label the store refuses: still our message
        assert str(exc).startswith(tuple(f"{n} (" for n in (path.name, *names))), str(exc)


@pytest.fixture
def store(isolated_db: Path) -> Store:
    return Store(isolated_db)


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    yield folder


@pytest.mark.parametrize("name", ["guidellm", "vllm"])
def test_mutated_json_results(name: str, store: Store, work: Path) -> None:
    @fuzz_settings(25)
    @given(mutated_json(FIXTURES[name]))
    def check(text: str) -> None:
        p = work / "result.json"
        p.write_text(text)
        assert_imported_or_refused(store, p, name)
        assert_imported_or_refused(None, p, None)

    check()


def test_mutated_vllm_append_lines(store: Store, work: Path) -> None:
    @fuzz_settings(20)
    @given(mutated_jsonl(FIXTURES["vllm-append"]))
    def check(text: str) -> None:
        p = work / "results.jsonl"
        p.write_text(text)
        assert_imported_or_refused(store, p, "vllm")

    check()


def test_mutated_aiperf_records_and_aggregate(store: Store, work: Path) -> None:
    aggregate = AIPERF_DIR / "profile_export_aiperf.json"

    @fuzz_settings(25)
    @given(
        mutated_jsonl(AIPERF_DIR / "profile_export.jsonl"),
        st.one_of(st.none(), st.just(aggregate.read_text()), mutated_json(aggregate)),
    )
    def check(records: str, agg: str | None) -> None:
        p = work / "profile_export.jsonl"
        p.write_text(records)
        beside = work / "profile_export_aiperf.json"
        beside.unlink(missing_ok=True)
        if agg is not None:
            beside.write_text(agg)
        assert_imported_or_refused(store, p, "aiperf", (beside.name,))
        assert_imported_or_refused(None, p, None, (beside.name,))
        if agg is not None:
            assert_imported_or_refused(store, beside, "aiperf", (p.name,))

    check()


def test_generated_csvs(store: Store, work: Path) -> None:
    @fuzz_settings(40)
    @given(csv_texts())
    def check(text: str) -> None:
        p = work / "runs.csv"
        p.write_text(text)
        assert_imported_or_refused(store, p, "csv")
        assert_imported_or_refused(None, p, None)

    check()


def test_format_detection_of_arbitrary_bytes(store: Store, work: Path) -> None:
    @fuzz_settings(40)
    @given(FILE_BYTES)
    def check(data: bytes) -> None:
        p = work / "upload.json"
        p.write_bytes(data)
        assert_imported_or_refused(store, p, None)

    check()
