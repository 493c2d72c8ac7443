"""The search-space contract (`katib_enas.core.spaces.base`), run against every registered kind."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from space_samples import SAMPLES, parts

from katib_enas.core import spaces
from katib_enas.core.errors import InvalidArchitectureError, InvalidSearchSpaceError
from katib_enas.core.policies import PolicyConfig
from katib_enas.core.spaces.operations import GraphConfig, NasConfig

KINDS = sorted(spaces.KINDS)
UNSAFE = set('"\\$` \n')


def test_every_registered_kind_has_a_sample_experiment() -> None:
    assert set(SAMPLES) == set(spaces.KINDS)


def _space(kind: str) -> spaces.Space[Any]:
    nas, _, settings = parts(kind)
    space = spaces.space_kind(kind).parse(nas, settings)
    assert space.kind == kind
    return space


def _samples(space: spaces.Space[Any], seed: int) -> list[Any]:
    policy = space.policy(PolicyConfig(16, 5.0, 2.25, 0.4), seed)
    generator = torch.Generator().manual_seed(seed)
    return [policy.sample(generator) for _ in range(10)] + [
        space.sample_uniform(generator) for _ in range(10)
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_encode_decode_round_trip_with_safe_katib_assignments(kind: str) -> None:
    space = _space(kind)
    kind_object = spaces.space_kind(kind)
    for architecture in _samples(space, seed=3):
        assignments = space.encode(architecture)
        assert set(assignments) == {"architecture", "nn_config"}
        for value in assignments.values():
            assert not set(value) & UNSAFE, value  # Katib's JSON substitution and `sh -c`
        assert space.decode(assignments) == architecture
        assert kind_object.owns(assignments)
        assert spaces.kind_of(assignments) is kind_object
        lines = kind_object.describe(assignments)
        assert lines and not any("cannot decode" in line for line in lines)


@pytest.mark.parametrize("kind", KINDS)
def test_sampling_is_reproducible_from_the_seed(kind: str) -> None:
    space = _space(kind)
    assert _samples(space, seed=5) == _samples(space, seed=5)
    assert _samples(space, seed=5) != _samples(space, seed=6)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "assignments",
    [
        {},
        {"architecture": "[[", "nn_config": "{}"},
        {"architecture": "{'x': 1}", "nn_config": "[1]"},
        {"architecture": "[[999999]]", "nn_config": "{}"},
    ],
)
def test_bad_assignments_fail_as_invalid_architecture_and_describe_never_raises(
    kind: str, assignments: dict[str, str]
) -> None:
    space = _space(kind)
    with pytest.raises(InvalidArchitectureError):
        space.decode(assignments)
    lines = spaces.space_kind(kind).describe(assignments)
    assert all(isinstance(line, str) for line in lines)


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_graph_is_rejected_naming_the_field(kind: str) -> None:
    nas, _, settings = parts(kind)
    broken = NasConfig(
        GraphConfig(0, nas.graph.input_sizes, nas.graph.output_sizes), nas.operations
    )
    with pytest.raises(InvalidSearchSpaceError, match=r"nasConfig\.graphConfig\.numLayers"):
        spaces.space_kind(kind).parse(broken, settings)


@pytest.mark.parametrize("kind", KINDS)
def test_formats_work_without_importing_torch(kind: str, tmp_path: Path) -> None:
    """The trial decodes its assignments before it pays for `import torch`."""
    nas, _, settings = parts(kind)
    space = _space(kind)
    assignments = space.encode(_samples(space, seed=1)[0])
    payload = tmp_path / "input.pickle"
    payload.write_bytes(pickle.dumps((nas, settings, assignments)))
    code = (
        "import pickle, sys\n"
        "from katib_enas.core import spaces\n"
        f"nas, settings, assignments = pickle.load(open({str(payload)!r}, 'rb'))\n"
        f"kind = spaces.space_kind({kind!r})\n"
        "space = kind.parse(nas, settings)\n"
        "assert space.encode(space.decode(assignments)) == assignments\n"
        "assert kind.describe(assignments)\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
