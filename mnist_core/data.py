"""MNIST in memory as tensors, a seeded validation split, batch augmentation, and arrays made
from MNIST kept on disk beside it.

The tutorials feed MNIST one PIL image at a time through a DataLoader. Here the whole
training set is one uint8 tensor (47 MB), batches are index slices of it, and
augmentation runs on the whole batch at once: several times faster on a small CPU.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

DATA_ROOT_ENV = "MNIST_ROOT"
VALIDATION_SIZE = 5000


class DataUnavailable(RuntimeError):
    """MNIST is neither on disk nor downloadable (for example: offline)."""


def resolve_data_root(data_root: str | os.PathLike | None = None) -> Path:
    """The --data-root flag, else $MNIST_ROOT, else ./data."""
    return Path(data_root or os.environ.get(DATA_ROOT_ENV) or "data")


def load_split(train: bool, data_root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images as uint8 [N, 28, 28] and labels as int64 [N]; downloads when missing."""
    root = resolve_data_root(data_root)
    from torchvision.datasets import MNIST  # here, not at the top: torchvision costs the app 2 s at start-up

    try:
        dataset = MNIST(root=str(root), train=train, download=True)
    except Exception as error:  # torchvision raises RuntimeError/URLError/OSError offline
        raise DataUnavailable(
            f"MNIST is not in {root.resolve()}/MNIST/raw and could not be downloaded ({error}). "
            f"Put the four MNIST files there, or point --data-root or ${DATA_ROOT_ENV} at "
            f"the folder that holds MNIST/raw."
        ) from error
    return dataset.data, dataset.targets


@dataclass
class MnistData:
    """Training, validation and test tensors; images uint8 [N, 28, 28], labels int64."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def load_mnist(data_root: str | os.PathLike | None = None, split_seed: int = 0,
               validation_size: int = VALIDATION_SIZE) -> MnistData:
    """MNIST with `validation_size` training digits held out (seeded) for validation.

    The split seed is fixed separately from the training seed so that every model is
    validated on the same digits. The test set is only ever used to report accuracy.
    """
    images, labels = load_split(train=True, data_root=data_root)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(split_seed))
    val_index, train_index = order[:validation_size], order[validation_size:]
    test_images, test_labels = load_split(train=False, data_root=data_root)
    return MnistData(images[train_index], labels[train_index], images[val_index], labels[val_index],
                     test_images, test_labels)


def digest(*parts: bytes) -> str:
    """A short hex digest of `parts`, to name a kept array by everything that makes it."""
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(len(part).to_bytes(8, "little") + part)
    return hashed.hexdigest()[:16]


def code_of(*functions: Any) -> list[bytes]:
    """The source files that define `functions`: part of what a kept array is made from."""
    return [Path(inspect.getfile(function)).read_bytes() for function in functions]


def kept_beside_mnist(name: str, made_from: str, make: Callable[[], np.ndarray],
                      shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """`make()`, kept as `<data root>/MNIST/<name>-<made_from>.npy` so that the next process reads
    it instead of making it again. `made_from` (see digest) must change whenever `make()` would
    return something else: it names the file, so a stale one is never read. The file is written
    whole under another name and then renamed, so a reader never sees half of it; one that is cut
    short or of another shape is made again; where the folder cannot be written, every process
    makes its own."""
    path = resolve_data_root() / "MNIST" / f"{name}-{made_from}.npy"
    try:
        kept = np.load(path, allow_pickle=False)
        if kept.shape == shape and kept.dtype == dtype:
            return kept
    except (OSError, ValueError, EOFError):
        pass  # not made yet, unreadable or cut short: make it again
    array = make()
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with open(partial, "wb") as file:
            np.save(file, array, allow_pickle=False)
        os.replace(partial, path)
    except OSError:  # a read-only or full data folder
        partial.unlink(missing_ok=True)
    return array


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 28, 28] -> float [N, 1, 28, 28] in [0, 1], the networks' input."""
    return images.unsqueeze(1).float().div_(255)


def augment(x: torch.Tensor, generator: torch.Generator, *, degrees: float = 15, scale: float = 0.15,
            shear: float = 0.25, shift: float = 0.12, thickness: float = 0.6) -> torch.Tensor:
    """Random per-digit affine (rotation, scale, shear, shift) and stroke thickness, each drawn
    uniformly within ± its keyword (the defaults are the recipes'; scale is 1 ± `scale`).

    What a drawn digit differs by after centring. torchvision's v2.RandomAffine draws one
    set of parameters per call, i.e. the same for a whole batch; here every digit gets
    its own, in one affine_grid/grid_sample call.
    """
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle = uniform(-degrees, degrees) * math.pi / 180
    zoom = uniform(1 - scale, 1 + scale)
    slant = uniform(-shear, shear)
    move = uniform(-shift, shift), uniform(-shift, shift)  # fraction of half-width: 0.12 is ~±1.7 px
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([
        torch.stack([cos, -sin + slant * cos, move[0]], dim=1),
        torch.stack([sin, cos + slant * sin, move[1]], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")

    # Stroke thickness: blend towards a dilated (thicker) or eroded (thinner) copy.
    thicker = F.max_pool2d(x, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-x, 3, stride=1, padding=1)
    amount = uniform(-thickness, thickness).view(n, 1, 1, 1)
    x = torch.where(amount > 0, x + amount * (thicker - x), x + amount.neg() * (thinner - x))
    return x.clamp_(0, 1)
