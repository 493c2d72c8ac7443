"""`shellwords.simple_words` against the real `sh`: wherever it answers, the shell makes the
very same words of the line; wherever the shell could do more, it declines."""

from __future__ import annotations

import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from katib_enas.local.shellwords import simple_words


def shell_words(line: str) -> list[str]:
    """The words `sh` makes of `line` as a command's arguments."""
    script = f"set -- {line}\nfor word do printf '%s\\0' \"$word\"; done"
    out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, check=True).stdout
    return out.decode().split("\0")[:-1]


KATIB_LINE = (
    "'/venv/bin/enas-trial' --dataset=digits --num_epochs=20 "
    '--architecture="[[3], [0, 1], [5, 0, 1]]" '
    "--nn_config=\"{'num_layers': 3, 'input_sizes': [8, 8, 1], 'embedding': {'3': {'opt_id': 3}}}\""
)


def test_katib_joined_lines_split_as_the_shell_splits_them() -> None:
    words = simple_words(KATIB_LINE)
    assert words == shell_words(KATIB_LINE)
    assert words is not None and words[3] == "--architecture=[[3], [0, 1], [5, 0, 1]]"
    assert simple_words("a '' \"\" b\\ c") == shell_words("a '' \"\" b\\ c") == ["a", "", "", "b c"]


def test_what_the_shell_would_expand_or_run_is_declined() -> None:
    for line in (
        "x --data-dir=$HOME",
        'x "--a=$(id)"',
        "x `id`",
        "x a; touch y",
        "x > out",
        "x *.py",
        "x [ab]",
        "x ~/data",
        "x # comment",
        "x 'unterminated",
        'x "unterminated',
        "x a\\\nb",
    ):
        assert simple_words(line) is None, line


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t'\"\\abc=-,:.[]{}$*;\n", max_size=24))
def test_any_line_it_answers_for_splits_as_the_shell_splits_it(line: str) -> None:
    words = simple_words(line)
    if words is not None:
        assert words == shell_words(line)
