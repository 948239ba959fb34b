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
    """Each connected region of True pixels, in the order of their first pixels (row by row)."""
    labels = label_regions(mask, diagonal)
    ys, xs = np.nonzero(labels)
    which = labels[ys, xs] - 1
    count = int(labels.max())
    size = np.bincount(which, minlength=count)
    y0, x0, y1, x1 = (np.full(count, fill) for fill in (labels.shape[0], labels.shape[1], -1, -1))
    np.minimum.at(y0, which, ys), np.minimum.at(x0, which, xs)
    np.maximum.at(y1, which, ys), np.maximum.at(x1, which, xs)
    first = np.full(count, labels.size)
    np.minimum.at(first, which, ys * labels.shape[1] + xs)
    border = (y0 == 0) | (x0 == 0) | (y1 == labels.shape[0] - 1) | (x1 == labels.shape[1] - 1)
    return [Region(int(size[k]), bool(border[k]), (int(y0[k]), int(x0[k]), int(y1[k]), int(x1[k])))
            for k in np.argsort(first)]


def label_regions(mask: np.ndarray, diagonal: bool) -> np.ndarray:
    """Each connected region of True pixels (8-neighbours if `diagonal`, else 4) numbered 1, 2, ...
    in the order of each region's last pixel (row by row); 0 elsewhere. The runs of True pixels
    along each row are joined with the runs they touch in the row above (union-find): a few hundred
    runs for a drawing, fast whatever the regions' shapes. (Before, number.py spread labels by
    repeated max-pooling, 3.7 ms of a 10 ms reading, half a second for a long coiled stroke, and
    this module flood-filled pixel by pixel.)"""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask != 0
    rows, edges = np.nonzero(np.diff(padded, axis=1))  # per row: start, end, start, end, ...
    starts, ends, run_rows = edges[0::2], edges[1::2], rows[0::2]
    reach = 1 if diagonal else 0  # runs touch if they overlap, or (8-neighbours) meet at a corner
    parent = list(range(len(starts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(run_rows, np.arange(height + 1))  # row y's runs: row_first[y] up to row_first[y + 1]
    for y in range(1, height):
        j, above_end = row_first[y - 1], row_first[y]
        for i in range(row_first[y], row_first[y + 1]):  # both rows' runs are in order: one pass
            while j < above_end and ends[j] + reach <= starts[i]:
                j += 1
            k = j
            while k < above_end and starts[k] < ends[i] + reach:
                a, b = root(i), root(k)
                if a != b:
                    parent[a] = b
                k += 1
    roots = np.array([root(i) for i in range(len(starts))], dtype=np.int64)
    last = np.zeros(len(starts), dtype=np.int64)  # each region's last pixel, as a flat index
    np.maximum.at(last, roots, run_rows * width + ends - 1)
    region_roots = np.unique(roots)
    number = np.zeros(len(starts), dtype=np.int64)
    number[region_roots[np.argsort(last[region_roots])]] = np.arange(1, len(region_roots) + 1)
    labels = np.zeros((height, width), dtype=np.int64)
    for run, label in enumerate(number[roots]):
        labels[run_rows[run], starts[run]:ends[run]] = label
    return labels
