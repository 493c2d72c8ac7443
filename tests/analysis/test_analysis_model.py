"""Export and retrain on a real local run: the model files load with the documented three lines
and give the test accuracy the trial and the retrain reported."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch
import yaml
from analysis_support import DIGITS, KATIB_ENAS, Command, make_run, one_error_line

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 2-epoch digits trials that save their weights (`--save-model`, as digits.yaml)."""
    folder = tmp_path_factory.mktemp("real")
    doc = yaml.safe_load(DIGITS.read_text())
    doc["metadata"]["name"] = "tiny"
    doc["spec"].update(maxTrialCount=2, parallelTrialCount=2, maxFailedTrialCount=2)
    pod = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    pod["containers"][0]["command"] = [
        "--num_epochs=2" if w.startswith("--num_epochs") else w for w in command
    ]
    assert "--save-model=model.pt" in command
    (folder / "tiny.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    result = subprocess.run(
        [KATIB_ENAS, "run", "tiny.yaml", "--run-dir", "run"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("report.html", "trials.csv", "trials.json", "best-architecture.svg"):
        assert (folder / "run" / name).is_file(), name
    assert "retrain it from scratch and save the model:" in result.stdout
    return folder / "run"


def digits_test_split() -> tuple[torch.Tensor, torch.Tensor]:
    """The digits test images exactly as enas-trial splits them (raw 0..255 pixels)."""
    from enas_trial import data

    splits = data.load_splits(
        "digits",
        data_dir=Path("/nonexistent"),
        download=False,
        download_url="",
        validation_fraction=0.1,
        split_seed=0,
    )
    return torch.as_tensor(splits.test_x), torch.as_tensor(splits.test_y)


def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(images).argmax(dim=1) == labels).float().mean())


