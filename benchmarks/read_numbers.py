"""Reading numbers of 2 to 6 digits: exact-number and per-digit accuracy, by length.

    python benchmarks/read_numbers.py [--count 600] [--split test|val] [--model ID] [--seed 0] [--set NAME=VALUE ...]

Numbers are composed, never trained on, from single digits of two sources:

- **MNIST**: digits of the test split (or of the validation split, `--split val`, the one to
  tune on: the test split only reports);
- **pen styles**: mnist_core.styles' pen-stroke digits in the styles MNIST lacks, at a seed
  that training never uses (HELD_OUT_SEED).

Each number is written as a person writes one: each digit cropped to its ink and scaled to a
height of 56 px +-15%, its baseline moved up to +-10% of that, the gaps between digits from
15% to 60% of a digit's height, except in a fifth of the numbers, where the digits touch or
overlap a little; black ink on white, as a wide image or centred on a square canvas. Every
number goes through mnist_core.number.read_number with the network, as /read_number does.
Prints, per source and length: numbers read exactly right, digits right (of numbers whose
digit count was right), and how often the count of digits was wrong. Seeded.
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mnist_core  # noqa: E402
from mnist_core.data import load_mnist  # noqa: E402
from mnist_core import number  # noqa: E402
from mnist_core.number import read_number  # noqa: E402
from mnist_core.reading import temperature_in  # noqa: E402
from mnist_core.styles import synthesize  # noqa: E402

HELD_OUT_SEED = 90_210  # styles.synthesize seed that no training uses
HEIGHT = 56
TOUCHING_SHARE = 0.2


def crop(digit: np.ndarray) -> np.ndarray:
    """A 28x28 digit (ink bright) cropped to its ink."""
    rows, cols = np.nonzero(digit.max(axis=1) > 40)[0], np.nonzero(digit.max(axis=0) > 40)[0]
    return digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def compose(digits: list[np.ndarray], rng: np.random.Generator, square: bool) -> Image.Image:
    """The digits written left to right as a person writes a number: black ink on white."""
    touching = rng.random() < TOUCHING_SHARE
    pieces, gaps = [], []
    for digit in digits:
        ink = Image.fromarray(crop(digit))
        height = round(HEIGHT * rng.uniform(0.85, 1.15))
        width = max(2, round(ink.width * height / ink.height))
        pieces.append((ink.resize((width, height), Image.BILINEAR), round(rng.uniform(-0.1, 0.1) * HEIGHT)))
        gaps.append(round(HEIGHT * (rng.uniform(-0.08, 0.0) if touching else rng.uniform(0.15, 0.6))))
    margin = HEIGHT // 2
    width = sum(p.width for p, _ in pieces) + sum(gaps[:-1]) + 2 * margin
    height = HEIGHT * 2 + 2 * margin
    canvas = np.zeros((height, max(width, 1)), dtype=np.uint8)
    x = margin
    for (piece, shift), gap in zip(pieces, gaps):
        y = margin + HEIGHT // 2 + shift + (HEIGHT - piece.height)
        region = canvas[y:y + piece.height, x:x + piece.width]
        np.maximum(region, np.asarray(piece)[:region.shape[0], :region.shape[1]], out=region)
        x += piece.width + gap
    if square:
        side = max(canvas.shape)
        framed = np.zeros((side, side), dtype=np.uint8)
        top, left = (side - canvas.shape[0]) // 2, (side - canvas.shape[1]) // 2
        framed[top:top + canvas.shape[0], left:left + canvas.shape[1]] = canvas
        canvas = framed
    return Image.fromarray(255 - canvas)


def apply_settings(parser: argparse.ArgumentParser, module: types.ModuleType, settings: list[str]) -> None:
    """Each NAME=VALUE of `settings` set on `module` (a number, in the setting's own type), for
    tuning runs; an unknown NAME is the parser's error."""
    for setting in settings:
        name, value = setting.split("=")
        if not hasattr(module, name):
            parser.error(f"{module.__name__} has no setting {name}")
        setattr(module, name, type(getattr(module, name))(float(value)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=600, help="numbers per source")
    parser.add_argument("--split", choices=["test", "val"], default="test")
    parser.add_argument("--model", default=mnist_core.DEFAULT_MODEL)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, help="the network's calibration T instead of its weights file's")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="a setting of mnist_core.number instead of its own, e.g. WIDE_WHOLE=0.3 (to tune on --split val)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    apply_settings(parser, number, args.set)

    data = load_mnist()
    mnist = (data.test_images, data.test_labels) if args.split == "test" else (data.val_images, data.val_labels)
    sources = {f"MNIST {args.split}": mnist, "pen styles": synthesize(2000, HELD_OUT_SEED)}
    model = mnist_core.load_model(args.model)
    temperature = args.temperature or temperature_in(mnist_core.model_info(args.model))

    print(f"{args.model}, {args.count} numbers of 2-6 digits per source (seed {args.seed})")
    for name, (images, labels) in sources.items():
        rng = np.random.default_rng(args.seed)
        exact, digits_right, digits_total, wrong_count, total = (defaultdict(int) for _ in range(5))
        seconds = []
        for i in range(args.count):
            length = 2 + i % 5
            picks = rng.integers(0, len(images), size=length)
            truth = "".join(str(int(labels[p])) for p in picks)
            image = compose([images[p].numpy() for p in picks], rng, square=bool(i % 2))
            began = time.perf_counter()
            answer = read_number(image, model, temperature).text
            seconds.append(time.perf_counter() - began)
            total[length] += 1
            exact[length] += answer == truth
            if len(answer) == len(truth):
                digits_right[length] += sum(a == t for a, t in zip(answer, truth))
                digits_total[length] += length
            else:
                wrong_count[length] += 1
        print(f"\n{name}")
        print("| digits | numbers | exactly right | digits right | wrong count of digits |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        for length in sorted(total):
            print(f"| {length} | {total[length]} | {exact[length] / total[length]:.1%} | "
                  f"{digits_right[length] / max(digits_total[length], 1):.1%} | "
                  f"{wrong_count[length] / total[length]:.1%} |")
        n = sum(total.values())
        print(f"| all | {n} | **{sum(exact.values()) / n:.1%}** | "
              f"{sum(digits_right.values()) / max(sum(digits_total.values()), 1):.1%} | "
              f"{sum(wrong_count.values()) / n:.1%} |")
        p50, p95 = np.percentile(np.array(seconds) * 1000, [50, 95])
        print(f"read_number: p50 {p50:.1f} ms, p95 {p95:.1f} ms per number")


if __name__ == "__main__":
    main()
