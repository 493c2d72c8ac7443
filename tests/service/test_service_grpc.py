"""The suggestion service over real gRPC, as a stock Katib v0.19 calls it."""

from __future__ import annotations

import copy
import logging
import platform
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import grpc
import pytest
import torch
from grpc_health.v1 import health_pb2
from grpc_service import Running, assignments_of, connect, drive, katib_trial
from prometheus_client.parser import text_string_to_metric_families

import katib_enas
from katib_enas.core.spaces.macro.format import check_pair, decode_architecture, decode_nn_config
from katib_enas.katib_api import pb

ACC = "Validation-Accuracy"
SERVING = health_pb2.HealthCheckResponse.SERVING


def request(experiment: Any, trials: list[Any], current: int, total: int) -> Any:
    return pb.GetSuggestionsRequest(
        experiment=experiment,
        trials=trials,
        current_request_number=current,
        total_request_number=total,
    )


def error_of(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def test_health_answers_serving_for_the_names_katib_probes(service: Running) -> None:
    for name in ("", "manager.v1beta1.Suggestion"):
        reply = service.health.Check(health_pb2.HealthCheckRequest(service=name), timeout=1)
        assert reply.status == SERVING


@pytest.mark.parametrize("fixture", ["gpu_experiment", "cpu_experiment"])
def test_stock_examples_validate_and_get_suggestions(
    service: Running, fixture: str, request_fixture: pytest.FixtureRequest
) -> None:
    experiment = request_fixture.getfixturevalue(fixture)
    service.suggestion.ValidateAlgorithmSettings(
        pb.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=10
    )
    reply = service.suggestion.GetSuggestions(request(experiment, [], 3, 3), timeout=30)
    suggested = assignments_of(reply)
    assert len(suggested) == 3
    for one in suggested:
        assert set(one) == {"architecture", "nn_config"}
        arch, config = decode_architecture(one["architecture"]), decode_nn_config(one["nn_config"])
        check_pair(arch, config)
        assert config.num_layers == experiment.spec.nas_config.graph_config.num_layers
        for value in one.values():
            assert not set(value) & set('"\\$` \n')  # JSON-string-safe and shell-safe
    assert {(s.name, s.value) for s in reply.algorithm.algorithm_settings} == {
        ("seed", str(_derived_seed(experiment.name)))
    }


@pytest.fixture
def request_fixture(request: pytest.FixtureRequest) -> pytest.FixtureRequest:
    return request


def _derived_seed(name: str) -> int:
    from katib_enas.core.settings import derive_seed

    return derive_seed(name)


def _with(experiment: Any, mutate: Any) -> Any:
    changed = copy.deepcopy(experiment)
    mutate(changed)
    return changed


def _setting(name: str, value: str) -> Any:
    return lambda e: e.spec.algorithm.algorithm_settings.add(name=name, value=value)


def _settings(*pairs: tuple[str, str]) -> Any:
    return lambda e: [e.spec.algorithm.algorithm_settings.add(name=n, value=v) for n, v in pairs]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.spec.ClearField("nas_config"), "numLayers"),
        (lambda e: e.spec.nas_config.operations.ClearField("operation"), "operations is empty"),
        (
            lambda e: setattr(e.spec.nas_config.operations.operation[0], "operation_type", "warp"),
            "unknown operation type 'warp'",
        ),
        (lambda e: e.spec.nas_config.graph_config.ClearField("input_sizes"), "inputSizes"),
        (_setting("controller_learning_rate", "fast"), "controller_learning_rate"),
        (_setting("controller_skip_target", "1.0"), "controller_skip_target"),
        (_setting("controller_hidden", "64"), "unknown setting 'controller_hidden'"),
        (
            _setting("num_nodes", "4"),
            "setting 'num_nodes' belongs to the micro search space; this Experiment's "
            "search_space is macro",
        ),
        (
            _settings(("strategy", "random"), ("controller_grad_bound", "1")),
            "setting 'controller_grad_bound' belongs to the reinforce strategy; this Experiment's "
            "strategy is random",
        ),
        (lambda e: setattr(e.spec.objective, "type", pb.UNKNOWN), "objective.type"),
    ],
)
def test_bad_experiments_get_invalid_argument_naming_the_field(
    service: Running, gpu_experiment: Any, mutate: Any, message: str
) -> None:
    experiment = _with(gpu_experiment, mutate)
    for call in (
        lambda: service.suggestion.ValidateAlgorithmSettings(
            pb.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=10
        ),
        lambda: service.suggestion.GetSuggestions(request(experiment, [], 2, 2), timeout=10),
    ):
        error = error_of(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in (error.details() or "")


def test_echoed_seed_is_accepted_and_does_not_change_the_answer(
    service: Running, gpu_experiment: Any
) -> None:
    first = service.suggestion.GetSuggestions(request(gpu_experiment, [], 2, 2), timeout=30)
    echoed = _with(
        gpu_experiment,
        lambda e: e.spec.algorithm.algorithm_settings.extend(first.algorithm.algorithm_settings),
    )
    service.suggestion.ValidateAlgorithmSettings(
        pb.ValidateAlgorithmSettingsRequest(experiment=echoed), timeout=10
    )
    again = service.suggestion.GetSuggestions(request(echoed, [], 2, 2), timeout=30)
    assert assignments_of(again) == assignments_of(first)


def test_request_numbers_zero_and_huge(service: Running, gpu_experiment: Any) -> None:
    zero = service.suggestion.GetSuggestions(request(gpu_experiment, [], 0, 5), timeout=30)
    assert len(zero.parameter_assignments) == 0
    error = error_of(
        lambda: service.suggestion.GetSuggestions(
            request(gpu_experiment, [], 10**9, 10**9), timeout=30
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "current_request_number" in (error.details() or "")


def _history(service: Running, experiment: Any, n: int, *, failed: bool = False) -> list[Any]:
    """n finished trials of architectures the service suggested, Katib-shaped."""
    reply = service.suggestion.GetSuggestions(request(experiment, [], n, n), timeout=60)
    trials = []
    for i, one in enumerate(assignments_of(reply)):
        condition = pb.TrialStatus.FAILED if failed else pb.TrialStatus.SUCCEEDED
        metrics = {} if failed else {ACC: f"{0.1 + 0.8 * (i % 7) / 7:.4f}"}
        trials.append(
            katib_trial(
                experiment,
                f"{experiment.name}-{i:05d}",
                one,
                condition,
                metrics=metrics,
                completion_time=f"2026-11-28T01:{i // 60 % 60:02d}:{i % 60:02d}Z",
            )
        )
    return trials


def _scrape(service: Running) -> dict[str, float]:
    port = service.metrics.serve(0, "127.0.0.1")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}"] = sample.value
    return values


def test_messy_katib_history_gets_exact_counts_and_metrics(
    service: Running, gpu_experiment: Any
) -> None:
    trials = _history(service, gpu_experiment, 6)
    trials += [
        katib_trial(gpu_experiment, "running", {"architecture": "[[1]]"}, pb.TrialStatus.RUNNING),
        katib_trial(
            gpu_experiment,
            "junk-arch",
            {"architecture": "[[1],[2"},
            metrics={ACC: "0.9"},
            completion_time="2026-11-28T02:00:00Z",
        ),
        katib_trial(
            gpu_experiment,
            "junk-metric",
            {a.name: a.value for a in trials[0].spec.parameter_assignments.assignments},
            metrics={ACC: "not-a-number"},
            completion_time="2026-11-28T02:00:01Z",
        ),
        katib_trial(
            gpu_experiment,
            "killed",
            {a.name: a.value for a in trials[1].spec.parameter_assignments.assignments},
            pb.TrialStatus.KILLED,
        ),
    ]
    reply = service.suggestion.GetSuggestions(request(gpu_experiment, trials, 3, 9), timeout=30)
    assert len(reply.parameter_assignments) == 3
    scraped = _scrape(service)
    exp = f"experiment={gpu_experiment.name}"
    assert scraped[f"katib_enas_trials{{condition=Succeeded,{exp}}}"] == 8  # junk ones included
    assert scraped[f"katib_enas_trials{{condition=Running,{exp}}}"] == 1
    assert scraped[f"katib_enas_trials{{condition=Killed,{exp}}}"] == 1
    assert scraped[f"katib_enas_trials{{condition=Failed,{exp}}}"] == 0
    # 6 successes + the bad metric (the worst reward) are 7 trials to learn from (the junk
    # architecture teaches nothing): one update of 4, three pending for the next batch
    assert scraped[f"katib_enas_controller_updates_total{{{exp}}}"] == 1
    assert scraped[f"katib_enas_suggestions_total{{{exp}}}"] == 6 + 3
    assert scraped[f"katib_enas_best_objective_value{{{exp}}}"] == 0.9
    assert scraped["katib_enas_rpc_requests_total{code=OK,method=GetSuggestions}"] == 2
    build = f"python_version={platform.python_version()},torch_version={torch.__version__}"
    assert scraped[f"katib_enas_build_info{{{build},version={katib_enas.__version__}}}"] == 1

    # the same call again learns nothing more and answers the same
    again = service.suggestion.GetSuggestions(request(gpu_experiment, trials, 3, 9), timeout=30)
    assert assignments_of(again) == assignments_of(reply)
    assert _scrape(service)[f"katib_enas_controller_updates_total{{{exp}}}"] == 1


def test_a_trial_that_changed_since_the_last_call_is_read_again(
    service: Running, gpu_experiment: Any
) -> None:
    """Trials a call already read are recognised by name, condition and completion time (issue
    23: a call costs only its new trials); one that finished since is read with its metric."""
    trials = _history(service, gpu_experiment, 4)
    assignments = {a.name: a.value for a in trials[0].spec.parameter_assignments.assignments}
    late = katib_trial(gpu_experiment, "late", assignments, pb.TrialStatus.RUNNING)
    service.suggestion.GetSuggestions(request(gpu_experiment, [*trials, late], 1, 5), timeout=30)
    exp = f"experiment={gpu_experiment.name}"
    assert _scrape(service)[f"katib_enas_trials{{condition=Running,{exp}}}"] == 1
    finished = katib_trial(
        gpu_experiment,
        "late",
        assignments,
        metrics={ACC: "0.99"},
        completion_time="2026-11-28T03:00:00Z",
    )
    service.suggestion.GetSuggestions(
        request(gpu_experiment, [*trials, finished], 1, 6), timeout=30
    )
    scraped = _scrape(service)
    assert scraped[f"katib_enas_trials{{condition=Running,{exp}}}"] == 0
    assert scraped[f"katib_enas_trials{{condition=Succeeded,{exp}}}"] == 5
    assert scraped[f"katib_enas_best_objective_value{{{exp}}}"] == 0.99
    # 4 + 1 learned: one update of 4, the late trial pending for the next batch
    assert scraped[f"katib_enas_controller_updates_total{{{exp}}}"] == 1


def test_all_trials_failed_still_gets_a_proper_reply(service: Running, gpu_experiment: Any) -> None:
    trials = _history(service, gpu_experiment, 4, failed=True)
    reply = service.suggestion.GetSuggestions(request(gpu_experiment, trials, 2, 6), timeout=30)
    assert len(reply.parameter_assignments) == 2


def test_restarted_service_resumes_from_its_volume_or_from_the_history(
    tmp_path: Path, gpu_experiment: Any
) -> None:
    state_dir = tmp_path / "data"
    state_dir.mkdir()
    first = connect(state_dir)
    trials = _history(first, gpu_experiment, 12)
    expected = assignments_of(
        first.suggestion.GetSuggestions(request(gpu_experiment, trials, 4, 16), timeout=30)
    )
    first.server.stop(0)
    assert (state_dir / gpu_experiment.name / "enas-state.pt").is_file()

    for directory in (state_dir, None):  # from the checkpoint, then from the history alone
        second = connect(directory)
        reply = second.suggestion.GetSuggestions(request(gpu_experiment, trials, 4, 16), timeout=60)
        assert assignments_of(reply) == expected
        updates = _scrape(second)[
            f"katib_enas_controller_updates_total{{experiment={gpu_experiment.name}}}"
        ]
        assert updates == (0 if directory else 12 // 4)  # batches of 4 trials
        second.server.stop(0)


def test_health_stays_responsive_while_a_long_replay_runs(
    service: Running, gpu_experiment: Any
) -> None:
    trials = _history(service, gpu_experiment, 300)
    fresh = _with(gpu_experiment, lambda e: setattr(e, "name", "another-experiment"))
    done = threading.Event()

    def long_call() -> None:
        service.suggestion.GetSuggestions(request(fresh, trials, 1, 301), timeout=60)
        done.set()

    worker = threading.Thread(target=long_call)
    worker.start()
    time.sleep(0.2)
    answered_meanwhile = 0
    while not done.is_set():
        reply = service.health.Check(
            health_pb2.HealthCheckRequest(service="manager.v1beta1.Suggestion"), timeout=30
        )
        assert reply.status == SERVING
        answered_meanwhile += not done.is_set()  # the long call was still running
        time.sleep(0.1)
    worker.join()
    assert answered_meanwhile >= 1


def test_graceful_shutdown_reports_not_serving(gpu_experiment: Any) -> None:
    running = connect()
    watcher = running.health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert next(watcher).status == SERVING
    stopper = threading.Thread(target=running.server.stop, args=(2.0,))
    stopper.start()
    assert next(watcher).status == health_pb2.HealthCheckResponse.NOT_SERVING
    stopper.join()


def test_the_learning_log_line_reads_as_words(
    service: Running, caplog: pytest.LogCaptureFixture
) -> None:
    from katib_enas.experiment import load_experiment
    from katib_enas.local.requests import experiment_message

    repo = Path(__file__).resolve().parents[2]
    experiment = experiment_message(load_experiment(repo / "manifests/local/digits.yaml"))
    with caplog.at_level(logging.INFO, logger="katib_enas.service.servicer"):
        drive(service.suggestion, experiment, [0.5], parallel=1)  # one trial: no batch yet
        drive(service.suggestion, experiment, [0.5, 0.6, 0.7, 0.8], parallel=1)
    lines = [r.getMessage() for r in caplog.records if "learned from" in r.getMessage()]
    assert "experiment enas-digits: learned from 1 trial (no policy update) in " in lines[0]
    assert any("learned from 1 trial (1 policy update) in " in line for line in lines[1:])
    assert not any("(s)" in line or "0 updates" in line for line in lines)
