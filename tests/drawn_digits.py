"""Digits drawn the way a person draws them on the app's canvas, made from MNIST.

No set of pen-drawn digits is available, so we make one (mnist_core/pen.py): an MNIST digit is
skeletonised (its pen path, roughly) and the skeleton is redrawn with a round
brush of another width, at another size, position and slant, on a canvas like
the app's. What preprocessing must undo (size, position, brush width, polarity,
transparency) varies; the handwriting stays MNIST's.

The digits come from MNIST's *validation* split as made by mnist_core.data.load_mnist
(training digits held out from training), never from the test set, so the models
have not seen them. Used by tests/test_drawn_digits.py and benchmarks/drawn_accuracy.py.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
from PIL import Image

from mnist_core.data import load_mnist
from mnist_core.pen import INK_STYLES, draw_digit, skeleton_edges

__all__ = ["INK_STYLES", "draw_digit", "render_drawn_digits", "skeleton_edges", "source_digits"]


@lru_cache(maxsize=2)
def source_digits(data_root: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST validation digits (uint8 [N, 28, 28]) and their labels (int64 [N])."""
    data = load_mnist(data_root)
    return data.val_images.numpy(), data.val_labels.numpy()


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
