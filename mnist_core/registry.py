"""Which models can be loaded, and loading them: the seam between the networks and the app.

Two kinds of model: the shipped ones (`weights/<id>.safetensors`, one per network in
SPECS, never overwritten) and the ones users retrain from the app
(`<user data>/models/<id>.safetensors`). A retrained model's file records the network it
is an instance of as `base_model` in its metadata.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from torch import nn

from mnist_core.models import SPECS, build_model
from mnist_core.weights import WEIGHTS_DIR, WeightsError, load_weights, read_metadata, weights_path

USER_DATA_ENV = "SKETCHLAB_DATA_DIR"
MODEL_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def user_data_dir() -> Path:
    """Where retrained models and user samples live: $SKETCHLAB_DATA_DIR, else a Hugging
    Face Space's persistent storage (/data) when it is writable, else ./user_data."""
    if os.environ.get(USER_DATA_ENV):
        return Path(os.environ[USER_DATA_ENV])
    if os.path.isdir("/data") and os.access("/data", os.W_OK):
        return Path("/data")
    return Path("user_data")


def retrained_models_dir() -> Path:
    return user_data_dir() / "models"


def list_models(weights_dir: Path = WEIGHTS_DIR) -> list[str]:
    """Ids of every loadable model: shipped ones in the order of SPECS, then retrained ones, oldest first."""
    shipped = [model_id for model_id in SPECS if weights_path(model_id, weights_dir).exists()]
    retrained_dir = retrained_models_dir()
    retrained = sorted(retrained_dir.glob("*.safetensors"), key=lambda p: p.stat().st_mtime) if retrained_dir.is_dir() else []
    return shipped + [p.stem for p in retrained if MODEL_ID_PATTERN.match(p.stem) and p.stem not in SPECS]


def model_path(model_id: str, weights_dir: Path = WEIGHTS_DIR) -> Path:
    """The weights file of a model id. Ids are checked against a strict pattern first, so a
    name that came from a user can never point outside the two model folders."""
    if not isinstance(model_id, str):
        raise KeyError(f"a model id is a string, not {type(model_id).__name__}")
    if model_id in SPECS:
        return weights_path(model_id, weights_dir)
    if MODEL_ID_PATTERN.match(model_id):
        path = weights_path(model_id, retrained_models_dir())
        if path.exists():
            return path
    raise KeyError(f"unknown model {str(model_id)[:80]!r}; available: {', '.join(list_models(weights_dir)) or 'none'}")


def model_info(model_id: str, weights_dir: Path = WEIGHTS_DIR) -> dict[str, object]:
    """The metadata recorded in a model's weights file (name, recipe, accuracies, ...)."""
    return read_metadata(model_path(model_id, weights_dir))


def load_model(model_id: str, weights_dir: Path = WEIGHTS_DIR) -> nn.Module:
    """The model `model_id` with its trained weights, in eval mode, on the CPU."""
    path = model_path(model_id, weights_dir)
    metadata = read_metadata(path)
    if metadata.get("id") != model_id:
        raise WeightsError(f"weights file {path} holds model {metadata.get('id')!r}, not {model_id!r}")
    base = metadata.get("base_model", model_id)
    if base not in SPECS:
        raise WeightsError(f"weights file {path} is for an unknown network {base!r}")
    model = build_model(base)
    load_weights(model, path)
    return model.eval()
