"""How crisp the 28x28 images are: MNIST's own digits against the same digits through to_mnist.

    MNIST_ROOT=../shared/data python benchmarks/ink_crispness.py [--n 1000]

MNIST's digits were placed on whole pixels; to_mnist places a digit to a fraction of a pixel, which
spreads its ink over one more pixel. The "not a digit" detector learns MNIST's digits as they are and
everything else through to_mnist (README, *Whole pixels*). For the first N validation digits: as
they are; as scans (black on white, 10x, nearest and bilinear) through to_mnist; drawn as pen
strokes on a canvas (mnist_core.pen.redraw, seed 17, the first N/2) through to_mnist. Prints the
mean number of pixels at full ink (> 0.9), the mean longer side of the box of pixels above 0.1, and
the mean ink.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import mnist_core  # noqa: E402
from mnist_core.data import load_mnist, to_float  # noqa: E402
from mnist_core.pen import redraw  # noqa: E402
from mnist_as_scans import scan  # noqa: E402  (the scans mnist_as_scans.py reads)


def crispness(images: torch.Tensor) -> str:
    """images [N, 1, 28, 28] in [0, 1]: full-ink pixels, box side at 0.1, ink, each a mean."""
    x = images[:, 0]
    ink = x > 0.1
    side = torch.maximum(ink.any(2).sum(1), ink.any(1).sum(1)).float()
    return (f"full ink {(x > 0.9).sum((1, 2)).float().mean():.1f} px, box {side.mean():.2f} px, "
            f"ink {x.sum((1, 2)).mean():.1f}")


def through_to_mnist(digits: torch.Tensor, resample: int) -> torch.Tensor:
    return torch.stack([mnist_core.to_mnist(scan(d, resample)) for d in digits])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    digits = load_mnist().val_images[:args.n]
    print(f"the first {args.n} MNIST validation digits")
    print(f"  MNIST's own:                 {crispness(to_float(digits).reshape(-1, 1, 28, 28))}")
    print(f"  scans (nearest), to_mnist:   {crispness(through_to_mnist(digits, Image.NEAREST))}")
    print(f"  scans (bilinear), to_mnist:  {crispness(through_to_mnist(digits, Image.BILINEAR))}")
    drawn = redraw(digits[:args.n // 2], seed=17)
    print(f"  pen strokes, to_mnist ({args.n // 2}): {crispness(to_float(drawn).reshape(-1, 1, 28, 28))}")


if __name__ == "__main__":
    main()
