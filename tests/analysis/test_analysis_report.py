"""`katib-enas report` and `status --output`: the files a person opens after a run.

The report is opened in a real headless Chromium (Debian's `chromium`), with name resolution
switched off: it must draw its plots offline, log nothing to the console and not be blank.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from analysis_support import Command, make_run, one_error_line
from PIL import Image, ImageStat

FILES = (
    "trials.csv",
    "trials.json",
    "report.html",
    "best-architecture.dot",
    "best-architecture.svg",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium not found: run `bash scripts/install-tools.sh` (make test does)")
    return found


def open_in_chromium(page: Path, *action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: no name resolves
            "--virtual-time-budget=15000",
            "--window-size=1200,2400",
            *action,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_writes_every_file_with_numbers_as_numbers(
    fake_run: tuple[Path, list[str]], katib_enas: Command
) -> None:
    run_dir, names = fake_run
    result = katib_enas("report", run_dir)
    assert result.returncode == 0, result.stderr
    for name in FILES:
        assert (run_dir / name).is_file(), name
        assert f"wrote {run_dir / name}" in result.stdout
    rows = list(csv.DictReader(io.StringIO((run_dir / "trials.csv").read_text())))
    assert [r["name"] for r in rows] == names
    assert [r["condition"] for r in rows] == [
        "Succeeded", "Failed", "Succeeded", "MetricsUnavailable", "EarlyStopped", "Succeeded",
        "Killed",
    ]  # fmt: skip
    assert rows[2]["objective"] == "0.97" and rows[2]["Parameter-Count"] == "12345"
    assert rows[2]["seconds"] == "30.5" and rows[2]["layers"].startswith("input 8x8x1 | layer 0")
    assert (
        rows[1]["message"] == "exit code 2: enas-trial: error: nn_config: missing key 'embedding'"
    )
    document = json.loads((run_dir / "trials.json").read_text())
    assert document["best_trial"] == names[2]
    best = document["trials"][2]
    assert best["metrics"] == {
        "Validation-Accuracy": 0.97, "Test-Accuracy": 0.5, "Parameter-Count": 12345.0,
    }  # fmt: skip
    assert best["parameters"] == 12345 and best["seconds"] == 30.5
    # The picture is the best trial's: one box per layer.
    assert (run_dir / "best-architecture.dot").read_text().count("layer") >= 4
    assert "<svg" in (run_dir / "best-architecture.svg").read_text()


def test_report_opens_offline_in_chromium_with_no_console_message_and_is_not_blank(
    fake_run: tuple[Path, list[str]], katib_enas: Command, tmp_path: Path
) -> None:
    run_dir, names = fake_run
    assert katib_enas("report", run_dir).returncode == 0
    page = run_dir / "report.html"
    text = page.read_text()
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|<img[^>]+src=\"http", text)
    dom = open_in_chromium(page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    # plotly.js ran: each plot's div holds its drawn SVG.
    assert dom.stdout.count('class="main-svg"') >= 4
    assert dom.stdout.count("<svg") >= 3 + 4  # three architecture pictures besides the plots
    assert names[2] in dom.stdout and "exit code 2: enas-trial: error:" in dom.stdout
    shot = tmp_path / "report.png"
    taken = open_in_chromium(page, f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2400)
    spread = ImageStat.Stat(image).stddev
    assert min(spread) > 20, spread  # a blank or failed page is one flat colour
    assert len(image.getcolors(maxcolors=1 << 20) or ()) > 200


def test_without_dot_the_report_says_so_and_keeps_the_dot_file(
    fake_run: tuple[Path, list[str]], katib_enas: Command, tmp_path: Path
) -> None:
    run_dir, _ = fake_run
    bin_dir = tmp_path / "bin"  # PATH without Graphviz
    bin_dir.mkdir()
    result = katib_enas("report", run_dir, env={"PATH": str(bin_dir)})
    assert result.returncode == 0, result.stderr
    assert "note: Graphviz's `dot` was not found" in result.stdout
    assert (run_dir / "best-architecture.dot").is_file()
    assert not (run_dir / "best-architecture.svg").exists()
    page = (run_dir / "report.html").read_text()
    assert "Graphviz&#x27;s `dot` was not found" in page
    assert "No picture: Graphviz" in page


def test_a_baseline_run_is_drawn_beside_the_search(
    fake_run: tuple[Path, list[str]], katib_enas: Command, tmp_path: Path
) -> None:
    run_dir, _ = fake_run
    baseline = tmp_path / "random"
    make_run(baseline, name="enas-digits-random", seed=5)
    text = (baseline / "experiment.yaml").read_text()
    (baseline / "experiment.yaml").write_text(
        text.replace('value: "1"', 'value: "1"\n      - name: strategy\n        value: random')
    )
    result = katib_enas("report", run_dir, "--baseline", baseline)
    assert result.returncode == 0, result.stderr
    page = (run_dir / "report.html").read_text()
    assert "best so far, random search (enas-digits-random)" in page
    assert "random search (enas-digits-random): best of n, 10-90 % band" in page
    assert "random search (enas-digits-random): best of n, median" in page


def test_the_random_band_is_what_random_search_reaches_by_each_trial_count() -> None:
    """Against a simulation: the best of n draws from a random run's values."""
    import random

    from katib_enas.analysis.charts import best_of_n_band

    values = [round(random.Random(s).uniform(0.2, 0.98), 4) for s in range(40)]
    band = best_of_n_band(values, 12, maximize=True)
    draw = random.Random(7)
    for n in (1, 4, 12):
        best = sorted(max(draw.choices(values, k=n)) for _ in range(4000))
        simulated = (best[400], best[2000], best[3600])  # 10th, 50th, 90th percentiles
        assert all(abs(a - b) <= 0.04 for a, b in zip(band[n - 1], simulated, strict=True)), (
            n, band[n - 1], simulated,
        )  # fmt: skip
    medians = [m for _, m, _ in band]
    assert medians == sorted(medians)  # more trials never do worse
    losses = best_of_n_band([1.0 - v for v in values], 12, maximize=False)
    assert [round(1.0 - m, 6) for _, m, _ in losses] == [round(m, 6) for m in medians]


