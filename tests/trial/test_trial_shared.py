"""`enas-trial` in weight-sharing mode, as a real process against a real store: it pulls, trains
its slice at the shared schedule, pushes, reports its accuracy; an unreachable store fails it in
one line after bounded retries, never a silent training from scratch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from grpc_service import Running, connect
from shared_support import children, network, shared_experiment
from space_samples import sample
from trial_support import TrialRunner

from enas_trial.builders import builder_for
from enas_trial.sharing.blocks import block_shapes
from enas_trial.sharing.link import StoreLink
from katib_enas.core import spaces, strategies
from katib_enas.core.sharing.reference import StoreReference, with_reference
from katib_enas.core.sharing.store import in_scopes
from katib_enas.v1 import shared_weights_pb2 as sw


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Running]:
    (tmp_path / "state").mkdir()
    service = connect(tmp_path / "state", advertise="127.0.0.1:{port}")
    yield service
    service.channel.close()
    service.server.stop(0)


def _args(child: sw.Child, *extra: str) -> list[str]:
    return [
        "--dataset=digits",
        "--batch-size=64",
        "--num_gpus=0",
        "--summary-file=summary.json",
        "--metrics-file=metrics.json",
        "--metrics-format=json",
        f"--architecture={child.architecture}",
        f"--nn_config={child.nn_config}",
        *extra,
    ]


def _status(store: Running, child: sw.Child) -> sw.StoreStatus:
    return StoreLink(f"127.0.0.1:{store.server.port}", child, 5).pull([]).status


def test_a_shared_trial_trains_its_slice_pushes_and_reports(
    store: Running, run_trial: TrialRunner, tmp_path: Path
) -> None:
    first, second = children(store, shared_experiment(), 2)
    done = run_trial(*_args(first))
    assert done.returncode == 0, done.stderr
    assert "shared weights: pulled 0 of" in done.stderr  # a fresh store
    assert "shared weights: pushed" in done.stderr
    status = _status(store, first)
    assert (status.version, status.global_step) == (1, 20)  # one push of one 20-step slice
    records = [json.loads(x) for x in (tmp_path / "metrics.json").read_text().splitlines()]
    assert {"Training-Accuracy", "Validation-Accuracy", "Validation-Loss"} <= set(records[0])
    # No test accuracy: shared weights only rank children; the test set is the winner's.
    assert set(records[1]) == {"Parameter-Count", "timestamp"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert 0.0 <= summary["final_validation_accuracy"] <= 1.0
    # The next child starts where the first left off: it pulls what the first pushed.
    again = run_trial(*_args(second))
    assert again.returncode == 0, again.stderr
    assert "at version 1, step 20 of 800" in again.stderr
    assert _status(store, second).version == 2


def test_evaluate_shared_scores_without_training_or_pushing(
    store: Running, run_trial: TrialRunner
) -> None:
    [child] = children(store, shared_experiment(), 1)
    assert run_trial(*_args(child)).returncode == 0
    scored = run_trial(*_args(child, "--evaluate-shared"))
    assert scored.returncode == 0, scored.stderr
    assert "pushed" not in scored.stderr and "first training step" not in scored.stderr
    assert _status(store, child).version == 1


def test_derive_fine_tunes_from_the_shared_weights_without_pushing(
    store: Running, run_trial: TrialRunner, tmp_path: Path
) -> None:
    [child] = children(store, shared_experiment(), 1)
    assert run_trial(*_args(child)).returncode == 0
    scored = run_trial(*_args(child, "--evaluate-shared", "--finetune-steps=7"))
    assert scored.returncode == 0, scored.stderr
    assert "fine-tuning 7 steps from shared step 20" in scored.stderr
    assert "first training step" in scored.stderr and "pushed" not in scored.stderr
    status = _status(store, child)
    assert (status.version, status.global_step) == (1, 20)  # the store is as the trial left it
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["test_accuracy"] is None and 0.0 <= summary["final_validation_accuracy"] <= 1


def test_the_reward_is_scored_on_reward_images_and_derive_on_the_whole_split(
    store: Running, run_trial: TrialRunner, tmp_path: Path
) -> None:
    """Seven images can only give an accuracy of k/7; digits' validation split (144 images)
    cannot, except 0 and 1."""
    [child] = children(store, shared_experiment(), 1)
    reports = []
    for extra in ((), ("--evaluate-shared",)):
        done = run_trial(*_args(child, "--reward-images=7", *extra))
        assert done.returncode == 0, done.stderr
        reports.append(json.loads((tmp_path / "summary.json").read_text()))
    reward, derived = (r["final_validation_accuracy"] for r in reports)
    assert abs(reward * 7 - round(reward * 7)) < 1e-6, reward
    assert 0 < derived < 1 and abs(derived * 7 - round(derived * 7)) > 1e-6, derived


def test_two_trials_draw_different_batches(store: Running, run_trial: TrialRunner) -> None:
    """Each slice has its own batch order (seeded by the store's position and the child), so
    the slices of a search cover the training set instead of replaying its first batches."""
    first, second = children(store, shared_experiment(), 2)
    orders = []
    for child in (first, first, second):
        done = run_trial(*_args(child))
        assert done.returncode == 0, done.stderr
        [line] = [x for x in done.stderr.splitlines() if "batch order" in x]
        orders.append(line.rsplit("batch order ", 1)[1])
    assert len(set(orders)) == 3, orders


def test_an_unreachable_store_fails_in_one_line_after_bounded_retries(
    store: Running, run_trial: TrialRunner
) -> None:
    [child] = children(store, shared_experiment(), 1)
    done = run_trial(
        *_args(child, "--shared-weights=127.0.0.1:1", "--shared-weights-timeout=2"), timeout=120
    )
    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if line.startswith("enas-trial: failed")]
    assert failures == [
        "enas-trial: failed: shared weights at 127.0.0.1:1: pull failed (UNAVAILABLE: "
        + failures[0].split("(UNAVAILABLE: ", 1)[1]
    ], done.stderr
    assert "does not train from scratch instead" in failures[0]
    assert "retrying" in done.stderr
    assert "first training step" not in done.stderr and "Traceback" not in done.stderr


def test_sharing_flags_without_a_sharing_child_are_bad_input(
    run_trial: TrialRunner, digits_assignments: tuple[str, str]
) -> None:
    architecture, config = digits_assignments
    for flag in ("--shared-weights=127.0.0.1:1", "--evaluate-shared"):
        done = run_trial(f"--architecture={architecture}", f"--nn_config={config}", flag)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            f"enas-trial: error: {flag.split('=')[0]}: this child shares no weights (its "
            "nn_config has no 'shared' entry; the algorithm setting weight_sharing: true adds it)"
        ]


def test_a_refused_push_is_one_error_line_with_exit_2(
    store: Running, run_trial: TrialRunner
) -> None:
    """A child whose nn_config names an experiment the service does not know: the store
    refuses, naming why, and the trial does not train."""
    [child] = children(store, shared_experiment(), 1)
    forged = child.nn_config.replace("'experiment':'enas-digits-shared'", "'experiment':'other'")
    done = run_trial(*_args(sw.Child(architecture=child.architecture, nn_config=forged)))
    assert done.returncode == 2
    [line] = [x for x in done.stderr.splitlines() if x.startswith("enas-trial: error")]
    assert "refused the pull: experiment 'other' is unknown here" in line, line
    assert "first training step" not in done.stderr


@pytest.mark.parametrize("kind", sorted(spaces.KINDS))
def test_every_parameter_is_one_supernet_block_under_the_kinds_scopes(kind: str) -> None:
    """The builder/kind contract of weight sharing, for every registered kind."""
    experiment = sample(kind)
    strategy = strategies.build(
        experiment.nas_config,
        experiment.objective,
        experiment.settings(),  # type: ignore[arg-type]
    )
    reference = StoreReference("127.0.0.1:1", "x", 1, 1, 1)
    for architecture in strategy.suggest(6, 0):
        assignments = with_reference(strategy.assignments(architecture), reference)
        child = sw.Child(
            experiment="x",
            architecture=assignments["architecture"],
            nn_config=assignments["nn_config"],
        )
        net = network(child)
        parameters = list(net.model.parameters())
        assert {id(t.parameter) for t in net.tensors} == {id(p) for p in parameters}
        shapes = block_shapes(net.tensors)  # asserts each key once
        assert sum(_size(s) for s in shapes.values()) == sum(p.numel() for p in parameters)
        scopes = spaces.KINDS[kind].shared_scopes(assignments)
        assert all(in_scopes(key, scopes) for key in shapes), sorted(shapes)[:3]
        assert builder_for(child.nn_config).kind == kind


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for s in shape:
        size *= s
    return size
