"""The run's summary (`katib-enas status RUN_DIR`, the end of `katib-enas run`, summary.txt): a
view of the same record as every other output, so it names the same best trial; and it reads
well on a narrow terminal (issue 21's papercuts)."""

from __future__ import annotations

import json
from pathlib import Path

from analysis_support import Command, make_run
from rich.console import Console

from katib_enas.analysis.records import ExperimentRecord, TrialRow
from katib_enas.analysis.run_summary import render, summarize
from katib_enas.core.katib import Condition, Objective, ObjectiveType
from katib_enas.local.store import Store

OBJECTIVE = Objective(ObjectiveType.MAXIMIZE, "Validation-Accuracy")


def _row(seq: int, condition: Condition, value: float | None) -> TrialRow:
    return TrialRow(
        name=f"enas-digits-{seq:08d}",
        seq=seq,
        condition=condition,
        objective=value,
        metrics={} if value is None else {"Validation-Accuracy": value},
        start_time="2026-12-01T00:00:00Z",
        completion_time="2026-12-01T00:00:12Z",
        seconds=12.0,
        parameters=None,
        assignments={},
        message="",
    )


def _printed(status: str, trials: list[TrialRow], width: int) -> str:
    record = ExperimentRecord(
        name="enas-digits",
        namespace="",
        source="test",
        status=status,
        reason="",
        objective=OBJECTIVE,
        settings={},
        trials=tuple(trials),
    )
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    render(summarize(record), console)
    console.file.close()
    return console.export_text()


def test_summary_counts_read_as_words_and_values_survive_sixty_columns() -> None:
    trials = [
        _row(1, Condition.SUCCEEDED, 0.9861),
        _row(2, Condition.METRICSUNAVAILABLE, None),
        _row(3, Condition.EARLYSTOPPED, 0.5),
    ]
    text = _printed("Succeeded", trials, 60)
    assert "3 trials: 1 succeeded, 1 metrics unavailable, 1 early stopped" in " ".join(text.split())
    table = text.split("best trial")[0]
    assert "0.9861" in table
    assert "0.5000" in table
    assert "0.…" not in table


def test_a_finished_run_without_a_success_does_not_say_yet() -> None:
    failed = [_row(1, Condition.FAILED, None)]
    assert "no trial succeeded\n" in _printed("Failed", failed, 100)
    assert "no trial succeeded yet" in _printed("Running", failed, 100)


def test_status_names_the_best_trial_its_json_and_the_report_name(
    tmp_path: Path, katib_enas: Command
) -> None:
    """A tie where the first trial did not report its size: the summary used to rank it by the
    reported `Parameter-Count` alone and named the second (a huge one), while `status -o json`
    and the report counted the first's planned size and named the first."""
    run_dir = tmp_path / "run"
    s = Condition.SUCCEEDED
    names = make_run(run_dir, trials=[(s, 0.9, ""), (s, 0.9, "")], parameters=[1, 10**9])
    store = Store(run_dir / "katib.db")
    try:
        first = store.trials()[0]
        observation = {k: dict(v) for k, v in first.observation.items() if k != "Parameter-Count"}
        store.finish_trial(
            names[0],
            condition=s,
            completion_time=first.completion_time or "",
            message="",
            exit_code=0,
            objective=0.9,
            observation=observation,
        )
    finally:
        store.close()
    table = katib_enas("status", run_dir).stdout
    listed = json.loads(katib_enas("status", run_dir, "-o", "json").stdout)
    assert f"best trial (*): {names[0]}, Validation-Accuracy = 0.9000" in table
    assert listed["best_trial"] == names[0]
    assert listed["trials"][0]["parameters"] < 10**9  # planned from its architecture
