"""Training and scoring one child network: the low-fidelity schedule of NASNet/ENAS searches.

`train` runs `prepare` (seeds, data placement, optimizer, schedule), then `train_epoch` and an
evaluation per epoch, then the test split once.

SGD with Nesterov momentum and a per-step cosine learning-rate decay to zero; validation after
every epoch (the reward), the test set once at the end. On CUDA the model runs in channels_last
under bf16 autocast with the dataset kept in GPU memory when it fits; on CPU every random choice
comes from seeded generators and the kernels are deterministic, so a seed reproduces a run exactly
(the digits acceptance test checks this).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812

from enas_trial import augment, reporting
from enas_trial.builders import Plan
from enas_trial.data import Splits
from enas_trial.evaluation import evaluate_split
from katib_enas.atomic import write_atomic
from katib_enas.optim import NesterovSGD, cosine

log = logging.getLogger(__name__)

# 2: with the input normalisation (`enas_trial.load_model` applies it to raw pixels).
CHECKPOINT_FORMAT = 2


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters and placement of one training run."""

    epochs: int
    batch_size: int
    learning_rate: float
    momentum: float
    weight_decay: float
    label_smoothing: float
    dropout: float
    seed: int
    device: str  # "cpu" or "cuda"
    max_steps: int = 0  # stop after this many optimizer steps (0: every step of every epoch)


@dataclass(frozen=True)
class TrainingResult:
    """What the closing summary reports."""

    epochs: int
    best_validation_accuracy: float
    best_epoch: int
    final_validation_accuracy: float
    test_accuracy: float | None  # None: not scored (a weight-sharing slice)
    parameters: int
    seconds: float
    seconds_to_first_step: float
    train_images_per_second: float
    device: str

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


@dataclass
class _Tensors:
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


@dataclass
class Session:
    """One training run in progress: the model, its data and optimizer, where the schedule is.

    `prepare` makes one; `train_epoch` advances it. A warm start (weights from elsewhere) loads
    into `model` between the two.
    """

    model: torch.nn.Module
    data: _Tensors
    mean: torch.Tensor
    std: torch.Tensor
    device: torch.device
    generator: torch.Generator
    order_generator: torch.Generator
    optimizer: NesterovSGD
    total_steps: int
    step: int = 0
    first_step_at: float = 0.0


@dataclass(frozen=True)
class EpochResult:
    loss: float
    accuracy: float
    images: int
    seconds: float


def prepare(plan: Plan, model: torch.nn.Module, splits: Splits, config: TrainingConfig) -> Session:
    """Place the data and the model, make the generators, the optimizer and the schedule.

    The caller seeds torch's global generator before building `model` (its initial weights and
    dropout draw from it); the data order and augmentation draw from `config.seed` here.
    """
    device = torch.device(config.device)
    cuda = device.type == "cuda"
    # cuDNN's autotuner picks the fastest kernels on a GPU. On the CPU the kernels this network
    # uses are deterministic already; `torch.use_deterministic_algorithms` is not called because
    # it imports torch's compiler stack, two seconds of start-up for every trial.
    torch.backends.cudnn.benchmark = cuda
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    data = _tensors(plan, splits, device)
    mean, std = (t.to(device) for t in augment.channel_stats(data.train_x))
    # The shuffle runs where the data lives (host memory when it did not fit on the GPU).
    order_generator = generator
    if data.train_y.device != device:
        order_generator = torch.Generator().manual_seed(config.seed)
    model = model.to(device)
    if cuda:
        # torch accepts memory_format here; its stubs do not list it.
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    steps_per_epoch = max(1, _batches(len(data.train_y), config.batch_size))
    total_steps = config.epochs * steps_per_epoch
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    optimizer = NesterovSGD(
        model.parameters(), momentum=config.momentum, weight_decay=config.weight_decay
    )
    return Session(
        model,
        data,
        mean,
        std,
        device,
        generator,
        order_generator,
        optimizer,
        total_steps,
    )


def train_epoch(
    session: Session, splits: Splits, config: TrainingConfig, process_age: Callable[[], float]
) -> EpochResult:
    """One pass over the training split in shuffled batches, one optimizer step each, along
    the run's cosine schedule."""
    steps = min(
        _batches(len(session.data.train_y), config.batch_size), session.total_steps - session.step
    )
    return run_steps(
        session,
        splits,
        config,
        steps,
        lambda step: cosine(config.learning_rate, step, session.total_steps),
        process_age,
    )


