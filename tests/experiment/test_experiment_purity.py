"""The Experiment package is pure at run time too: importing it (every module) loads no torch,
gRPC, protobuf or Kubernetes client, so `validate` and the commands that only read an Experiment
start fast. The import contracts check the source; this checks what really gets imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import katib_enas.experiment

HEAVY = ("torch", "grpc", "google.protobuf", "kubernetes")


def test_importing_every_experiment_module_loads_nothing_heavy() -> None:
    package = Path(katib_enas.experiment.__file__).parent
    modules = sorted(f"katib_enas.experiment.{p.stem}" for p in package.glob("*.py"))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
