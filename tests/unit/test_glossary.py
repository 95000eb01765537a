"""The glossary table and the page links of the Home page."""

from __future__ import annotations

from inferlab.compare.runs import METRICS
from inferlab.glossary import GLOSSARY, glossary_table, linked_pages


def test_linked_pages_keep_only_existing_files_in_order() -> None:
    assert linked_pages({"cost.py", "latency.py", "notes.txt"}) == {
        "latency.py": "Latency",
        "cost.py": "Cost",
    }
    assert linked_pages(set()) == {}


def test_glossary_table_names_a_page_only_when_it_exists() -> None:
    lines = glossary_table({"latency.py"}).splitlines()
    assert lines[0] == "| Metric | Unit | Formula | What it tells you | Explored on |"
    assert len(lines) == 2 + len(GLOSSARY)
    ttft = next(line for line in lines if line.startswith("| **TTFT**"))
    itl = next(line for line in lines if line.startswith("| **ITL**"))
    assert ttft.endswith("| Latency |") and itl.endswith("|  |")


def test_latency_units_match_the_runs_page() -> None:
    """The glossary and the comparison table give each latency the same unit (issue 16:
    Home said E2E in s while Runs shows it in ms)."""
    shown = {m.label.split(" ")[0]: m.unit for m in METRICS if m.pct is not None}
    assert set(shown) == {"TTFT", "TPOT", "ITL", "E2E"}
    for term in GLOSSARY:
        first = term.name.split(" ")[0]
        if first in shown:
            assert term.unit.split("/")[0] == shown[first], term.name
    total = next(t for t in GLOSSARY if t.name.startswith("Total latency"))
    assert total.unit == "ms"
