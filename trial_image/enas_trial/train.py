"""Training and scoring one child network: the low-fidelity schedule of NASNet/ENAS searches.

SGD with Nesterov momentum and a per-step cosine learning-rate decay to zero; validation after
every epoch (the reward), the test set once at the end. On CUDA the model runs in channels_last
under bf16 autocast with the dataset kept in GPU memory when it fits; on CPU every random choice
comes from seeded generators and the kernels are deterministic, so a seed reproduces a run exactly
(the digits acceptance test checks this).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812

from enas_trial import augment, reporting
from enas_trial.data import Splits
from enas_trial.errors import TrialInputError
from enas_trial.model import ChildNetwork, parameter_count
from enas_trial.plan import NetworkPlan
from katib_enas.optim import NesterovSGD, cosine

log = logging.getLogger(__name__)

EVAL_BATCH = 1024


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


@dataclass(frozen=True)
class TrainingResult:
    """What the closing summary reports."""

    epochs: int
    best_validation_accuracy: float
    best_epoch: int
    final_validation_accuracy: float
    test_accuracy: float
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


def train(
    plan: NetworkPlan,
    splits: Splits,
    config: TrainingConfig,
    reporter: reporting.MetricReporter,
    *,
    process_age: Callable[[], float],
    save_model: Callable[[torch.nn.Module], None] | None = None,
) -> TrainingResult:
    """Train the child described by `plan` on `splits`, reporting metrics every epoch."""
    started = time.monotonic()
    device = torch.device(config.device)
    cuda = device.type == "cuda"
    torch.manual_seed(config.seed)
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
    model = ChildNetwork(plan, config.dropout).to(device)
    if cuda:
        # torch accepts memory_format here; its stubs do not list it.
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    parameters = parameter_count(model)
    log.info(
        "child network: %d layers, %s parameters, %s on %s",
        len(plan.layers),
        f"{parameters:,}",
        splits.name,
        device,
    )

    steps_per_epoch = max(1, _batches(len(data.train_y), config.batch_size))
    total_steps = config.epochs * steps_per_epoch
    optimizer = NesterovSGD(
        model.parameters(), momentum=config.momentum, weight_decay=config.weight_decay
    )
    step = 0

    best, best_epoch, final = -1.0, 0, 0.0
    first_step_at = 0.0
    train_seconds, train_images = 0.0, 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        epoch_start = time.monotonic()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        order = torch.randperm(
            len(data.train_y), device=data.train_y.device, generator=order_generator
        )
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            if len(index) < 2:  # BatchNorm cannot train on a single image
                break
            x = data.train_x[index].to(device, non_blocking=True)
            y = data.train_y[index].to(device, non_blocking=True)
            x = augment.normalize(x, mean, std)
            x = augment.random_crop(x, splits.crop_padding, generator)
            if splits.flip:
                x = augment.random_flip(x, generator)
            if cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            if first_step_at == 0.0:
                first_step_at = process_age()
                log.info("first training step after %.2f s", first_step_at)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step(cosine(config.learning_rate, step, total_steps))
            step += 1
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(dim=1) == y).sum()
            seen += len(y)
        train_loss = loss_sum.item() / max(seen, 1)
        train_accuracy = correct.item() / max(seen, 1)
        train_seconds += time.monotonic() - epoch_start
        train_images += seen
        val_loss, val_accuracy = evaluate(
            model, images=data.val_x, labels=data.val_y, mean=mean, std=std, device=device
        )
        final = val_accuracy
        if val_accuracy > best:
            best, best_epoch = val_accuracy, epoch
        reporter.report(
            {
                reporting.TRAINING_ACCURACY: train_accuracy,
                reporting.TRAINING_LOSS: train_loss,
                reporting.VALIDATION_ACCURACY: val_accuracy,
                reporting.VALIDATION_LOSS: val_loss,
            }
        )
    _, test_accuracy = evaluate(
        model, images=data.test_x, labels=data.test_y, mean=mean, std=std, device=device
    )
    reporter.report({reporting.TEST_ACCURACY: test_accuracy})
    if save_model is not None:
        save_model(model)
    return TrainingResult(
        epochs=config.epochs,
        best_validation_accuracy=best,
        best_epoch=best_epoch,
        final_validation_accuracy=final,
        test_accuracy=test_accuracy,
        parameters=parameters,
        seconds=time.monotonic() - started,
        seconds_to_first_step=first_step_at,
        train_images_per_second=train_images / train_seconds if train_seconds > 0 else 0.0,
        device=str(device),
    )


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    *,
    images: torch.Tensor,
    labels: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    device: torch.device,
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of `model` on `images`, in evaluation mode."""
    model.eval()
    cuda = device.type == "cuda"
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for start in range(0, len(labels), EVAL_BATCH):
        x = images[start : start + EVAL_BATCH].to(device, non_blocking=True)
        y = labels[start : start + EVAL_BATCH].to(device, non_blocking=True)
        x = augment.normalize(x, mean, std)
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            logits = model(x).float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(dim=1) == y).sum()
    count = max(len(labels), 1)
    return loss_sum.item() / count, correct.item() / count


def _batches(count: int, batch_size: int) -> int:
    full, rest = divmod(count, batch_size)
    return full + (1 if rest >= 2 else 0)


def _tensors(plan: NetworkPlan, splits: Splits, device: torch.device) -> _Tensors:
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
    labels_max = int(max(tensors.train_y.max(), tensors.val_y.max(), tensors.test_y.max()))
    if labels_max >= plan.num_classes:
        raise TrialInputError(
            f"nn_config.output_sizes: {plan.num_classes} classes, but dataset {splits.name} "
            f"has labels up to {labels_max}"
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


def save_checkpoint(path: Path, model: torch.nn.Module, extra: dict[str, str]) -> None:
    """Weights plus the assignments that built them, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    torch.save({"state_dict": model.state_dict(), **extra}, temp)
    temp.replace(path)
