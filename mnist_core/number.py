"""Reading numbers: the digits of a drawing or photo found, ordered left to right, and read.

    number = read_number(image, model, temperature)   # a NumberReading
    number.text                                        # "2026"; "?" for a mark that is not a digit
    number.digits[0].box                               # (x0, y0, x1, y1) in the input image's pixels

How: the ink (preprocess.ink_plane) is split into marks, connected groups of ink pixels found on
a copy at most MARK_SIDE pixels a side. Marks that overlap left to right are one digit (the
crossbar of a 4, 5 or 7 drawn as its own stroke). A group much wider than the others are tall is
digits that touch, cut where the ink is thinnest near even places; if that reads unsurely, also at
every choice of its columns of least ink. Each way is read, and the most confident kept (a group
alone that is "not a digit" whole is cut only into digits that each read "sure", few of them 1s). Each
digit's own ink (not a neighbour's stroke reaching into its box) goes through to_mnist and the
network, as a drawing of one digit does.
When there is one digit, the whole image is read exactly as a single digit is, so a single
digit's answer does not change.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnist_core.preprocess import from_ink_plane, ink_plane, to_mnist
from mnist_core.reading import Reading, label_regions, read, read_all

MARK_SIDE = 160  # marks are found on a copy of the ink at most this many pixels a side
INK_LEVEL = 48  # on 0..255: a pixel of the ink plane above this is ink, for finding marks
MAX_MARKS = 16  # only the largest marks are looked at: a page of scribbles stays fast
MAX_DIGITS = 12  # at most this many digits are read
SPECK = 0.35  # a group smaller than this share of the digits' height each way is a speck, ignored
SPECK_INK = 0.12  # ... and so is a group with less ink than this share of the median group's
STRAY = (0.6, 0.2)  # ... and one lower than this share of the tallest group with less than this share of the most ink
SAME_DIGIT_OVERLAP = 0.5  # marks that overlap by this share of the narrower one's width are one digit
TOUCHING = 1.15  # a group wider than this many times the digits' height may be digits that touch
ALONE_TOUCHING = 1.3  # ... and when it is the only group (a letter or a wide digit, more likely than a number)
WIDEST_DIGIT, NARROWEST_DIGIT = 1.0, 0.45  # widths of a digit (not a 1) as shares of its height
MISREAD = 0.01  # the confidence a piece read as "not a digit" counts with, when choosing cuts
CUT_MARGIN = 0.05  # a cut is chosen over the whole only if its mean log-confidence is this much higher...
WIDE_WHOLE = 0.1  # ... less this per unit of width beyond the digits' height (a digit is rarely wider than tall)
UNSURE_CUT = 0.9  # digits that touch read less surely than this: cuts at the columns of least ink are tried too
MINIMA_KEPT = 6  # ... the lowest this many of them
# A group alone, "not a digit" whole, is read as digits that touch only if each is this sure: the
# word "sure" (0.99) when the default network's temperature was 0.3529, the same logit margin at the
# temperature that makes its words hold (0.5246; README, "Words that hold").
ALONE_CUT_SURE = 0.9565
ALONE_CUT_ONES = 1 / 3  # ... and if at most this share of them are 1s (the strokes of an m or a w pass for 1s)
NARROWEST_PIECE = 0.2  # no piece of a cut narrower than this share of the digits' height (a 1 is about this)
NOT_A_DIGIT_LABEL = "?"


@dataclass(frozen=True)
class DigitReading:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the input image's pixels
    x: torch.Tensor  # what the network saw, [1, 28, 28]
    reading: Reading

    @property
    def label(self) -> str:
        return NOT_A_DIGIT_LABEL if self.reading.not_a_digit else self.reading.digit

    @property
    def confidence(self) -> float:
        return self.reading.confidence


@dataclass(frozen=True)
class NumberReading:
    digits: list[DigitReading]  # left to right
    size: tuple[int, int] = (0, 0)  # the input image's width and height, in pixels

    @property
    def text(self) -> str:
        return "".join(d.label for d in self.digits)

    def as_dict(self) -> dict[str, Any]:
        """The /read_number answer: {"number": "2026", "digits": [{"label", "confidence", "box"}]}."""
        return {"number": self.text,
                "digits": [{"label": d.label, "confidence": round(d.confidence, 4), "box": list(d.box)}
                           for d in self.digits]}


@dataclass
class _Group:
    """Marks that make one digit (or digits that touch), in the small copy's pixels."""

    labels: list[int]
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def take(self, other: _Group) -> None:
        self.labels += other.labels
        self.x0, self.y0 = min(self.x0, other.x0), min(self.y0, other.y0)
        self.x1, self.y1 = max(self.x1, other.x1), max(self.y1, other.y1)


