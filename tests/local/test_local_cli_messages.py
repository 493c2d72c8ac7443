"""The words of the command line a new user reads first: help texts and refusals (issue 21's
papercuts), each as the user meets it; the summary's are in `tests/analysis/`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

KATIB_ENAS = str(Path(sys.executable).parent / "katib-enas")


def _katib_enas(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KATIB_ENAS, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_unregister_help_says_remove() -> None:
    result = _katib_enas("unregister", "--help")
    assert "remove our suggestion entries" in result.stdout
    assert "add our" not in result.stdout
    assert "add our suggestion entries" in _katib_enas("register", "--help").stdout


def test_each_flag_shows_one_default() -> None:
    text = " ".join(_katib_enas("run", "--help").stdout.split())
    for flag in ("--run-dir RUN_DIR", "--suggestion-address SUGGESTION_ADDRESS"):
        help_text = text.rsplit(flag, 1)[1].split(" --", 1)[0]
        assert help_text.count("default") == 1, help_text
        assert "None" not in help_text
    assert "(env KATIB_ENAS_METRICS_HOST; default: 127.0.0.1)" in text


def test_resume_of_a_directory_without_a_run_names_the_directory(tmp_path: Path) -> None:
    result = _katib_enas("run", "--resume", "--run-dir", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"katib-enas run: error: --run-dir: {tmp_path / 'nope'} holds no run (katib.db missing)"
    )


def test_help_imports_every_command_module_but_no_heavy_package() -> None:
    """The command table holds the command modules themselves, so building the parser imports
    them all: each must leave torch, grpc and kubernetes to its `execute`, for `--help` to
    answer at once."""
    code = (
        "import sys; from katib_enas.cli import COMMANDS, build_parser; build_parser(); "
        "heavy = {'torch', 'grpc', 'kubernetes'} & set(sys.modules); assert not heavy, heavy; "
        "import katib_enas.commands as c, pkgutil; "
        "names = {m.name for m in pkgutil.iter_modules(c.__path__)}; "
        "assert names == {m.__name__.rsplit('.', 1)[1] for m in COMMANDS.values()}, names"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
