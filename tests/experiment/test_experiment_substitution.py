"""`${trialParameters.*}` substitution as Katib does it."""

from __future__ import annotations

from typing import Any

import pytest

from katib_enas.experiment import experiment_from_dict
from katib_enas.experiment.substitution import SubstitutionError, render_trial_spec


def _args(manifest: dict[str, Any]) -> list[str]:
    command = manifest["spec"]["template"]["spec"]["containers"][0]["command"]
    assert isinstance(command, list)
    return command


def test_placeholders_become_assignments_and_metadata(example_doc: dict[str, Any]) -> None:
    spec = example_doc["spec"]["trialTemplate"]
    spec["trialParameters"].append({"name": "trialName", "reference": "${trialSpec.Name}"})
    spec["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["command"].append(
        "--tag=${trialParameters.trialName}"
    )
    experiment = experiment_from_dict(example_doc)
    manifest = render_trial_spec(
        experiment.trial_template,
        {"architecture": "[[3],[1,0]]", "nn_config": "{'num_layers':2}"},
        trial_name="tiny-abc",
        namespace="default",
    )
    args = _args(manifest)
    assert '--architecture="[[3],[1,0]]"' in args
    assert "--nn_config=\"{'num_layers':2}\"" in args
    assert "--tag=tiny-abc" in args


def test_value_that_breaks_json_is_a_clear_error(example_doc: dict[str, Any]) -> None:
    experiment = experiment_from_dict(example_doc)
    with pytest.raises(SubstitutionError, match="must not contain"):
        render_trial_spec(
            experiment.trial_template,
            {"architecture": 'bad"value', "nn_config": "{}"},
            trial_name="t",
            namespace="default",
        )
    with pytest.raises(SubstitutionError, match="no assignment 'nn_config'"):
        render_trial_spec(
            experiment.trial_template, {"architecture": "[[1]]"}, trial_name="t", namespace="d"
        )
