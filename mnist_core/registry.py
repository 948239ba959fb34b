"""Which models can be loaded, and loading them: the seam between the networks and the app.

Two kinds of model: the shipped ones (`weights/<id>.safetensors`, one per network in
SPECS, never overwritten) and the retrained ones, each in a workspace's `models/` folder
(see workspaces.py). A retrained model's file records the network it is an instance of as
`base_model` in its metadata.

Who sees what: everyone sees the shipped models and those of the local workspace (the user
data folder itself: the command line's, or a server operator's); a visitor also sees the
models of its own workspace, and nobody else's: to others a private model's id is unknown.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from mnist_core.models import SPECS, build_model
from mnist_core.weights import WEIGHTS_DIR, WeightsError, load_weights, read_metadata, weights_path
from mnist_core.workspaces import USER_DATA_ENV, Workspace, local_or  # noqa: F401 (USER_DATA_ENV: re-exported)

MODEL_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def retrained_models_dir(workspace: Workspace | None = None) -> Path:
    """Where `workspace` (the local one when None) keeps its retrained models."""
    return local_or(workspace).models_dir


def own_models(workspace: Workspace | None = None) -> list[str]:
    """Ids of the retrained models `workspace` holds (and may delete), oldest first."""
    folder = retrained_models_dir(workspace)
    if not folder.is_dir():
        return []
    files = []
    for path in folder.glob("*.safetensors"):
        try:
            files.append((path.stat().st_mtime, path.stem))
        except FileNotFoundError:
            pass  # deleted meanwhile
    return [stem for _, stem in sorted(files) if MODEL_ID_PATTERN.match(stem) and stem not in SPECS]


def list_models(weights_dir: Path = WEIGHTS_DIR, workspace: Workspace | None = None) -> list[str]:
    """Ids of every model `workspace` may use: shipped ones in the order of SPECS, then the local
    workspace's retrained ones, then (for a visitor's workspace) its own, each oldest first."""
    shipped = [model_id for model_id in SPECS if weights_path(model_id, weights_dir).exists()]
    shared = own_models(None)
    own = own_models(workspace) if workspace is not None and not workspace.local else []
    return shipped + shared + [model_id for model_id in own if model_id not in shared]


def model_path(model_id: str, weights_dir: Path = WEIGHTS_DIR, workspace: Workspace | None = None) -> Path:
    """The weights file of a model id that `workspace` may use. Ids are checked against a strict
    pattern first, so a name that came from a user can never point outside the model folders."""
    if not isinstance(model_id, str):
        raise KeyError(f"a model id is a string, not {type(model_id).__name__}")
    if model_id in SPECS:
        return weights_path(model_id, weights_dir)
    if MODEL_ID_PATTERN.match(model_id):
        for folder in dict.fromkeys([retrained_models_dir(workspace), retrained_models_dir(None)]):
            path = weights_path(model_id, folder)
            if path.exists():
                return path
    available = ", ".join(list_models(weights_dir, workspace)) or "none"
    raise KeyError(f"unknown model {str(model_id)[:80]!r}; available: {available}")


def model_info(model_id: str, weights_dir: Path = WEIGHTS_DIR, workspace: Workspace | None = None) -> dict[str, object]:
    """The metadata recorded in a model's weights file (name, recipe, accuracies, ...)."""
    return read_metadata(model_path(model_id, weights_dir, workspace))


def load_model(model_id: str, weights_dir: Path = WEIGHTS_DIR, workspace: Workspace | None = None) -> nn.Module:
    """The model `model_id` with its trained weights, in eval mode, on the CPU."""
    path = model_path(model_id, weights_dir, workspace)
    metadata = read_metadata(path)
    if metadata.get("id") != model_id:
        raise WeightsError(f"weights file {path} holds model {metadata.get('id')!r}, not {model_id!r}")
    base = metadata.get("base_model", model_id)
    if base not in SPECS:
        raise WeightsError(f"weights file {path} is for an unknown network {base!r}")
    model = build_model(base)
    load_weights(model, path)
    # Channels-last convolutions are faster on a CPU: one drawing through the default network
    # 2.2 -> 1.6 ms on one thread, the same answers (none slower; README, "The networks").
    return model.eval().to(memory_format=torch.channels_last)
