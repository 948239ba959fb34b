"""Digits drawn the way a person draws them on the app's canvas, made from MNIST.

No set of pen-drawn digits is available, so we make one: an MNIST digit is
skeletonised (its pen path, roughly) and the skeleton is redrawn with a round
brush of another width, at another size, position and slant, on a canvas like
the app's. What preprocessing must undo (size, position, brush width, polarity,
transparency) varies; the handwriting stays MNIST's.

The digits come from MNIST's *validation* split as made by mnist_core.data.load_mnist
(training digits held out from training), never from the test set, so the models
have not seen them. Used by tests/test_drawn_digits.py and benchmarks/drawn_accuracy.py.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageOps
from skimage.morphology import skeletonize

from mnist_core.data import load_mnist

SUPERSAMPLE = 4  # strokes are drawn at 4x and box-downsampled: anti-aliased edges
SKELETON_UPSAMPLE = 4  # skeletonise at 112x112: smoother paths than the 28x28 grid
BRUSH_RANGE = (8.0, 40.0)  # brush diameter on a 400 px canvas (scaled with the canvas)
HEIGHT_RANGE = (0.15, 0.95)  # digit's longer side, as a fraction of the canvas
MAX_BRUSH_FRACTION = 0.25  # brush <= this x the digit's size: thicker is an unreadable blob
MAX_ROTATION = 12.0  # degrees
INK_STYLES = ("black-on-transparent", "white-on-black", "black-on-white")  # the app sends the last


@lru_cache(maxsize=2)
def source_digits(data_root: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST validation digits (uint8 [N, 28, 28]) and their labels (int64 [N])."""
    data = load_mnist(data_root)
    return data.val_images.numpy(), data.val_labels.numpy()


def skeleton_edges(digit: np.ndarray) -> np.ndarray:
    """The digit's skeleton as segments between neighbouring pixels: float [E, 2, 2] of (x, y).

    Coordinates are in 28x28 pixel units (pixel centres at +0.5). A lone skeleton
    pixel becomes a zero-length segment, drawn as a dot.
    """
    big = Image.fromarray(digit).resize((28 * SKELETON_UPSAMPLE,) * 2, Image.BICUBIC)
    skeleton = skeletonize(np.asarray(big) > 127)
    ys, xs = np.nonzero(skeleton)
    points = np.stack([xs, ys], axis=1)
    edges = [np.stack([points, points], axis=1)]  # every pixel as a dot: caps and joins
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):  # each neighbour pair once
        y2, x2 = ys + dy, xs + dx
        inside = (y2 < skeleton.shape[0]) & (x2 >= 0) & (x2 < skeleton.shape[1])
        linked = inside.copy()
        linked[inside] = skeleton[y2[inside], x2[inside]]
        edges.append(np.stack([points[linked], np.stack([x2, y2], axis=1)[linked]], axis=1))
    return (np.concatenate(edges).astype(np.float64) + 0.5) / SKELETON_UPSAMPLE


def draw_digit(
    edges: np.ndarray,
    rng: np.random.Generator,
    canvas: int = 400,
    style: str = "black-on-transparent",
) -> Image.Image:
    """Redraw a skeleton with a random round brush, size, slant and position, as RGBA."""
    angle = math.radians(rng.uniform(-MAX_ROTATION, MAX_ROTATION))
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = (edges.reshape(-1, 2) - 14.0) @ rotation.T
    extent = np.ptp(points, axis=0).max()

    size = rng.uniform(*HEIGHT_RANGE) * canvas  # longer side of the drawn digit, brush included
    brush_low = BRUSH_RANGE[0] * canvas / 400
    brush_high = min(BRUSH_RANGE[1] * canvas / 400, MAX_BRUSH_FRACTION * size)
    brush = rng.uniform(brush_low, max(brush_low, brush_high))
    scale = max(size - brush, 1.0) / max(extent, 1e-6)
    points = (points - points.min(axis=0)) * scale + brush / 2  # top-left of the digit at 0
    width, height = np.ptp(points, axis=0) + brush
    origin = rng.uniform(0, [max(canvas - width, 0), max(canvas - height, 0)])

    # Draw the digit's own patch at SUPERSAMPLE x, then downsample and paste it.
    offset = origin % 1.0  # subpixel part of the position, kept in the drawing
    patch_size = np.ceil([width + 1, height + 1]).astype(int)
    patch = Image.new("L", tuple(patch_size * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(patch)
    big = (points + offset) * SUPERSAMPLE
    radius = brush * SUPERSAMPLE / 2
    for (x0, y0), (x1, y1) in big.reshape(-1, 2, 2):
        if (x0, y0) == (x1, y1):
            draw.ellipse((x0 - radius, y0 - radius, x0 + radius, y0 + radius), fill=255)
        else:
            draw.line((x0, y0, x1, y1), fill=255, width=round(2 * radius))
    ink = Image.new("L", (canvas, canvas), 0)
    ink.paste(patch.reduce(SUPERSAMPLE), tuple(np.floor(origin).astype(int)))

    zeros, full = Image.new("L", ink.size, 0), Image.new("L", ink.size, 255)
    if style == "black-on-transparent":
        return Image.merge("RGBA", (zeros, zeros, zeros, ink))
    if style == "white-on-black":
        return Image.merge("RGBA", (ink, ink, ink, full))
    if style == "black-on-white":
        paper = ImageOps.invert(ink)
        return Image.merge("RGBA", (paper, paper, paper, full))
    raise ValueError(f"unknown style {style!r}; expected one of {INK_STYLES}")


def render_drawn_digits(
    n: int,
    seed: int,
    canvas: int = 400,
    style: str | None = None,
    data_root: str | os.PathLike | None = None,
) -> tuple[list[Image.Image], list[int]]:
    """n drawn digits (RGBA canvases of canvas x canvas) and their labels.

    Seeded: the same arguments give the same images. style: one of INK_STYLES, or
    None for a random one per digit.
    """
    images, labels = source_digits(data_root)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(images), size=n, replace=n > len(images))
    drawn = []
    for index in picks:
        digit_style = style or INK_STYLES[rng.integers(len(INK_STYLES))]
        drawn.append(draw_digit(skeleton_edges(images[index]), rng, canvas, digit_style))
    return drawn, [int(labels[i]) for i in picks]
