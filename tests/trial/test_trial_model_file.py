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


def test_the_model_states_and_checks_the_pixel_scale_it_takes() -> None:
    """scikit-learn's digits are 0..16; the trial trained on them scaled to 0..255. Fed the raw
    values, a model would score about 10 % without a word: it warns, and refuses what no image
    holds."""
    import warnings

    from enas_trial.model_file import classifier
    from katib_enas.experiment import load_experiment

    repo = Path(__file__).resolve().parents[2]
    space = load_experiment(repo / "manifests/local/digits.yaml").search_space()
    assert space is not None
    model = classifier(space.encode(space.sample_uniform(torch.Generator().manual_seed(1))))
    pixels = torch.randint(0, 256, (4, 1, 8, 8)).float()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model(pixels).shape == (4, 10)  # 0..255: as trained, no warning
        assert model(pixels.to(torch.uint8)).shape == (4, 10)
    with pytest.warns(UserWarning, match=r"takes pixel values 0\.\.255.*multiply by 255/16"):
        model(pixels * 16 / 255)
    centred = pixels.clone()
    centred[0, 0, 0, :2] = torch.tensor([-1.0, 255.0])  # a normalised image, say
    with pytest.raises(ValueError, match=r"images hold values -1\.\.255: the model takes"):
        model(centred)
    # torch.export still traces it (the check runs only in eager calls).
    program = torch.export.export(model, (pixels,))
    assert program.module()(pixels).shape == (4, 10)
