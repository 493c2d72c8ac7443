"""`spec.earlyStopping` in local mode: Katib's medianstop rule (from Succeeded trials, once at
`start_step`, best value so far), applied to real trial processes, with bad settings refused."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from run_support import trial_processes

from katib_enas import cli
from katib_enas.core.katib import Condition, Objective, ObjectiveType
from katib_enas.experiment import experiment_from_dict
from katib_enas.experiment.metric_logs import MetricLog
from katib_enas.local.early_stopping import MedianStop, StopRule, Watch
from katib_enas.local.results import best_trial
from katib_enas.local.stop_rules import stop_reason
from katib_enas.local.store import StoredTrial

Run = Callable[..., Any]
MAXIMIZE = Objective(ObjectiveType.MAXIMIZE, "Validation-Accuracy")
MINIMIZE = Objective(ObjectiveType.MINIMIZE, "loss")


def _trial(name: str, condition: Condition) -> StoredTrial:
    return StoredTrial(name, 1, condition, (), {}, None, None, "", None, None, {})


def _log(second: int, value: str) -> MetricLog:
    return MetricLog(f"2026-01-01T00:00:{second:02d}Z", "Validation-Accuracy", value)


def test_the_rule_is_the_mean_of_succeeded_trials_first_values() -> None:
    logs = {
        # Reported out of time order: the first two by time are 0.4 and 0.2.
        "a": [_log(2, "0.2"), _log(1, "0.4"), _log(3, "0.9")],
        "b": [_log(1, "0.6"), _log(2, "0.6")],
        "c": [_log(1, "0.1"), _log(2, "0.1")],
        "stopped": [_log(1, "0.0"), _log(2, "0.0")],
        "failed": [_log(1, "0.0")],
    }
    trials = [
        _trial("a", Condition.SUCCEEDED),
        _trial("b", Condition.SUCCEEDED),
        _trial("c", Condition.SUCCEEDED),
        _trial("stopped", Condition.EARLYSTOPPED),  # not counted, as in Katib
        _trial("failed", Condition.FAILED),
    ]
    rule = MedianStop(min_trials_required=3, start_step=2).rule(MAXIMIZE, trials, logs.__getitem__)
    # Averages 0.3, 0.6, 0.1: Katib's "median" is their mean (0.333...), not their median.
    assert rule is not None
    assert rule.value == pytest.approx((0.3 + 0.6 + 0.1) / 3)
    assert (rule.metric, rule.comparison, rule.start_step) == ("Validation-Accuracy", "less", 2)
    assert MedianStop(4, 2).rule(MAXIMIZE, trials, logs.__getitem__) is None  # too few yet
    minimized = MedianStop(1, 1).rule(MINIMIZE, trials[:1], logs.__getitem__)
    assert minimized is not None and minimized.comparison == "greater"
    assert minimized.metric == "loss" and minimized.value == pytest.approx(0.4)


def test_a_trial_is_judged_once_at_start_step_on_its_best_value() -> None:
    rule = StopRule("Validation-Accuracy", 0.5, "less", 3)

    def verdicts(values: list[float]) -> list[str | None]:
        watch = Watch(rule, maximize=True, path=Path("unused"))
        return [watch.feed(v) for v in values]

    # Best so far 0.6 >= 0.5 at report 3: it runs on, whatever it reports later.
    assert verdicts([0.6, 0.1, 0.2, 0.0, 0.0]) == [None] * 5
    stopped = verdicts([0.1, 0.3, 0.2, 0.0])
    assert stopped[:2] == [None, None] and stopped[3] is None
    assert stopped[2] == (
        "early stopped by medianstop: best Validation-Accuracy 0.3 after 3 reports < median 0.5"
    )


# A trial that prints its values (by the order trials start) one every 0.3 s.
SCRIPTED = """
import os, sys, time
from pathlib import Path
control = Path(sys.argv[1])
number = 1
while True:
    try:
        os.close(os.open(control / f"start.{number}", os.O_CREAT | os.O_EXCL))
        break
    except FileExistsError:
        number += 1
values = {
    1: [0.5, 0.6, 0.7],
    2: [0.1, 0.2] + [0.2] * 30,
    3: [0.3, 0.6, 0.1, 0.1],
    4: [0.52, 0.51, 0.1, 0.1],
}[number]
for value in values:
    print(f"Validation-Accuracy={value}", flush=True)
    time.sleep(0.3)
"""


def _median_stop_settings(katib_examples: Path) -> dict[str, Any]:
    """`spec.earlyStopping` of Katib's median-stop.yaml (min_trials_required 1, start_step 2)."""
    doc = yaml.safe_load((katib_examples / "median-stop.yaml").read_text(encoding="utf-8"))
    early: dict[str, Any] = doc["spec"]["earlyStopping"]
    return early


