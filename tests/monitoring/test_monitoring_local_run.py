"""`katib-enas run --metrics-port`: a real Prometheus, configured with the README's three-line
scrape config, watches a short local run (trials are a tiny script, so the run takes seconds)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from prometheus_server import Prometheus, free_port

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

KATIB_ENAS = str(Path(sys.executable).parent / "katib-enas")
TRIAL = """\
import sys, time
time.sleep(3)  # long enough for a few scrapes while trials run
print("Validation-Accuracy=0.%d" % (5 + len(sys.argv[1]) % 4))
print("Training-Accuracy=0.9")
"""


def readme_scrape_config(repo_root: Path, port: int) -> list[dict[str, object]]:
    readme = (repo_root / "README.md").read_text()
    [block] = re.findall(r"```yaml\n(scrape_configs:\n.*?)```", readme, flags=re.DOTALL)
    assert len(block.strip().splitlines()) == 3, block
    configs: list[dict[str, object]] = yaml.safe_load(block.replace("9464", str(port)))[
        "scrape_configs"
    ]
    return configs


def experiment(repo_root: Path, workdir: Path) -> Path:
    script = workdir / "trial.py"
    script.write_text(TRIAL)
    doc = yaml.safe_load((repo_root / "manifests" / "local" / "digits.yaml").read_text())
    doc["metadata"]["name"] = "watched"
    doc["spec"].update(maxTrialCount=4, parallelTrialCount=2)
    spec = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
    spec["containers"][0]["command"] = [
        "python3",
        str(script),
        '--architecture="${trialParameters.neuralNetworkArchitecture}"',
        '--nn_config="${trialParameters.neuralNetworkConfig}"',
    ]
    path = workdir / "watched.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_local_run_is_watched_with_the_readme_scrape_config(
    repo_root: Path, tmp_path: Path, start_prometheus: Callable[..., Prometheus]
) -> None:
    port = free_port()
    prometheus = start_prometheus(scrape_configs=readme_scrape_config(repo_root, port))
    result = subprocess.run(
        [KATIB_ENAS, "run", str(experiment(repo_root, tmp_path)), "--run-dir",
         str(tmp_path / "run"), "--metrics-port", str(port)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Prometheus metrics on http://127.0.0.1:{port}/metrics" in result.stderr
    # The run is over and its endpoint gone: read what Prometheus saw at its last good scrape.
    [up] = prometheus.query('up{job="katib-enas"}[10m]')
    seen = [float(t) for t, value in up["values"] if value == "1"]
    assert len(seen) >= 2, up["values"]
    at = seen[-1]
    suggested = prometheus.values('katib_enas_suggestions_total{experiment="watched"}', at)
    assert list(suggested.values()) == [4]
    calls = prometheus.values('katib_enas_rpc_requests_total{code="OK"}', at)
    by_method = {key.split("method=")[1].split(",")[0]: value for key, value in calls.items()}
    # `run` checked the settings in its preflight, before the service started: no RPC for it.
    assert by_method["ValidateAlgorithmSettings"] == 0
    assert by_method["GetSuggestions"] >= 2  # the first two trials, then those after them
    assert prometheus.query('katib_enas_trials{condition="Succeeded"} > 0', at)
    assert prometheus.query("process_resident_memory_bytes", at)


def test_metrics_port_with_a_remote_service_is_bad_input(repo_root: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [KATIB_ENAS, "run", str(experiment(repo_root, tmp_path)), "--run-dir",
         str(tmp_path / "run"), "--suggestion-address", "127.0.0.1:1", "--metrics-port", "9464"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--metrics-port: the service at --suggestion-address serves its own metrics" in (
        result.stderr
    )
