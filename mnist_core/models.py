"""The networks the app offers, each with the recipe it is trained with.

Every network takes a float tensor [N, 1, 28, 28] in [0, 1], white ink on black (the
MNIST convention), and returns logits [N, 10]. A network that was taught with normalised
inputs normalises them itself, so every caller feeds the same tensor.

The first five are the networks of the tutorials our users learn from, with their
architectures kept exactly and their bugs fixed (see each docstring). The last one,
`convnet-bn`, is our own: the most accurate network we can train on a 2-core CPU in
under 30 minutes, and the app's default.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


@dataclass(frozen=True)
class Recipe:
    """How a network is trained: the hyper-parameters its tutorial taught."""

    optimizer: str  # "sgd", "adam" or "adamw"
    lr: float
    batch_size: int
    epochs: int
    augment: bool = False  # random affine + stroke thickness (see data.augment)
    schedule: str = "constant"  # "constant" or "onecycle"
    weight_decay: float = 0.0
    momentum: float = 0.0  # SGD only
    styled_digits: int = 0  # digits in the styles MNIST lacks (mnist_core.styles) added to the training set
    styled_pen: tuple[float, float] = (0.04, 0.14)  # their pen widths, a share of the digit's height (styles.PEN_WIDTH)
    label_smoothing: float = 0.0  # cross-entropy's target: 1 - this on the digit, the rest spread evenly
    seed: int = 0  # the seed the shipped weights were trained with (python -m mnist_core.train's default)
    # A fine-tune's learning rate per block of the network (its blocks(), from the input up), as a
    # fraction of lr: the features every digit shares move least (see train.param_groups).
    # Empty: one learning rate for every parameter.
    block_lr_scales: tuple[float, ...] = ()
    # Train, and read while training, in bfloat16 where the hardware computes it natively (see
    # evaluate.bfloat16_native; elsewhere float32): about half the time of a training step on such a
    # CPU. The shipped recipes train in float32; a short retrain may ask for it (retrain.SHORT_PRESETS).
    bfloat16: bool = False

    def __post_init__(self) -> None:
        # A weights file records the recipe as JSON, where a tuple comes back as a list.
        object.__setattr__(self, "styled_pen", tuple(self.styled_pen))
        object.__setattr__(self, "block_lr_scales", tuple(self.block_lr_scales))

    def to_dict(self) -> dict:
        return asdict(self)


class Normalize(nn.Module):
    """(x - mean) / std inside the network, so callers always feed [0, 1] pixels."""

    def __init__(self, mean: float = MNIST_MEAN, std: float = MNIST_STD) -> None:
        super().__init__()
        self.mean = mean
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class MLP3x64(nn.Module):
    """Tutorial 000: 784-64-64-64-10 with ReLU, no input normalisation.

    Fixed: the tutorial ends in log_softmax and trains with NLL; we return logits and
    train with cross-entropy, which is the same loss computed in one stable step.
    """

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 64), nn.ReLU(),
            nn.Linear(64, 64), nn.ReLU(),
            nn.Linear(64, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LeNet5(nn.Module):
    """Tutorial 001: LeNet-5 on 28x28 inputs (44,426 parameters).

    conv 6@5x5 -> max-pool 2 -> conv 16@5x5 -> max-pool 2 -> fc 256-120-84-10, ReLU.
    Fixed: the tutorial's first listing flattens the input image instead of the pooled
    feature maps before the first fully connected layer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),  # 6x12x12
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),  # 16x4x4
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(256, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class MLP256x64(nn.Module):
    """Tutorial 002: 784-256-64-10 with ReLU, inputs normalised (0.1307, 0.3081).

    Fixed: the tutorial applies ReLU to the output logits, which clips every negative
    logit to zero and slows learning; the last layer here is linear.
    """

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            Normalize(),
            nn.Flatten(),
            nn.Linear(784, 256), nn.ReLU(),
            nn.Linear(256, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNN10x20(nn.Module):
    """Tutorial 003: conv 1->10 k5 -> ReLU -> max-pool 2 -> conv 10->20 k3 -> ReLU ->
    fc 2000-500-10, inputs normalised (0.1307, 0.3081).

    Fixed: the tutorial ends in log_softmax; we return logits (see MLP3x64).
    """

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            Normalize(),
            nn.Conv2d(1, 10, 5), nn.ReLU(), nn.MaxPool2d(2),  # 10x12x12
            nn.Conv2d(10, 20, 3), nn.ReLU(),  # 20x10x10
            nn.Flatten(),
            nn.Linear(2000, 500), nn.ReLU(),
            nn.Linear(500, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNN16x32(nn.Module):
    """Tutorial 004: conv 16 k5 pad 2 -> ReLU -> pool 2 -> conv 32 k5 pad 2 -> ReLU ->
    pool 2 -> linear 1568-10, no input normalisation."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 16x14x14
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 32x7x7
            nn.Flatten(),
            nn.Linear(1568, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ConvNetBN(nn.Module):
    """Our network: a VGG-style CNN with batch norm, trained with augmentation.

    28x28 -> conv 48, conv 48 -> pool -> conv 96, conv 96 -> pool -> conv 192 ->
    global max + average pool -> linear 10; every conv 3x3 + batch norm + ReLU.
    Global pooling makes it tolerant to the small shifts a drawing keeps after centring;
    batch norm lets a one-cycle schedule train it in few epochs. The widths and its recipe
    (30 epochs, label smoothing 0.2) won two sweeps on validation accuracy against the earlier
    32-64-128 for 12 epochs, longer training and other smoothing (see README, "The networks").

    In eval mode it reads each image three times, as it is and turned TEST_TIME_ROTATION degrees
    each way, and answers with the mean of the three logits (test-time augmentation): people
    slant their digits more than MNIST's writers did. On held-out digits (MNIST validation and
    styled digits) that made 16 mistakes of 7,000 instead of 22 (README, "Reading three ways").
    """

    TEST_TIME_ROTATION = 12.0  # degrees; of 6 to 15, the fewest mistakes on held-out digits
    OUTPUT_NAME = f"mean of 3 readings (as drawn, turned ±{TEST_TIME_ROTATION:g}°)"  # its last step, in inside.look_inside

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            Normalize(),
            conv_bn(1, 48), conv_bn(48, 48), nn.MaxPool2d(2),  # 48x14x14
            conv_bn(48, 96), conv_bn(96, 96), nn.MaxPool2d(2),  # 96x7x7
            conv_bn(96, 192),  # 192x7x7
        )
        self.classifier = nn.Linear(384, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or not self.TEST_TIME_ROTATION or len(x) == 0:
            return self.logits(x)
        views = torch.cat([x, rotated(x, self.TEST_TIME_ROTATION), rotated(x, -self.TEST_TIME_ROTATION)])
        return self.logits(views).unflatten(0, (3, len(x))).mean(dim=0)

    def blocks(self) -> list[nn.Module]:
        """Its parameters in three blocks, from the input up: the two 48-channel convs, the two
        96-channel convs, the last conv with the classifier (for Recipe.block_lr_scales)."""
        f = self.features
        return [nn.ModuleList(f[1:3]), nn.ModuleList(f[4:6]), nn.ModuleList([f[7], self.classifier])]

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The logits for x as it is: one reading, no test-time views."""
        f = self.features(x)
        pooled = torch.cat([f.amax(dim=(2, 3)), f.mean(dim=(2, 3))], dim=1)
        return self.classifier(pooled)


def one_view(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """`model`'s logits from one reading of each image, without test-time views (a cheaper look,
    for the dozens of candidate pieces of a number): ConvNetBN.logits, or any other network itself."""
    return model.logits if isinstance(model, ConvNetBN) else model


def rotated(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Images [N, 1, 28, 28] turned about their centre (bilinear; what leaves the frame is lost,
    what enters it is paper)."""
    a = math.radians(degrees)
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]], dtype=x.dtype, device=x.device)
    theta = theta.expand(len(x), 2, 3)
    return F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False)


@dataclass(frozen=True)
class ModelSpec:
    id: str
    name: str
    source: str
    build: Callable[[], nn.Module]
    recipe: Recipe


SPECS: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in [
        ModelSpec("mlp-3x64", "MLP 784-64-64-64-10", "tutorial 000", MLP3x64,
                  Recipe("adam", 1e-3, 15, 2)),
        ModelSpec("lenet5", "LeNet-5", "tutorial 001", LeNet5,
                  Recipe("adam", 2e-3, 64, 8, schedule="onecycle")),
        ModelSpec("mlp-256-64", "MLP 784-256-64-10", "tutorial 002", MLP256x64,
                  Recipe("sgd", 0.8, 64, 5, schedule="onecycle")),
        ModelSpec("cnn-10-20", "CNN 10-20, fc 500", "tutorial 003", CNN10x20,
                  Recipe("adam", 1e-3, 64, 6, schedule="onecycle")),
        ModelSpec("cnn-16-32", "CNN 16-32", "tutorial 004", CNN16x32,
                  Recipe("adam", 0.01, 50, 3, schedule="onecycle")),
        ModelSpec("convnet-bn", "ConvNet-BN (ours)", "MNIST Sketch Lab", ConvNetBN,
                  Recipe("adamw", 3e-3, 128, 30, augment=True, schedule="onecycle", weight_decay=5e-4,
                         styled_digits=18_000, styled_pen=(0.04, 0.25), label_smoothing=0.2, seed=3)),
    ]
}

DEFAULT_MODEL = "convnet-bn"


def build_model(model_id: str, seed: int | None = None) -> nn.Module:
    """A freshly initialised network for one of the ids in SPECS; with `seed`, always the
    same initial weights (without touching the global random state)."""
    if not isinstance(model_id, str) or model_id not in SPECS:
        raise KeyError(f"unknown model {str(model_id)[:80]!r}; known: {', '.join(SPECS)}")
    if seed is None:
        return SPECS[model_id].build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SPECS[model_id].build()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
