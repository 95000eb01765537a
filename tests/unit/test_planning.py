"""The capacity planner: demand -> in flight -> replicas, from one named capacity source."""

import math

import pytest

from inferlab import capacity as cap
from inferlab import planning
from inferlab.catalog import load_gpus

H100 = {g.name: g for g in load_gpus()}["H100 SXM"]
LLAMA_8B = cap.ModelShape(8.0, "BF16", 32, 8, 128, "BF16")
LLAMA_70B = cap.ModelShape(70.0, "BF16", 80, 8, 128, "BF16")


def roofline_replica(target_s: float = 15.0, n_gpus: int = 1) -> planning.ReplicaCapacity:
    return planning.replica_from_roofline(
        H100, LLAMA_8B, 1000, 256, target_s, n_gpus, 0.7, 0.5, 0.9
    )


def test_plural_says_one_replica_and_two_gpus() -> None:
    assert planning.plural(1, "replica") == "1 replica"
    assert planning.plural(3, "replica") == "3 replicas"
    assert planning.plural(1, "GPU") == "1 GPU"
    assert planning.plural(1024, "GPU") == "1,024 GPUs"


@pytest.mark.parametrize(
    ("demand", "latency_s", "rps"),
    [
        (planning.Demand("users", users=1200, requests_per_user_per_min=0.5), 3.0, 10.0),
        (planning.Demand("rate", rps=7.5), 3.0, 7.5),
        # 100 users each waiting 2 s then thinking 8 s: one request per 10 s each
        (planning.Demand("concurrent", concurrent_users=100, think_time_s=8.0), 2.0, 10.0),
    ],
)
def test_arrival_rate_from_each_kind_of_demand(
    demand: planning.Demand, latency_s: float, rps: float
) -> None:
    assert planning.arrival_rps(demand, latency_s) == pytest.approx(rps)


def test_negative_demand_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="request rate"):
        planning.arrival_rps(planning.Demand("rate", rps=-1), 1.0)


def test_user_source_uses_the_latency_it_is_given_not_the_target() -> None:
    # 10 req/s x 5.3 s = 53 in flight; / (32 x 0.8 = 25.6) -> 2.07 -> 3 replicas
    replica = planning.replica_from_user(32, 5.3)
    plan = planning.plan_deployment(
        planning.Demand("rate", rps=10.0), replica, 15.0, 0.8, 1000, 256, True, 1, 1
    )
    assert plan.latency_s == 5.3
    assert plan.required_concurrency == pytest.approx(53.0)
    assert plan.replicas == 3 and plan.total_gpus == 3
    assert plan.utilisation == pytest.approx(53 / 96)
    assert plan.meets_target


def test_gpus_are_replicas_times_gpus_per_replica() -> None:
    replica = planning.replica_from_user(10, 1.0)
    plan = planning.plan_deployment(
        planning.Demand("rate", rps=25.0), replica, 2.0, 1.0, 100, 100, True, 4, 4
    )
    assert plan.replicas == 3 and plan.total_gpus == 12


def test_a_model_that_does_not_fit_gets_no_replica_count_but_the_gpus_it_needs() -> None:
    # 70 B x 2 bytes = 140 GB > 0.9 x 80 GB on one H100; two hold 144 GB
    need = planning.min_gpus_per_replica(H100, LLAMA_70B, 1256, 0.9)
    assert need == 2
    replica = roofline_replica()
    plan = planning.plan_deployment(
        planning.Demand("rate", rps=1.0), replica, 15.0, 0.8, 1000, 256, False, 1, need
    )
    assert plan.replicas is None and plan.total_gpus is None
    assert plan.problem is not None and "at least 2 GPUs per replica" in plan.problem


def test_no_tp_degree_holds_a_huge_model() -> None:
    huge = cap.ModelShape(50_000.0, "BF16", 80, 8, 128, "BF16")
    assert planning.min_gpus_per_replica(H100, huge, 1256, 0.9) is None


def test_roofline_capacity_is_the_kv_limited_batch_with_its_full_latency() -> None:
    replica = roofline_replica()
    assert replica.source == "roofline"
    assert replica.concurrency == 340  # the KV cache of 1,256-token sequences on one H100
    assert "limited by the KV cache" in replica.explanation
    assert replica.latency_at is not None
    assert replica.latency_at(340) == pytest.approx(replica.latency_s)
    assert replica.latency_at(1) < replica.latency_at(100) < replica.latency_at(340)


def test_roofline_plan_uses_the_latency_at_its_own_load() -> None:
    replica = roofline_replica()
    plan = planning.plan_deployment(
        planning.Demand("users", users=100_000, requests_per_user_per_min=0.5),
        replica,
        15.0,
        0.8,
        1000,
        256,
        True,
        1,
        1,
    )
    assert plan.replicas is not None and plan.utilisation is not None
    assert replica.latency_at is not None
    per_replica = plan.required_concurrency / plan.replicas
    # self-consistent: W is the latency at the load each replica really carries
    assert plan.latency_s == pytest.approx(replica.latency_at(per_replica), rel=1e-4)
    assert plan.required_concurrency == pytest.approx(plan.arrival_rps * plan.latency_s)
    assert per_replica <= 340 * 0.8 + 1e-6
    assert plan.utilisation <= 0.8 + 1e-9
    # one replica fewer would overflow its 0.8 x 340 slots at its own (higher) latency
    fewer, b = plan.replicas - 1, 1.0
    for _ in range(500):  # b = λ W(b) / R climbs to its fixed point, if it has one below the cap
        b = plan.arrival_rps * replica.latency_at(b) / fewer
        if b > 340 * 0.8:
            break
    assert b > 340 * 0.8
    assert plan.latency_s < replica.latency_s  # lighter than a full replica
    assert plan.meets_target


