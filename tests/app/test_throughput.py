from urllib.parse import urlparse

from streamlit.testing.v1 import AppTest

from inferlab.store import Store
from tests.app.calc_fixtures import make_run
from tests.app.conftest import OpenPage, link_query, metric, share_link
from tests.conftest import APP


def test_default_render_shows_little_law_plan_and_roofline(open_page: OpenPage) -> None:
    at = open_page("throughput")
    assert not at.exception and not at.warning and not at.error
    assert metric(at, "Latency per request") == "5.3 s"
    assert metric(at, "Requests per second") == "6.04"
    assert metric(at, "Output tokens per second") == "1,546"
    # 1,000 users x 0.5/min = 8.33 req/s; the roofline serves 340 at once on one H100, and
    # at the 17.4 requests in flight this load needs, each takes 2.08 s
    assert metric(at, "Arrival rate") == "8.33 req/s"
    assert metric(at, "Requests in flight") == "17.4"
    assert metric(at, "Replicas") == "1"
    assert "Capacity source: Roofline estimate" in " ".join(m.value for m in at.markdown)
    assert "1 replica** of 1 GPU = **1 GPU**" in " ".join(m.value for m in at.markdown)
    assert "replica(s)" not in " ".join(m.value for m in at.markdown)
    assert metric(at, "TPOT floor (batch 1)") == "4.78 ms"
    assert metric(at, "Ridge point") == "295 FLOP/byte"
    text = " ".join(m.value for m in at.markdown)
    assert "32 / 5.3 s = 6.04 requests/s" in text
    assert "16 GB / 3.35 TB/s = **4.78 ms**" in text
    assert "at most **340 sequences**" in " ".join(i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 2
    assert urlparse(share_link(at)).query == ""


def test_changed_inputs_update_results_and_share_link(open_page: OpenPage) -> None:
    at = open_page("throughput")
    at.number_input(key="params_b").set_value(70.0)
    at.number_input(key="layers").set_value(80)
    at.number_input(key="n_gpus").set_value(2)
    at.selectbox(key="gpu").set_value("H200 SXM")
    at.run()
    assert not at.exception
    # 140 GB / (2 x 4.8 TB/s) = 14.6 ms
    assert metric(at, "TPOT floor (batch 1)") == "14.6 ms"
    assert link_query(at) == {"params_b": "70", "layers": "80", "n_gpus": "2", "gpu": "H200 SXM"}


def test_model_preset_fills_the_shape(open_page: OpenPage) -> None:
    at = open_page("throughput")
    next(b for b in at.button if b.label == "Llama 3.1 70B").click().run()
    assert at.number_input(key="params_b").value == 70.0
    assert at.number_input(key="layers").value == 80
    # 70B BF16 (140 GB) does not fit one H100
    assert any("do not fit" in e.value for e in at.error)


def test_own_per_replica_number_uses_the_little_law_latency_not_the_target(
    open_page: OpenPage,
) -> None:
    at = open_page("throughput")
    at.selectbox(key="source").set_value("My own number").run()
    at.number_input(key="per_replica").set_value(32).run()
    assert not at.exception
    # 8.33 req/s x 5.3 s (TTFT + TPOT x 255 above) = 44.2 in flight; / (32 x 0.8) -> 2
    assert metric(at, "Requests in flight") == "44.2"
    assert metric(at, "Replicas") == "2"
    assert link_query(at)["source"] == "My own number"


def test_request_rate_and_concurrent_users_are_inputs_too(open_page: OpenPage) -> None:
    at = open_page("throughput", {"demand": "Request rate", "plan_rps": "50"})
    assert not at.exception and not at.warning
    assert metric(at, "Arrival rate") == "50 req/s"
    at = open_page(
        "throughput",
        {"demand": "Concurrent users (with think time)", "c_users": "600", "think_s": "10"},
    )
    assert not at.exception and not at.warning
    rps = float(metric(at, "Arrival rate").split()[0])
    assert 600 / (10 + 15) < rps < 600 / 10  # users / (latency + think time), latency < 15 s


def test_model_that_does_not_fit_shows_gpus_needed_not_replicas(open_page: OpenPage) -> None:
    at = open_page("throughput")
    next(b for b in at.button if b.label == "Llama 3.1 70B").click().run()
    assert metric(at, "Replicas") == "—"
    assert metric(at, "Min GPUs per replica") == "2"
    needed = next(m for m in at.metric if m.label == "Min GPUs per replica")
    assert needed.proto.delta == "TP=4: fewest GPUs in all"
    errors = " ".join(e.value for e in at.error)
    assert "at least 2 GPUs per replica" in errors
    assert len(at.get("plotly_chart")) == 1  # no batch curve collapsed to a dot
    # figures that need the weights in memory say they are hypothetical
    # (under the value: four columns cut long labels off)
    deltas = {m.label: m.proto.delta for m in at.metric}
    assert deltas["TPOT floor (batch 1)"] == "if it fitted on 1 GPU"
    assert deltas["TPOT estimate (batch 1)"] == "if it fitted on 1 GPU"
    assert deltas["Prefill of 1,000 prompt tokens"] == "if it fitted on 1 GPU"
    text = " ".join(m.value for m in at.markdown)
    assert "would produce **17 output tokens/s** if it fitted on 1 GPU" in text
    assert "the replica produces" not in text
    roofline = at.get("plotly_chart")[0].proto.spec
    assert "decode, batch 1 if it fitted on 1 GPU" in roofline
    assert any("No batch-size curve" in i.value for i in at.info)
    # 2 GPUs fit the weights but leave KV room for 9 sequences (10 replicas, 20 GPUs); 4 GPUs
    # hold 359 at once: the planner offers the degree with the fewest GPUs in all
    assert any(
        "TP=4: 1 replica, 4 GPUs" in c.value and "TP=2 would need 20 GPUs" in c.value
        for c in at.caption
    )
    next(b for b in at.button if b.label == "Use 4 GPUs per replica (TP=4)").click().run()
    assert at.number_input(key="n_gpus").value == 4
    assert metric(at, "Replicas") == "1"
    assert "1 replica** of 4 GPUs = **4 GPUs**" in " ".join(m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 2


def test_a_fitting_degree_that_needs_more_gpus_than_another_offers_the_other(
    open_page: OpenPage,
) -> None:
    at = open_page("throughput", {"params_b": "70", "layers": "80", "n_gpus": "2"})
    assert metric(at, "Replicas") == "10"
    assert any("Fewer GPUs with TP=4" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Use 4 GPUs per replica (TP=4)").click().run()
    assert metric(at, "Replicas") == "1"
    assert not any("Fewer GPUs" in i.value for i in at.info)


def test_unusual_and_repeated_link_values_are_pointed_out(open_page: OpenPage) -> None:
    at = open_page("throughput", {"conc": "100000", "params_b": "99999", "tpot_ms": "99999"})
    warnings = " ".join(w.value for w in at.warning)
    for name in ("conc", "params_b", "tpot_ms"):
        assert f"`{name}`: " in warnings and "unusually large" in warnings, name
    assert at.number_input(key="conc").value == 100000  # used as given
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("pages/throughput.py")
    at.query_params["conc"] = ["8", "64"]
    at.run()
    assert any("gives `conc`" in w.value and "using the last, 64" in w.value for w in at.warning)


def test_share_link_round_trip_reopens_the_same_view(open_page: OpenPage) -> None:
    at = open_page("throughput")
    for key, value in {
        "conc": 64,
        "tpot_ms": 12.5,
        "users": 5000,
        "batch": 16,
        "mbu_pct": 60.0,
    }.items():
        at.number_input(key=key).set_value(value)
    at.selectbox(key="wprec").set_value("FP8")
    at.selectbox(key="gpu").set_value("MI300X")
    at.run()
    reopened = open_page("throughput", link_query(at))
    assert not reopened.warning
    for label in (
        "Requests per second",
        "Replicas",
        "Requests in flight",
        "TPOT floor (batch 1)",
        "TPOT estimate (batch 16)",
    ):
        assert metric(reopened, label) == metric(at, label)
    assert reopened.selectbox(key="gpu").value == "MI300X"


def test_bad_link_values_fall_back_with_visible_warnings(open_page: OpenPage) -> None:
    at = open_page(
        "throughput",
        {
            "conc": "abc",
            "params_b": "-8",
            "n_gpus": "0",
            "gpu": "TPU v9",
            "wprec": "FP3",
            "gpu_edit": "broken,1",
            "run": "no-such-run",
        },
    )
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    for name in ("conc", "params_b", "n_gpus", "gpu", "wprec", "gpu_edit", "run"):
        assert f"`{name}`" in warnings, name
    assert "'TPU v9' is not one of" in warnings
    assert "needs 5 fields" in warnings
    assert "there is no run 'no-such-run'" in warnings
    assert "run" not in link_query(at) and "gpu_edit" not in link_query(at)
    assert metric(at, "TPOT floor (batch 1)") == "4.78 ms"


def test_catalog_edits_in_the_link_add_a_gpu(open_page: OpenPage) -> None:
    at = open_page("throughput", {"gpu_edit": "My GPU,100,10,1000,", "gpu": "My GPU"})
    assert not at.warning
    # 16 GB / 10 TB/s
    assert metric(at, "TPOT floor (batch 1)") == "1.6 ms"
    assert link_query(at)["gpu_edit"] == "My GPU,100,10,1000,"


def test_choosing_a_run_compares_measured_with_predicted(open_page: OpenPage) -> None:
    store = Store()
    for c, tpot in ((1, 6.9), (8, 7.4)):
        make_run(store, f"c{c}", concurrency=c, tpot_ms=tpot, group_id="sweep", label=f"c{c}")
        store.add_run_metadata(
            f"c{c}", {"gpu": "H100 SXM", "model_params_b": 8, "precision": "BF16", "n_gpus": 1}
        )
    at = open_page("throughput")
    at.selectbox(key="run_pick").set_value("c8").run()
    assert not at.exception
    assert metric(at, "TPOT p50: measured") == "7.4 ms"
    # the floor at batch 8 with 1,101 tokens of context is 5.12 ms: 5.12 / 7.4 = 69 %
    assert metric(at, "Implied MBU") == "69%"
    assert link_query(at)["run"] == "c8"
    assert any("2 measured point(s)" in c.value for c in at.caption)
    reopened = open_page("throughput", {"run": "c8"})
    assert metric(reopened, "TPOT p50: measured") == "7.4 ms"


def test_hardware_of_a_run_is_saved_as_metadata(open_page: OpenPage) -> None:
    store = Store()
    make_run(store, "bare", concurrency=4)
    at = open_page("throughput", {"run": "bare"})
    assert any("Which hardware" in i.value for i in at.info)
    at.selectbox(key="hw_gpu").set_value("L40S")
    at.number_input(key="hw_params_b").set_value(7.0)
    next(b for b in at.button if b.label == "Save to the run").click().run()
    assert not at.exception
    meta = store.run_metadata("bare")
    assert meta["gpu"] == "L40S" and meta["model_params_b"] == 7.0 and meta["precision"] == "BF16"
    assert any(m.label == "Implied MBU" for m in at.metric)


def test_a_run_stored_after_the_page_opened_is_offered_on_the_next_rerun(
    open_page: OpenPage,
) -> None:
    # The run list is cached between reruns (a widget change does not reopen the
    # database), keyed by the file's modification stamp: a new run is never missed.
    store = Store()
    make_run(store, "first", concurrency=1, label="first")
    at = open_page("throughput")
    before = list(at.selectbox(key="run_pick").options)
    assert len(before) == 1
    make_run(store, "second", concurrency=2, label="second")
    at.run()
    assert not at.exception
    assert len(at.selectbox(key="run_pick").options) == 2


def test_a_link_parameter_of_no_setting_is_named_and_dropped(open_page: OpenPage) -> None:
    at = open_page("throughput", {"concurrency": "100000", "conc": "64"})
    text = " ".join(w.value for w in at.warning)
    assert "`concurrency` is not a setting of this page (did you mean `conc`?)" in text
    assert "concurrency" not in at.query_params  # the address bar matches the share link
    assert link_query(at)["conc"] == "64" and "concurrency" not in link_query(at)


def test_a_demand_or_source_code_in_a_link_is_named_not_silently_dropped(
    open_page: OpenPage,
) -> None:
    at = open_page("throughput", {"demand": "concurrent", "source": "run"})
    text = " ".join(w.value for w in at.warning)
    assert "`demand`" in text and "'concurrent' is not one of" in text
    assert "`source`" in text and "'run' is not one of" in text


def test_a_measured_run_of_other_lengths_warns_and_offers_its_shape(open_page: OpenPage) -> None:
    store = Store()
    make_run(store, "short", concurrency=4, output_tokens=32, input_tokens=128, label="short")
    at = open_page("throughput", {"source": "A measured run", "run": "short"})
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "answers of 32 output tokens and prompts of 128 input tokens" in warning
    assert "the plan assumes 256 output and 1,000 input tokens" in warning
    button = "Use the run's shape (32 output tokens, 128 input tokens)"
    next(b for b in at.button if b.label == button).click().run()
    assert at.number_input(key="out_tokens").value == 32
    assert at.number_input(key="in_tokens").value == 128
    assert not any("the plan assumes" in w.value for w in at.warning)
    assert link_query(at)["out_tokens"] == "32"


def test_a_target_no_request_can_meet_says_how_slow_one_request_is(open_page: OpenPage) -> None:
    at = open_page("throughput", {"target_s": "0.5"})
    assert metric(at, "Replicas") == "—"
    # The model fits one GPU: the memory minimum is beside the point, the latency is not.
    assert "Min GPUs per replica" not in [m.label for m in at.metric]
    alone = next(m for m in at.metric if m.label == "One request alone takes")
    assert alone.value.endswith(" s") and float(alone.value[:-2]) > 0.5
    assert alone.proto.delta == "target 0.5 s"
    assert any("Not even one request finishes within 0.5 s" in e.value for e in at.error)
    captions = " ".join(c.value for c in at.caption)
    assert "not even one request meets the 0.5 s target; one request alone takes" in captions
    assert "up to 0 requests" not in captions and "full replica" not in captions
    # More GPUs per replica speed a request up: the degree that meets the target is offered.
    assert "TP=4: 1 replica, 4 GPUs" in captions
    next(b for b in at.button if b.label == "Use 4 GPUs per replica (TP=4)").click().run()
    assert metric(at, "Replicas") == "1"


def test_a_model_no_tp_degree_holds_offers_a_lower_precision(open_page: OpenPage) -> None:
    at = open_page("throughput")
    next(b for b in at.button if b.label == "Llama 3.1 405B").click().run()
    assert any("No tensor-parallel degree" in c.value for c in at.caption)
    # 1,640 ms, never 1.64e+03 ms
    assert not [m for m in at.metric if "e+" in m.value or "e+" in (m.proto.delta or "")]
    assert not [m for m in at.markdown if "e+0" in m.value]
    button = next(b for b in at.button if b.label.startswith("Try FP8 weights"))
    assert button.label == "Try FP8 weights (1 byte per parameter instead of 2 bytes)"
    button.click().run()
    assert at.selectbox(key="wprec").value == "FP8"
