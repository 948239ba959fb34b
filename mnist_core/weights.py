"""Saving and loading weights as safetensors: no pickle, so a weights file never runs code.

Each file holds one network's state dict and, in its header, string metadata: the model
id, architecture, training recipe, validation and test accuracy, torch version, date.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


class WeightsError(RuntimeError):
    """A weights file is missing, unreadable, or does not fit its network."""


def weights_path(model_id: str, directory: Path = WEIGHTS_DIR) -> Path:
    return directory / f"{model_id}.safetensors"


def save_weights(model: nn.Module, path: str | os.PathLike, metadata: dict[str, object]) -> None:
    """Write atomically: a temporary file in the same folder, then a rename.

    A run that fails or is cancelled half-way therefore never leaves a partial file.
    Metadata values that are not strings are stored as JSON.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {key: value if isinstance(value, str) else json.dumps(value) for key, value in metadata.items()}
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=header)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; weights are meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_metadata(path: str | os.PathLike) -> dict[str, object]:
    """The header metadata, with JSON values decoded. Reads only the header."""
    path = Path(path)
    try:
        with safe_open(path, framework="pt") as f:
            raw = f.metadata() or {}
    except FileNotFoundError:
        raise WeightsError(f"weights file not found: {path}") from None
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"weights file {path} is not a readable safetensors file ({error})") from None
    return {key: _decode(value) for key, value in raw.items()}


def load_weights(model: nn.Module, path: str | os.PathLike) -> dict[str, object]:
    """Load the tensors of `path` into `model` (strict); return the file's metadata."""
    path = Path(path)
    metadata = read_metadata(path)
    try:
        with safe_open(path, framework="pt") as f:
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"weights file {path} is corrupt ({error})") from None
    expected = model.state_dict()
    missing, unexpected = expected.keys() - tensors.keys(), tensors.keys() - expected.keys()
    wrong_shape = [k for k in expected.keys() & tensors.keys() if expected[k].shape != tensors[k].shape]
    if missing or unexpected or wrong_shape:
        raise WeightsError(
            f"weights file {path} does not fit {type(model).__name__}: "
            f"missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}, wrong shape {wrong_shape[:3]}"
        )
    model.load_state_dict(tensors)
    return metadata


def _decode(value: str) -> object:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