def run_steps(  # noqa: PLR0917 (the loop's inputs)
    session: Session,
    splits: Splits,
    config: TrainingConfig,
    steps: int,
    learning_rate: Callable[[int], float],
    process_age: Callable[[], float],
) -> EpochResult:
    """`steps` optimizer steps on shuffled batches (a fresh shuffle for every pass over the
    split); step `session.step` trains at `learning_rate(session.step)`."""
    s, data, device = session, session.data, session.device
    cuda = device.type == "cuda"
    s.model.train()
    started = time.monotonic()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = taken = 0
    while taken < steps and len(data.train_y) >= 2:
        order = torch.randperm(
            len(data.train_y), device=data.train_y.device, generator=s.order_generator
        )
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            if len(index) < 2 or taken == steps:  # BatchNorm cannot train on a single image
                break
            x = data.train_x[index].to(device, non_blocking=True)
            y = data.train_y[index].to(device, non_blocking=True)
            x = augment.normalize(x, s.mean, s.std)
            x = augment.random_crop(x, splits.crop_padding, s.generator)
            if splits.flip:
                x = augment.random_flip(x, s.generator)
            if cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            if s.first_step_at == 0.0:
                s.first_step_at = process_age()
                log.info("first training step after %.2f s", s.first_step_at)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                logits = s.model(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
            s.optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            s.optimizer.step(learning_rate(s.step))
            s.step += 1
            taken += 1
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(dim=1) == y).sum()
            seen += len(y)
    return EpochResult(
        loss_sum.item() / max(seen, 1),
        correct.item() / max(seen, 1),
        seen,
        time.monotonic() - started,
    )


def train(
    plan: Plan,
    model: torch.nn.Module,
    splits: Splits,
    config: TrainingConfig,
    reporter: reporting.MetricReporter,
    *,
    process_age: Callable[[], float],
    save_model: Callable[[torch.nn.Module, dict[str, torch.Tensor]], None] | None = None,
) -> TrainingResult:
    """Train `model` (built from `plan`) on `splits`, reporting metrics every epoch."""
    started = time.monotonic()
    session = prepare(plan, model, splits, config)
    parameters = parameter_count(session.model)
    log.info(
        "child network: %d layers, %s parameters, %s on %s",
        plan.depth,
        f"{parameters:,}",
        splits.name,
        session.device,
    )
    best, best_epoch, final = -1.0, 0, 0.0
    train_seconds, train_images = 0.0, 0
    for epoch in range(1, config.epochs + 1):
        epoch_result = train_epoch(session, splits, config, process_age)
        train_seconds += epoch_result.seconds
        train_images += epoch_result.images
        val_loss, val_accuracy = evaluate_split(session, "val")
        final = val_accuracy
        if val_accuracy > best:
            best, best_epoch = val_accuracy, epoch
        reporter.report(
            {
                reporting.TRAINING_ACCURACY: epoch_result.accuracy,
                reporting.TRAINING_LOSS: epoch_result.loss,
                reporting.VALIDATION_ACCURACY: val_accuracy,
                reporting.VALIDATION_LOSS: val_loss,
            }
        )
        if session.step >= session.total_steps:  # --max-steps reached
            break
    _, test_accuracy = evaluate_split(session, "test")
    # The parameter count rides with the test accuracy: Katib stores both (the shipped
    # Experiments list them in additionalMetricNames), so its UI shows a child's size.
    reporter.report({reporting.PARAMETER_COUNT: parameters, reporting.TEST_ACCURACY: test_accuracy})
    if save_model is not None:
        save_model(session.model, {"mean": session.mean, "std": session.std})
    return TrainingResult(
        epochs=epoch,
        best_validation_accuracy=best,
        best_epoch=best_epoch,
        final_validation_accuracy=final,
        test_accuracy=test_accuracy,
        parameters=parameters,
        seconds=time.monotonic() - started,
        seconds_to_first_step=session.first_step_at,
        train_images_per_second=train_images / train_seconds if train_seconds > 0 else 0.0,
        device=str(session.device),
    )


def _batches(count: int, batch_size: int) -> int:
    full, rest = divmod(count, batch_size)
    return full + (1 if rest >= 2 else 0)


def _tensors(plan: Plan, splits: Splits, device: torch.device) -> _Tensors:
    """The splits as uint8 tensors in the network's input shape, on the GPU when they fit."""
    shape = (plan.in_channels, *plan.in_size)

    def images(array: object) -> torch.Tensor:
        return augment.fit_to_shape(torch.as_tensor(array), shape, splits.name)

    tensors = _Tensors(
        images(splits.train_x),
        torch.as_tensor(splits.train_y),
        images(splits.val_x),
        torch.as_tensor(splits.val_y),
        images(splits.test_x),
        torch.as_tensor(splits.test_y),
    )
    if device.type == "cuda":
        total = sum(t.numel() * t.element_size() for t in vars(tensors).values())
        free, _ = torch.cuda.mem_get_info(device)
        # Keep most of the memory for activations; a dataset that does not fit stays pinned
        # in host memory and each batch is copied over asynchronously.
        target = device if total < free // 4 else None
        for name, tensor in vars(tensors).items():
            moved = tensor.to(target) if target is not None else tensor.pin_memory()
            setattr(tensors, name, moved)
    return tensors


def save_checkpoint(
    path: Path,
    model: torch.nn.Module,
    extra: dict[str, object],
    normalization: dict[str, torch.Tensor] | None = None,
) -> None:
    """Weights plus the assignments that built them, written atomically. `normalization`
    (per-channel `mean` and `std` of the training images, in 0..1 units) is what a loaded model
    must apply to raw pixels to see its inputs as it saw them in training."""
    state: dict[str, object] = {"format": CHECKPOINT_FORMAT, "state_dict": model.state_dict()}
    if normalization is not None:
        state["normalization"] = {k: v.detach().cpu().flatten() for k, v in normalization.items()}
    buffer = io.BytesIO()
    torch.save({**state, **extra}, buffer)
    write_atomic(path, buffer.getvalue(), durable=True)


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
