"""The plotly warm-up names the installed Streamlit's own plotly chunk."""

from pathlib import Path

import streamlit as st

from inferlab.dashboard.warmup import plotly_chunk, warm_up_plotly_html


def test_the_installed_streamlit_has_exactly_one_plotly_chunk() -> None:
    # A Streamlit upgrade that renames or splits the chunk makes the warm-up a no-op:
    # this test says so instead of the bench quietly getting slower.
    chunk = plotly_chunk()
    assert chunk is not None
    assert (Path(st.__file__).parent / "static" / "static" / "js" / chunk).is_file()


def test_warm_up_preloads_the_chunk_without_evaluating_it() -> None:
    html = warm_up_plotly_html("PlotlyChart.abc-12_x.js")
    assert 'link.rel = "modulepreload"' in html and '"./PlotlyChart.abc-12_x.js"' in html
    assert "import(" not in html
