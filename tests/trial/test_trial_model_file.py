"""Model files: what `enas_trial.load_model` refuses, in one line; whole numbers reported whole
(a parameter count keeps every digit in Katib's metric line)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from enas_trial.errors import TrialInputError
from enas_trial.model_file import load_model
from enas_trial.reporting import format_value, metric_lines


def test_a_parameter_count_keeps_every_digit_and_accuracies_keep_six() -> None:
    assert format_value(1234567.0) == "1234567"
    assert format_value(0.123456789) == "0.123457"
    line = metric_lines({"Parameter-Count": 2345678}, "2026-01-01T00:00:00.000000Z")[0]
    assert line.endswith(" Parameter-Count=2345678")


def test_load_model_refuses_what_is_not_a_model_file(tmp_path: Path) -> None:
    with pytest.raises(TrialInputError, match=r"no such model file$"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(TrialInputError, match=r"junk.pt: not a model file \("):
        load_model(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(TrialInputError, match=r"not a katib-enas model file \(no architecture\)"):
        load_model(tmp_path / "other.pt")
