"""What a user sees of `katib-enas serve`'s metrics in a real Prometheus: the first errors are
counted from 0, gauges are absent until known, each experiment keeps its own values, and the
process reports its memory against the limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from grpc_service import drive, renamed
from prometheus_server import Prometheus
from serve_process import MEMORY_LIMIT, Serve

from katib_enas.katib_api import pb

pytestmark = pytest.mark.slow

ERRORS = (
    'katib_enas_rpc_requests_total{method="ValidateAlgorithmSettings", code="INVALID_ARGUMENT"}'
)


def bad_settings(experiment: Any) -> Any:
    bad = renamed(experiment, experiment.name)
    bad.spec.algorithm.algorithm_settings.add(name="controller_hidden_size", value="-1")
    return bad


def reject_twice(serve: Serve, experiment: Any) -> None:
    for _ in range(2):
        with pytest.raises(grpc.RpcError) as info:
            serve.suggestion.ValidateAlgorithmSettings(
                pb.ValidateAlgorithmSettingsRequest(experiment=bad_settings(experiment)), timeout=30
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_first_two_errors_show_as_an_increase(
    serve: Serve, start_prometheus: Callable[..., Prometheus], cpu_experiment: Any
) -> None:
    prometheus = start_prometheus(serve.metrics_target)
    # Before any call, every method x code series is there at 0, and scraped more than once:
    # 5 methods (Katib's 2, the shared-weights store's 3) x 2 error codes.
    zeros = prometheus.wait_for(
        'katib_enas_rpc_requests_total{code!="OK"}', lambda r: len(r) == 5 * 2, timeout=30
    )
    assert {float(s["value"][1]) for s in zeros} == {0.0}
    prometheus.wait_for(f"count_over_time({ERRORS}[1m]) >= 2", lambda r: len(r) == 1)
    reject_twice(serve, cpu_experiment)
    prometheus.wait_for(ERRORS, lambda r: len(r) == 1 and r[0]["value"][1] == "2")
    [increase] = prometheus.query(f"increase({ERRORS}[1m])")
    assert float(increase["value"][1]) >= 1.5  # 2, extrapolated over the window; never 0
    assert "Prometheus metrics on http://127.0.0.1:" in serve.log.read_text()


def test_gauges_are_absent_until_known_and_experiments_keep_their_own_values(
    serve: Serve, start_prometheus: Callable[..., Prometheus], cpu_experiment: Any
) -> None:
    prometheus = start_prometheus(serve.metrics_target)
    prometheus.wait_for("katib_enas_build_info", lambda r: len(r) == 1)
    for gauge in ("best_objective_value", "latest_reward", "policy_entropy_nats", "trials"):
        assert prometheus.query(f"katib_enas_{gauge}") == [], gauge  # not a fake 0
    first, second = renamed(cpu_experiment, "enas-a"), renamed(cpu_experiment, "enas-b")
    serve.suggestion.ValidateAlgorithmSettings(
        pb.ValidateAlgorithmSettingsRequest(experiment=first), timeout=30
    )
    # Validated: its counters exist at 0, so its first suggestions count as an increase.
    created = prometheus.wait_for(
        'katib_enas_suggestions_total{experiment="enas-a"}', lambda r: len(r) == 1
    )
    assert created[0]["value"][1] == "0"
    assert prometheus.query("katib_enas_best_objective_value") == []
    drive(serve.suggestion, first, [0.5, 0.9464, 0.7, None])
    drive(serve.suggestion, second, [0.6, 0.7784])
    best = prometheus.wait_for("katib_enas_best_objective_value", lambda r: len(r) == 2, timeout=30)
    assert {s["metric"]["experiment"]: float(s["value"][1]) for s in best} == {
        "enas-a": 0.9464,
        "enas-b": 0.7784,
    }
    trials = {
        (s["metric"]["experiment"], s["metric"]["condition"]): float(s["value"][1])
        for s in prometheus.query('katib_enas_trials{condition=~"Succeeded|Failed"}')
    }
    assert trials == {
        ("enas-a", "Succeeded"): 3,
        ("enas-a", "Failed"): 1,
        ("enas-b", "Succeeded"): 2,
        ("enas-b", "Failed"): 0,
    }


def test_process_memory_is_reported_against_the_limit(
    serve: Serve, start_prometheus: Callable[..., Prometheus]
) -> None:
    prometheus = start_prometheus(serve.metrics_target)
    [limit] = prometheus.wait_for("katib_enas_memory_limit_bytes", lambda r: len(r) == 1)
    assert float(limit["value"][1]) == MEMORY_LIMIT
    [ratio] = prometheus.query("process_resident_memory_bytes / katib_enas_memory_limit_bytes")
    assert 0.01 < float(ratio["value"][1]) < 1  # a real process's size against 1 GiB
    for family in ("process_cpu_seconds_total", "process_open_fds", "python_info"):
        assert prometheus.query(family), family
