"""`strip_sharing`: retrain and export build the child alone, without weight sharing's key."""

from __future__ import annotations

import pytest

from katib_enas.core.errors import InvalidArchitectureError
from katib_enas.core.katib import from_katib_json, to_katib_json
from katib_enas.core.sharing.reference import strip_sharing

CONFIG = {"num_layers": 1, "input_sizes": [8, 8, 1], "output_sizes": [10], "embedding": {}}


def test_the_shared_key_goes_and_everything_else_stays() -> None:
    shared = {**CONFIG, "shared": {"address": "svc:6790", "experiment": "e", "slice_steps": 5}}
    stripped = strip_sharing(to_katib_json(shared))
    assert from_katib_json(stripped) == CONFIG
    assert "'" in stripped and '"' not in stripped  # still Katib's quoting


def test_a_config_without_sharing_is_returned_as_it_is() -> None:
    text = '"' + to_katib_json(CONFIG) + '"'  # as the Push collector leaves it
    assert strip_sharing(text) == text


def test_malformed_json_names_the_field() -> None:
    with pytest.raises(InvalidArchitectureError, match=r"^nn_config: not valid JSON"):
        strip_sharing("{'num_layers':")
