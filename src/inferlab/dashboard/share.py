"""The share box: the page's share link in a read-only field with a copy button.

It replaces `st.code`, whose first use on a page loads Streamlit's syntax highlighter
(a 1.5 MB script that registers every Prism language: 0.2 s of CPU on a quiet
machine, over 1 s on a busy one) just to show one line of text. This box is a few
hundred bytes of HTML and one small script in the page itself (`st.html` is not
iframed). The link is HTML-escaped and only ever read back as the input's value,
never interpolated into the script.
"""

from __future__ import annotations

import html

import streamlit as st

__all__ = ["SHARE_CLASS", "share_box", "share_box_html"]

SHARE_CLASS = "inferlab-share"

# The clipboard API needs a secure context (https or localhost); elsewhere the
# selected text is copied with execCommand, which every browser still honours.
_SCRIPT = """<script>(() => {
  const box = document.currentScript.parentElement;
  const input = box.querySelector("input"), button = box.querySelector("button");
  input.addEventListener("focus", () => input.select());
  const copied = () => {
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  };
  const fallback = () => { input.select(); document.execCommand("copy"); copied(); };
  button.addEventListener("click", () => {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(copied, fallback);
    } else {
      fallback();
    }
  });
})();</script>"""

_STYLE = (
    "<style>.inferlab-share{display:flex;gap:.5rem;align-items:stretch}"
    ".inferlab-share input{flex:1;min-width:0;font-family:monospace;font-size:.85rem;"
    "padding:.45rem .6rem;border:1px solid rgba(128,128,128,.35);border-radius:.5rem;"
    "background:rgba(128,128,128,.06);color:inherit}"
    ".inferlab-share button{padding:.3rem .9rem;border:1px solid rgba(128,128,128,.35);"
    "border-radius:.5rem;background:transparent;color:inherit;cursor:pointer}"
    ".inferlab-share button:hover{border-color:currentColor}</style>"
)


def share_box_html(url: str) -> str:
    """The box's HTML; the link is in the input's value and in `data-share-url`."""
    safe = html.escape(url, quote=True)
    return (
        f'{_STYLE}<div class="{SHARE_CLASS}" data-share-url="{safe}">'
        f'<input type="text" readonly value="{safe}" aria-label="Share link">'
        f'<button type="button" title="Copy the link to the clipboard">Copy</button>'
        f"{_SCRIPT}</div>"
    )


def share_box(url: str) -> None:
    """Show `url` in the share box (read-only, select on focus, copy button)."""
    st.html(share_box_html(url), unsafe_allow_javascript=True)
