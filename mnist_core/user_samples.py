"""The users' own drawings, labelled by them, kept on disk as a small image dataset.

When a network gets a drawing wrong, the user says which digit it was. The drawing is
kept twice, in torchvision's `ImageFolder` layout (one folder per digit) so that any
tool can read it:

    <workspace>/samples/drawn/3/<id>.png     the image as drawn (at most 512 px a side)
    <workspace>/samples/mnist28/3/<id>.png   the 28x28 the networks see (mnist_core.to_mnist)

Each owner's drawings are in its own workspace (see workspaces.py); every function here takes
the workspace, the local one (the user data folder itself) when None.

Retraining mixes the 28x28 images into MNIST (see mnist_core.retrain). Sample ids are
random hex strings checked against a strict pattern, so an id that came from a user
can never point outside these folders.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from mnist_core.preprocess import InvalidImage, load_image, to_mnist, to_pil
from mnist_core.workspaces import QUOTA, QuotaError, Workspace, local_or, make_room

MAX_USER_SAMPLES = 2000  # in the local workspace; a visitor's holds at most QUOTA.drawings
DRAWN_MAX_SIDE = 512  # larger drawings (photos) are kept downscaled
SAMPLE_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
DIGITS = [str(d) for d in range(10)]
HOLDOUT_MIN_SAMPLES = 20  # with fewer samples, all are used for training
HOLDOUT_EVERY = 5  # with enough, one in five (chosen by id, so stably) is held out

_write_lock = threading.Lock()  # the size cap is checked and a sample written under it


class UserSampleError(ValueError):
    """A sample cannot be saved or found; the message is meant for the user."""


@dataclass(frozen=True)
class UserSample:
    id: str
    digit: int
    drawn_path: Path
    mnist28_path: Path
    saved_at: float  # seconds since the epoch


def samples_dir(workspace: Workspace | None = None) -> Path:
    return local_or(workspace).samples_dir


def max_samples(workspace: Workspace | None = None) -> int:
    """How many drawings `workspace` may keep."""
    return MAX_USER_SAMPLES if local_or(workspace).local else QUOTA.drawings


def _folder(kind: str, workspace: Workspace | None) -> Path:
    """samples/drawn or samples/mnist28, with its ten digit folders (so ImageFolder sees every class)."""
    root = samples_dir(workspace) / kind
    for digit in DIGITS:
        (root / digit).mkdir(parents=True, exist_ok=True)
    return root


def _open(image: Any) -> Image.Image:
    """A PIL image from a PIL image, a file path, encoded bytes or a canvas data URL, read
    as to_mnist reads it (same size limits, same messages)."""
    if isinstance(image, (str, bytes)) and not image:
        image = None  # an empty canvas
    try:
        opened = load_image(image)
    except TypeError:
        raise InvalidImage(f"Expected an image, got {type(image).__name__}.") from None
    if opened is None:
        raise UserSampleError("Nothing is drawn: draw a digit first, then say which digit it is.")
    return opened


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _save_png(data: bytes, path: Path) -> None:
    """Write a PNG atomically (temporary file in the same folder, flushed to disk, then a
    rename): a reader never sees half a file, even after a crash, and ImageFolder ignores the
    temporary '.tmp' name. A full disk raises OSError and leaves nothing behind."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_digit(digit: Any) -> int:
    if isinstance(digit, str) and digit.strip() in DIGITS:
        digit = int(digit)
    if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
        raise UserSampleError(f"The digit must be one of 0–9, not {str(digit)[:20]!r}.")
    return digit


def save_user_sample(image_as_drawn: Image.Image | str | bytes, digit: int, workspace: Workspace | None = None) -> str:
    """Keep a drawing and the digit it shows in `workspace`; return the new sample's id.

    `image_as_drawn` is a PIL image (also accepted: a file path, PNG bytes, a canvas data
    URL). Raises UserSampleError when nothing is drawn, the digit is not 0-9, the
    collection or the workspace is full or the disk cannot take it, and InvalidImage when
    the image cannot be read.
    """
    digit = _check_digit(digit)
    image = _open(image_as_drawn)
    x = to_mnist(image)
    if x is None:
        raise UserSampleError("Nothing is drawn: draw a digit first, then say which digit it is.")
    drawn = image.copy()
    if drawn.mode not in ("L", "LA", "RGB", "RGBA"):
        drawn = drawn.convert("RGBA")
    drawn.thumbnail((DRAWN_MAX_SIDE, DRAWN_MAX_SIDE))
    sample_id = uuid.uuid4().hex
    drawn_png, mnist28_png = _png(drawn), _png(to_pil(x))
    limit = max_samples(workspace)
    with _write_lock:
        if count_user_samples(workspace) >= limit:
            raise UserSampleError(f"Your collection of drawings is full ({limit}). "
                                  "Delete some in the Retrain tab to add more.")
        try:
            make_room(local_or(workspace), len(drawn_png) + len(mnist28_png))
        except QuotaError as error:
            raise UserSampleError(str(error)) from None
        drawn_path = _folder("drawn", workspace) / str(digit) / f"{sample_id}.png"
        try:
            _save_png(drawn_png, drawn_path)
            # The 28x28 is written last: it is what makes the sample count and train.
            _save_png(mnist28_png, _folder("mnist28", workspace) / str(digit) / f"{sample_id}.png")
        except OSError as error:  # e.g. the disk is full: nothing half-written stays
            drawn_path.unlink(missing_ok=True)
            raise UserSampleError(f"The drawing could not be saved ({error.strerror or error}); "
                                  "nothing was changed. Try again later.") from None
    return sample_id