def test_status_output_json_and_csv_hold_every_trial(
    fake_run: tuple[Path, list[str]], katib_enas: Command
) -> None:
    run_dir, names = fake_run
    as_json = katib_enas("status", run_dir, "--output", "json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert [t["name"] for t in document["trials"]] == names
    assert document["trials"][0]["objective"] == 0.91
    as_csv = katib_enas("status", run_dir, "-o", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["condition"] for r in rows][:2] == ["Succeeded", "Failed"]


def test_status_table_keeps_names_and_conditions_whole_in_a_pipe(
    tmp_path: Path, katib_enas: Command
) -> None:
    run_dir = tmp_path / "run"
    long_name = "an-experiment-with-a-long-name-for-its"  # Katib allows 40 characters
    names = make_run(run_dir, name=long_name)
    result = katib_enas("status", run_dir)  # stdout is a pipe; COLUMNS=80
    assert result.returncode == 0, result.stderr
    for name in names:
        assert name in result.stdout
    assert "MetricsUnavailable" in result.stdout and "EarlyStopped" in result.stdout
    # The failed trial's own error line, not only its exit code.
    flat = " ".join(result.stdout.split())
    assert "exit code 2: enas-trial: error: nn_config: missing key" in flat
    assert f"katib-enas retrain {run_dir} --trial {names[2]}" in result.stdout


def test_status_after_an_interruption_shows_killed_trials_and_the_resume_command(
    tmp_path: Path, katib_enas: Command
) -> None:
    from katib_enas.core.katib import Condition
    from katib_enas.local.store import Store

    run_dir = tmp_path / "run"
    names = make_run(run_dir, status="Interrupted", trials=[(Condition.SUCCEEDED, 0.9, "")])
    store = Store(run_dir / "katib.db")
    store.add_trial("enas-digits-cut", [("architecture", "[[0]]"), ("nn_config", "{}")], {})
    store.set_running("enas-digits-cut", "2026-01-01T01:00:00.000000Z")
    store.set_meta("resume_command", f"katib-enas run --resume --run-dir {run_dir}")
    store.close()
    result = katib_enas("status", run_dir)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "enas-digits-cut" in line)
    assert "Killed" in line and "Running" not in line
    assert "interrupted; --resume runs it again" in " ".join(result.stdout.split())
    assert f"katib-enas run --resume --run-dir {run_dir}" in result.stdout
    assert names[0] in result.stdout
    # The database keeps it Running: that is how --resume knows to run it again.
    store = Store(run_dir / "katib.db")
    assert {t.name: t.condition for t in store.trials()}["enas-digits-cut"] is Condition.RUNNING
    store.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "{missing}"], "run_dir: {missing} holds no run (katib.db missing)"),
        (["report", "{run}", "--top", "0"], "--top: must be at least 1"),
        (["report", "{run}", "--baseline", "{missing}"], "--baseline: {missing} holds no run"),
        (["status", "{missing}", "-o", "json"], "run_dir: {missing} holds no run"),
    ],
)
def test_report_and_status_refuse_with_one_line(
    args: list[str],
    message: str,
    fake_run: tuple[Path, list[str]],
    katib_enas: Command,
    tmp_path: Path,
) -> None:
    run_dir, _ = fake_run
    paths = {"run": str(run_dir), "missing": str(tmp_path / "nothing")}
    result = katib_enas(*(a.format(**paths) for a in args))
    assert message.format(**paths) in one_error_line(result, args[0])