def test_roofline_with_no_request_within_the_target_says_so() -> None:
    replica = roofline_replica(target_s=0.01)
    assert replica.concurrency == 0
    plan = planning.plan_deployment(
        planning.Demand("rate", rps=1.0), replica, 0.01, 0.8, 1000, 256, True, 1, 1
    )
    assert plan.replicas is None
    assert plan.problem is not None and "Not even one request" in plan.problem


def test_measured_run_capacity_and_a_missed_target() -> None:
    replica = planning.replica_from_run("c=16", 16, 9.0, 12.0)
    assert "c=16" in replica.explanation and "p95 12 s" in replica.explanation
    plan = planning.plan_deployment(
        planning.Demand("rate", rps=4.0), replica, 5.0, 0.5, 100, 100, True, 1, 1
    )
    # 4 x 9 = 36 in flight / (16 x 0.5) = 4.5 -> 5 replicas; 9 s > 5 s target
    assert plan.replicas == 5
    assert not plan.meets_target


def test_a_rate_run_cannot_give_a_replica_capacity() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        planning.replica_from_run("rate", 0, 1.0, None)
    with pytest.raises(ValueError, match="completed requests"):
        planning.replica_from_run("empty", 4, math.nan, None)


def test_tp_comparison_recommends_the_degree_with_the_fewest_gpus_in_all() -> None:
    # 70B BF16 on H100: TP=2 fits the weights but leaves KV room for 9 sequences, so the
    # demand needs 10 replicas (20 GPUs); TP=4 holds 359 at once: 1 replica, 4 GPUs
    demand = planning.Demand("users", users=1000, requests_per_user_per_min=0.5)
    tp = planning.compare_tp_degrees(demand, H100, LLAMA_70B, 1000, 256, 15.0, 0.8, 0.7, 0.5, 0.9)
    by_n = {o.gpus_per_replica: o for o in tp.options}
    assert by_n[1].plan is None
    assert by_n[2].plan is not None and by_n[2].plan.total_gpus == 20
    assert tp.best is by_n[4]
    assert tp.best.plan is not None and tp.best.plan.replicas == 1
    assert tp.summary().startswith("TP=4: 1 replica, 4 GPUs; ")
    assert "TP=2 would need 20 GPUs" in tp.summary()
    assert "TP=1 does not fit" in tp.summary()


def test_tp_comparison_ties_go_to_fewer_gpus_per_replica() -> None:
    demand = planning.Demand("rate", rps=1.0)
    tp = planning.compare_tp_degrees(demand, H100, LLAMA_8B, 1000, 256, 15.0, 0.8, 0.7, 0.5, 0.9)
    assert tp.best is not None and tp.best.gpus_per_replica == 1


def test_tp_comparison_without_any_fitting_degree_says_so() -> None:
    huge = cap.ModelShape(2000.0, "BF16", 126, 8, 128, "BF16")
    demand = planning.Demand("rate", rps=1.0)
    tp = planning.compare_tp_degrees(demand, H100, huge, 1000, 256, 15.0, 0.8, 0.7, 0.5, 0.9)
    assert tp.best is None
    assert "No tensor-parallel degree" in tp.summary()


def test_a_run_of_another_request_shape_is_pointed_out_with_both_shapes() -> None:
    text = planning.shape_mismatch(128.0, 32.0, 1000, 256)
    assert text is not None
    assert "answers of 32 output tokens and prompts of 128 input tokens" in text
    assert "the plan assumes 256 output and 1,000 input tokens" in text
    assert "not scaled" in text
    assert planning.shape_mismatch(1010.0, 250.0, 1000, 256) is None  # within 25 %
    assert planning.shape_mismatch(None, None, 1000, 256) is None  # nothing to compare
    unrecorded = planning.shape_mismatch(None, 32.0, 1000, 256)
    assert unrecorded is not None and "an unrecorded number of input tokens" in unrecorded


def test_a_roofline_replica_too_slow_for_one_request_says_so_not_up_to_zero() -> None:
    replica = roofline_replica(target_s=0.5)
    assert replica.concurrency == 0
    assert replica.latency_s > 0.5
    assert "not even one request meets the 0.5 s target" in replica.explanation
    assert f"one request alone takes {replica.latency_s:,.3g} s" in replica.explanation
    assert "up to 0 requests" not in replica.explanation
    # A reachable target keeps the "up to N at once" sentence.
    assert "up to 340 requests at once" in roofline_replica().explanation
