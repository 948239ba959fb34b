"""Inside a network: what each layer makes of a drawing, why it answered, and its card.

    views = look_inside(model, x)          # every layer in order, with its output for x [1, 28, 28]
    maps = attributions(model, x)          # which ink pushed towards the answer, and the runner-up
    over = on_drawing(maps.towards_answer, field)  # the same, laid over the drawing (see to_mnist_with_field)
    card = network_card(model)             # layers, output shapes, parameter counts

Layers are the network's leaf modules (Conv2d, ReLU, MaxPool2d, Linear, ...) in the order its
forward pass calls them, found with forward hooks, so any network of ours, shipped or retrained,
is shown without a description written for it. Attributions are Captum's Integrated Gradients.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mnist_core.models import Normalize, count_parameters
from mnist_core.preprocess import Field

IG_STEPS = 32  # Integrated Gradients' path steps: about 60 ms for our largest network on one core


@dataclass
class LayerView:
    """One layer's output for one drawing."""

    index: int  # its place in the forward pass (0: the input)
    name: str  # e.g. "Conv2d 1→6, 5×5"
    kind: str  # "input", "conv", "norm", "relu", "pool", "flatten", "dense", "output", "other"
    output: torch.Tensor  # [C, H, W] for feature maps, [N] for a vector
    parameters: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.output.shape)

    @property
    def is_maps(self) -> bool:
        return self.output.dim() == 3


def _kind(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d, Normalize)):
        return "norm"
    if isinstance(module, (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.GELU)):
        return "relu"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return "pool"
    if isinstance(module, nn.Flatten):
        return "flatten"
    if isinstance(module, nn.Linear):
        return "dense"
    return "other"


def _name(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size
        return f"Conv2d {module.in_channels}→{module.out_channels}, {k[0]}×{k[1]}"
    if isinstance(module, nn.Linear):
        return f"Linear {module.in_features}→{module.out_features}"
    if isinstance(module, nn.MaxPool2d):
        return f"MaxPool2d {module.kernel_size}"
    if isinstance(module, Normalize):
        return "Normalize (x − 0.1307) / 0.3081"
    return type(module).__name__


def _leaves(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if not list(m.children())]


@torch.no_grad()
def look_inside(model: nn.Module, x: torch.Tensor) -> list[LayerView]:
    """The input [1, 28, 28] and every leaf layer's output for it, in the order the forward pass
    runs them (a layer called twice appears twice). The last one is the ten logits ("output")."""
    model.eval()
    views = [LayerView(0, "Input 28×28", "input", x.detach().reshape(1, 28, 28).clone(), 0)]
    caller = threading.get_ident()

    def record(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        if threading.get_ident() != caller:  # the same network answering someone else meanwhile
            return
        views.append(LayerView(len(views), _name(module), _kind(module), output.detach()[0].clone(),
                               count_parameters(module)))

    handles = [m.register_forward_hook(record) for m in _leaves(model)]
    try:
        logits = model(x.reshape(1, 1, 28, 28))
    finally:
        for handle in handles:
            handle.remove()
    last_step = getattr(model, "OUTPUT_NAME", None)  # a step after the last layer (ConvNetBN: the mean of its readings)
    if last_step or views[-1].output.shape != logits[0].shape or not torch.equal(views[-1].output, logits[0].detach()):
        # The last step was not a module (e.g. a global pooling written in forward()): show the logits too.
        views.append(LayerView(len(views), last_step or "Output", "output", logits.detach()[0].clone(), 0))
    else:
        views[-1].kind = "output"
    return views


def filters_of(model: nn.Module, conv_index: int, channel: int) -> torch.Tensor:
    """The weights [in_channels, k, k] of feature map `channel` of the `conv_index`-th Conv2d."""
    convs = [m for m in _leaves(model) if isinstance(m, nn.Conv2d)]
    if not 0 <= conv_index < len(convs):
        raise IndexError(f"the network has {len(convs)} convolutions, not {conv_index + 1}")
    weight = convs[conv_index].weight.detach()
    if not 0 <= channel < weight.shape[0]:
        raise IndexError(f"that convolution has {weight.shape[0]} feature maps, not {channel + 1}")
    return weight[channel].clone()


def feature_map_counts(model: nn.Module) -> list[int]:
    """How many feature maps each Conv2d makes, in order."""
    return [m.out_channels for m in _leaves(model) if isinstance(m, nn.Conv2d)]


def convolutions(model: nn.Module) -> list[str]:
    """A name for each Conv2d, in order: e.g. "1: Conv2d 1→6, 5×5"."""
    return [f"{i + 1}: {_name(m)}" for i, m in enumerate(m for m in _leaves(model) if isinstance(m, nn.Conv2d))]


@dataclass
class Attribution:
    """Integrated Gradients over the 28x28 input, from a blank image, for two digits."""

    answer: int
    runner_up: int
    towards_answer: torch.Tensor  # [28, 28]: > 0 where ink made the answer more likely
    towards_runner_up: torch.Tensor  # [28, 28]: the same for the runner-up


def attributions(model: nn.Module, x: torch.Tensor, steps: int = IG_STEPS) -> Attribution:
    """Which pixels pushed the network towards its answer, and towards its second choice
    (Captum's IntegratedGradients, baseline: an empty canvas)."""
    from captum.attr import IntegratedGradients  # imported here: the app starts without it

    model.eval()
    x = x.detach().reshape(1, 1, 28, 28)
    with torch.no_grad():
        top2 = model(x)[0].topk(2).indices.tolist()
    ig = IntegratedGradients(model)
    maps = [ig.attribute(x, baselines=torch.zeros_like(x), target=digit, n_steps=steps)[0, 0].detach()
            for digit in top2]
    return Attribution(top2[0], top2[1], maps[0], maps[1])


def on_drawing(attribution: torch.Tensor, field: Field, size: tuple[int, int] | None = None) -> torch.Tensor:
    """A 28x28 `attribution` laid back over the drawing the 28x28 was made from (`field`: where
    it lies there, from preprocess.to_mnist_with_field): [height, width] of the drawing's size,
    or of `size` (width, height) for the drawing scaled to it. Interpolated; 0 outside the field."""
    width, height = size or field.size
    xs = (torch.arange(width) + 0.5) * field.size[0] / width  # pixel centres, in the drawing's pixels
    ys = (torch.arange(height) + 0.5) * field.size[1] / height
    grid = torch.stack(torch.meshgrid(2 * (xs - field.left) / field.width - 1, 2 * (ys - field.top) / field.height - 1,
                                      indexing="xy"), dim=-1)  # [height, width, 2]: -1..1 across the field
    return F.grid_sample(attribution.reshape(1, 1, 28, 28).float(), grid[None].float(), align_corners=False)[0, 0]


@dataclass
class CardRow:
    layer: str
    output_shape: tuple[int, ...]
    parameters: int
    kind: str = "other"  # as LayerView's


def network_card(model: nn.Module) -> list[CardRow]:
    """Every layer with its output shape (for one 28x28 input) and its parameters."""
    return [CardRow(v.name, v.shape, v.parameters, v.kind) for v in look_inside(model, torch.zeros(1, 28, 28))]


def tutorial_fix(model: nn.Module) -> str:
    """What we fixed in the tutorial's version of this network (its docstring's "Fixed:" paragraph), or ""."""
    doc = inspect.getdoc(type(model)) or ""
    fixed = doc.partition("Fixed:")[2]
    return " ".join(fixed.split("\n\n")[0].split())
