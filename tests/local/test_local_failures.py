"""Why a trial failed, in one line, and what a metric-less trial printed."""

from __future__ import annotations

from pathlib import Path

from katib_enas.experiment.metric_logs import DEFAULT_FILTER, names_in_json, names_in_text
from katib_enas.local.failures import last_error_line


def test_the_enas_trial_error_line_is_chosen_over_later_noise(tmp_path: Path) -> None:
    log = tmp_path / "trial.log"
    log.write_text(
        "enas-trial: macro child network:\n"
        "2026-01-01T00:00:00.000000Z Validation-Accuracy=0.5\n"
        "enas-trial: error: --data-dir: /data holds no CIFAR-10 python batches\n"
        "\n"
    )
    assert (
        last_error_line(log)
        == "enas-trial: error: --data-dir: /data holds no CIFAR-10 python batches"
    )


def test_a_traceback_gives_its_last_line(tmp_path: Path) -> None:
    log = tmp_path / "trial.log"
    log.write_text(
        'Traceback (most recent call last):\n  File "x.py", line 1\nRuntimeError: CUDA error\n'
    )
    assert last_error_line(log) == "RuntimeError: CUDA error"


def test_without_an_error_word_the_last_line_and_long_lines_are_cut(tmp_path: Path) -> None:
    log = tmp_path / "trial.log"
    log.write_text("starting\nboom\n")
    assert last_error_line(log) == "boom"
    log.write_text("error: " + "x" * 1000 + "\n")
    line = last_error_line(log)
    assert len(line) == 240 and line.endswith("...")
    assert last_error_line(tmp_path / "missing.log") == ""


def test_printed_names_are_every_name_with_a_number() -> None:
    lines = ["Validation-Acc=0.9 lr = 0.1", "epoch done", "Training-Loss=1e-3 note=high"]
    assert names_in_text(lines, [DEFAULT_FILTER]) == ["Validation-Acc", "lr", "Training-Loss"]
    assert names_in_json(['{"acc": "0.9", "timestamp": "x", "n": 3}', "not json"]) == ["acc"]