def _scripted_experiment(
    tmp_path: Path, make_experiment: Callable[..., Path], early: dict[str, Any], **kw: Any
) -> Path:
    control = tmp_path / "control"
    control.mkdir()
    script = tmp_path / "scripted.py"
    script.write_text(SCRIPTED, encoding="utf-8")
    command = [
        "python3",
        str(script),
        str(control),
        '--architecture="${trialParameters.neuralNetworkArchitecture}"',
        '--nn_config="${trialParameters.neuralNetworkConfig}"',
    ]
    path = make_experiment(name="median", command=command, **kw)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["spec"]["earlyStopping"] = early
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.e2e
def test_medianstop_stops_real_trials_as_katib_would(
    tmp_path: Path, make_experiment: Callable[..., Path], katib_enas: Run, katib_examples: Path
) -> None:
    early = _median_stop_settings(katib_examples)
    assert early["algorithmName"] == "medianstop"
    path = _scripted_experiment(tmp_path, make_experiment, early, max_trials=4, parallel=1)
    result = katib_enas("run", path, "--run-dir", "run", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    with sqlite3.connect(tmp_path / "run" / "katib.db") as db:
        rows = db.execute(
            "SELECT name, condition, message, observation FROM trials ORDER BY seq"
        ).fetchall()
        counts = [
            db.execute(
                "SELECT COUNT(*) FROM observation_logs WHERE trial_name = ?", (row[0],)
            ).fetchone()[0]
            for row in rows
        ]
    conditions = [row[1] for row in rows]
    # 1: no Succeeded trial yet when it was created: no rule. 2: rule 0.55 (trial 1's first two
    # values), best 0.2 at report 2: stopped. 3: same rule (EarlyStopped trials do not count),
    # best 0.6 at report 2: runs on despite its later 0.1s. 4: rule mean(0.55, 0.45) = 0.5,
    # best 0.52: runs on.
    assert conditions == ["Succeeded", "EarlyStopped", "Succeeded", "Succeeded"], rows
    stopped = rows[1]
    assert "best Validation-Accuracy 0.2 after 2 reports < median 0.55" in stopped[2]
    assert json.loads(stopped[3])["Validation-Accuracy"]["latest"] == "0.2"
    assert counts[1] < 12  # killed long before its 32nd report (9 s)
    assert counts == [3, counts[1], 4, 4]
    assert "maxTrialCount 4 reached" in result.stdout  # EarlyStopped counts as completed
    assert trial_processes(tmp_path / "run") == set()  # the stopped trial's processes too


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize(
    ("early", "collector", "line"),
    [
        (
            {"algorithmName": "my-stopper"},
            None,
            "spec.earlyStopping: my-stopper is not applied locally (only medianstop is)",
        ),
        (
            {"algorithmName": "medianstop"},
            {"collector": {"kind": "Push"}},
            "medianstop is not applied to Push-collector trials, as in Katib",
        ),
    ],
)
def test_what_is_not_applied_locally_is_said_in_one_line(  # noqa: PLR0917
    early: dict[str, Any],
    collector: dict[str, Any] | None,
    line: str,
    tmp_path: Path,
    make_experiment: Callable[..., Path],
    katib_enas: Run,
) -> None:
    path = _scripted_experiment(
        tmp_path, make_experiment, early, max_trials=1, parallel=1, collector=collector
    )
    result = katib_enas("run", path, "--run-dir", "run", cwd=tmp_path, timeout=120)
    assert line in result.stderr


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            [{"name": "start_step", "value": "0"}],
            "spec.earlyStopping.algorithmSettings[0].value: start_step must be an integer >= 1,"
            " got '0'",
        ),
        (
            [{"name": "min_trials_required", "value": "two"}],
            "spec.earlyStopping.algorithmSettings[0].value: min_trials_required must be an "
            "integer >= 1, got 'two'",
        ),
        (
            [{"name": "start_step", "value": "2"}, {"name": "patience", "value": "3"}],
            "spec.earlyStopping.algorithmSettings[1].name: unknown setting 'patience' for "
            "medianstop",
        ),
    ],
)
def test_bad_medianstop_settings_are_one_line_and_leave_no_run(  # noqa: PLR0917
    settings: list[dict[str, str]],
    message: str,
    tmp_path: Path,
    make_experiment: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    early = {"algorithmName": "medianstop", "algorithmSettings": settings}
    path = _scripted_experiment(tmp_path, make_experiment, early)
    monkeypatch.chdir(tmp_path)
    # The command's own entry point, in this process (no interpreter start-up to wait for).
    code = cli.main(["--log-level", "WARNING", "run", str(path), "--run-dir", "run"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"katib-enas run: error: {message}"), err
    assert not (tmp_path / "run").exists()


def test_an_early_stopped_trial_can_be_the_best_and_reach_the_goal(
    example_doc: dict[str, Any],
) -> None:
    """Katib's currentOptimalTrial and goal look at every trial with an observation."""
    example_doc["spec"]["objective"]["goal"] = 0.6
    experiment = experiment_from_dict(example_doc)
    succeeded = replace(_trial("a", Condition.SUCCEEDED), objective=0.5)
    stopped = replace(_trial("b", Condition.EARLYSTOPPED), objective=0.7)
    assert best_trial([succeeded, stopped], experiment.objective) == stopped
    stop = stop_reason(experiment, [succeeded, stopped])
    assert stop is not None and stop.reason == "goal reached by b"
