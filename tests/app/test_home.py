from inferlab.glossary import GLOSSARY, PAGE_TITLES
from tests.app.conftest import OpenPage
from tests.conftest import ROOT


def test_home_renders_glossary_with_every_metric(open_page: OpenPage) -> None:
    at = open_page("home")
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    for term in GLOSSARY:
        assert f"**{term.name}**" in text
        assert term.formula in text
    assert "TTFT + TPOT × N" in text


def test_home_links_only_to_pages_that_exist(open_page: OpenPage) -> None:
    at = open_page("home")
    links = [el.proto.page for el in at.get("page_link")]
    existing = {name[:-3] for name in PAGE_TITLES if (ROOT / "pages" / name).exists()}
    assert "latency" in existing
    assert set(links) == existing
