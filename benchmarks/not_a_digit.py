"""'Not a digit' and calibrated confidence, for every network.

    python benchmarks/not_a_digit.py [--models ID ...] [--limit N]

Non-digits, none of them trained on:
- **letters and symbols in handwriting fonts**: a c d e f h k m n p r t u v w x y A C E F H K L M
  N P R T V W X Y + = × ÷ ± ≠ < > ≤ ≥ → √ ! ? [ ] # & @ % α β γ θ π φ μ Δ Σ ∞ in each of Debian's
  handwriting-style fonts that draws them (benchmarks/real_style.py's FONT_DIRS), on the canvas;
- **letters and symbols written with a pen, Hershey fonts**: the same kinds, 8 times each in
  each Hershey stroke font that writes them (benchmarks/hershey.py: a plain hand, a roman hand,
  a joined-up school script, Greek, mathematical signs), drawn stroke by stroke with a round pen
  on the canvas: what a person's pen makes, from glyphs no training draws from;
- **pen-stroke symbols, held out**: mnist_core.symbols' kinds drawn with a seed no training uses
  (the same generator as the detector's negatives: an optimistic, in-distribution number).

Digits (a refused digit counts as wrong): the sets of benchmarks/real_style.py; for the detector
alone, also the digits of the three Latin Hershey fonts, 20 times each.

Prints the share of each non-digit set answered "Not a digit" and of each digit set refused (one
detector serves every network); the share of the font symbols that the Draw tab, which reads
every drawing as a number (mnist_core.number: a mark may be cut into digits that touch), reads as
digits rather than "?"; per network, accuracy with refusals counted wrong, and on the
real-style digit sets and on MNIST test, the expected calibration error of its calibrated
confidences and how often "sure" and "fairly sure" are right; for the default network, the
same words set by set and the reliability table (confidence bins against accuracy).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import mnist_core  # noqa: E402
from mnist_core.data import to_float  # noqa: E402
from mnist_core.detector import load_detector  # noqa: E402
from mnist_core.evaluate import how_often_right  # noqa: E402
from mnist_core.number import read_number  # noqa: E402
from mnist_core.reading import temperature_in  # noqa: E402
from mnist_core.symbols import synthesize_non_digits  # noqa: E402
import hershey  # noqa: E402
from real_style import build_sets, draws, handwriting_fonts, in_font, seen  # noqa: E402

SYMBOLS = list("acdefhkmnprtuvwxyACEFHKLMNPRTVWXY+=×÷±≠<>≤≥→√!?[]#&@%αβγθπφμΔΣ∞")
HELD_OUT_SEED = 7_777_777
BINS = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0001]


def font_symbols(rng: np.random.Generator, per_font: int = 1) -> tuple[list, list[str]]:
    """Each symbol in each handwriting font that draws it, on the canvas (PIL images), and which
    symbol each is."""
    pairs = [(symbol, font) for font in handwriting_fonts() for symbol in SYMBOLS if draws(symbol, font)
             for _ in range(per_font)]
    return [in_font(symbol, font, rng) for symbol, font in pairs], [symbol for symbol, _ in pairs]


def most_let_through(which: list[str], is_digit: torch.Tensor) -> str:
    """The 12 symbols let through most often, each as "d 11/25": let through, drawn."""
    passed = Counter(w for w, digit in zip(which, is_digit.tolist()) if digit)
    return ", ".join(f"{w} {n}/{which.count(w)}" for w, n in passed.most_common(12))


def read_as_digits(drawings: list) -> float:
    """The share of `drawings` the Draw tab reads as digits: a number with a digit in it."""
    model_id = mnist_core.DEFAULT_MODEL
    model, t = mnist_core.load_model(model_id), temperature_in(mnist_core.model_info(model_id))
    return float(np.mean([any(c.isdigit() for c in read_number(d, model, t).text) for d in drawings]))


@torch.inference_mode()
def calibrated(model_id: str, images: torch.Tensor) -> torch.Tensor:
    """Calibrated probabilities [N, 10] (the network's temperature from its weights file)."""
    model = mnist_core.load_model(model_id)
    t = temperature_in(mnist_core.model_info(model_id))
    return torch.cat([(model(images[i:i + 1000]) / t).softmax(1) for i in range(0, len(images), 1000)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--limit", type=int, default=3000, help="digits per real-style set")
    args = parser.parse_args()
    torch.set_num_threads(2)
    detector = load_detector()
    if detector is None:
        sys.exit("no detector weights (weights/not-a-digit.safetensors): python -m mnist_core.detector")
    models = args.models or list(mnist_core.SPECS)

    rng = np.random.default_rng(0)
    symbols, which = font_symbols(rng)
    non_digits = {"letters and symbols, handwriting fonts": seen(symbols)}
    if hershey.installed():
        written, written_which = hershey.written(SYMBOLS, 8, rng)
        non_digits["letters and symbols written with a pen, Hershey fonts"] = seen(written)
        hershey_digits = seen(hershey.written(list("0123456789"), 20, rng)[0])
    else:
        print(f"no Hershey fonts in {hershey.FONT_DIR} (apt-get install hershey-fonts-data): skipping them")
    non_digits["pen-stroke symbols (held-out seed)"] = to_float(synthesize_non_digits(2000, HELD_OUT_SEED))
    digit_sets = build_sets(args.limit)  # MNIST test: all 10,000

    print("the detector is shared by every network: the share answered 'Not a digit'")
    let_through = {name: detector.is_digit(images) for name, images in non_digits.items()}
    for name, images in non_digits.items():
        print(f"  {name} ({len(images)}): {(~let_through[name]).float().mean():.2%}")
    print("  letters and symbols let through most often (of the fonts that draw them): "
          + most_let_through(which, let_through["letters and symbols, handwriting fonts"]))
    print(f"  read as digits by the Draw tab (mnist_core.number, {mnist_core.DEFAULT_MODEL}), letters and "
          f"symbols, handwriting fonts: {read_as_digits(symbols):.2%}")
    if hershey.installed():
        print("  written with a pen, let through most often (of 8 x the fonts that write them): "
              + most_let_through(written_which, let_through["letters and symbols written with a pen, Hershey fonts"]))
        print(f"  read as digits by the Draw tab, written with a pen, Hershey fonts: {read_as_digits(written):.2%}")
        print(f"  digits wrongly refused, Hershey fonts ({len(hershey_digits)}): "
              f"{(~detector.is_digit(hershey_digits)).float().mean():.2%}")
    refused = {s.name: ~detector.is_digit(s.images) for s in digit_sets}
    for s in digit_sets:
        print(f"  digits wrongly refused, {s.name} ({len(s.labels)}): {refused[s.name].float().mean():.2%}")

    print("\naccuracy, a refused digit counted wrong (without the detector in brackets)")
    width = max(map(len, models)) + 18
    print(f"{'set':36}" + "".join(f"{m:>{width}}" for m in models))
    for s in digit_sets:
        row = []
        for model_id in models:
            right = calibrated(model_id, s.images).argmax(1) == s.labels
            row.append(f"{(right & ~refused[s.name]).float().mean():.2%} ({right.float().mean():.2%})")
        print(f"{s.name:36}" + "".join(f"{r:>{width}}" for r in row))

    groups = {"real-style digit sets": [s for s in digit_sets if s.name != "MNIST test"],
              "MNIST test": [s for s in digit_sets if s.name == "MNIST test"]}
    for group, sets in groups.items():
        print(f"\ncalibration on the {group}, the digits not refused: expected calibration error, and how "
              f"often each word is right")
        for model_id in models:
            confidence, right = answered(model_id, sets, refused)
            ece, rows = reliability(confidence, right)
            words = ", ".join(f'"{word}" {int(n)} answers {acc:.2%} right' for word, n, acc in how_often_right(confidence, right))
            print(f"  {model_id:12} ECE {ece:.3f}; {words}")
            if model_id == mnist_core.DEFAULT_MODEL and len(sets) > 1:
                for s in sets:
                    said = how_often_right(*answered(model_id, [s], refused))
                    print(f"    {s.name}: " + ", ".join(f'"{word}" {n} {acc:.2%}' for word, n, acc in said))
            if model_id == mnist_core.DEFAULT_MODEL:
                print(f"{'confidence':>16} {'digits':>8} {'mean conf.':>11} {'accuracy':>9}")
                for low, high, n, mean, acc in rows:
                    print(f"  {low:>6.2f}–{min(high, 1):<6.2f} {n:>8} {mean:>11.3f} {acc:>9.3f}")


def answered(model_id: str, sets: list, refused: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Confidence of the answer and whether it is right, for the digits the detector let through."""
    p = torch.cat([calibrated(model_id, s.images) for s in sets])
    labels = torch.cat([s.labels for s in sets])
    kept = ~torch.cat([refused[s.name] for s in sets])
    confidence, answer = p[kept].max(1)
    return confidence, (answer == labels[kept]).float()


def reliability(confidence: torch.Tensor, right: torch.Tensor) -> tuple[float, list[tuple]]:
    ece, rows = 0.0, []
    for low, high in zip(BINS[:-1], BINS[1:]):
        inside = (confidence >= low) & (confidence < high)
        if inside.any():
            ece += float(inside.float().mean() * abs(confidence[inside].mean() - right[inside].mean()))
            rows.append((low, high, int(inside.sum()), float(confidence[inside].mean()), float(right[inside].mean())))
    return ece, rows


if __name__ == "__main__":
    main()