def read_number(image: Any, model: nn.Module, temperature: float = 1.0) -> NumberReading:
    """Every digit written in `image` (anything to_mnist accepts), left to right, read by
    `model`. No digits when nothing is drawn. InvalidImage for an unreadable image."""
    found = ink_plane(image)
    if found is None:
        return NumberReading([])
    plane, scale, (dx, dy) = found
    size = (round((plane.shape[1] - 2 * dx) * scale), round((plane.shape[0] - 2 * dy) * scale))
    factor = max(1, math.ceil(max(plane.shape) / MARK_SIDE))
    pooled = F.max_pool2d(torch.from_numpy(plane)[None, None].float(), factor, ceil_mode=True)[0, 0].numpy()
    small = pooled > INK_LEVEL
    labels = label_regions(small, diagonal=True)
    groups = _without_faint(_digits(labels), labels, plane, factor)
    if not groups:
        return NumberReading([], size)

    def box(x0: int, y0: int, x1: int, y1: int) -> tuple[int, int, int, int]:
        """From the small copy's pixels to the input's."""
        return (max(0, round((x0 * factor - dx) * scale)), max(0, round((y0 * factor - dy) * scale)),
                max(0, round((x1 * factor - dx) * scale)), max(0, round((y1 * factor - dy) * scale)))

    def piece(g: _Group) -> tuple[tuple[int, int, int, int], torch.Tensor] | None:
        """A candidate digit: its box in the input's pixels, and what the network would see."""
        if len(groups) == 1 and g is groups[0]:  # the only group, whole: as a single digit always is
            x = from_ink_plane(plane)  # = to_mnist(image), without decoding the image again
        else:
            ink = _own_ink(g, labels, plane, factor)
            x = to_mnist(np.pad(ink, max(ink.shape) // 4))  # its own ink, on a margin of paper
        return None if x is None else (box(g.x0, g.y0, g.x1, g.y1), x)

    height = float(np.median([g.height for g in groups]))
    touching = TOUCHING if len(groups) > 1 else ALONE_TOUCHING
    groups = groups[:MAX_DIGITS]
    # Every way of reading every group, and all their pieces read in one batch (each piece once).
    options_of = [_options(g, labels, height, touching) for g in groups]
    made: dict[tuple, tuple[tuple[int, int, int, int], torch.Tensor] | None] = {}
    readings: dict[tuple, Reading] = {}

    def read_pieces(options: list[list[_Group]]) -> None:
        new = {_key(p): p for option in options for p in option if _key(p) not in made}
        for key, p in new.items():
            made[key] = piece(p)
        keys = [key for key in new if made[key] is not None]
        xs = [made[key][1] for key in keys]
        if len(groups) == 1 and not readings and keys and keys[0] == _key(groups[0]):  # alone and whole: as
            answers = [read(model, xs[0], temperature), *read_all(model, xs[1:], temperature)]  # one digit is read
        else:
            answers = read_all(model, xs, temperature)
        readings.update(zip(keys, answers))

    def best(g: _Group, options: list[list[_Group]]) -> list[DigitReading]:
        read_options = [[DigitReading(made[_key(p)][0], made[_key(p)][1], readings[_key(p)])
                         for p in option if _key(p) in readings] for option in options]
        if len(groups) == 1 and any(d.reading.not_a_digit for d in read_options[0]):
            # Alone and "not a digit" whole (an m, a w, an ∞): cut into its strokes, a letter reads
            # as digits, so a cut counts only if every piece reads "sure" and few are 1s.
            read_options = read_options[:1] + [
                option for option in read_options[1:]
                if option and all(not d.reading.not_a_digit and d.confidence >= ALONE_CUT_SURE for d in option)
                and sum(d.label == "1" for d in option) <= ALONE_CUT_ONES * len(option)]
        return _most_confident(read_options, g.width / height)

    read_pieces([p for options in options_of for p in options])
    chosen = [best(g, options) for g, options in zip(groups, options_of)]
    # Digits that touch, read unsurely, or so close that the whole is "not a digit" however
    # narrow it is (two 1s, a 1 and a 7): also try cuts at the columns of least ink (a second batch).
    unsure = [i for i, (g, digits) in enumerate(zip(groups, chosen))
              if _unsure(g, digits, height, touching, alone=len(groups) == 1)]
    if unsure:
        for i in unsure:
            g = groups[i]
            narrow = [] if g.width > touching * height else _even_cuts(g, labels, height)  # wide: tried already
            options_of[i] = options_of[i] + narrow + _cuts_at_minima(g, labels, height)
        read_pieces([p for i in unsure for p in options_of[i]])
        for i in unsure:
            cut = best(groups[i], options_of[i])
            if not any(d.reading.not_a_digit for d in cut):  # into digits, or not at all: half an X is a "?"
                chosen[i] = cut
    return NumberReading([d for digits in chosen for d in digits][:MAX_DIGITS], size)


def _unsure(group: _Group, digits: list[DigitReading], height: float, touching: float, alone: bool) -> bool:
    """Whether `group`, read as `digits`, may be digits that touch and deserves more cuts: wide
    and read unsurely, or, beside other digits, refused as "not a digit" and wide enough for
    two. Not alone: cut into strokes, a letter or symbol drawn by itself (A, H, %) reads as
    digits, and what is drawn alone is more often a letter than two digits that touch."""
    refused = any(d.reading.not_a_digit for d in digits)
    if group.width > touching * height:
        return refused or min((d.confidence for d in digits), default=0.0) < UNSURE_CUT
    return refused and not alone and group.width >= 2 * NARROWEST_PIECE * height


def _key(g: _Group) -> tuple:
    return (tuple(g.labels), g.x0, g.y0, g.x1, g.y1)


def _options(group: _Group, labels: np.ndarray, height: float, touching: float) -> list[list[_Group]]:
    """The ways to read `group`: whole (first); each of its marks apart (two digits written
    overlapping, rather than one digit in two strokes); and, when it is wider than `touching`
    times the digits' height, cut into 2 or more digits that touch."""
    options = [[group]]
    marks = [m for m in (_mark(labels, label) for label in group.labels) if max(m.width, m.height) >= SPECK * height]
    if len(marks) > 1 and not _stacked(marks):
        options.append(sorted(marks, key=lambda m: m.x0))
    if group.width > touching * height:
        options += _even_cuts(group, labels, height)
    return options


def _stacked(marks: list[_Group]) -> bool:
    """Whether some of `marks` lie one above the other, sharing no row: the bars of an = or a
    ÷, a 5's flag, the dot of an i. Digits written overlapping share the line they sit on."""
    return any(a.y1 <= b.y0 or b.y1 <= a.y0 for a, b in itertools.combinations(marks, 2))


def _even_cuts(group: _Group, labels: np.ndarray, height: float) -> list[list[_Group]]:
    """`group` cut into each count of digits it may be (_counts), near even places (_cut)."""
    fewest, most = _counts(group, height)
    return [_cut(group, labels, count) for count in range(fewest, most + 1)]


def _counts(group: _Group, height: float) -> tuple[int, int]:
    """The fewest and most digits that touch a group this wide may be."""
    fewest = max(2, math.floor(group.width / (WIDEST_DIGIT * height)))
    return fewest, min(6, max(fewest, math.ceil(group.width / (NARROWEST_DIGIT * height))))


def _most_confident(options: list[list[DigitReading]], aspect: float) -> list[DigitReading]:
    """The reading whose digits are the most confident (geometric mean), the whole (first)
    favoured by CUT_MARGIN, less WIDE_WHOLE per unit of `aspect` (its width over the digits'
    height) beyond 1."""
    def score(option: list[DigitReading]) -> float:
        if not option:
            return -math.inf
        mean = float(np.mean([math.log(MISREAD if d.reading.not_a_digit else d.confidence) for d in option]))
        if option is not options[0]:
            return mean
        return mean + CUT_MARGIN - WIDE_WHOLE * max(0.0, aspect - 1.0)

    return max(options, key=score)


def _mark(labels: np.ndarray, label: int) -> _Group:
    """The mark numbered `label`, with its box."""
    ys, xs = np.nonzero(labels == label)
    return _Group([label], int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def _digits(labels: np.ndarray) -> list[_Group]:
    """The digits among the marks, left to right: overlapping marks joined, specks dropped
    (digits that touch are still one group: see _options)."""
    counts = np.bincount(labels.ravel())[1:]
    if counts.size == 0:
        return []
    largest = np.argsort(counts)[::-1][:MAX_MARKS]
    marks = sorted((_mark(labels, int(index) + 1) for index in largest), key=lambda g: g.x0)

    groups: list[_Group] = []
    for mark in marks:
        for group in groups:
            overlap = min(group.x1, mark.x1) - max(group.x0, mark.x0)
            if overlap >= SAME_DIGIT_OVERLAP * min(group.width, mark.width) or overlap > 0 and _flag(group, mark):
                group.take(mark)
                break
        else:
            groups.append(mark)
    groups.sort(key=lambda g: g.x0)

    height = float(np.median([g.height for g in groups]))
    return [g for g in groups if max(g.width, g.height) >= SPECK * height]


def _flag(a: _Group, b: _Group) -> bool:
    """Whether one of `a` and `b` lies wholly above the other's middle: a 5's flag written apart,
    which often reaches to the right of the body, over little of it (read as "52" or "5?")."""
    return a.y1 <= (b.y0 + b.y1) / 2 or b.y1 <= (a.y0 + a.y1) / 2


def _without_faint(groups: list[_Group], labels: np.ndarray, plane: np.ndarray, factor: int) -> list[_Group]:
    """`groups` less those with hardly any ink: dots and specks one over the other (a ":" of stray
    ink) make a group as tall as a digit, but a 1, the digit with the least ink, has about a third
    of a digit's. Counted on the ink plane itself (the small copy's max-pooling fattens a dot).
    Also gone: a group both short and with little ink beside the others (STRAY), stray ink by a
    digit (on MNIST's forms, a bit of a neighbour: a 9 with a tick beside it was read "91")."""
    amounts = [int((_own_ink(g, labels, plane, factor) > INK_LEVEL).sum()) for g in groups]
    if not amounts:
        return []
    least = SPECK_INK * float(np.median(amounts))
    tallest, most = max(g.height for g in groups), max(amounts)
    return [g for g, amount in zip(groups, amounts) if amount >= least
            and not (g.height < STRAY[0] * tallest and amount < STRAY[1] * most)]


def _own_ink(g: _Group, labels: np.ndarray, plane: np.ndarray, factor: int) -> np.ndarray:
    """The ink plane within `g`'s box, its own marks only (a neighbour's stroke reaching into the
    box is paper here): uint8, at the plane's resolution (`factor` times the small copy's)."""
    mask = np.isin(labels[g.y0:g.y1, g.x0:g.x1], g.labels).repeat(factor, 0).repeat(factor, 1)
    ink = plane[g.y0 * factor:g.y1 * factor, g.x0 * factor:g.x1 * factor]
    return np.where(mask[:ink.shape[0], :ink.shape[1]], ink, 0).astype(np.uint8)


def _cuts_at_minima(group: _Group, labels: np.ndarray, height: float) -> list[list[_Group]]:
    """`group` cut at every choice of its columns of least ink (local minima, the lowest
    MINIMA_KEPT), into as many digits as _options tries, none narrower than NARROWEST_PIECE of
    the height: digits that touch are rarely as wide as each other (a 1 beside a 0)."""
    fewest, most = _counts(group, height)
    ink = np.isin(labels[group.y0:group.y1, group.x0:group.x1], group.labels)
    columns = ink.sum(axis=0).astype(float)
    edge = max(1, round(NARROWEST_PIECE * height))
    cuttable = _cuttable(group, labels)
    minima = [c for c in range(edge, group.width - edge)
              if cuttable[c] and columns[c] <= columns[max(0, c - 2):c + 3].min()]
    minima = sorted(sorted(minima, key=lambda c: columns[c])[:MINIMA_KEPT])
    options = []
    for count in range(fewest, most + 1):
        for cuts in itertools.combinations(minima, count - 1):
            edges = [0, *cuts, group.width]
            if min(b - a for a, b in zip(edges, edges[1:])) >= edge:
                options.append(_pieces(group, ink, edges))
    return options


def _pieces(group: _Group, ink: np.ndarray, edges: list[int]) -> list[_Group]:
    """`group` cut at the columns `edges` (its own, 0 and its width included), each piece
    trimmed to its ink's rows; `ink`: the group's mask within its box."""
    pieces = []
    for left, right in zip(edges, edges[1:]):
        rows = np.nonzero(ink[:, left:right].any(axis=1))[0]
        if right > left and rows.size:
            pieces.append(_Group(group.labels, group.x0 + left, group.y0 + int(rows[0]),
                                 group.x0 + right, group.y0 + int(rows[-1]) + 1))
    return pieces


def _cut(group: _Group, labels: np.ndarray, count: int) -> list[_Group]:
    """`group` cut into `count` digits that touch: at the column with the least ink near each
    place a cut is expected."""
    ink = np.isin(labels[group.y0:group.y1, group.x0:group.x1], group.labels)
    columns = np.where(_cuttable(group, labels), ink.sum(axis=0), np.iinfo(np.int64).max)
    step = group.width / count
    cuts = []
    for k in range(1, count):
        lo, hi = round(step * (k - 0.35)), round(step * (k + 0.35))
        best = lo + int(np.argmin(columns[lo:hi]))
        if columns[best] == np.iinfo(np.int64).max:  # nowhere to cut near here
            return []
        cuts.append(best)
    return _pieces(group, ink, [0, *cuts, group.width])


def _cuttable(group: _Group, labels: np.ndarray) -> np.ndarray:
    """The group's columns where a cut may go, bool [width]: through one mark at most. Digits
    that touch are one mark where they touch; a column through two separate marks, one above
    the other, is inside one digit or symbol (the two bars of an =, a 5 and its flag)."""
    box = labels[group.y0:group.y1, group.x0:group.x1]
    marks_in_column = sum(np.isin(box, label).any(axis=0).astype(int) for label in group.labels)
    return marks_in_column <= 1
