"""`enas-trial`'s command line: Katib's stock flags exactly as Katib passes them (single-quoted
JSON; under the Push collector still wrapped in the literal `"` of the YAML) plus our own. A usage
error is one line (`enas-trial: error: ...`) and exit status 2.

This parser is the one statement of the grammar: programs that read or rewrite an `enas-trial`
command (a retrain from a search trial's command) go by `option_table` and `DEFAULT_EPOCHS`."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from enas_trial import cifar10, data
from katib_enas import exits
from katib_enas.core.katib import DEFAULT_DB_MANAGER, unquote
from katib_enas.envflags import add_flag

PROG = "enas-trial"
STOCK_SCRIPT = "RunTrial.py"  # Katib's stock ENAS trial script: `enas-trial` takes its flags
DEFAULT_EPOCHS = 10
DB_MANAGER_ENV = "KATIB_DB_MANAGER_ADDRESS"
# A third of Fashion-MNIST's validation split: scoring it was the largest fixed cost of a
# shared trial, and the reward's standard error at accuracy 0.8 stays under 0.01.
REWARD_IMAGES = 2000


def _number(kind: Callable[[str], Any], low: float, high: float | None, what: str) -> Any:
    """An argparse type: `kind` of the unquoted text, within [low, high) (or >= low)."""

    def parse(text: str) -> Any:
        try:
            value = kind(unquote(text))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < low or (high is not None and value >= high) or math.isnan(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


_POSITIVE_INT = _number(int, 1, None, "a positive integer")
_NON_NEGATIVE_INT = _number(int, 0, None, "an integer >= 0")
_POSITIVE_FLOAT = _number(float, 1e-12, None, "a number > 0")
_NON_NEGATIVE_FLOAT = _number(float, 0, None, "a number >= 0")
_FRACTION = _number(float, 0, 1, "a number in [0, 1)")
_OPEN_FRACTION = _number(float, 1e-12, 1, "a number in (0, 1)")


def _text(text: str) -> str:
    return unquote(text)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (`enas-trial: error: ...`) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(exits.BAD_INPUT, f"{PROG}: error: {message}\n")


def _flag(group: argparse._ArgumentGroup, name: str, **kw: Any) -> None:
    """Our dashed flags also answer to the underscore spelling of Katib's stock flags."""
    names = [name]
    if "-" in name[2:]:
        names.append("--" + name[2:].replace("-", "_"))
    group.add_argument(*names, **kw)


def option_table() -> dict[str, tuple[str, bool]]:
    """Every spelling of every flag -> (the argument it sets, whether it takes a value)."""
    return {
        option: (action.dest, action.nargs != 0)
        for action in build_parser()._actions
        for option in action.option_strings
    }


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Build the ENAS child network Katib assigned, train it, report its accuracy.",
    )
    katib = parser.add_argument_group("Katib's stock trial flags")
    katib.add_argument("--architecture", required=True, type=_text, help="layer rows (JSON)")
    katib.add_argument("--nn_config", required=True, type=_text, help="sizes and op embedding")
    katib.add_argument(
        "--num_epochs",
        type=_POSITIVE_INT,
        default=DEFAULT_EPOCHS,
        help="default: %(default)s",
    )
    katib.add_argument(
        "--num_gpus", type=_NON_NEGATIVE_INT, default=1, help="0 forces the CPU (default: 1)"
    )
    _data_flags(parser)
    _training_flags(parser)
    _sharing_flags(parser)
    _output_flags(parser)
    return parser


def _sharing_flags(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser,
        "--shared-weights",
        default=None,
        type=_text,
        help="the shared-weights store's host:port, instead of the one in nn_config",
    )
    add_flag(
        parser,
        "--shared-weights-timeout",
        default=300.0,
        type=_POSITIVE_FLOAT,
        help="seconds to keep retrying an unreachable store before failing",
    )
    group = parser.add_argument_group("weight sharing")
    _flag(
        group,
        "--evaluate-shared",
        action="store_true",
        help="score the shared weights without pushing (katib-enas derive)",
    )
    _flag(
        group,
        "--finetune-steps",
        type=_NON_NEGATIVE_INT,
        default=0,
        help="with --evaluate-shared: steps of training from the shared weights before scoring "
        "(never pushed; default: %(default)s)",
    )
    _flag(
        group,
        "--reward-images",
        type=_NON_NEGATIVE_INT,
        default=REWARD_IMAGES,
        help="a shared trial's reward: accuracy on this many validation images, the same ones "
        "for every trial (ENAS scores a child on a validation batch; 0: the whole split; "
        "--evaluate-shared always scores the whole split; default: %(default)s)",
    )


def _data_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    _flag(group, "--dataset", choices=data.DATASETS, type=_text, default="cifar10")
    add_flag(
        parser,
        "--data-dir",
        default=None,
        type=Path,
        help="folder with the dataset's files (default: /data/cifar10 for cifar10, "
        "/usr/share/datasets/fashion-mnist for fashion-mnist, /data/mnist for mnist)",
    )
    _flag(group, "--download", action="store_true", help="fetch the dataset's files (checked)")
    _flag(group, "--download-url", type=_text, default=cifar10.URL, help="CIFAR-10 mirror")
    _flag(
        group,
        "--validation-fraction",
        type=_OPEN_FRACTION,
        default=0.1,
        help="training images held out for the reward (default: %(default)s)",
    )
    _flag(group, "--split-seed", type=_NON_NEGATIVE_INT, default=0, help="fixed per experiment")
    _flag(
        group,
        "--synthetic-size",
        type=_POSITIVE_INT,
        default=5000,
        help="training images of --dataset synthetic",
    )


def _training_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training")
    _flag(group, "--batch-size", type=_number(int, 2, None, "an integer >= 2"), default=128)
    _flag(group, "--learning-rate", type=_POSITIVE_FLOAT, default=0.05, help="peak of the cosine")
    _flag(group, "--momentum", type=_FRACTION, default=0.9, help="Nesterov momentum")
    _flag(group, "--weight-decay", type=_NON_NEGATIVE_FLOAT, default=2.5e-4)
    _flag(group, "--label-smoothing", type=_FRACTION, default=0.0)
    _flag(group, "--dropout", type=_FRACTION, default=0.0, help="before the linear head")
    _flag(group, "--seed", type=_NON_NEGATIVE_INT, default=0)
    _flag(
        group,
        "--max-steps",
        type=_NON_NEGATIVE_INT,
        default=0,
        help="stop after this many training steps, the cosine fitted to them (a low-fidelity "
        "budget; 0: every step of --num_epochs epochs)",
    )
    add_flag(
        parser,
        "--device",
        default="auto",
        type=_text,
        choices=["auto", "cpu", "cuda"],
        help="where",
    )
    add_flag(
        parser, "--threads", default=0, type=_NON_NEGATIVE_INT, help="CPU threads (0: torch's)"
    )


def _output_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("metrics and outputs")
    _flag(group, "--metrics-file", type=Path, help="also write metrics here (Katib File collector)")
    _flag(group, "--metrics-format", choices=["text", "json"], type=_text, default="text")
    _flag(group, "--push-metrics", action="store_true", help="report with kubeflow.katib")
    _flag(
        group,
        "--db-manager-address",
        type=_text,
        default=os.environ.get(DB_MANAGER_ENV) or DEFAULT_DB_MANAGER,
        help=f"Katib DB manager for --push-metrics (env {DB_MANAGER_ENV}; default: %(default)s)",
    )
    _flag(group, "--summary-file", type=Path, help="write the closing summary here as JSON")
    _flag(group, "--save-model", type=Path, help="write the trained weights here (torch.save)")
