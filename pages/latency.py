"""Latency: the TTFT + TPOT x N formula, its timeline, A vs B, and the chatbot exercise."""

from pathlib import Path

import streamlit as st

from inferlab import charts, metrics
from inferlab.dashboard import widgets
from inferlab.dashboard.latency import LATENCY_PARAMS
from inferlab.dashboard.params import seconds, seconds_alike, share_url
from inferlab.dashboard.share import share_box
from inferlab.dashboard.widgets import flag_unknown_params, show_link_warnings
from inferlab.exercise import CHATBOT, EXACT_FORM_HINT, check_answer

SPEC = {p.name: p for p in LATENCY_PARAMS}
PAGES_DIR = Path(__file__).parent

st.title("Latency: how long does an answer take?")
st.markdown(
    "A streamed answer arrives in two phases: the server first processes the prompt and "
    "produces the **first token** (TTFT), then decodes the rest **one token per step** (TPOT). "
    "Total latency ≈ **TTFT + TPOT × N** for N output tokens."
)

show_link_warnings(LATENCY_PARAMS, [])


def load_exercise() -> None:
    for key, value in CHATBOT.preset().items():
        # Whole numbers as int, so the address bar reads ttft_ms=1200 like the share box.
        st.session_state[key] = int(value) if float(value).is_integer() else value
    for key in ("q1_checked", "q2_checked", "q3_checked", "show_solution"):
        st.session_state.pop(key, None)


def number(col: st.delta_generator.DeltaGenerator, name: str, step: float, help_text: str) -> float:
    return widgets.number(col, SPEC[name], step, help_text)


with st.container(border=True):
    head, button = st.columns([3, 1], vertical_alignment="center")
    head.markdown("**Configuration A** and the answer length")
    button.button(
        "Load the chatbot exercise",
        on_click=load_exercise,
        icon=":material/school:",
        help="TTFT 1.2 s, TPOT 80 ms, 50 tokens; B: TTFT 0.8 s, TPOT 100 ms",
    )
    c1, c2, c3 = st.columns(3)
    ttft_ms = number(c1, "ttft_ms", 10.0, "Time to first token: send → first content token.")
    tpot_ms = number(c2, "tpot_ms", 1.0, "Time per output token after the first.")
    tokens = int(number(c3, "tokens", 1, "Number of output tokens in the answer."))

textbook_s = metrics.total_latency_textbook_ms(ttft_ms, tpot_ms, tokens) / 1000
exact_s = metrics.total_latency_exact_ms(ttft_ms, tpot_ms, tokens) / 1000
speed = metrics.streaming_tokens_per_s(tpot_ms)
share = metrics.ttft_share(ttft_ms, tpot_ms, tokens)

textbook_text, exact_text = seconds_alike([textbook_s, exact_s], 4)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Total latency (textbook)", textbook_text, help="TTFT + TPOT × N")
m2.metric(
    "Total latency (exact)",
    exact_text,
    help="TTFT + TPOT × (N − 1): the first token arrives at TTFT, the other N − 1 take one TPOT each.",
)
m3.metric(
    "Streaming speed",
    "instant" if speed == float("inf") else f"{speed:,.1f} tokens/s",
    delta=None
    if speed == float("inf")
    else f"{speed / metrics.READING_TOKENS_PER_S:,.1f}× reading speed",
    delta_color="off",
    help=f"1000 / TPOT. A person reads about {metrics.READING_TOKENS_PER_S:.1f} tokens/s.",
)
m4.metric(
    "Share of the wait before token 1",
    f"{share:.0%}" if exact_s > 0 else "no wait",
    help="TTFT / exact total: the share of the wait with nothing on screen."
    + ("" if exact_s > 0 else " With TTFT and TPOT both 0 there is no wait to share."),
)
st.caption(
    f"Reading speed for comparison: {metrics.READING_WORDS_PER_MIN:.0f} words/min ≈ "
    f"{metrics.READING_TOKENS_PER_S:.1f} tokens/s at 0.75 words per token. Source: "
    f"{metrics.READING_SPEED_SOURCE}. "
    + (
        "Tokens stream faster than people read, so TTFT dominates how fast it feels."
        if speed > metrics.READING_TOKENS_PER_S
        else "Tokens stream slower than people read: readers will wait on every word."
    )
)

st.subheader("Timeline of one answer")
st.caption(
    "Exact form: token 1 arrives at TTFT, every following token one TPOT later. "
    "Long answers fold the middle tokens into one bar."
)
st.plotly_chart(charts.latency_timeline(ttft_ms, tpot_ms, tokens), width="stretch")

