"""MNIST test as a person would upload it: each digit a scan, through the app's own paths.

    MNIST_ROOT=../shared/data python benchmarks/mnist_as_scans.py [--model ID] [--limit N] [--split test]

The networks are measured on MNIST's own 28x28 tensors; a person's image reaches them through
`to_mnist` (`/predict`, a photo) or through the Draw tab's reading of a number
(`mnist_core.number.read_number`: marks grouped into digits, specks dropped, digits that touch
cut). Each digit here is made into a scan, black ink on white paper, 10 times the size
(bilinear), and read three ways:

- **tensor**: the 28x28 digit as it is (how README's MNIST numbers are measured);
- **/predict**: `to_mnist` of the scan, read as one digit;
- **Draw tab**: `read_number` of the scan; right only when it reads exactly the one digit.

Prints, for each: right, refused ("Not a digit"), another digit, and (Draw tab) read as several
digits, with the first indices of each kind of miss. A refused digit counts as wrong. --split val
reads MNIST's validation digits (mnist_core.data.load_mnist) instead: choose settings on those.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import mnist_core  # noqa: E402
from mnist_core.data import load_mnist, to_float  # noqa: E402
from mnist_core.number import read_number  # noqa: E402
from mnist_core.reading import Reading, read, read_all, temperature_in  # noqa: E402

SCALE = 10


def scan(image: torch.Tensor, resample: int = Image.BILINEAR) -> Image.Image:
    """A 28x28 MNIST digit (white on black) as a scan: black ink on white paper, SCALE times the size."""
    return Image.fromarray(255 - image.numpy()).resize((28 * SCALE, 28 * SCALE), resample)


def outcome(reading: Reading, label: int) -> str:
    if reading.not_a_digit:
        return "refused"
    return "right" if int(reading.digit) == label else "another digit"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=mnist_core.DEFAULT_MODEL)
    parser.add_argument("--limit", type=int, help="the first N digits only")
    parser.add_argument("--split", choices=("test", "val"), default="test")
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = load_mnist()
    images, labels = (data.test_images, data.test_labels) if args.split == "test" else (data.val_images, data.val_labels)
    images, labels = images[:args.limit], labels[:args.limit].tolist()
    model = mnist_core.load_model(args.model)
    t = temperature_in(mnist_core.model_info(args.model))

    start = time.perf_counter()
    kinds: dict[str, list[str]] = {
        "tensor": [outcome(r, label) for r, label in zip(read_all(model, list(to_float(images)), t), labels)],
        "/predict": [], "Draw tab": []}
    for image, label in zip(images, labels):
        paper = scan(image)
        kinds["/predict"].append(outcome(read(model, mnist_core.to_mnist(paper), t), label))
        text = read_number(paper, model, t).text
        kinds["Draw tab"].append("right" if text == str(label) else "several digits" if len(text) > 1
                                 else "refused" if text == "?" else "nothing" if not text else "another digit")
    print(f"{len(labels)} MNIST {args.split} digits as scans, {args.model}, read in {time.perf_counter() - start:.0f} s")
    print("| read as | right | refused | another digit | several digits |\n| --- | ---: | ---: | ---: | ---: |")
    for name, said in kinds.items():
        count = Counter(said)
        print(f"| {name} | " + " | ".join(f"{count[k] / len(said):.2%} ({count[k]})" for k in
                                           ("right", "refused", "another digit", "several digits")) + " |")
    for name, said in kinds.items():
        for kind in ("refused", "another digit", "several digits", "nothing"):
            where = [i for i, k in enumerate(said) if k == kind]
            if where:
                print(f"{name}, {kind}: {', '.join(map(str, where[:40]))}{' ...' if len(where) > 40 else ''}")


if __name__ == "__main__":
    main()
