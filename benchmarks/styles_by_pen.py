"""How a network reads each of the styles MNIST lacks, by the width of the pen.

    python benchmarks/styles_by_pen.py [--model ID] [--weights-dir DIR] [--n 150]

Every style of `mnist_core.styles` (a 1 with a lead-in, a 7 with a crossbar, an open 4...) is
drawn N times in each band of pen widths (a share of the digit's height: each network's
Recipe.styled_pen is what it learnt from, the default network's 0.04 to 0.25; a marker's stroke
is a sixth to a quarter of the digit), with a seed no training uses, and read through the app's
path (`to_mnist`, then the network). Prints the share read right per style and band. Seeded: the
same arguments give the same numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import mnist_core  # noqa: E402
from mnist_core.styles import STYLES, draw_styled  # noqa: E402
from mnist_core.weights import WEIGHTS_DIR  # noqa: E402

HELD_OUT_SEED = 31_337  # no training uses it
BANDS = [(0.04, 0.09), (0.09, 0.14), (0.14, 0.20), (0.20, 0.26)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=mnist_core.DEFAULT_MODEL, help="model id")
    parser.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR, help="folder of <id>.safetensors (default: the shipped weights)")
    parser.add_argument("--n", type=int, default=150, help="drawings per style and band")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = mnist_core.load_model(args.model, args.weights_dir)
    rng = np.random.default_rng(HELD_OUT_SEED)
    print(f"{args.model}: share read right, by pen width (a share of the digit's height)")
    print(f"{'digit, style':30}" + "".join(f"{f'{a:.2f}-{b:.2f}':>12}" for a, b in BANDS))
    for digit, makers in STYLES.items():
        for style, maker in enumerate(makers):
            if maker in makers[:style]:  # a style listed twice (to weigh it) is measured once
                continue
            row = []
            for band in BANDS:
                x = torch.stack([mnist_core.to_mnist(draw_styled(digit, rng, style, pen_width=band)) for _ in range(args.n)])
                with torch.inference_mode():
                    right = model(x).argmax(1) == digit
                row.append(f"{right.float().mean().item():12.1%}")
            name = f"{digit} {maker.__name__.lstrip('_')}"
            print(f"{name:30}" + "".join(row), flush=True)


if __name__ == "__main__":
    main()
