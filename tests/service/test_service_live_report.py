"""The live report a running `katib-enas serve` shows on its metrics port, fed the way Katib
feeds it (real gRPC calls with Katib-shaped trials), opened in a real headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grpc_service import drive
from PIL import Image, ImageStat
from serve_process import Serve, running_serve

from katib_enas.experiment import load_experiment
from katib_enas.local.requests import experiment_message

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCURACIES = [0.61, 0.72, None, 0.93, 0.88, 0.97, 0.95, 0.90]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with running_serve(tmp_path) as running:
        yield running


def _experiment() -> Any:
    experiment = experiment_message(load_experiment(REPO_ROOT / "manifests/local/digits.yaml"))
    # One controller update per two trials, so that the controller plot has points.
    experiment.spec.algorithm.algorithm_settings.add(name="controller_batch_size", value="2")
    return experiment


def _get(serve: Serve, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://{serve.metrics_target}{path}", timeout=60) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_before_any_request_the_pages_say_so_and_metrics_still_answer(serve: Serve) -> None:
    status, _, body = _get(serve, "/")
    assert status == 200 and "no experiment to show yet" in body
    assert _get(serve, "/report")[0] == 404
    status, _, metrics = _get(serve, "/metrics")
    assert status == 200 and "katib_enas_build_info" in metrics


def test_the_tables_hold_every_trial_katib_sent(serve: Serve) -> None:
    experiment = _experiment()
    trials = drive(serve.suggestion, experiment, ACCURACIES)
    status, kind, index = _get(serve, "/")
    assert status == 200 and kind.startswith("text/html")
    assert f'href="report?experiment={experiment.name}"' in index
    document = json.loads(_get(serve, f"/trials.json?experiment={experiment.name}")[2])
    assert [t["name"] for t in document["trials"]] == [t.name for t in trials]
    assert document["best_trial"] == trials[5].name  # 0.97
    assert [t["condition"] for t in document["trials"]].count("Failed") == 1
    rows = list(csv.DictReader(io.StringIO(_get(serve, "/trials.csv")[2])))
    assert [float(r["objective"]) for r in rows if r["objective"]] == [
        a for a in ACCURACIES if a is not None
    ]
    assert all(int(r["parameters"]) > 0 for r in rows)  # planned from the assignments
    assert float(rows[0]["seconds"]) == 3600.0  # from Katib's start and completion times
    assert _get(serve, "/report?experiment=nope")[0] == 404


def test_the_live_report_opens_in_chromium_with_the_trials_and_the_controller_plot(
    serve: Serve, tmp_path: Path
) -> None:
    trials = drive(serve.suggestion, _experiment(), ACCURACIES)
    dom = _chromium(f"http://{serve.metrics_target}/report", tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    page = dom.stdout
    for trial in trials:
        assert trial.name in page
    controller = page.split('<section id="controller">', 1)[1].split("</section>", 1)[0]
    assert 'class="main-svg"' in controller  # plotly drew the controller's updates
    assert "No controller history" not in controller
    assert 'id="plot-decisions"' in controller  # what it learned, decision by decision
    assert "layer 0: operation" in controller
    assert page.count('class="main-svg"') >= 4  # objective, controller, conditions, size
    assert "live view from the suggestion service" in page
    shot = tmp_path / "live.png"
    taken = _chromium(f"http://{serve.metrics_target}/report", tmp_path, f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert min(ImageStat.Stat(image).stddev) > 20  # not blank: a failed page is one flat colour


def _chromium(url: str, tmp_path: Path, action: str) -> subprocess.CompletedProcess[str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser is not None, "chromium not found: run `bash scripts/install-tools.sh`"
    return subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
            "--v=0", f"--user-data-dir={tmp_path / 'profile'}",
            # Nothing resolves but the port-forwarded service: plotly.js must be in the page.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000", "--window-size=1200,2400", action, url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip


def test_a_page_follows_new_trials_and_the_oldest_experiment_gives_way(serve: Serve) -> None:
    from grpc_service import renamed

    from katib_enas.analysis.live_report import MAX_EXPERIMENTS

    experiment = _experiment()
    first = drive(serve.suggestion, experiment, ACCURACIES[:2])
    assert len(json.loads(_get(serve, "/trials.json")[2])["trials"]) == len(first)
    more = drive(serve.suggestion, experiment, ACCURACIES[:4])  # Katib's next calls
    assert len(json.loads(_get(serve, "/trials.json")[2])["trials"]) == len(more)
    for number in range(MAX_EXPERIMENTS):
        drive(serve.suggestion, renamed(experiment, f"other-{number}"), [0.5])
    index = _get(serve, "/")[2]
    assert index.count("<li>") == MAX_EXPERIMENTS  # memory stays bounded
    assert f"?experiment={experiment.name}" not in index  # the least recently seen went
    assert _get(serve, f"/trials.csv?experiment={experiment.name}")[0] == 404
