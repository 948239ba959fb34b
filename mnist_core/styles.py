"""Digits in the styles people write and MNIST's writers mostly did not, drawn as pen strokes.

MNIST was written by American Census employees and students. Users of the app write a 1 with a
long lead-in stroke (as much of Europe and many schools teach), a 7 with a crossbar, a 4 open at
the top in one stroke, a looped 2, a 9 with a curved tail, with any pen. A network that never saw
these reads the 1 as a 7 and the open 4 as a 9.

`synthesize(n, seed)` draws n such digits, an equal number of each, from stroke templates: each
digit has several styles (STYLES), each a few strokes through points in a unit box (x right,
y down). Every point is jittered, corners are rounded or kept, and the digit is slanted,
sheared, widened or narrowed and drawn with a round pen of random width on a 112 px canvas, then
made MNIST-like by `to_mnist`, exactly as the app does with a drawing. The training recipe of our
network adds them to MNIST (Recipe.styled_digits); benchmarks/real_style.py measures on other
sets, not on these.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageDraw

from mnist_core.data import MnistData
from mnist_core.preprocess import to_mnist

Point = tuple[float, float]
Stroke = list[Point]
CANVAS = 112
JITTER = 0.025  # standard deviation of each template point, as a fraction of the digit's height
# A lead-in 1's lead-in: its length, as a share of the digit's height, and its rise in degrees above
# the horizontal. Long and flat ones are what a 7 without a crossbar is read from: up to 0.42 and down
# to 25 degrees, the shipped network read a 1 with a lead-in half its height at 20 degrees as 7 three
# times in four (benchmarks/gpu_sweep, sweep5: the wider ranges, chosen on MNIST validation and these
# synthetic 1s, cost MNIST validation nothing).
LEAD_IN_LENGTH = (0.15, 0.6)
LEAD_IN_ANGLE = (10.0, 65.0)
# The pen's width, as a share of the digit's height: a ballpoint to a felt pen. A Recipe may ask for
# bolder ones (Recipe.styled_pen): a marker's stroke is a sixth to a quarter of the digit.
PEN_WIDTH = (0.04, 0.14)


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 14) -> Stroke:
    """Points on an ellipse from angle `start` to `stop` in degrees (0 = right, 90 = down)."""
    angles = np.radians(np.linspace(start, stop, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


# Each style: rng -> strokes. The name says what makes it a style of its own.
def _zero_oval(r: np.random.Generator) -> list[Stroke]:
    start = _u(r, -120, -60)
    return [arc(0.5, 0.5, _u(r, 0.28, 0.45), 0.46, start, start + _u(r, 350, 400), 24)]


def _one_plain(r: np.random.Generator) -> list[Stroke]:
    return [[(0.5, 0.03), (0.5 + _u(r, -0.05, 0.05), 0.97)]]


def _one_lead_in(r: np.random.Generator) -> list[Stroke]:
    """The continental 1: a lead-in stroke up to the top, then down."""
    length, angle = _u(r, *LEAD_IN_LENGTH), math.radians(_u(r, *LEAD_IN_ANGLE))
    top = (0.6, 0.03)
    start = (top[0] - length * math.cos(angle), top[1] + length * math.sin(angle))
    return [[start, top, (0.6 + _u(r, -0.05, 0.05), 0.97)]]


def _one_lead_in_foot(r: np.random.Generator) -> list[Stroke]:
    strokes = _one_lead_in(r)
    half = _u(r, 0.15, 0.3)
    return strokes + [[(strokes[0][-1][0] - half, 0.97), (strokes[0][-1][0] + half, 0.97)]]


def _two_plain(r: np.random.Generator) -> list[Stroke]:
    top = arc(0.5, 0.28, 0.36, 0.25, _u(r, 170, 200), _u(r, 370, 400))
    return [top + [(0.08, 0.97), (0.95, 0.97)]]


def _two_looped(r: np.random.Generator) -> list[Stroke]:
    top = arc(0.5, 0.28, 0.36, 0.25, _u(r, 170, 200), _u(r, 370, 400))
    loop = arc(0.2, 0.87, 0.12, 0.1, -60, 230, 10)  # a small loop where the diagonal meets the base
    return [top + [(0.25, 0.75)] + loop + [(0.95, 0.95)]]


def _two_z(r: np.random.Generator) -> list[Stroke]:
    return [[(0.1, 0.12), (0.5, 0.02), (0.85, 0.18), (0.75, 0.4), (0.1, 0.97), (0.92, 0.97)]]


def _three_round(r: np.random.Generator) -> list[Stroke]:
    return [arc(0.48, 0.26, 0.34, 0.23, _u(r, 190, 220), 450) + arc(0.48, 0.72, 0.4, 0.25, -90, _u(r, 140, 170))]


def _three_flat_top(r: np.random.Generator) -> list[Stroke]:
    return [[(0.15, 0.03), (0.85, 0.03), (0.42, 0.42)] + arc(0.48, 0.7, 0.4, 0.27, -100, _u(r, 140, 170))]


def _four_closed(r: np.random.Generator) -> list[Stroke]:
    x = _u(r, 0.6, 0.72)
    return [[(x, 0.03), (0.05, 0.66), (0.95, 0.66)], [(x, 0.03), (x, 0.97)]]


def _four_open(r: np.random.Generator) -> list[Stroke]:
    """Open at the top, in two strokes: an L, then the stem."""
    x = _u(r, 0.62, 0.72)
    return [[(_u(r, 0.1, 0.3), 0.03), (0.05, 0.62), (0.95, 0.62)], [(x, _u(r, 0.03, 0.3)), (x, 0.97)]]


def _four_open_one_stroke(r: np.random.Generator) -> list[Stroke]:
    """Open at the top in one stroke: down, across, up the stem and back down it."""
    x, y = _u(r, 0.6, 0.75), _u(r, 0.55, 0.68)
    left = _u(r, 0.05, 0.25)
    return [[(left, 0.03), (0.05 if left < 0.15 else left - 0.1, y), (x, y), (x + _u(r, -0.05, 0.05), _u(r, 0.03, 0.25)),
             (x, 0.97)]]


def _five(r: np.random.Generator) -> list[Stroke]:
    stem = (_u(r, 0.15, 0.3), _u(r, 0.4, 0.5))
    belly = arc(0.48, 0.7, 0.4, 0.27, -140, _u(r, 140, 165))
    return [[(0.25, 0.03), stem] + belly, [(0.25, 0.03), (0.9, 0.03)]]


def _six(r: np.random.Generator) -> list[Stroke]:
    return [[(0.78, 0.03), (0.42, 0.22), (0.18, 0.55)] + arc(0.5, 0.72, 0.33, 0.25, 180, _u(r, 520, 540))]


def _seven_plain(r: np.random.Generator) -> list[Stroke]:
    bottom = _u(r, 0.3, 0.5)
    return [[(0.05, 0.05), (0.95, 0.05), ((0.95 + bottom) / 2 + _u(r, -0.08, 0.04), 0.5), (bottom, 0.97)]]


def _seven_crossbar(r: np.random.Generator) -> list[Stroke]:
    strokes = _seven_plain(r)
    x = strokes[0][2][0]
    return strokes + [[(x - _u(r, 0.2, 0.35), 0.5), (x + _u(r, 0.15, 0.3), 0.5)]]


def _seven_hook(r: np.random.Generator) -> list[Stroke]:
    """A 7 whose bar starts with a short down-stroke at the left."""
    strokes = _seven_plain(r)
    return [[(0.05, _u(r, 0.15, 0.25))] + strokes[0]]


def _eight(r: np.random.Generator) -> list[Stroke]:
    return [arc(0.5, 0.26, 0.3, 0.23, 0, 360, 18), arc(0.5, 0.72, 0.38, 0.25, 0, 360, 18)]


def _eight_one_stroke(r: np.random.Generator) -> list[Stroke]:
    top = arc(0.5, 0.26, 0.3, 0.23, -20, -300, 16)  # anticlockwise round the top
    bottom = arc(0.5, 0.72, 0.38, 0.25, -90, 250, 18)  # clockwise round the bottom
    return [top + bottom + [top[0]]]


def _nine_straight(r: np.random.Generator) -> list[Stroke]:
    loop = arc(0.48, 0.27, 0.34, 0.25, 0, -360, 18)
    return [loop + [(0.82 + _u(r, -0.08, 0.02), 0.97)]]


def _nine_curved(r: np.random.Generator) -> list[Stroke]:
    loop = arc(0.48, 0.27, 0.34, 0.25, 0, -360, 18)
    return [loop + [(0.78, 0.75), (0.55, 0.97), (0.25, 0.9)]]


STYLES: dict[int, list[Callable[[np.random.Generator], list[Stroke]]]] = {
    0: [_zero_oval],
    1: [_one_plain, _one_lead_in, _one_lead_in, _one_lead_in_foot],  # the lead-in twice: it is what MNIST lacks
    2: [_two_plain, _two_looped, _two_z],
    3: [_three_round, _three_flat_top],
    4: [_four_closed, _four_open, _four_open_one_stroke],
    5: [_five],
    6: [_six],
    7: [_seven_plain, _seven_crossbar, _seven_hook],
    8: [_eight, _eight_one_stroke],
    9: [_nine_straight, _nine_curved],
}


def _smooth_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Jitter for n points along a stroke, [n, 2]: JITTER per point, but smooth along dense
    strokes (an arc's 18 points), so that a circle wobbles as a hand does, not zigzags."""
    window = max(1, n // 6)
    noise = rng.normal(0, JITTER * math.sqrt(window), (n + window - 1, 2))
    kernel = np.ones(window) / window
    return np.stack([np.convolve(noise[:, k], kernel, mode="valid") for k in range(2)], axis=1)


def round_corners(stroke: np.ndarray) -> np.ndarray:
    """Chaikin's corner cutting, twice: the pen turns instead of stopping at each point."""
    for _ in range(2):
        if len(stroke) < 3:
            break
        a, b = stroke[:-1], stroke[1:]
        cut = np.empty((2 * len(a), 2))
        cut[0::2], cut[1::2] = 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b
        stroke = np.concatenate([stroke[:1], cut, stroke[-1:]])
    return stroke


def draw_styled(digit: int, rng: np.random.Generator, style: int | None = None,
                pen_width: tuple[float, float] = PEN_WIDTH) -> Image.Image:
    """One digit in one of its styles (random unless given), black ink on a white canvas."""
    styles = STYLES[digit]
    return draw_strokes(styles[rng.integers(len(styles)) if style is None else style](rng), rng, pen_width)


def draw_strokes(strokes: list[Stroke], rng: np.random.Generator,
                 pen_width: tuple[float, float] = PEN_WIDTH) -> Image.Image:
    """Strokes in a unit box drawn by a hand: jittered, slanted, sheared, widened or narrowed,
    corners rounded or not, with a round pen of random width within `pen_width` (a share of the
    digit's height); black ink on a white canvas."""
    angle = math.radians(rng.uniform(-12, 12))
    shear, width = rng.uniform(-0.25, 0.15), rng.uniform(0.65, 1.2)
    transform = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) @ \
        np.array([[width, shear], [0.0, 1.0]])
    cut_corners = rng.random() < 0.6
    height = rng.uniform(0.5, 0.8) * CANVAS
    pen = rng.uniform(*pen_width) * height
    image = Image.new("L", (CANVAS, CANVAS), 255)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        points = np.asarray(stroke) + _smooth_noise(rng, len(stroke))
        if cut_corners:
            points = round_corners(points)
        points = (points - 0.5) @ transform.T * height + CANVAS / 2
        xy = [tuple(p) for p in points]
        draw.line(xy, fill=0, width=max(1, round(pen)), joint="curve")
        for x, y in (xy[0], xy[-1]):  # round caps
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=0)
    return image


