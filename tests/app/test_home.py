from pathlib import Path

from inferlab.glossary import GLOSSARY
from tests.app.conftest import OpenPage
from tests.conftest import APP


def test_home_renders_glossary_with_every_metric(open_page: OpenPage) -> None:
    at = open_page("home")
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    for term in GLOSSARY:
        assert f"**{term.name}**" in text
        assert term.formula in text
    assert "TTFT + TPOT × N" in text


def test_home_links_every_page_of_the_app(open_page: OpenPage) -> None:
    at = open_page("home")
    links = sorted(el.proto.page for el in at.get("page_link"))
    # The start link to Latency, then one link per page of the app's navigation.
    assert links == [
        "cost", "latency", "latency", "probe", "quality", "runs", "throughput", "trends"
    ]  # fmt: skip
    # every page of the navigation (Home aside) has its link
    pages = sorted(p.stem for p in (Path(APP).parent / "pages").glob("*.py") if p.stem != "home")
    assert sorted(set(links)) == pages
    labels = [el.proto.label for el in at.get("page_link")]
    assert labels[0] == "Start with the Latency calculator and the chatbot exercise"
    assert "Open Throughput & capacity" in labels


def test_glossary_names_the_page_that_explores_each_term(open_page: OpenPage) -> None:
    at = open_page("home")
    table = next(m.value for m in at.markdown if m.value.startswith("| Metric |"))
    rows = {line.split(" | ")[0].strip("| *"): line for line in table.splitlines()[2:]}
    assert rows["TTFT"].endswith("| Latency |")
    assert rows["ITL"].endswith("| Runs |")
    assert len(rows) == len(GLOSSARY)
