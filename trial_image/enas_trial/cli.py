"""The `enas-trial` command: the trial images' entry point and a local training script.

It accepts Katib's stock flags as Katib passes them (`flags`). Everything that can be
checked without torch (the assignments, the shapes of every layer, the dataset files, the push
target) is checked before torch is imported, so bad input costs milliseconds and ends with one
line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from enas_trial import data, heap, reporting
from enas_trial.builders import Builder, Plan, builder_for
from enas_trial.errors import TrialInputError, TrialRuntimeError
from enas_trial.flags import PROG, build_parser
from katib_enas import exits
from katib_enas.atomic import write_atomic
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.sharing.reference import StoreReference, reference_of

log = logging.getLogger("enas_trial")


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


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format=f"{PROG}: %(message)s")
    args = build_parser().parse_args(argv)
    heap.keep_freed_memory()
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
    args.data_dir = data.data_dir_for(args.dataset, args.data_dir)
    builder = builder_for(args.nn_config)
    plan = builder.plan(args.architecture, args.nn_config)
    reference = reference_of(args.nn_config)
    if reference is None and (args.shared_weights or args.evaluate_shared):
        flag = "--shared-weights" if args.shared_weights else "--evaluate-shared"
        raise TrialInputError(
            f"{flag}: this child shares no weights (its nn_config has no 'shared' entry; the "
            "algorithm setting weight_sharing: true adds it)"
        )
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
        if reference is not None:
            result = _train_shared(args, builder, plan, splits, device, reporter, reference)
        else:
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

    from enas_trial.training import save_checkpoint, train

    config = _config(args, device)
    saver = None
    if args.save_model is not None:
        extra: dict[str, object] = {
            "architecture": args.architecture,
            "nn_config": args.nn_config,
            "dataset": args.dataset,
        }

        def saver(model: torch.nn.Module, normalization: dict[str, torch.Tensor]) -> None:
            save_checkpoint(args.save_model, model, extra, normalization)

    return train(
        plan,
        _build(args, builder, plan),
        splits,
        config,
        reporter,
        process_age=lambda: time.monotonic() - _Clock.started,
        save_model=saver,
    )


def _train_shared(  # noqa: PLR0917 (a private helper of _run, called once)
    args: argparse.Namespace,
    builder: Builder,
    plan: Plan,
    splits: data.Splits,
    device: str,
    reporter: reporting.MetricReporter,
    reference: StoreReference,
) -> Any:

    from enas_trial.shared_slice import train_slice
    from enas_trial.sharing.link import StoreLink
    from katib_enas.v1 import shared_weights_pb2 as sw

    address = args.shared_weights or reference.address
    log.info("weight sharing: store %s, experiment %s", address, reference.experiment)
    child = sw.Child(
        experiment=reference.experiment, architecture=args.architecture, nn_config=args.nn_config
    )
    link = StoreLink(address, child, args.shared_weights_timeout)
    try:
        return train_slice(
            plan,
            _build(args, builder, plan),
            lambda built: builder.shared_tensors(built, plan),
            splits,
            _config(args, device),
            reporter,
            link,
            reference,
            evaluate_only=args.evaluate_shared,
            finetune_steps=args.finetune_steps,
            reward_images=args.reward_images,
            process_age=lambda: time.monotonic() - _Clock.started,
        )
    finally:
        link.close()


def _build(args: argparse.Namespace, builder: Builder, plan: Plan) -> Any:
    """The network, seeded first: its initial weights (with sharing, those of the tensors the
    store does not hold yet) reproduce from `--seed`."""
    import torch

    torch.manual_seed(args.seed)
    return builder.build(plan, args.dropout)


def _config(args: argparse.Namespace, device: str) -> Any:
    from enas_trial.training import TrainingConfig

    return TrainingConfig(
        epochs=args.num_epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing,
        dropout=args.dropout,
        seed=args.seed,
        device=device,
        max_steps=args.max_steps,
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
    test = summary["test_accuracy"]
    log.info(
        "done: best validation accuracy %.4f (epoch %d), final %.4f, test accuracy %s, "
        "%s parameters, %d layers, %.1f s on %s",
        summary["best_validation_accuracy"],
        summary["best_epoch"],
        summary["final_validation_accuracy"],
        "not scored (shared weights)" if test is None else f"{test:.4f}",
        f"{summary['parameters']:,}",
        plan.depth,
        summary["seconds"],
        summary["device"],
    )
    if path is not None:
        write_atomic(path, json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
