"""The `enas-trial` command: the trial images' entry point and a local training script.

It accepts Katib's stock flags exactly as Katib passes them (single-quoted JSON; under the Push
collector still wrapped in the literal `"` of the YAML) plus our own. Everything that can be
checked without torch (the assignments, the shapes of every layer, the dataset files, the push
target) is checked before torch is imported, so bad input costs milliseconds and ends with one
line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from enas_trial import cifar10, data, reporting
from enas_trial.builders import Builder, Plan, builder_for
from enas_trial.errors import TrialInputError, TrialRuntimeError
from katib_enas import exits
from katib_enas.atomic import write_atomic
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import DEFAULT_DB_MANAGER, unquote
from katib_enas.envflags import add_flag

log = logging.getLogger("enas_trial")

PROG = "enas-trial"
DB_MANAGER_ENV = "KATIB_DB_MANAGER_ADDRESS"


def _process_start() -> float:
    """`time.monotonic()` at the moment this process started (interpreter start-up included)."""
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.monotonic() - (uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic()


class _Clock:
    """When this trial started, for `seconds_to_first_step`: the process's start (interpreter
    start-up included), or when the runner asked for it (`forked_main`)."""

    started = _process_start()


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Build the ENAS child network Katib assigned, train it, report its accuracy.",
    )
    katib = parser.add_argument_group("Katib's stock trial flags")
    katib.add_argument("--architecture", required=True, type=_text, help="layer rows (JSON)")
    katib.add_argument("--nn_config", required=True, type=_text, help="sizes and op embedding")
    katib.add_argument("--num_epochs", type=_POSITIVE_INT, default=10, help="default: %(default)s")
    katib.add_argument(
        "--num_gpus", type=_NON_NEGATIVE_INT, default=1, help="0 forces the CPU (default: 1)"
    )
    _data_flags(parser)
    _training_flags(parser)
    _output_flags(parser)
    return parser


def _data_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    _flag(group, "--dataset", choices=data.DATASETS, type=_text, default="cifar10")
    add_flag(
        parser,
        "--data-dir",
        default="/data/cifar10",
        type=Path,
        help="folder with the CIFAR-10 python batches",
    )
    _flag(group, "--download", action="store_true", help="fetch CIFAR-10 (MD5 checked)")
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


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format=f"{PROG}: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KatibEnasError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return exits.BAD_INPUT
    except TrialRuntimeError as error:
        print(f"{PROG}: failed: {error}", file=sys.stderr)
        return exits.FAILED
    except KeyboardInterrupt:
        return exits.INTERRUPTED


def forked_main(argv: Sequence[str], started: float) -> int:
    """`main` in a trial the trial launcher forked (`enas_trial.forkserver`): its start-up
    clock starts at `started`, the runner's `time.monotonic()` when it asked for the trial, so
    `seconds_to_first_step` covers the launch as a fresh process's covers its start-up."""
    _Clock.started = started
    return main(argv)


def _writable_parent(path: Path | None, flag: str) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrialInputError(f"{flag}: cannot create {path.parent}: {error.strerror}") from None
    if path.is_dir():
        raise TrialInputError(f"{flag}: {path} is a directory")


def _run(args: argparse.Namespace) -> int:
    builder = builder_for(args.nn_config)
    plan = builder.plan(args.architecture, args.nn_config)
    for flag in ("metrics_file", "summary_file", "save_model"):
        _writable_parent(getattr(args, flag), "--" + flag.replace("_", "-"))
    data.prepare(
        args.dataset, args.data_dir, download=args.download, download_url=args.download_url
    )
    push = reporting.connect_push(args.db_manager_address) if args.push_metrics else None

    import torch  # only now: the checks above answer without paying for it

    device = _device(args, torch.cuda.is_available(), torch.cuda.device_count())
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = data.load_splits(
        args.dataset,
        data_dir=args.data_dir,
        download=args.download,
        download_url=args.download_url,
        validation_fraction=args.validation_fraction,
        split_seed=args.split_seed,
        synthetic_shape=(plan.in_channels, *plan.in_size),
        synthetic_size=args.synthetic_size,
    )
    data.check_classes(splits, plan.num_classes)
    # Input is good: the log starts with what Katib's UI cannot show, the architecture decoded.
    log.info("%s child network:", builder.kind)
    for line in plan.describe():
        log.info("  %s", line)
    reporter = reporting.MetricReporter(
        metrics_file=args.metrics_file, metrics_format=args.metrics_format, push=push
    )
    try:
        result = _train(args, builder, plan, splits, device, reporter)
    except torch.cuda.OutOfMemoryError:
        raise TrialRuntimeError(
            f"out of GPU memory with batch size {args.batch_size} for this "
            f"{plan.depth}-layer child; lower --batch-size"
        ) from None
    _summarise(plan, result.to_dict(), args.summary_file)
    return 0


def _train(  # noqa: PLR0917 (a private helper of _run, called once)
    args: argparse.Namespace,
    builder: Builder,
    plan: Plan,
    splits: data.Splits,
    device: str,
    reporter: reporting.MetricReporter,
) -> Any:
    import torch

    from enas_trial.training import TrainingConfig, save_checkpoint, train

    config = TrainingConfig(
        epochs=args.num_epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing,
        dropout=args.dropout,
        seed=args.seed,
        device=device,
    )
    saver = None
    if args.save_model is not None:
        extra: dict[str, object] = {
            "architecture": args.architecture,
            "nn_config": args.nn_config,
            "dataset": args.dataset,
        }

        def saver(model: torch.nn.Module, normalization: dict[str, torch.Tensor]) -> None:
            save_checkpoint(args.save_model, model, extra, normalization)

    # The seed is set before the network is built, so that its initial weights reproduce too.
    torch.manual_seed(args.seed)
    model = builder.build(plan, args.dropout)
    return train(
        plan,
        model,
        splits,
        config,
        reporter,
        process_age=lambda: time.monotonic() - _Clock.started,
        save_model=saver,
    )


def _device(args: argparse.Namespace, cuda_available: bool, gpus: int) -> str:
    if args.device == "cuda" and not cuda_available:
        raise TrialInputError("--device cuda: no CUDA device is available")
    if args.device == "cpu" or (
        args.device == "auto" and (args.num_gpus == 0 or not cuda_available)
    ):
        return "cpu"
    if args.num_gpus > 1:
        log.info("--num_gpus %d: a child trains on one GPU; the others stay idle", args.num_gpus)
    if gpus < 1:
        raise TrialInputError("--device cuda: no CUDA device is available")
    return "cuda"


def _summarise(plan: Plan, summary: dict[str, Any], path: Path | None) -> None:
    # No `Name=value` here: Katib's collector would read it as another metric point.
    log.info(
        "done: best validation accuracy %.4f (epoch %d), final %.4f, test accuracy %.4f, "
        "%s parameters, %d layers, %.1f s on %s",
        summary["best_validation_accuracy"],
        summary["best_epoch"],
        summary["final_validation_accuracy"],
        summary["test_accuracy"],
        f"{summary['parameters']:,}",
        plan.depth,
        summary["seconds"],
        summary["device"],
    )
    if path is not None:
        write_atomic(path, json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