@functools.lru_cache(maxsize=2)  # the app's retrains reuse them
def synthesize(n: int, seed: int, pen_width: tuple[float, float] = PEN_WIDTH) -> tuple[torch.Tensor, torch.Tensor]:
    """n styled digits as MNIST-like uint8 [n, 28, 28] images and int64 [n] labels, digits
    in turn (0, 1, ..., 9, 0, ...). The same seed (and pens) gives the same digits."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        digit = i % 10
        x = as_mnist_uint8(draw_styled(digit, rng, pen_width=pen_width))
        if x is None:  # cannot happen for these strokes, but a missing digit must not shift the labels
            continue
        images.append(x)
        labels.append(digit)
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64)


def as_mnist_uint8(image: Image.Image) -> torch.Tensor | None:
    """to_mnist of a drawing as MNIST's own files hold a digit: uint8 [28, 28]; None if blank."""
    x = to_mnist(image)
    return None if x is None else (x[0] * 255).round().to(torch.uint8)


def with_styled_digits(data: MnistData, n: int, seed: int = 0,
                       pen_width: tuple[float, float] = PEN_WIDTH) -> MnistData:
    """`data` with n styled digits added to its training set (validation and test unchanged)."""
    if n <= 0:
        return data
    images, labels = synthesize(n, seed, tuple(pen_width))
    return dataclasses.replace(data, train_images=torch.cat([data.train_images, images]),
                               train_labels=torch.cat([data.train_labels, labels]))
