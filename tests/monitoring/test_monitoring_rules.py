"""The alert rules: `promtool check rules`, `promtool test rules` with a firing and a silent case
for every alert, and a real Prometheus evaluating them on a real service's errors."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from grpc_service import renamed
from prometheus_server import Prometheus
from serve_process import Serve

from katib_enas.katib_api import pb

UNIT_TESTS = Path(__file__).with_name("katib-enas.rules.test.yaml")
# Labels that split one subject's series (a bucket, a condition, a code) rather than subjects.
_PARTS = {"__name__", "le", "condition", "code", "method"}


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=120, cwd=cwd
    )


def _alerts(rules_file: Path) -> list[str]:
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"]]


def test_rules_file_passes_promtool_check(promtool: str, rules_file: Path) -> None:
    result = _run([promtool, "check", "rules", str(rules_file)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alerts(rules_file))} rules found" in result.stdout


def test_every_alert_has_unit_tests_that_pass(promtool: str, rules_file: Path) -> None:
    result = _run([promtool, "test", "rules", UNIT_TESTS.name], cwd=UNIT_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    for alert in _alerts(rules_file):
        cases = [
            (test, case)
            for test in tests
            for case in test["alert_rule_test"]
            if case["alertname"] == alert and case["exp_alerts"]
        ]
        assert cases, f"{alert}: no case where it fires"
        for test, case in cases:
            subjects = {_subject(series["series"]) for series in test["input_series"]}
            # More subjects than alerts: some of them are rightly left silent.
            assert len(subjects) > len(case["exp_alerts"]), f"{alert}: no silent case"


def _subject(series: str) -> frozenset[tuple[str, str]]:
    """The identity of a test series without its metric name and the labels that split it."""
    body = series.split("{", 1)[1].rstrip("}")
    pairs = [item.split("=", 1) for item in body.split(", ")]
    return frozenset((k, v) for k, v in pairs if k not in _PARTS)


@pytest.mark.slow
def test_a_real_prometheus_evaluates_the_rules_on_a_real_service(
    serve: Serve,
    start_prometheus: Callable[..., Prometheus],
    rules_file: Path,
    cpu_experiment: Any,
) -> None:
    prometheus = start_prometheus(serve.metrics_target, rule_files=[rules_file])
    prometheus.wait_for("katib_enas_build_info", lambda r: len(r) == 1)
    bad = renamed(cpu_experiment, "enas-bad")
    bad.spec.algorithm.algorithm_settings.add(name="controller_hidden_size", value="-1")
    for _ in range(2):
        with pytest.raises(grpc.RpcError):
            serve.suggestion.ValidateAlgorithmSettings(
                pb.ValidateAlgorithmSettingsRequest(experiment=bad), timeout=30
            )
    prometheus.wait_for(
        'ALERTS{alertname="KatibEnasRpcErrors", alertstate="pending"}', lambda r: len(r) == 1
    )
    [alert] = prometheus.alerts()  # the only one: nothing else is wrong with this service
    assert alert["labels"]["instance"] == serve.metrics_target
    assert alert["annotations"]["description"].startswith("100% of the gRPC calls")
    rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
    assert sorted(r["name"] for r in rules) == sorted(_alerts(rules_file))
    assert {r["health"] for r in rules} == {"ok"}, [r.get("lastError") for r in rules]
