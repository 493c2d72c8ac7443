"""The README's "Install on Kubernetes", command by command, as far as a machine without a
cluster, Docker or network takes it: `make push` with another registry builds every image's
Dockerfile, the `helm install` line renders with the real helm and points Katib at that
registry, `pip install` of the checkout gives a working `katib-enas`, the `sed` line gives an
Experiment `katib-enas validate` accepts, the offline `katib-enas` and `helm show` commands run,
and every other command names a file or a command that exists. A command the suite has no check
for fails the test, so that the path cannot grow an unchecked step."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
KATIB_ENAS = str(Path(sys.executable).with_name("katib-enas"))
REGISTRY = "registry.example.com/ml"
# Commands that only a cluster can answer: the suite checks that they name things that exist.
CLUSTER_ONLY = {"get", "logs", "port-forward", "wait", "delete", "label"}


@dataclass(frozen=True)
class Tools:
    helm: str
    kubectl: str
    tmp: Path
    # Files an earlier step writes (`--emit-job FILE`), which a later one applies.
    produced: set[str] = field(default_factory=set)


def install_section() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section:kubernetes -->")[1].split("<!-- /section:kubernetes -->")[
        0
    ]
    return section.split("### Network policy")[0]


def readme_commands() -> list[str]:
    """Every command of the install path: the lines of its bash blocks (continuations joined,
    comments dropped) and the inline code spans that start with a command."""
    section = install_section()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        for written in block.replace("\\\n", " ").splitlines():
            line = written.split("  # ", 1)[0].strip()
            if line:
                commands.append(re.sub(r"\s+", " ", line))
    prose = re.sub(r"```.*?```", "", section, flags=re.DOTALL)
    starts = ("kubectl ", "helm ", "katib-enas ", "make ", "pipx ")
    commands += [
        c for c in re.findall(r"`([^`]+)`", prose.replace("\n", " ")) if c.startswith(starts)
    ]
    return commands


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, **kwargs
    )


def check_make(words: list[str], tools: Tools) -> None:
    result = _run(["make", "-n", *words[1:]])
    assert result.returncode == 0, result.stderr
    builds = re.findall(r"docker build -f (\S+) -t (\S+) \.", result.stdout)
    assert len(builds) == 3 and all((REPO_ROOT / dockerfile).is_file() for dockerfile, _ in builds)
    if words[1] == "push" and f"REGISTRY={REGISTRY}" in words:
        assert {ref for _, ref in builds} == {
            f"{REGISTRY}/{name}:0.1.0" for name in ("suggestion", "trial", "trial-cpu")
        }


def check_helm(words: list[str], tools: Tools) -> None:
    verb = words[1]
    if verb == "install":
        # `helm template` takes install's arguments and renders what install would apply.
        result = _run([tools.helm, "template", *words[2:]])
        assert result.returncode == 0, result.stderr
        rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
        text = yaml.safe_dump_all(rendered)
        if "image.repository" in " ".join(words):
            # Katib's entry and the hook Jobs both take the suggestion image from your registry.
            assert f"{REGISTRY}/suggestion:0.1.0" in text
            assert "ghcr.io/katib-enas" not in text
    elif verb == "show":
        result = _run([tools.helm, *words[1:]])
        assert result.returncode == 0 and "takeoverEnas" in result.stdout, result.stderr
    else:
        assert verb == "uninstall", words


def check_kubectl(words: list[str], tools: Tools) -> None:
    rest = words[1:]
    while rest[0] in {"-n", "--namespace"} or rest[0].startswith("-"):  # `-n NS` before the verb
        rest = rest[2:] if rest[0] in {"-n", "--namespace"} else rest[1:]
    verb = rest[0]
    if verb in CLUSTER_ONLY:
        return
    assert verb == "apply", words
    if "-k" in words:
        target = words[words.index("-k") + 1].strip('"')
        if target.startswith("github.com/kubeflow/katib.git/"):
            assert target.endswith("?ref=v0.19.0")  # the Katib the project is tested against
        else:
            assert (REPO_ROOT / target / "kustomization.yaml").is_file(), target
    else:
        target = words[words.index("-f") + 1]
        if target != "-" and target not in tools.produced:
            documents = list(yaml.safe_load_all((REPO_ROOT / target).read_text()))
            assert documents and all(d.get("kind") for d in documents), target


def check_katib_enas(words: list[str], tools: Tools) -> None:
    if words[1:2] in (["validate"], ["networkpolicy"]) or words[1:] == ["--help"]:
        result = _run([KATIB_ENAS, *words[1:]])  # offline commands: run as written
        assert result.returncode == 0, result.stdout + result.stderr
        return
    # The others (`results`, `derive`, the hooks' `register`) need a cluster: the command
    # exists and takes the flags written.
    helped = _run([KATIB_ENAS, words[1], "--help"])
    assert helped.returncode == 0, helped.stderr
    for flag in (w for w in words[2:] if w.startswith("-")):
        assert flag in helped.stdout, flag
    if "--emit-job" in words:
        tools.produced.add(words[words.index("--emit-job") + 1])


def check_sed(words: list[str], tools: Tools) -> None:
    """`sed ... FILE`, piped to `kubectl apply -f -`: the Experiment that would be applied."""
    result = _run(words)
    assert result.returncode == 0, result.stderr
    assert "ghcr.io/katib-enas" not in result.stdout
    assert f"image: {REGISTRY}/trial-cpu:0.1.0" in result.stdout
    experiment = tools.tmp / "experiment.yaml"
    experiment.write_text(result.stdout)
    checked = _run([KATIB_ENAS, "validate", str(experiment)])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_command_of_the_install_path_is_checked(
    helm: str, kubectl: str, tmp_path: Path
) -> None:
    tools = Tools(helm, kubectl, tmp_path)
    checks: dict[str, Callable[[list[str], Tools], None]] = {
        "make": check_make,
        "helm": check_helm,
        "kubectl": check_kubectl,
        "katib-enas": check_katib_enas,
    }
    commands = readme_commands()
    seen = set()
    for line in commands:
        # `PRODUCER | kubectl apply -f -`: the producer is run, and must succeed.
        produce, _, consume = line.partition(" | ")
        assert consume in {"", "kubectl apply -f -"}, line
        words = shlex.split(produce)
        program = Path(words[0]).name
        seen.add(program)
        if program == "sed":
            check_sed(words, tools)
        elif program in {"python3", "pip"} or words[1:3] == ["-m", "pip"]:
            continue  # test_pip_install_of_the_checkout_gives_a_working_cli
        elif program == "pipx":
            assert "--preinstall torch==2.13.0" in line  # needs PyPI: not run here
        else:
            assert program in checks, f"no check for the README's command: {line}"
            checks[program](words, tools)
    # The path covers the images, the chart, the CLI, an Experiment and its results.
    assert {"make", "helm", "katib-enas", "kubectl", "sed", "pip", "pipx"} <= seen, seen


def test_the_readme_installs_the_cli_from_the_checkout() -> None:
    lines = [c for c in readme_commands() if " install " in f" {c} " and "pip" in c]
    assert any(line.endswith("pip install '.[local]'") for line in lines), lines
    assert any("torch==2.13.0" in line for line in lines), lines


@pytest.mark.slow
def test_pip_install_of_the_checkout_gives_a_working_cli(tmp_path: Path) -> None:
    """The README's laptop install: a fresh virtual environment, the checkout installed into it
    (built as pip builds it, package data and entry points included), then `katib-enas`. Its
    dependencies come from this test's own environment through a .pth file (the suite runs
    without network), so that what is checked is the checkout's packaging."""
    venv = tmp_path / "laptop"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    [site] = (venv / "lib").glob("python*/site-packages")
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    install = [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps"]
    # --ignore-installed: never touch this environment's own (editable) katib-enas.
    install += ["--no-build-isolation", "--ignore-installed", str(REPO_ROOT)]
    result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    cli = str(venv / "bin" / "katib-enas")
    where = subprocess.run(
        [python, "-c", "import katib_enas; print(katib_enas.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert where.stdout.startswith(str(site)), where.stdout
    helped = subprocess.run([cli, "--help"], capture_output=True, text=True, env=env, check=False)
    assert helped.returncode == 0, helped.stderr
    for command in ("results", "derive", "networkpolicy", "validate", "run"):
        assert f"    {command} " in helped.stdout, command
    # The commands of the path that run offline, from the installed package (its data files:
    # Kubernetes' types for `validate`).
    smoke = REPO_ROOT / "manifests" / "experiments" / "enas-cpu-smoke.yaml"
    validated = subprocess.run(
        [cli, "validate", str(smoke)], capture_output=True, text=True, env=env, check=False
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    policy = subprocess.run(
        [cli, "networkpolicy", "enas-cpu-smoke", "-n", "katib-enas"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert yaml.safe_load(policy.stdout)["kind"] == "NetworkPolicy"


def test_a_kustomization_moves_an_experiments_images_to_another_registry(
    kubectl: str, tmp_path: Path
) -> None:
    """The README's other way: kustomize's `images:` reaches the trial container inside an
    Experiment's trialSpec (built by the real `kubectl kustomize`)."""
    smoke = REPO_ROOT / "manifests" / "experiments" / "enas-cpu-smoke.yaml"
    (tmp_path / smoke.name).write_text(smoke.read_text())
    kustomization = {
        "resources": [smoke.name],
        "images": [{"name": "ghcr.io/katib-enas/trial-cpu", "newName": f"{REGISTRY}/trial-cpu"}],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    built = _run([kubectl, "kustomize", str(tmp_path)])
    assert built.returncode == 0, built.stderr
    [experiment] = list(yaml.safe_load_all(built.stdout))
    pod = experiment["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["containers"]] == [f"{REGISTRY}/trial-cpu:0.1.0"]
    assert "`images:` with `name: ghcr.io/katib-enas/trial-cpu`" in install_section()
