"""MNIST digits redrawn as pen strokes, the way a person draws them on the app's canvas.

An MNIST digit is skeletonised (its pen path, roughly) and the skeleton redrawn with a round
brush of another width, at another size, position and slant. The handwriting stays MNIST's;
what changes is what a canvas changes: an even stroke of any width instead of a pen's pressure
and a scanner's blur. A network can read MNIST's 7s perfectly and still lose pen-drawn ones:
retrain.py checks both before a run is kept, and tests/drawn_digits.py builds its test canvases
with the same functions.

    edges = skeleton_edges(digit)                   # uint8 [28, 28] -> segments, in 28x28 units
    image = draw_digit(edges, rng, 400, "black-on-white")
    seen = redraw(digits, seed=0)                  # uint8 [N, 28, 28], as to_mnist makes them
    kept = kept_redraw("pen-drawn-validation", mnist.val_images, VALIDATION_SEED)  # made once, kept beside MNIST
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageMorph, ImageOps

from mnist_core import preprocess
from mnist_core.data import code_of, digest, kept_beside_mnist
from mnist_core.preprocess import to_mnist

SUPERSAMPLE = 4  # strokes are drawn at 4x and box-downsampled: anti-aliased edges
SKELETON_UPSAMPLE = 4  # skeletonise at 112x112: smoother paths than the 28x28 grid
BRUSH_RANGE = (8.0, 40.0)  # brush diameter on a 400 px canvas (scaled with the canvas)
HEIGHT_RANGE = (0.15, 0.95)  # digit's longer side, as a fraction of the canvas
MAX_BRUSH_FRACTION = 0.25  # brush <= this x the digit's size: thicker is an unreadable blob
MAX_ROTATION = 12.0  # degrees
INK_STYLES = ("black-on-transparent", "white-on-black", "black-on-white")  # the app sends the last
# The seed MNIST's validation digits are redrawn with (no training uses it): a short retrain's check
# before keeping (retrain.drawn_validation) and the networks' calibration (evaluate.calibration_kinds).
VALIDATION_SEED = 31_415


@functools.cache
def _thinning_steps() -> tuple[ImageMorph.MorphOp, ImageMorph.MorphOp]:
    """Zhang and Suen's two thinning sub-steps ("A fast parallel algorithm for thinning digital
    patterns", CACM 1984) as PIL morphology operators: a table of what each pixel becomes for
    each of the 512 patterns of its 3x3 neighbourhood (bit k: the k-th pixel, row by row)."""
    tables = (bytearray(512), bytearray(512))
    for pattern in range(512):
        bit = [(pattern >> k) & 1 for k in range(9)]
        if not bit[4]:
            continue  # paper stays paper
        # The neighbours clockwise from north, as the paper names them: P2 (N) ... P9 (NW).
        p2, p3, p4, p5, p6, p7, p8, p9 = bit[1], bit[2], bit[5], bit[8], bit[7], bit[6], bit[3], bit[0]
        ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
        neighbours = sum(ring[:8])
        crossings = sum(a == 0 and b == 1 for a, b in zip(ring, ring[1:]))  # 1: removing it keeps one piece
        removable = 2 <= neighbours <= 6 and crossings == 1
        tables[0][pattern] = not (removable and p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0)  # south-east edges
        tables[1][pattern] = not (removable and p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0)  # north-west edges
    return ImageMorph.MorphOp(lut=tables[0]), ImageMorph.MorphOp(lut=tables[1])


def skeleton(mask: np.ndarray) -> np.ndarray:
    """The one-pixel-wide centre lines of a bool [H, W] mask (Zhang-Suen thinning): each piece of
    ink stays one piece, and its ends stay where the strokes ended."""
    image = Image.fromarray(np.pad(mask, 1).astype(np.uint8) * 255)  # a border of paper: edges thin too
    while True:
        changed = 0
        for step in _thinning_steps():
            count, image = step.apply(image)
            changed += count
        if not changed:
            return np.asarray(image)[1:-1, 1:-1] > 0


def skeleton_edges(digit: np.ndarray, upsample: int = SKELETON_UPSAMPLE) -> np.ndarray:
    """The digit's skeleton as segments between neighbouring pixels: float [E, 2, 2] of (x, y).

    Coordinates are in 28x28 pixel units (pixel centres at +0.5). A lone skeleton
    pixel becomes a zero-length segment, drawn as a dot.
    """
    big = Image.fromarray(digit).resize((28 * upsample,) * 2, Image.BICUBIC)
    bones = skeleton(np.asarray(big) > 127)
    ys, xs = np.nonzero(bones)
    points = np.stack([xs, ys], axis=1)
    edges = [np.stack([points, points], axis=1)]  # every pixel as a dot: caps and joins
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):  # each neighbour pair once
        y2, x2 = ys + dy, xs + dx
        inside = (y2 < bones.shape[0]) & (x2 >= 0) & (x2 < bones.shape[1])
        linked = inside.copy()
        linked[inside] = bones[y2[inside], x2[inside]]
        edges.append(np.stack([points[linked], np.stack([x2, y2], axis=1)[linked]], axis=1))
    return (np.concatenate(edges).astype(np.float64) + 0.5) / upsample


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


def redraw(digits: torch.Tensor, seed: int, canvas: int = 112) -> torch.Tensor:
    """MNIST-style digits (uint8 [N, 28, 28]) redrawn as pen strokes on a canvas and brought back
    by to_mnist, as the networks see a drawing: uint8 [N, 28, 28]. Seeded: the same digits and
    seed give the same images. A small canvas and a coarser skeleton (56x56) keep it at a few
    milliseconds a digit; the default network reads them as well as at 400 px (98.5% of 1,500)."""
    rng = np.random.default_rng(seed)
    out = torch.empty_like(digits)
    for i, digit in enumerate(digits.numpy()):
        seen = to_mnist(draw_digit(skeleton_edges(digit, upsample=2), rng, canvas, "black-on-white"))
        out[i] = digits[i] if seen is None else seen[0].mul(255).round().to(torch.uint8)
    return out


def kept_redraw(name: str, digits: torch.Tensor, seed: int) -> torch.Tensor:
    """redraw(digits, seed), kept beside MNIST (data.kept_beside_mnist) as `name`: the digits, the
    seed and the code that draws them name the file, so the next process reads it instead."""
    made_from = digest(digits.numpy().tobytes(), str(seed).encode(), *code_of(redraw, preprocess.to_mnist))
    return torch.from_numpy(kept_beside_mnist(name, made_from, lambda: redraw(digits, seed=seed).numpy(),
                                              tuple(digits.shape), np.uint8))
