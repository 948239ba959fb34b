"""The training loop, shared by the command line and the app's Retrain tab.

    python -m mnist_core.train --model lenet5 --epochs 3

`fit` reports progress to a callback, stops when asked or when its time budget is
spent, and is deterministic for a given seed on a given machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from mnist_core.data import DataUnavailable, MnistData, augment, load_mnist, to_float
from mnist_core.evaluate import accuracy, bfloat16_native, calibration_kinds, precision, predict_logits, temperature_of
from mnist_core.models import SPECS, Recipe, build_model, count_parameters, one_view
from mnist_core.styles import with_styled_digits
from mnist_core.weights import save_weights, weights_path


Stage = Literal["training", "validating", "trained"]


@dataclass
class Progress:
    """What the loop reports after steps 1, 2, 4, 8... (see reported), every `report_every` steps
    and at the end of each epoch.

    The first step's report is where the curves start, and the second step's is where they are
    drawn: a line needs two points, and a lone first point drew nothing until step
    `report_every` (300 for a long run: seconds to minutes of empty plots).
    """

    step: int
    total_steps: int
    epoch: float  # fractional: 1.5 = half-way through the second epoch
    loss: float  # mean training loss since the last report
    train_accuracy: float  # running accuracy on the (augmented) training batches since the last report
    val_accuracy: float | None  # set at the end of each epoch
    elapsed_s: float
    first_step_s: float | None = None  # elapsed_s when the first step ended: the pace is measured from there
    # "training"; "validating": a notice that a validation pass begins, not a point of the curves
    # (on_progress only, never in the history); "trained": the run's last report, validated.
    stage: Stage = "training"


@dataclass
class FitResult:
    steps: int
    epochs: float
    val_accuracy: float | None  # None: stopped by should_stop, not validated
    elapsed_s: float
    stopped_early: bool  # cancelled or out of time
    history: list[Progress]
    val_logits: torch.Tensor | None = None  # the last validation's logits [N, 10]: the trained network's, on the CPU


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def param_groups(model: nn.Module, recipe: Recipe) -> list[dict]:
    """The optimizer's parameter groups: one for all, or with recipe.block_lr_scales one per
    block of the network (model.blocks(), from the input up), each with its own learning rate.

    The idea (discriminative fine-tuning, as in ULMFiT): a short fine-tune on a person's few
    drawings moves the features every digit shares least. Tried for the short retrain and not
    kept by any preset (README, "Layer-wise learning rates"); learn_from_me.py --block-lr runs it."""
    if not recipe.block_lr_scales:
        return [{"params": list(model.parameters()), "lr": recipe.lr}]
    blocks = model.blocks() if hasattr(model, "blocks") else []
    if len(blocks) != len(recipe.block_lr_scales):
        raise ValueError(f"{type(model).__name__} has {len(blocks)} blocks, not the "
                         f"{len(recipe.block_lr_scales)} that block_lr_scales names")
    groups = [{"params": list(block.parameters()), "lr": recipe.lr * scale}
              for block, scale in zip(blocks, recipe.block_lr_scales)]
    if sorted(id(p) for g in groups for p in g["params"]) != sorted(id(p) for p in model.parameters()):
        raise ValueError(f"{type(model).__name__}'s blocks do not hold each of its parameters once")
    return groups


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    groups = param_groups(model, recipe)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adam":
        return torch.optim.Adam(groups, lr=recipe.lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=recipe.lr, weight_decay=recipe.weight_decay)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}: use sgd, adam or adamw")


def reported(step: int, report_every: int) -> bool:
    """Whether step `step` (from 1) is reported: 1, 2, 4, 8... until `report_every`, then every
    `report_every` (the end of an epoch is reported too: see fit)."""
    return step % report_every == 0 or (step < report_every and step & (step - 1) == 0)


def fit(
    model: nn.Module,
    recipe: Recipe,
    data: MnistData,
    *,
    seed: int = 0,
    device: torch.device | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    time_budget_s: float | None = None,
    report_every: int = 100,
    extra_images: torch.Tensor | None = None,
    extra_labels: torch.Tensor | None = None,
    extra_weight: int = 1,
    validate_first: bool | float = False,
    teacher: nn.Module | None = None,
    remember: float = 0.0,
) -> FitResult:
    """Train `model` in place with `recipe` on data.train_*, validating on data.val_*.

    `extra_images`/`extra_labels` (uint8 [M, 28, 28], int64 [M]) are mixed into every
    epoch `extra_weight` times over, so that a few dozen of a user's own drawings count
    beside 55,000 MNIST digits. `validate_first` also reports the validation accuracy before
    the first step (epoch 0), where a curve of it starts: True measures it, a float is that
    accuracy already known (a fine-tune's starting network, measured before).

    `teacher` (the network a fine-tune starts from) and `remember` > 0: on the training set's
    own digits (not the extras), the loss also pulls the answers towards the teacher's
    (knowledge distillation, KL divergence weighted by `remember`), so that learning a few
    extra drawings costs less of what the teacher knew ("learning without forgetting").

    Stopped by `should_stop` (the user cancelled), it ends at once, without validating: the
    caller validates the network if it keeps it (validation is a pass over 5,000 digits, half
    a minute for the default network on 2 cores). Stopped by `time_budget_s`, it validates.
    """
    device = device or pick_device()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    images, labels = data.train_images, data.train_labels
    if extra_images is not None and len(extra_images):
        images = torch.cat([images] + [extra_images] * extra_weight)
        labels = torch.cat([labels] + [extra_labels] * extra_weight)

    model.to(device).to(memory_format=torch.channels_last)
    if teacher is not None:
        teacher.to(device).eval()
    n_own = len(data.train_images)  # the training set's own digits come first, the extras after
    optimizer = make_optimizer(model, recipe)
    steps_per_epoch = math.ceil(len(images) / recipe.batch_size)
    total_steps = steps_per_epoch * recipe.epochs
    scheduler = None
    if recipe.schedule == "onecycle" and total_steps >= 10:  # too few steps to warm up and anneal: constant
        peaks = [group["lr"] for group in optimizer.param_groups]  # one per block (see param_groups)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peaks, total_steps=total_steps,
                                                        pct_start=0.2, cycle_momentum=False)

    start = time.perf_counter()
    history: list[Progress] = []
    step, stopped_early, val_accuracy, cancelled = 0, False, 0.0, False
    loss_sum, correct, seen = 0.0, 0, 0
    first_step_s: float | None = None  # before it: the starting network's validation, a slow first step

    def now(val: float | None, stage: Stage = "training") -> Progress:
        """Where the run stands: the steps since the last report (see report), recorded nowhere."""
        if seen:
            mean_loss, train_accuracy = loss_sum / seen, correct / seen
        elif history:  # no step since the last report (a run stopped right after one): the same point, validated
            mean_loss, train_accuracy = history[-1].loss, history[-1].train_accuracy
        else:  # validate_first's, before any step: no training loss yet (the curves start at step 1)
            mean_loss, train_accuracy = 0.0, 0.0
        return Progress(step, total_steps, step / steps_per_epoch, mean_loss, train_accuracy, val,
                        time.perf_counter() - start, first_step_s, stage)

    def report(val: float | None, stage: Stage = "training") -> None:
        nonlocal loss_sum, correct, seen
        progress = now(val, stage)
        history.append(progress)
        loss_sum, correct, seen = 0.0, 0, 0
        if on_progress:
            on_progress(progress)

    if validate_first is True:
        report(accuracy(model, data.val_images, data.val_labels, device=device, bfloat16=recipe.bfloat16))
    elif validate_first is not False:
        report(float(validate_first))
    val_logits = None
    for epoch in range(recipe.epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        for batch_start in range(0, len(images), recipe.batch_size):
            index = order[batch_start:batch_start + recipe.batch_size]
            x = to_float(images[index])
            if recipe.augment:
                x = augment(x, generator)
            x = x.to(device, memory_format=torch.channels_last)
            y = labels[index].to(device)
            own = (index < n_own).to(device)
            distil = teacher is not None and remember > 0 and bool(own.any())
            with precision(device, recipe.bfloat16):  # the networks' passes; the losses in float32
                logits = model(x).float()
                if distil:
                    with torch.no_grad():  # one reading, as the network learns (models.one_view)
                        taught = one_view(teacher)(x[own]).float().softmax(1)
            loss = F.cross_entropy(logits, y, label_smoothing=recipe.label_smoothing)
            if distil:
                loss = loss + remember * F.kl_div(logits[own].log_softmax(1), taught, reduction="batchmean")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler:
                scheduler.step()
            step += 1
            if step == 1:
                first_step_s = time.perf_counter() - start
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
            if reported(step, report_every) and step % steps_per_epoch:
                report(None)
            cancelled = should_stop is not None and should_stop()
            out_of_time = time_budget_s is not None and time.perf_counter() - start > time_budget_s
            if cancelled or out_of_time:
                stopped_early = True
                break
        if cancelled:  # the last point of the curves, unvalidated (none if the last step was reported)
            if seen:
                report(None)
            val_accuracy = None
            break
        if on_progress:  # a pass over the validation digits takes a while: say so first
            on_progress(now(None, "validating"))
        val_logits = predict_logits(model, data.val_images, device, bfloat16=recipe.bfloat16).cpu()
        val_accuracy = (val_logits.argmax(1) == data.val_labels).float().mean().item()
        report(val_accuracy, "trained" if stopped_early or epoch == recipe.epochs - 1 else "training")
        if stopped_early:
            break
    model.eval()
    return FitResult(step, step / steps_per_epoch, val_accuracy, time.perf_counter() - start, stopped_early, history,
                     val_logits)


def weights_metadata(model_id: str, base_model: str, model: nn.Module, recipe: Recipe, seed: int,
                     result: FitResult, test_accuracy: float | None, name: str | None = None) -> dict[str, object]:
    """What a weights file records about how it was made. `base_model` is the network's
    id in SPECS (the same as `model_id` for the shipped weights)."""
    return {
        "id": model_id,
        "base_model": base_model,
        "architecture": SPECS[base_model].build.__name__,
        "name": name or SPECS[base_model].name,
        "parameters": count_parameters(model),
        "recipe": recipe.to_dict(),
        "seed": seed,
        "epochs_trained": round(result.epochs, 3),
        "train_seconds": round(result.elapsed_s, 1),
        "val_accuracy": result.val_accuracy,
        "test_accuracy": test_accuracy,
        "torch": torch.__version__,
        "device": str(next(model.parameters()).device.type),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mnist_core.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, choices=sorted(SPECS), help="network id")
    parser.add_argument("--epochs", type=int, help="epochs (default: the network's recipe)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the recipe's)")
    parser.add_argument("--batch-size", type=int, help="batch size (default: the recipe's)")
    parser.add_argument("--out", type=Path, help="weights file to write (default: weights/<model>.safetensors)")
    parser.add_argument("--data-root", help="folder holding MNIST/raw (default: $MNIST_ROOT, else ./data)")
    parser.add_argument("--seed", type=int, help="random seed (default: the recipe's, which made the shipped weights)")
    parser.add_argument("--styled-pen", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        help="the styled digits' pen widths, a share of the digit's height (default: the recipe's)")
    parser.add_argument("--styled-digits", type=int, metavar="N",
                        help="digits in the styles MNIST lacks added to training (default: the recipe's)")
    parser.add_argument("--train-size", type=int, help="train on only the first N training digits (for quick tries)")
    parser.add_argument("--time-budget", type=float, help="stop after this many seconds")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--bfloat16", action="store_true",
                        help="train in bfloat16 where the CPU or GPU computes it natively (about twice as fast on "
                             "such a CPU; the shipped weights were trained in float32, so this does not remake them)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    spec = SPECS[args.model]
    device = pick_device()
    overrides = {k: v for k, v in {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
                                   "styled_pen": args.styled_pen, "styled_digits": args.styled_digits,
                                   # where it is not native, float32: the file records what was done
                                   "bfloat16": (args.bfloat16 and bfloat16_native(device)) or None}.items()
                 if v is not None}
    recipe = dataclasses.replace(spec.recipe, **overrides)
    if args.seed is None:
        args.seed = recipe.seed
    try:
        data = load_mnist(args.data_root)
    except DataUnavailable as error:
        sys.exit(f"error: {error}")
    if args.train_size:
        data.train_images, data.train_labels = data.train_images[:args.train_size], data.train_labels[:args.train_size]
    data = with_styled_digits(data, recipe.styled_digits, seed=args.seed, pen_width=recipe.styled_pen)
    model = build_model(args.model, seed=args.seed)

    from tqdm import tqdm  # a dependency of gradio and torch's hub: here for the terminal bar only

    bar = tqdm(total=math.ceil(len(data.train_images) / recipe.batch_size) * recipe.epochs, unit="step",
               disable=not sys.stderr.isatty())

    def show(progress: Progress) -> None:
        bar.update(progress.step - bar.n)
        fields = {"epoch": f"{progress.epoch:.2f}", "loss": f"{progress.loss:.4f}", "acc": f"{progress.train_accuracy:.4f}"}
        if progress.val_accuracy is not None:
            fields["val"] = f"{progress.val_accuracy:.4f}"
            if bar.disable:
                print(f"epoch {progress.epoch:.0f}: loss {progress.loss:.4f}, val {progress.val_accuracy:.4f}, "
                      f"{progress.elapsed_s:.0f}s", flush=True)
        bar.set_postfix(fields)

    result = fit(model, recipe, data, seed=args.seed, device=device, on_progress=show, time_budget_s=args.time_budget)
    bar.close()
    test_accuracy = accuracy(model, data.test_images, data.test_labels, device=device)
    out = args.out or weights_path(args.model)
    metadata = weights_metadata(args.model, args.model, model, recipe, args.seed, result, test_accuracy)
    # for calibrated confidences (reading.py)
    metadata["temperature"] = temperature_of(model.cpu(), calibration_kinds(args.data_root))
    save_weights(model, out, metadata)
    print(f"{args.model}: {result.epochs:.2f} epochs in {result.elapsed_s:.0f}s on {device.type} "
          f"({'bfloat16' if recipe.bfloat16 else 'float32'}), "
          f"val {result.val_accuracy:.4f}, test {test_accuracy:.4f}"
          f"{' (stopped early)' if result.stopped_early else ''} -> {out}")


if __name__ == "__main__":
    main()
