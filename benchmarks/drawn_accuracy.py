"""Accuracy of every trained model on drawn digits, and how long to_mnist takes.

    python benchmarks/drawn_accuracy.py [--n 2000] [--seed 0] [--canvas 400] [--style STYLE]

The digits are MNIST validation digits (training digits held out from training) redrawn as on the app's canvas by
tests/drawn_digits.py: random brush, size, position, slant, ink style. Each model
reads them twice:

  to_mnist  through mnist_core.to_mnist (crop, 20 px box, centre of mass, stroke width);
  naive     the whole canvas resized to 28x28 (area averaging), as tutorial apps do;
            its ink is taken the right way round (alpha, or brightness on black,
            inverted brightness on white) so that only the geometry differs.

Then to_mnist's latency, one thread, on canvases of 280, 400 and 800 pixels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from drawn_digits import INK_STYLES, render_drawn_digits  # noqa: E402

from mnist_core import list_models, load_model, to_mnist  # noqa: E402


def naive_resize(canvas: Image.Image) -> torch.Tensor:
    """The whole canvas shrunk to 28x28: what an app without preprocessing feeds its model.

    The ink is taken the right way round (white on black), so only the geometry differs.
    """
    alpha = canvas.getchannel("A")
    if alpha.getextrema()[0] < 255:  # a transparent canvas: the ink is the alpha
        ink = alpha
    else:
        gray = canvas.convert("L")
        ink = gray if np.median(np.asarray(gray)) < 128 else ImageOps.invert(gray)
    small = np.asarray(ink.resize((28, 28), Image.BOX), dtype=np.float32) / 255
    return torch.from_numpy(small).unsqueeze(0)


def accuracy(model: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.inference_mode():
        predictions = torch.cat([model(batch).argmax(dim=1) for batch in inputs.split(500)])
    return (predictions == labels).float().mean().item()


def latency_ms(canvases: list[Image.Image]) -> tuple[float, float]:
    """p50 and p99 of to_mnist over the canvases, in milliseconds (after one warm-up)."""
    to_mnist(canvases[0])
    times = []
    for canvas in canvases:
        start = time.perf_counter()
        to_mnist(canvas)
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="drawn digits to classify")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--canvas", type=int, default=400, help="canvas side in pixels")
    parser.add_argument("--style", choices=INK_STYLES, help="one ink style (default: a random one per digit)")
    parser.add_argument("--latency-n", type=int, default=300, help="canvases timed per size (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    canvases, labels = render_drawn_digits(args.n, seed=args.seed, canvas=args.canvas, style=args.style)
    outputs = [to_mnist(canvas) for canvas in canvases]
    blank = sum(out is None for out in outputs)
    inputs = torch.stack([out if out is not None else torch.zeros(1, 28, 28) for out in outputs])
    naive_inputs = torch.stack([naive_resize(canvas) for canvas in canvases])
    targets = torch.tensor(labels)

    model_ids = list_models()
    print(f"{args.n} drawn digits on a {args.canvas}x{args.canvas} canvas (seed {args.seed}, "
          f"ink {args.style or 'any style'}); "
          f"to_mnist found nothing in {blank} (counted as errors)")
    if not model_ids:
        print("no trained models in weights/: accuracy skipped")
    else:
        print(f"\n| model | to_mnist | naive resize |\n| --- | ---: | ---: |")
        for model_id in model_ids:
            model = load_model(model_id)
            print(f"| {model_id} | {accuracy(model, inputs, targets):.2%} "
                  f"| {accuracy(model, naive_inputs, targets):.2%} |")

    if not args.latency_n:
        return
    print(f"\nto_mnist latency, 1 thread, {args.latency_n} drawn digits per canvas size:")
    print("\n| canvas | p50 ms | p99 ms |\n| --- | ---: | ---: |")
    for side in (280, 400, 800):
        timed, _ = render_drawn_digits(args.latency_n, seed=args.seed + 1, canvas=side)
        p50, p99 = latency_ms(timed)
        print(f"| {side}x{side} | {p50:.2f} | {p99:.2f} |")


if __name__ == "__main__":
    main()