st.subheader("Compare configuration A with B")
b1, b2 = st.columns(2)
ttft_b_ms = number(b1, "ttft_b_ms", 10.0, "Time to first token of configuration B.")
tpot_b_ms = number(b2, "tpot_b_ms", 1.0, "Time per output token of configuration B.")
be = metrics.breakeven(ttft_ms, tpot_ms, ttft_b_ms, tpot_b_ms)
total_b_s = metrics.total_latency_textbook_ms(ttft_b_ms, tpot_b_ms, tokens) / 1000
diff_s = total_b_s - textbook_s
faster = "B" if diff_s < 0 else "A"
st.markdown(
    f"At **N = {tokens:,}** {'token' if tokens == 1 else 'tokens'}: A takes "
    f"**{seconds(textbook_s)}**, B takes **{seconds(total_b_s)}** "
    + ("— they tie." if diff_s == 0 else f"— {faster} is faster by {seconds(abs(diff_s))}.")
)
st.info(metrics.describe_breakeven(be), icon=":material/compare_arrows:")
st.plotly_chart(
    charts.latency_comparison(ttft_ms, tpot_ms, ttft_b_ms, tpot_b_ms, tokens, be), width="stretch"
)
if be.tokens is not None:
    st.caption(
        f"Breakeven N = (TTFT_A − TTFT_B) / (TPOT_B − TPOT_A) = ({ttft_ms:g} − {ttft_b_ms:g}) / "
        f"({tpot_b_ms:g} − {tpot_ms:g}) = {be.tokens:,.4g} tokens in the textbook form; "
        "the exact form crosses one token later."
    )

st.subheader("Exercise: the chatbot")
st.markdown(
    f"""
A chatbot has **TTFT {CHATBOT.ttft_ms / 1000:g} s** and **TPOT {CHATBOT.tpot_ms:g} ms**;
a typical answer is **{CHATBOT.tokens} tokens**. It costs ${CHATBOT.cost_per_request_usd:.2f}
per request and {CHATBOT.satisfaction:.0%} of users are satisfied.
Press *Load the chatbot exercise* above to put these numbers in the calculator.

1. What is the total latency of a typical answer (textbook form), in seconds?
2. An alternative configuration has TTFT {CHATBOT.ttft_b_ms / 1000:g} s and TPOT
   {CHATBOT.tpot_b_ms:g} ms. What is its total latency, in seconds? Below how many output
   tokens is it the faster one?
3. How would you balance cost against user satisfaction?
"""
)
q1, q2, q2b = st.columns(3)
a1 = q1.number_input("Q1: total latency (s)", value=None, step=0.1, key="q1_answer")
a2 = q2.number_input("Q2: alternative's total latency (s)", value=None, step=0.1, key="q2_answer")
a2b = q2b.number_input("Q2: breakeven (tokens)", value=None, step=1.0, key="q2b_answer")
if st.button("Check my answers", icon=":material/check:"):
    st.session_state["answers_checked"] = True
if st.session_state.get("answers_checked"):
    for label, check in (
        (
            "Q1",
            check_answer(
                a1, CHATBOT.q1_total_s, "s", alternatives={CHATBOT.q1_exact_s: EXACT_FORM_HINT}
            ),
        ),
        (
            "Q2",
            check_answer(
                a2, CHATBOT.q2_total_s, "s", alternatives={CHATBOT.q2_exact_s: EXACT_FORM_HINT}
            ),
        ),
        ("Q2 breakeven", check_answer(a2b, CHATBOT.breakeven_tokens, "tokens", tolerance=0.5)),
    ):
        (st.success if check.correct else st.error)(f"{label}: {check.message}")

with st.expander("Reveal the worked solution", icon=":material/lightbulb:"):
    st.markdown(
        f"""
**Q1.** 1.2 s + 0.080 s × 50 = 1.2 s + 4.0 s = **{CHATBOT.q1_total_s:g} s**
(exact form: 1.2 s + 0.080 s × 49 = 5.12 s).

**Q2.** 0.8 s + 0.100 s × 50 = 0.8 s + 5.0 s = **{CHATBOT.q2_total_s:g} s**
(exact: 5.7 s). The alternative shows its first token 0.4 s sooner but finishes
**{CHATBOT.q2_total_s - CHATBOT.q1_total_s:.1f} s later** for a 50-token answer: its
slower decoding costs 20 ms × 50 = 1.0 s, more than the 0.4 s it saves up front.
The two totals are equal where 1.2 + 0.080 N = 0.8 + 0.100 N, i.e.
N = 0.4 / 0.020 = **{CHATBOT.breakeven_tokens:g} tokens**: the alternative wins only for
answers shorter than {CHATBOT.breakeven_tokens:g} tokens.

**Q3.** There is no single right answer: a faster configuration usually costs more per
request or uses a smaller, less accurate model. Weigh what one second of waiting costs
in satisfaction against the price per request and the quality of the answers.
"""
    )
    for name in ("cost", "quality"):
        if (PAGES_DIR / f"{name}.py").exists():
            st.page_link(
                f"pages/{name}.py",
                label=f"Work Q3 out on the {name.title()} page",
                icon=":material/arrow_forward:",
            )

st.divider()
values = {
    "ttft_ms": ttft_ms,
    "tpot_ms": tpot_ms,
    "tokens": tokens,
    "ttft_b_ms": ttft_b_ms,
    "tpot_b_ms": tpot_b_ms,
}
defaults = {p.name: p.default for p in LATENCY_PARAMS}
flag_unknown_params(values)
st.markdown("**Share this view** — the link reopens the page with these inputs:")
share_box(share_url(st.context.url or "http://localhost:8501/latency", values, defaults))
