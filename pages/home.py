"""Home: what inferlab answers, and a glossary of the metrics."""

from pathlib import Path

import streamlit as st

from inferlab import __version__
from inferlab.glossary import glossary_table, linked_pages

PAGE_FILES = {p.name for p in Path(__file__).parent.glob("*.py")}

st.title("inferlab")
st.markdown(
    """
Measure, compare and learn the trade-offs of serving large language models.
inferlab answers questions such as:

- **How long will users wait?** Time to first token, time per output token and
  the total, and which configuration wins for short or long answers.
- **How much load can a deployment take?** Requests and tokens per second, and
  how latency grows with concurrency.
- **What does it cost, and is it good enough?** Cost per request, token and
  session, set against quality.
"""
)
st.page_link(
    "pages/latency.py",
    label="Start with the Latency calculator and the chatbot exercise",
    icon=":material/arrow_forward:",
)

st.subheader("Glossary")
st.caption(
    "Times are measured on the client from the moment the request is sent. "
    "N is the number of output tokens."
)
st.markdown(glossary_table(PAGE_FILES))

for page, title in linked_pages(PAGE_FILES).items():
    st.page_link(f"pages/{page}", label=f"Open {title}", icon=":material/open_in_new:")

st.caption(f"inferlab {__version__}")
