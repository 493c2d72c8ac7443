"""One trial of a weight-sharing search: ENAS's child step, as a Katib trial.

Pull the child's tensors from the experiment's store, train `slice_steps` steps at the learning
rate the shared schedule gives for the store's global step (warm restarts over the whole
experiment with a floor, `core.sharing.schedule`; not a fresh schedule per trial), push what
changed, then score the child with the trained shared weights on a fixed sample of the
held-out validation split (`--reward-images`, the same images for every trial): that accuracy
is the reward, as in ENAS, which scores a child on a validation batch. Each trial draws its
batches in its own order (seeded by the store's step and the architecture), so the slices
together cover the training set instead of all replaying its first batches. The test split is
not scored: a shared-weight accuracy only ranks children, and the test set belongs to the
retrained winner.

`katib-enas derive` scores a candidate here too: pull, fine-tune `finetune_steps` steps from the
shared weights (a short cosine from the shared schedule's current rate to zero), never push,
then score on the whole validation split. Fine-tuned scores rank children; zero-shot ones
(0 steps) barely do.

BatchNorm statistics are not shared: a child's activations depend on the whole child, so after
its slice the trial recomputes them for its own network (running averages reset, then
`BN_BATCHES` training batches) before scoring, as ENAS does when it evaluates a child.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Sequence

import torch
from torch import nn

from enas_trial import augment, reporting
from enas_trial.builders import Plan
from enas_trial.data import Splits
from enas_trial.evaluation import evaluate_split
from enas_trial.sharing.blocks import SharedTensor
from enas_trial.sharing.link import StoreLink
from enas_trial.training import (
    Session,
    TrainingConfig,
    TrainingResult,
    parameter_count,
    prepare,
    run_steps,
)
from katib_enas.core.sharing.reference import StoreReference
from katib_enas.optim import cosine

log = logging.getLogger(__name__)

BN_BATCHES = 20


def train_slice(  # noqa: PLR0917 (the trial's inputs, passed once by the CLI)
    plan: Plan,
    model: nn.Module,
    shared: Callable[[nn.Module], Sequence[SharedTensor]],
    splits: Splits,
    config: TrainingConfig,
    reporter: reporting.MetricReporter,
    link: StoreLink,
    reference: StoreReference,
    *,
    evaluate_only: bool,
    finetune_steps: int,
    reward_images: int,
    process_age: Callable[[], float],
) -> TrainingResult:
    """The slice, its reward scored on the first `reward_images` validation images (0: all);
    `evaluate_only`: score the shared weights for `katib-enas derive` on the whole validation
    split, after `finetune_steps` steps of training that are never pushed."""
    started = time.monotonic()
    session = prepare(plan, model, splits, config)
    tensors = shared(session.model)
    pulled = link.pull(tensors)
    status = pulled.status
    global_step = int(status.global_step)
    order = _reseed(session, config.seed, global_step, int(status.version), link.child.architecture)
    shared_rate = reference.learning_rate(config.learning_rate, global_step)
    steps = finetune_steps if evaluate_only else int(status.slice_steps)

    def schedule(step: int) -> float:
        if evaluate_only:  # a short cosine from where the search's schedule stands
            return cosine(shared_rate, step, steps)
        return reference.learning_rate(config.learning_rate, global_step + step)

    log.info(
        "%s %d steps from shared step %d at learning rate %.4g, batch order %08x%s",
        "fine-tuning" if evaluate_only else "training",
        steps,
        global_step,
        schedule(0),
        order,
        " (the store is left as it is)" if evaluate_only else "",
    )
    train = run_steps(session, splits, config, steps, schedule, process_age)
    if steps and not evaluate_only:
        link.push(tensors, pulled, session.step)
    recompute_batch_norm(session, splits, config)
    val_loss, val_accuracy = evaluate_split(session, "val", 0 if evaluate_only else reward_images)
    metrics = {reporting.VALIDATION_ACCURACY: val_accuracy, reporting.VALIDATION_LOSS: val_loss}
    if steps:
        metrics = {
            reporting.TRAINING_ACCURACY: train.accuracy,
            reporting.TRAINING_LOSS: train.loss,
            **metrics,
        }
    reporter.report(metrics)
    parameters = parameter_count(session.model)
    reporter.report({reporting.PARAMETER_COUNT: parameters})
    return TrainingResult(
        epochs=1,
        best_validation_accuracy=val_accuracy,
        best_epoch=1,
        final_validation_accuracy=val_accuracy,
        test_accuracy=None,
        parameters=parameters,
        seconds=time.monotonic() - started,
        seconds_to_first_step=session.first_step_at,
        train_images_per_second=train.images / train.seconds if train.seconds > 0 else 0.0,
        device=str(session.device),
    )


def _reseed(session: Session, seed: int, global_step: int, version: int, architecture: str) -> int:
    """This trial's own batch order and augmentation, seeded from the store's position and the
    child: two trials differ, a rerun of a trial at the same store state repeats."""
    trial_seed = zlib.crc32(f"{seed}:{global_step}:{version}:{architecture}".encode())
    session.generator.manual_seed(trial_seed)
    if session.order_generator is not session.generator:
        session.order_generator.manual_seed(trial_seed)
    return trial_seed


@torch.no_grad()
def recompute_batch_norm(session: Session, splits: Splits, config: TrainingConfig) -> None:
    """Every BatchNorm's running statistics from scratch, over up to `BN_BATCHES` batches."""
    norms = [m for m in session.model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the batches below
    session.model.train()
    data, device = session.data, session.device
    order = torch.randperm(
        len(data.train_y), device=data.train_y.device, generator=session.order_generator
    )
    for number, start in enumerate(range(0, len(order), config.batch_size)):
        index = order[start : start + config.batch_size]
        if number == BN_BATCHES or len(index) < 2:
            break
        x = augment.normalize(data.train_x[index].to(device), session.mean, session.std)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            session.model(x)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