def _sample_files(kind: str, workspace: Workspace | None) -> list[Path]:
    root = samples_dir(workspace) / kind
    return [p for digit in DIGITS for p in (root / digit).glob("*.png") if SAMPLE_ID_PATTERN.match(p.stem)]


def count_user_samples(workspace: Workspace | None = None) -> int:
    return len(_sample_files("mnist28", workspace))


def list_user_samples(workspace: Workspace | None = None) -> list[UserSample]:
    """Every sample kept in `workspace`, newest first."""
    drawn_root = samples_dir(workspace) / "drawn"
    samples = [
        UserSample(p.stem, int(p.parent.name), drawn_root / p.parent.name / p.name, p, p.stat().st_mtime)
        for p in _sample_files("mnist28", workspace)
    ]
    return sorted(samples, key=lambda s: s.saved_at, reverse=True)


def delete_user_sample(sample_id: str, workspace: Workspace | None = None) -> None:
    """Delete both images of a sample of `workspace`. UserSampleError if it holds no such sample."""
    if not isinstance(sample_id, str) or not SAMPLE_ID_PATTERN.match(sample_id):
        raise UserSampleError(f"No drawing with id {str(sample_id)[:40]!r}.")
    root = samples_dir(workspace)
    paths = [root / kind / digit / f"{sample_id}.png" for kind in ("mnist28", "drawn") for digit in DIGITS]
    found = [p for p in paths if p.exists()]
    if not found:
        raise UserSampleError(f"No drawing with id {sample_id!r}: it was already deleted.")
    for path in found:
        path.unlink(missing_ok=True)


def _read_mnist28(workspace: Workspace | None) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(uint8 [M, 28, 28], int64 [M], ids), read back with torchvision's ImageFolder."""
    if count_user_samples(workspace) == 0:
        return torch.zeros(0, 28, 28, dtype=torch.uint8), torch.zeros(0, dtype=torch.int64), []
    # Imported here, not at the top: torchvision costs the app 2 s at start-up.
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import PILToTensor

    dataset = ImageFolder(str(_folder("mnist28", workspace)), transform=PILToTensor(),
                          loader=lambda path: Image.open(path).convert("L"),
                          is_valid_file=lambda path: SAMPLE_ID_PATTERN.match(Path(path).stem) is not None,
                          allow_empty=True)
    # ImageFolder numbers the classes in sorted folder order; map them back to their digits.
    digit_of_class = [int(name) if name in DIGITS else -1 for name in dataset.classes]
    images, labels, ids = [], [], []
    for (path, class_index), (image, _) in zip(dataset.samples, dataset):
        if digit_of_class[class_index] < 0 or image.shape != (1, 28, 28):
            continue  # a folder or file some other tool put there
        images.append(image[0])
        labels.append(digit_of_class[class_index])
        ids.append(Path(path).stem)
    if not images:
        return torch.zeros(0, 28, 28, dtype=torch.uint8), torch.zeros(0, dtype=torch.int64), []
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64), ids


def load_user_samples(workspace: Workspace | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Every sample's 28x28 image as uint8 [M, 28, 28] (white ink on black) and its digit as int64 [M]."""
    images, labels, _ = _read_mnist28(workspace)
    return images, labels


def is_held_out(sample_id: str) -> bool:
    """Whether a sample is kept out of training to measure a model on drawings it never saw.

    Decided by the (random) id, so a sample stays on the same side as more are added."""
    return int(sample_id, 16) % HOLDOUT_EVERY == 0


def split_user_samples(workspace: Workspace | None = None
                       ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """((train images, labels), (held-out images, labels)). Nothing is held out while
    there are fewer than HOLDOUT_MIN_SAMPLES: a few drawings are all worth training on."""
    images, labels, ids = _read_mnist28(workspace)
    held = torch.tensor([len(ids) >= HOLDOUT_MIN_SAMPLES and is_held_out(i) for i in ids], dtype=torch.bool)
    return (images[~held], labels[~held]), (images[held], labels[held])
