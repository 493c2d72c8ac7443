"""The import contracts refuse what they promise to refuse.

A contract is only as good as the import it catches: each probe adds one forbidden import to a
scratch copy of the packages and runs the real `lint-imports` on it, which must fail naming the
contract that the import breaks. The unchanged copy passes. Two probes add a new member to a
registry (a toy strategy, a toy space kind) to show that the independence contracts find
members themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a lint-imports run per probe: about half a minute in all

PACKAGES = ("operator/katib_enas", "trial_image/enas_trial")
SOURCE_ROOTS = ("operator", "trial_image")  # PYTHONPATH: the copy, never the installed packages


@dataclass(frozen=True)
class Probe:
    path: str  # relative to the scratch root; created when it does not exist
    line: str  # the import added at the end of the module
    contract: str  # the start of the name of the contract that must break


LAYERS = "Layers:"
CORE = "The algorithm core is pure"
PROBES = {
    # The holes of issue 22: each single import left `lint-imports` at "9 kept".
    "trial imports analysis": Probe(
        "trial_image/enas_trial/training.py", "import katib_enas.analysis", LAYERS
    ),
    "core imports v1 (protobuf)": Probe(
        "operator/katib_enas/core/katib.py", "import katib_enas.v1.shared_weights_pb2", CORE
    ),
    "core imports tensor_wire": Probe(
        "operator/katib_enas/core/katib.py", "import katib_enas.tensor_wire", CORE
    ),
    "core imports the trial": Probe("operator/katib_enas/core/katib.py", "import enas_trial", CORE),
    "service imports the trial": Probe(
        "operator/katib_enas/service/convert.py",
        "import enas_trial.flags",
        "The service never imports the trial",
    ),
    # The third-party allow-lists.
    "core imports grpc": Probe(
        "operator/katib_enas/core/katib.py", "import grpc", "Only the gRPC boundary imports grpc"
    ),
    "core imports kubernetes": Probe(
        "operator/katib_enas/core/katib.py",
        "import kubernetes",
        "Only the cluster readers import kubernetes",
    ),
    "service imports torch": Probe(
        "operator/katib_enas/service/convert.py", "import torch", "Only the policies, state"
    ),
    "experiment imports torch": Probe(
        "operator/katib_enas/experiment/model.py", "import torch", "Only the policies, state"
    ),
    "analysis imports protobuf": Probe(
        "operator/katib_enas/analysis/records.py",
        "import google.protobuf",
        "Only the generated katib_enas.v1 imports protobuf",
    ),
    "runner launch imports Katib's API": Probe(
        "operator/katib_enas/local/launch.py",
        "import katib_enas.katib_api",
        "Only Katib's boundary imports Katib's generated API",
    ),
    "trial flags import v1": Probe(
        "trial_image/enas_trial/flags.py",
        "import katib_enas.v1",
        "Only the shared-weights boundary imports our generated API",
    ),
    "runner imports v1": Probe(
        "operator/katib_enas/local/runner.py",
        "import katib_enas.v1.shared_weights_pb2",
        "Only the shared-weights boundary imports our generated API",
    ),
    # Layers between packages and inside the runner and the trial.
    "experiment imports the runner": Probe(
        "operator/katib_enas/experiment/model.py", "import katib_enas.local.rundir", LAYERS
    ),
    "runner imports analysis": Probe(
        "operator/katib_enas/local/runner.py", "import katib_enas.analysis.records", LAYERS
    ),
    "store imports collectors": Probe(
        "operator/katib_enas/local/store.py",
        "import katib_enas.local.collectors",
        "Runner layers",
    ),
    "evaluation imports training": Probe(
        "trial_image/enas_trial/evaluation.py", "import enas_trial.training", "Trial layers"
    ),
    # Registries, hand-listed members and new ones alike.
    "collector imports collector": Probe(
        "operator/katib_enas/local/collectors/file.py",
        "import katib_enas.local.collectors.stdout",
        "Metrics collectors are independent",
    ),
    "command imports command": Probe(
        "operator/katib_enas/commands/status.py",
        "import katib_enas.commands.run",
        "Commands are independent",
    ),
    "space kind imports space kind": Probe(
        "operator/katib_enas/core/spaces/macro/format.py",
        "import katib_enas.core.spaces.micro",
        "Search-space kinds are independent",
    ),
    "builder imports builder": Probe(
        "trial_image/enas_trial/builders/macro/plan.py",
        "import enas_trial.builders.micro",
        "Trial network builders are independent",
    ),
    "new strategy imports reinforce": Probe(
        "operator/katib_enas/core/strategies/toy.py",
        "import katib_enas.core.strategies.reinforce",
        "Strategies are independent",
    ),
    "new space kind imports macro": Probe(
        "operator/katib_enas/core/spaces/toy/__init__.py",
        "import katib_enas.core.spaces.macro",
        "Search-space kinds are independent",
    ),
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Iterator[Path]:
    """A copy of the packages and of pyproject.toml (the contracts), shared by the probes; each
    probe restores what it changed."""
    root = tmp_path_factory.mktemp("contracts")
    for package in PACKAGES:
        shutil.copytree(
            repo_root / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(repo_root / "pyproject.toml", root / "pyproject.toml")
    yield root


def lint_imports(root: Path) -> tuple[int, str]:
    """(exit status, output with line wrapping undone) of `lint-imports` on the copy in `root`."""
    executable = Path(sys.executable).with_name("lint-imports")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(root / p) for p in SOURCE_ROOTS),
    }
    result = subprocess.run(
        [str(executable), str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def contract_names(root: Path) -> list[str]:
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def test_the_unchanged_copy_keeps_every_contract(scratch: Path) -> None:
    status, output = lint_imports(scratch)
    assert status == 0, output
    assert f"Contracts: {len(contract_names(scratch))} kept, 0 broken." in output


@pytest.mark.parametrize("probe", PROBES.values(), ids=PROBES.keys())
def test_a_forbidden_import_breaks_its_contract(scratch: Path, probe: Probe) -> None:
    (name,) = [n for n in contract_names(scratch) if n.startswith(probe.contract)]
    module = scratch / probe.path
    created = not module.exists()
    original = "" if created else module.read_text(encoding="utf-8")
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(f"{original}\n{probe.line}  # probe\n", encoding="utf-8")
    try:
        status, output = lint_imports(scratch)
    finally:
        if created:
            shutil.rmtree(module.parent) if module.name == "__init__.py" else module.unlink()
        else:
            module.write_text(original, encoding="utf-8")
    assert status != 0, output
    assert f"{name} BROKEN" in output, output