def test_export_writes_a_model_that_loads_in_three_lines(
    real_run: Path, katib_enas: Command, tmp_path: Path
) -> None:
    result = katib_enas("export", real_run, "--out", tmp_path / "export")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "export"
    for name in ("model.pt", "model.pt2", "architecture.json", "architecture.svg", "README.md"):
        assert (out / name).is_file(), name
    document = json.loads((out / "architecture.json").read_text())
    best = json.loads((real_run / "trials.json").read_text())["best_trial"]
    assert document["trial"] == best and document["trained"] is True
    # The README's three lines, as a user runs them.
    readme = (out / "README.md").read_text()
    assert 'import enas_trial\nmodel = enas_trial.load_model("model.pt")' in readme
    script = (
        "import enas_trial, torch\n"
        'model = enas_trial.load_model("model.pt")\n'
        "logits = model(torch.zeros(3, 1, 8, 8))\n"
        "print(tuple(logits.shape), model.trained)\n"
    )
    ran = subprocess.run(
        [str(Path(KATIB_ENAS).with_name("python")), "-c", script],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "(3, 10) True"
    # The trial's reported test accuracy, from its saved weights.
    import enas_trial

    model = enas_trial.load_model(out / "model.pt")
    images, labels = digits_test_split()
    reported = document["metrics"]["Test-Accuracy"]
    assert accuracy(model, images, labels) == pytest.approx(reported, abs=1e-5)
    # torch.export's program needs neither this project nor the network's code.
    program = torch.export.load(out / "model.pt2").module()
    with torch.no_grad():
        assert torch.allclose(program(images.float()), model(images), atol=1e-5)


def test_retrain_trains_from_scratch_and_reports_the_test_accuracy_the_model_gives(
    real_run: Path, katib_enas: Command, tmp_path: Path
) -> None:
    best = json.loads((real_run / "trials.json").read_text())["best_trial"]
    out = tmp_path / "retrained"
    result = katib_enas("retrain", real_run, "--epochs", "3", "--out", out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 3
    line = next(x for x in result.stdout.splitlines() if x.startswith("retrained "))
    assert line.startswith(f"retrained {best}: 3 epochs in ")
    assert f"test accuracy {summary['test_accuracy']:.4f}" in line
    assert f'model = enas_trial.load_model("{out / "model.pt"}")' in result.stdout
    import enas_trial

    model = enas_trial.load_model(out / "model.pt")
    images, labels = digits_test_split()
    assert accuracy(model, images, labels) == pytest.approx(summary["test_accuracy"], abs=1e-5)
    log = (out / "trial.log").read_text()
    assert "--num_epochs=3" in log and "Test-Accuracy=" in log


def test_retrain_of_a_derived_architecture_drops_weight_sharing(
    real_run: Path, katib_enas: Command, tmp_path: Path
) -> None:
    from katib_enas.core.katib import from_katib_json, to_katib_json

    trial = json.loads((real_run / "trials.json").read_text())["trials"][0]["assignments"]
    shared = from_katib_json(trial["nn_config"])
    assert isinstance(shared, dict)
    shared["shared"] = {"address": "127.0.0.1:1", "experiment": "tiny", "slice_steps": 5}
    (real_run / "derived.json").write_text(
        json.dumps(
            {
                "experiment": "tiny",
                "derived": [
                    {
                        "rank": 1,
                        "architecture": trial["architecture"],
                        "nn_config": to_katib_json(shared),
                        "shared_validation_accuracy": 0.5,
                        "layers": [],
                    }
                ],
            }
        )
    )
    try:
        result = katib_enas("retrain", real_run, "--derived", "1", "--epochs", "1")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        log = (real_run / "retrain" / "derived-1" / "trial.log").read_text()
        assert "'shared'" not in log and "slice" not in log
        assert "retrained derived-1: 1 epochs" in result.stdout
        missing = katib_enas("retrain", real_run, "--derived", "7")
        assert "--derived: no rank 7 in" in one_error_line(missing, "retrain")
        assert "(ranks: 1)" in missing.stderr
    finally:
        (real_run / "derived.json").unlink()


def test_export_of_a_trial_without_saved_weights_says_so(
    katib_enas: Command, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    names = make_run(run_dir)
    result = katib_enas("export", run_dir, "--trial", names[0], "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert f"note: trial {names[0]} saved no weights" in result.stdout
    assert not (tmp_path / "out" / "model.pt2").exists()
    import enas_trial

    model = enas_trial.load_model(tmp_path / "out" / "model.pt")
    assert model.trained is False and model.input_shape == (1, 8, 8)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["export", "{run}", "--trial", "nope", "--out", "{tmp}/o"],
            "--trial: no trial named 'nope'",
        ),
        (["export", "{missing}", "--out", "{tmp}/o"], "run_dir: {missing} holds no run"),
        (["retrain", "{run}", "--trial", "nope"], "--trial: no trial named 'nope'"),
        (["retrain", "{run}", "--epochs", "0"], "--epochs: must be at least 1"),
        (["retrain", "{run}", "--derived", "1"], "--derived: {run}/derived.json does not exist"),
        (
            ["retrain", "{nowin}"],
            "no trial of local run {nowin} succeeded yet: name one with --trial",
        ),
    ],
)
def test_export_and_retrain_refuse_with_one_line(
    args: list[str], message: str, katib_enas: Command, tmp_path: Path
) -> None:
    from katib_enas.core.katib import Condition

    run_dir, nowin = tmp_path / "run", tmp_path / "nowin"
    make_run(run_dir)
    make_run(nowin, trials=[(Condition.FAILED, None, "exit code 1")])
    paths = {"run": run_dir, "missing": tmp_path / "x", "tmp": tmp_path, "nowin": nowin}
    result = katib_enas(*(a.format(**paths) for a in args))
    assert message.format(**paths) in one_error_line(result, args[0])


def test_retrain_refuses_a_bad_derived_file_and_a_foreign_trial_command(
    katib_enas: Command, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    names = make_run(run_dir)
    (run_dir / "derived.json").write_text("{not json")
    bad = katib_enas("retrain", run_dir, "--derived", "1")
    assert "--derived: " in one_error_line(bad, "retrain") and "cannot be read" in bad.stderr
    (run_dir / "derived.json").write_text(json.dumps({"derived": [{"rank": 1}]}))
    empty = katib_enas("retrain", run_dir, "--derived", "1")
    assert "--derived: rank 1 in" in one_error_line(empty, "retrain")
    experiment = run_dir / "experiment.yaml"
    experiment.write_text(experiment.read_text().replace("- enas-trial", "- ./train.sh"))
    foreign = katib_enas("retrain", run_dir, "--trial", names[0])
    assert "the trial command does not run enas-trial" in one_error_line(foreign, "retrain")
    assert os.path.exists(experiment)
