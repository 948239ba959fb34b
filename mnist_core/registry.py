"""Which models can be loaded, and loading them: the seam between the networks and the app."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from mnist_core.models import SPECS, build_model
from mnist_core.weights import WEIGHTS_DIR, WeightsError, load_weights, read_metadata, weights_path


def list_models(weights_dir: Path = WEIGHTS_DIR) -> list[str]:
    """Ids of every model whose weights are available, in the order of SPECS."""
    return [model_id for model_id in SPECS if weights_path(model_id, weights_dir).exists()]


def model_info(model_id: str, weights_dir: Path = WEIGHTS_DIR) -> dict[str, object]:
    """The metadata recorded in a model's weights file (name, recipe, accuracies, ...)."""
    _check_known(model_id)
    return read_metadata(weights_path(model_id, weights_dir))


def load_model(model_id: str, weights_dir: Path = WEIGHTS_DIR) -> nn.Module:
    """The network `model_id` with its trained weights, in eval mode, on the CPU."""
    _check_known(model_id)
    path = weights_path(model_id, weights_dir)
    model = build_model(model_id)
    metadata = load_weights(model, path)
    if metadata.get("id") != model_id:
        raise WeightsError(f"weights file {path} holds model {metadata.get('id')!r}, not {model_id!r}")
    return model.eval()


def _check_known(model_id: str) -> None:
    if model_id not in SPECS:
        raise KeyError(f"unknown model {model_id!r}; available: {', '.join(list_models()) or 'none'}")
