"""Size-aware choice: ties go to the smaller child and the report says so, the Pareto front of
the objective against parameters, and `katib-enas pick --within` handing the smallest child
within a tolerance to retrain or a cluster Job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from analysis_support import Command, make_run, one_error_line

from katib_enas.core.katib import Condition

S = Condition.SUCCEEDED
# The case: 1.0000 at 199 k and 157 k parameters, a 24.8 k child 0.0069 behind.
TRIALS = [(S, 1.0, ""), (S, 0.95, ""), (S, 1.0, ""), (S, 0.9931, ""), (S, 0.996, "")]
SIZES = [199_000, 30_000, 157_000, 24_800, 80_000]


@pytest.fixture
def sized_run(tmp_path: Path) -> tuple[Path, list[str]]:
    run_dir = tmp_path / "run"
    return run_dir, make_run(run_dir, trials=TRIALS, parameters=SIZES)


def test_ties_go_to_the_smaller_child_everywhere_and_the_report_says_so(
    sized_run: tuple[Path, list[str]], katib_enas: Command
) -> None:
    run_dir, names = sized_run
    assert katib_enas("report", run_dir).returncode == 0
    assert json.loads((run_dir / "trials.json").read_text())["best_trial"] == names[2]
    page = (run_dir / "report.html").read_text()
    assert f"best trial <b>{names[2]}</b>: Validation-Accuracy = 1.0000 (157,000 parameters" in page
    assert "2 trials tie at this value: the smallest is named (ties go by size)" in page
    status = katib_enas("status", run_dir).stdout
    assert f"best trial (*): {names[2]}, Validation-Accuracy = 1.0000" in status
    assert "(2 trials tie at this value: the one with the fewest parameters is named)" in status
    assert "Test-Accuracy" in status  # a column where trials reported it


def test_the_report_shows_the_pareto_front_with_test_accuracy(
    sized_run: tuple[Path, list[str]], katib_enas: Command
) -> None:
    run_dir, names = sized_run
    assert katib_enas("report", run_dir).returncode == 0
    page = (run_dir / "report.html").read_text()
    size = page.split('<section id="size">', 1)[1].split("</section>", 1)[0]
    assert "Pareto front: 3 trials that nothing smaller beats" in size
    front = size.split("<h3>", 1)[1]
    # Smallest first: 24.8 k, 80 k, 157 k. The 199 k tie and 0.95 at 30 k are dominated.
    order = [front.index(names[i]) for i in (3, 4, 2)]
    assert order == sorted(order)
    assert names[0] not in front and names[1] not in front
    assert "Pareto front (nothing smaller is as good)" in size  # the plot's trace
    assert f"best: {names[2]}" in size
    assert "<th>Test-Accuracy</th>" in page


def test_pick_takes_the_smallest_child_within_the_tolerance(
    sized_run: tuple[Path, list[str]], katib_enas: Command, tmp_path: Path
) -> None:
    run_dir, names = sized_run
    strict = katib_enas("pick", run_dir, "--within", "0.5%")
    assert strict.returncode == 0, strict.stderr
    assert f"best:   {names[2]}, Validation-Accuracy = 1.0000, 157,000 parameters" in strict.stdout
    # 0.9931 is 0.0069 behind: outside 0.5 %; the 80 k child at 0.996 is inside.
    assert f"picked: {names[4]}, Validation-Accuracy = 0.9960, 80,000 parameters" in strict.stdout
    assert "0.0040 from the best (within 0.5%), 2.0x smaller" in strict.stdout
    none = katib_enas("pick", run_dir, "--within", "0.1%").stdout
    assert "picked: the best itself: no smaller trial is within 0.1% of it" in none
    job_file = tmp_path / "job.yaml"
    loose = katib_enas("pick", run_dir, "--within", "0.007", "--emit-job", job_file)
    assert loose.returncode == 0, loose.stderr
    assert f"picked: {names[3]}, Validation-Accuracy = 0.9931, 24,800 parameters" in loose.stdout
    assert "0.0069 from the best (within 0.007), 6.3x smaller" in loose.stdout
    assert f"katib-enas retrain {run_dir} --trial {names[3]}" in loose.stdout
    claim, job = yaml.safe_load_all(job_file.read_text())
    assert claim["kind"] == "PersistentVolumeClaim"
    assert job["kind"] == "Job" and names[3] in job["metadata"]["name"]
    command = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
    status = json.loads(katib_enas("status", run_dir, "-o", "json").stdout)
    assert status["trials"][3]["assignments"]["architecture"] in command


@pytest.mark.parametrize("within", ["abc", "-1%", "nan"])
def test_pick_refuses_a_bad_tolerance_with_one_line(
    sized_run: tuple[Path, list[str]], katib_enas: Command, within: str
) -> None:
    run_dir, _ = sized_run
    line = one_error_line(katib_enas("pick", run_dir, f"--within={within}"), "pick")
    assert "--within: expected a tolerance >= 0 such as 0.005" in line and repr(within) in line
