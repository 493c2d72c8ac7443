"""The words `sh -c LINE` hands its command, for lines where no shell feature changes them.

Katib's webhook runs StdOut and File trials as `sh -c "<words joined by spaces>"`, so the quotes
of the YAML (`--architecture="${trialParameters...}"`) are stripped by the shell. A trial that
starts from the launcher (`launcher`) runs without a shell and must get the very argv the shell
would have made. This module does the shell's quote removal and field splitting, and nothing
else: a line that needs anything more (expansions, globbing, operators, redirections, comments,
line continuations) gives None, and that trial runs through `sh` as before.
"""

from __future__ import annotations

# Outside quotes these make the shell do more than split words; `~` and `#` only at a word's
# start, but refusing them anywhere keeps the rule simple (assignments never contain them).
_SPECIAL = frozenset("$`;&|<>()*?[]{}~#!\n")
_BLANKS = frozenset(" \t")
# Inside double quotes a backslash escapes only these (POSIX 2.2.3).
_DOUBLE_ESCAPES = frozenset('$`"\\')


def simple_words(line: str) -> list[str] | None:
    """The argv `sh -c line` would run, or None when the shell could do more than split it."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i = 0
    while i < len(line):
        char = line[i]
        if char in _BLANKS:
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
            continue
        in_word = True
        if char == "'":
            end = line.find("'", i + 1)
            if end < 0:
                return None
            word.append(line[i + 1 : end])
            i = end + 1
        elif char == '"':
            quoted = _double_quoted(line, i + 1)
            if quoted is None:
                return None
            text, i = quoted
            word.append(text)
        elif char == "\\":
            if i + 1 >= len(line) or line[i + 1] == "\n":
                return None
            word.append(line[i + 1])
            i += 2
        elif char in _SPECIAL:
            return None
        else:
            word.append(char)
            i += 1
    if in_word:
        words.append("".join(word))
    return words


def _double_quoted(line: str, start: int) -> tuple[str, int] | None:
    """The text of a double-quoted part starting after its `"`, and the index after its end."""
    text: list[str] = []
    i = start
    while i < len(line):
        char = line[i]
        if char == '"':
            return "".join(text), i + 1
        if char in "$`":
            return None
        if char == "\\" and i + 1 < len(line):
            following = line[i + 1]
            if following == "\n":
                return None
            if following in _DOUBLE_ESCAPES:
                text.append(following)
                i += 2
                continue
        text.append(char)
        i += 1
    return None
