"""What a network's answer to a drawing is, in words a person can trust.

    reading = read(model, x, temperature)      # x: what to_mnist made of the drawing
    reading.answer                             # "7", or "Not a digit"
    reading.certainty                          # "sure", "fairly sure" or "unsure"

Two things are added to the network's ten scores:

* **calibration**: the scores are softmax(logits / T), with the network's temperature T chosen on
  held-out digits (evaluate.choose_temperature, recorded in its weights file) so that the words,
  which follow from the numbers (SURE, FAIRLY_SURE), are true on digits like those: "sure" right
  at least 99.5 times in 100, "fairly sure" 95;
* **"Not a digit"**: mnist_core.detector says whether the drawing is a digit at all, with a short
  reason when it is not.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from mnist_core.detector import load_detector
from mnist_core.models import one_view

DIGITS = [str(d) for d in range(10)]
NOT_A_DIGIT = "Not a digit"
SURE = 0.99  # calibrated probability of the top digit for "sure"
FAIRLY_SURE = 0.9  # ... and for "fairly sure"; below it, "unsure"
INK = 0.3  # a 28x28 pixel brighter than this is ink, for counting marks and holes
SCRIBBLE_INK_SHARE = 0.28  # more of the 28x28 field inked than 99% of MNIST's digits: a scribble
MIN_MARK_PIXELS = 4  # a smaller group of ink pixels is a speck, not a mark


@dataclass(frozen=True)
class Reading:
    scores: dict[str, float]  # calibrated probability of each digit "0".."9"
    digit: str  # the most likely digit, even when it is not a digit ("the closest digit")
    not_a_digit: bool
    image: torch.Tensor | None = field(default=None, repr=False, compare=False)  # what was read, [1, 28, 28]

    @functools.cached_property
    def reason(self) -> str:
        """Why it is not a digit, when it is not: found only when asked (a number's candidate
        pieces are read by the dozen, and few are shown)."""
        return why_not_a_digit(self.image) if self.not_a_digit and self.image is not None else ""

    @property
    def answer(self) -> str:
        return NOT_A_DIGIT if self.not_a_digit else self.digit

    @property
    def confidence(self) -> float:
        return self.scores[self.digit]

    @property
    def certainty(self) -> str:
        return certainty(self.confidence)


def temperature_in(metadata: dict) -> float:
    """A network's calibration T, from its weights file's metadata (evaluate.calibrate_shipped and
    train.py record it, retrain.py for the networks it makes); 1 where none is recorded."""
    return float(metadata.get("temperature", 1.0))


def certainty(confidence: float) -> str:
    return "sure" if confidence >= SURE else "fairly sure" if confidence >= FAIRLY_SURE else "unsure"


@torch.inference_mode()
def read(model: nn.Module, x: torch.Tensor, temperature: float = 1.0, is_digit: bool | None = None) -> Reading:
    """The network's reading of one image x [1, 28, 28] (what to_mnist returns). `is_digit`: the
    detector's verdict on x (is_a_digit), when the caller has it: one verdict serves every network."""
    probabilities = (model(x[None]) / temperature).softmax(dim=1)[0]
    return _reading(x, probabilities, is_a_digit(x) if is_digit is None else is_digit)


@torch.inference_mode()
def read_all(model: nn.Module, xs: list[torch.Tensor], temperature: float = 1.0) -> list[Reading]:
    """read() of many images x [1, 28, 28] at once: one batch through the network and one
    through the detector (the candidate digits of a number, mnist_core.number). Each image is
    read once, without the network's test-time views (models.one_view): three views of dozens
    of pieces would cost a number more than its 50 ms, and on numbers changed nothing measurable
    (README, "Reading three ways")."""
    if not xs:
        return []
    batch = torch.stack(xs)
    probabilities = (one_view(model)(batch) / temperature).softmax(dim=1)
    detector = load_detector()
    digit_or_not = [True] * len(xs) if detector is None else detector.is_digit(batch).tolist()
    return [_reading(x, p, is_digit) for x, p, is_digit in zip(xs, probabilities, digit_or_not)]


def _reading(x: torch.Tensor, probabilities: torch.Tensor, is_digit: bool) -> Reading:
    """The Reading of image x from its ten calibrated probabilities and the detector's verdict."""
    scores = dict(zip(DIGITS, probabilities.tolist()))
    digit = max(scores, key=scores.get)
    return Reading(scores, digit, not is_digit, x)


def is_a_digit(x: torch.Tensor) -> bool:
    """The detector's verdict on x [1, 28, 28]; True where no detector is installed."""
    detector = load_detector()
    return detector is None or bool(detector.is_digit(x))


class Region(NamedTuple):
    size: int  # pixels
    touches_border: bool
    box: tuple[int, int, int, int]  # y0, x0, y1, x1, inclusive

    @property
    def centre(self) -> tuple[float, float]:
        """(y, x) of the middle of its box."""
        y0, x0, y1, x1 = self.box
        return (y0 + y1) / 2, (x0 + x1) / 2


def why_not_a_digit(x: torch.Tensor) -> str:
    """A short reason, from the ink's shape: separate marks (no digit has more than two; see the
    numbers issue for several digits), a scribble (more enclosed holes than an 8's two, or more
    ink than nearly any digit), or else a letter or symbol. Marks that sit within the span of the
    largest one are parts of one symbol (a %'s two rings beside its slash), not separate marks."""
    ink = x.reshape(28, 28).numpy() > INK
    separate = marks(ink)
    if len(separate) >= 3 and not parts_of_one_symbol(separate):
        return "several separate marks"
    if count_holes(ink) >= 3 or ink.mean() >= SCRIBBLE_INK_SHARE:
        return "looks like a scribble"
    return "looks like a letter or symbol"


def parts_of_one_symbol(regions: list[Region]) -> bool:
    """Whether the centre of every region lies within the box of the largest one."""
    y0, x0, y1, x1 = max(regions, key=lambda region: region.size).box
    return all(y0 <= y <= y1 and x0 <= x <= x1 for y, x in (region.centre for region in regions))


def marks(ink: np.ndarray) -> list[Region]:
    """Connected groups of ink pixels (8-neighbours) of at least MIN_MARK_PIXELS."""
    return [region for region in _regions(ink, diagonal=True) if region.size >= MIN_MARK_PIXELS]


def count_holes(ink: np.ndarray, min_pixels: int = 2) -> int:
    """Regions of background (4-neighbours) enclosed by ink, of at least min_pixels."""
    return sum(r.size >= min_pixels and not r.touches_border for r in _regions(~ink, diagonal=False))


def _regions(mask: np.ndarray, diagonal: bool) -> list[Region]:
    """Each connected region of True pixels."""
    steps = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy or dx) and (diagonal or not (dy and dx))]
    height, width = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    regions = []
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        stack, size, border = [start], 0, False
        y0, x0, y1, x1 = *start, *start
        seen[start] = True
        while stack:
            y, x = stack.pop()
            size += 1
            border |= y in (0, height - 1) or x in (0, width - 1)
            y0, x0, y1, x1 = min(y0, y), min(x0, x), max(y1, y), max(x1, x)
            for dy, dx in steps:
                ny, nx = y + dy, x + dx
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        regions.append(Region(size, border, (y0, x0, y1, x1)))
    return regions
