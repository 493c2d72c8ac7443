"""`katib-enas export`: one trial's model as files anyone can load without this project's
runner: the model file, the architecture, a picture, a `torch.export` program and a README.

- `model.pt`: the trial's saved weights (found in its directory when its command had
  `--save-model`), the two assignments (weight sharing stripped) and the input normalisation;
  `enas_trial.load_model("model.pt")` returns the network, taking pixels 0..255.
- `model.pt2`: the same network as a `torch.export` program (`torch.export.load(path).module()`),
  which needs neither this project nor the network's code. TorchScript is deprecated in the
  torch this project pins, and ONNX export needs onnx/onnxscript, whose protobuf 5+ the Katib
  SDK's protobuf<5 pin rules out; `torch.export` is the supported successor and works offline.
- `architecture.json`, `architecture.dot`/`.svg`, `README.md`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from katib_enas.analysis import drawing
from katib_enas.analysis.records import ExperimentRecord, TrialRow
from katib_enas.analysis.retrain_command import retrain_assignments
from katib_enas.atomic import write_atomic
from katib_enas.core.katib import from_katib_json

if TYPE_CHECKING:
    from enas_trial.model_file import Classifier

MODEL_FILE = "model.pt"
PROGRAM_FILE = "model.pt2"
_SUFFIXES = (".pt", ".pth")
_MAX_BYTES = 4 << 30


@dataclass
class Exported:
    paths: list[Path] = field(default_factory=list)
    weights_from: Path | None = None  # the trial's file the weights came from
    notes: list[str] = field(default_factory=list)


def find_weights(trial_dir: Path, trial: TrialRow) -> tuple[Path, dict[str, Any]] | None:
    """The model file a trial saved (`--save-model`) in its directory: a checkpoint whose
    architecture is the trial's."""
    if not trial_dir.is_dir():
        return None
    wanted = from_katib_json(trial.architecture)
    for path in sorted(trial_dir.rglob("*")):
        if path.suffix not in _SUFFIXES or not path.is_file():
            continue
        if path.stat().st_size > _MAX_BYTES:
            continue
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # someone else's file: not ours to read
            continue
        ours = isinstance(saved, dict) and {"state_dict", "architecture"} <= set(saved)
        if ours and from_katib_json(str(saved["architecture"])) == wanted:
            return path, saved
    return None


def export_trial(
    record: ExperimentRecord, trial: TrialRow, trial_dir: Path | None, out: Path
) -> Exported:
    """Write the export of `trial` into `out`."""
    from enas_trial.model_file import classifier

    out.mkdir(parents=True, exist_ok=True)
    exported = Exported()
    child = retrain_assignments(trial.assignments)
    found = find_weights(trial_dir, trial) if trial_dir is not None else None
    saved: dict[str, Any] = {"format": 2}
    if found is not None:
        exported.weights_from, saved = found[0], dict(found[1])
    else:
        exported.notes.append(
            f"trial {trial.name} saved no weights (its command had no --save-model): "
            "model.pt holds the architecture only; `katib-enas retrain` trains and saves it"
        )
    saved.update(
        architecture=child["architecture"],
        nn_config=child["nn_config"],
        experiment=record.name,
        trial=trial.name,
        objective={record.objective.metric_name: trial.objective},
    )
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    _put(exported, out / MODEL_FILE, buffer.getvalue())
    model = classifier(saved)
    if found is not None:
        _export_program(model, out / PROGRAM_FILE, exported)
    document = {
        "experiment": record.name,
        "trial": trial.name,
        "objective": {"metric": record.objective.metric_name, "value": trial.objective},
        "metrics": trial.metrics,
        "parameters": trial.parameters,
        "trained": found is not None,
        "input_shape": list(model.input_shape),
        "layers": trial.layers,
        "assignments": child,
    }
    _put(exported, out / "architecture.json", json.dumps(document, indent=2) + "\n")
    graph = drawing.draw(child, f"{trial.name}")
    if graph is not None:
        _put(exported, out / "architecture.dot", graph.source)
        svg = drawing.svg(graph)
        if svg is None:
            exported.notes.append(drawing.NO_DOT)
        else:
            _put(exported, out / "architecture.svg", svg)
    _put(exported, out / "README.md", _readme(record, trial, model.input_shape, found is not None))
    return exported


def _export_program(model: Classifier, path: Path, exported: Exported) -> None:
    """`model` as a `torch.export` program with a free batch size (a note if it cannot)."""
    example = torch.zeros(2, *model.input_shape)
    batch = torch.export.Dim("batch", min=1, max=65536)
    try:
        program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
        buffer = io.BytesIO()
        torch.export.save(program, buffer)
    except Exception as error:  # a network torch.export cannot trace: model.pt still loads
        exported.notes.append(f"{PROGRAM_FILE} not written: torch.export failed ({error})")
        return
    _put(exported, path, buffer.getvalue())


def _put(exported: Exported, path: Path, data: str | bytes) -> None:
    write_atomic(path, data)
    exported.paths.append(path)


def _readme(
    record: ExperimentRecord, trial: TrialRow, shape: tuple[int, ...], trained: bool
) -> str:
    value = "-" if trial.objective is None else f"{trial.objective:.4f}"
    dims = "x".join(str(d) for d in shape)
    program = (
        f"\nWithout this project (torch only):\n\n```python\nimport torch\n"
        f'model = torch.export.load("{PROGRAM_FILE}").module()\n```\n'
        if trained
        else "\nThe trial saved no weights: the network loads freshly initialised "
        "(`model.trained` is False). `katib-enas retrain` trains and saves it.\n"
    )
    layers = "\n".join(trial.layers)
    return (
        f"# {trial.name} ({record.name})\n\n"
        f"{record.objective.metric_name} = {value}; {trial.parameters or '?'} parameters; "
        f"input N x {dims} (channels x height x width), pixel values 0..255.\n\n"
        "```python\nimport enas_trial\n"
        f'model = enas_trial.load_model("{MODEL_FILE}")   # an nn.Module, in eval mode\n'
        "logits = model(images)                          # images: N x C x H x W, 0..255\n```\n"
        f"{program}\n## Architecture\n\n```text\n{layers}\n```\n"
    )
