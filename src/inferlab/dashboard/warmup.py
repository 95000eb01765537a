"""Have the browser fetch and compile plotly.js while a charting page's script runs.

Streamlit requests its plotly chunk (4.7 MB) only once the first chart's delta reaches
the browser, and then fetches, compiles and evaluates it before drawing; meanwhile the
browser sat idle waiting for the script. A tiny script in the sidebar adds a
`<link rel="modulepreload">` for the same chunk as soon as the page's first elements
arrive: the fetch and the compile (off the main thread) overlap with the script run,
and Streamlit's own lazy import later finds the module ready to evaluate. Nothing is
evaluated early, so the main thread stays free for the page's first elements.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import streamlit as st

__all__ = ["WARMUP_CLASS", "plotly_chunk", "warm_up_plotly", "warm_up_plotly_html"]

WARMUP_CLASS = "inferlab-warmup"

_CHUNK = re.compile(r"PlotlyChart\.[\w-]+\.js")

# The URL resolves against Streamlit's own entry module, as its lazy import does (so
# it follows server.baseUrlPath); added once per browser page.
_SCRIPT = """<script>(() => {{
  if (window.__inferlabPlotly) return;
  const entry = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!entry) return;
  const link = document.createElement("link");
  link.rel = "modulepreload";
  link.crossOrigin = "";
  link.dataset.inferlab = "warmup";
  link.href = new URL("./{chunk}", entry.src).href;
  document.head.appendChild(link);
  window.__inferlabPlotly = true;
}})();</script>"""


@functools.cache
def plotly_chunk() -> str | None:
    """File name of the installed Streamlit's plotly chunk (None: not found exactly once)."""
    js_dir = Path(st.__file__).parent / "static" / "static" / "js"
    found = [f.name for f in js_dir.glob("PlotlyChart.*.js") if _CHUNK.fullmatch(f.name)]
    return found[0] if len(found) == 1 else None


def warm_up_plotly_html(chunk: str) -> str:
    return f'<div class="{WARMUP_CLASS}" hidden></div>' + _SCRIPT.format(chunk=chunk)


def warm_up_plotly() -> None:
    """Preload plotly.js for this page's charts (no-op if the chunk's name is unknown)."""
    chunk = plotly_chunk()
    if chunk is not None:
        st.sidebar.html(warm_up_plotly_html(chunk), unsafe_allow_javascript=True)