def test_the_report_draws_each_trials_per_epoch_curve_from_the_run_database(
    fake_run: tuple[Path, list[str]], katib_enas: Command
) -> None:
    run_dir, names = fake_run
    assert katib_enas("report", run_dir).returncode == 0
    page = (run_dir / "report.html").read_text()
    curves = page.split('<section id="curves">', 1)[1].split("</section>", 1)[0]
    assert "Learning curves" in curves
    assert f"#1 {names[2]}" in curves  # the best (0.97) in colour, named in the legend
    assert "[0.485,0.873,0.97]" in curves.replace(" ", "")  # its three epochs, in order
    assert names[1] not in curves  # a failed trial logged nothing


def test_the_controller_section_shows_each_decisions_probabilities_across_updates(
    fake_run: tuple[Path, list[str]], katib_enas: Command
) -> None:
    run_dir, _ = fake_run
    assert katib_enas("report", run_dir).returncode == 0
    page = (run_dir / "report.html").read_text()
    controller = page.split('<section id="controller">', 1)[1].split("</section>", 1)[0]
    heatmap = controller.split('id="plot-decisions"', 1)[1]
    data = heatmap.split("Plotly.newPlot(", 1)[1]
    [trace], _ = json.JSONDecoder().raw_decode(data, data.index("["))  # plotly's data array
    assert trace["type"] == "heatmap" and trace["x"] == [1, 2, 3]
    rows = dict(zip(trace["y"], trace["z"], strict=True))
    assert rows["layer 0: operation: op 5"] == [0.25, 0.5, 0.75]  # learned, most likely first
    layer_0 = [y for y in trace["y"] if y.startswith("layer 0: ")]
    assert layer_0[0] == "layer 0: operation: op 5" and len(layer_0) == 4 + 1  # top 4, other
    assert rows["layer 1: input from layer 0: yes"] == pytest.approx([0.3, 0.6, 0.9])
    assert rows["layer 0: operation: other"] == pytest.approx([0.3, 0.2, 0.1])  # 2 of 6 summed
