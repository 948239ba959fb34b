"""Digits in the styles people write and MNIST lacks (mnist_core.styles), and whether the
default network reads them through the app's own path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mnist_core
from mnist_core import styles

HELD_OUT_SEED = 987_654  # never a training seed: training uses the run's seed (0 for the shipped weights)


def test_synthesize_is_seeded_balanced_and_mnist_like() -> None:
    images, labels = styles.synthesize(40, seed=3)
    again, _ = styles.synthesize(40, seed=3)
    assert torch.equal(images, again)
    assert images.shape == (40, 28, 28) and images.dtype == torch.uint8
    assert labels.tolist() == [i % 10 for i in range(40)]
    assert all(image.max() == 255 and (image > 0).float().mean() < 0.5 for image in images)


@pytest.mark.parametrize("digit,style", [(d, styles.STYLES[d].index(f)) for d in styles.STYLES
                                         for f in dict.fromkeys(styles.STYLES[d])])  # each style once
def test_the_default_network_reads_every_style(digit: int, style: int) -> None:
    """Each style drawn 50 times (held-out seed) on a canvas, through to_mnist: at least 48 right."""
    rng = np.random.default_rng(HELD_OUT_SEED + 31 * digit + style)
    x = torch.stack([mnist_core.to_mnist(styles.draw_styled(digit, rng, style)) for _ in range(50)])
    model = mnist_core.load_model(mnist_core.DEFAULT_MODEL)
    with torch.inference_mode():
        answers = model(x).argmax(1)
    name = styles.STYLES[digit][style].__name__
    assert (answers == digit).sum() >= 48, f"{name}: read as {answers.tolist()}"


def test_a_recipe_that_names_no_pens_draws_with_the_styles_own() -> None:
    """Recipe.styled_pen's default is styles.PEN_WIDTH, written twice (models.py imports no drawing code)."""
    from mnist_core.models import Recipe

    assert Recipe("adam", 1e-3, 64, 1).styled_pen == styles.PEN_WIDTH
