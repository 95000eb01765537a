"""The share box's HTML: the link is shown verbatim and can never break out of it."""

import html
import re

from inferlab.dashboard.share import SHARE_CLASS, share_box_html


def test_share_box_shows_the_link_in_a_readonly_input_and_its_data_attribute() -> None:
    url = "http://127.0.0.1:8501/latency?ttft_ms=250&tokens=50"
    box = share_box_html(url)
    value = re.search(r'<input type="text" readonly value="([^"]*)"', box)
    data = re.search(rf'class="{SHARE_CLASS}" data-share-url="([^"]*)"', box)
    assert value and data
    assert html.unescape(value.group(1)) == url == html.unescape(data.group(1))


def test_share_box_escapes_quotes_and_tags_in_the_link() -> None:
    url = "http://h/p?x=\"><script>alert(1)</script>&y='1'"
    box = share_box_html(url)
    assert box.count("<script") == 1 and "<script>alert(1)" not in box
    data = re.search(r'data-share-url="([^"]*)"', box)
    assert data and html.unescape(data.group(1)) == url
