"""The Runs page marks a run whose load over-saturated the server."""

from __future__ import annotations

from inferlab.store import Store
from tests.app.calc_fixtures import make_run
from tests.app.conftest import OpenPage


def test_a_saturated_run_is_marked_in_the_table_and_explained(open_page: OpenPage) -> None:
    store = Store()
    make_run(store, "calm", label="calm")
    make_run(store, "flooded", label="flooded")
    reason = "requests in flight keep growing (3 -> 40, +9.1/s): the server cannot keep up"
    store.add_run_metadata(
        "flooded", {"saturation": {"at_s": 6.0, "reason": reason, "stopped": True, "dropped": 7}}
    )
    at = open_page("runs")
    assert not at.exception
    table = at.dataframe[0].value
    status = dict(zip(table["Run id"], table["Status"], strict=True))
    assert status == {"calm": "completed", "flooded": "completed · over-saturated"}
    warnings = [w.value for w in at.warning if "over-saturated the server" in w.value]
    assert len(warnings) == 1 and "flooded" in warnings[0] and reason in warnings[0]
