"""inferlab's entry point: page config and the navigation over pages/."""

import streamlit as st

from inferlab.dashboard.warmup import warm_up_plotly
from inferlab.dashboard.widgets import link_notice_area
from inferlab.store import StoreError

st.set_page_config(page_title="inferlab", page_icon=":material/speed:", layout="wide")

pages = {
    "inferlab": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
    "Learn & calculate": [
        st.Page("pages/latency.py", title="Latency", icon=":material/timer:", url_path="latency"),
        st.Page(
            "pages/throughput.py",
            title="Throughput & capacity",
            icon=":material/stacked_line_chart:",
            url_path="throughput",
        ),
        st.Page("pages/cost.py", title="Cost", icon=":material/payments:", url_path="cost"),
        st.Page("pages/quality.py", title="Quality", icon=":material/rule:", url_path="quality"),
    ],
    "Benchmarks": [
        st.Page("pages/probe.py", title="Probe", icon=":material/network_check:", url_path="probe"),
        st.Page("pages/runs.py", title="Runs", icon=":material/compare_arrows:", url_path="runs"),
        st.Page("pages/trends.py", title="Trends", icon=":material/monitoring:", url_path="trends"),
    ],
}

# Pages that draw plotly charts on load: plotly.js starts loading with their first element.
CHART_PAGES = {"latency", "throughput", "cost", "quality", "runs", "trends"}

page = st.navigation(pages)
link_notice_area()  # link notices a page finds late in its run are shown up here
if page.url_path in CHART_PAGES:
    warm_up_plotly()
try:
    page.run()
except StoreError as exc:
    # A damaged, full or locked database met anywhere on a page: one clear message.
    st.error(f"Cannot use the run store: {exc}", icon=":material/error:")
