"""Does the "not a digit" detector generalise to letter shapes it never saw? Train it without
some print fonts and measure it on them.

    python benchmarks/detector_unseen_fonts.py [--hold-out Andika Z003] [--set PRINTED_NON_DIGITS=40000] [--threads 1]

The detector learns letters and symbols in print fonts (mnist_core.symbols.PRINT_FONT_DIRS); the
handwriting fonts that benchmarks/not_a_digit.py reports on are never trained on, and so never
chosen on either. To choose between ways of training it on something better than letters in
fonts it learnt from, this trains it (python -m mnist_core.detector's recipe, its threshold rule,
with any setting of mnist_core.detector changed by --set) with the fonts whose file names start
with --hold-out left out (by default Andika, a school typeface, and Z003, a calligraphic
script: the print fonts most like handwriting), then prints the share of those fonts' letters
and symbols it refuses and of their digits, beside what the training records (held-out digits
and non-digits refused). Writes no weights unless --out is given. About 11 minutes on 2 threads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_core import detector, symbols  # noqa: E402
from mnist_core.data import to_float  # noqa: E402
from mnist_core.detector import VALIDATION_SEED, Detector, train_detector  # noqa: E402
from mnist_core.weights import save_weights  # noqa: E402
from read_numbers import apply_settings  # noqa: E402

LETTERS, DIGITS = 2000, 1000  # drawn in the held-out fonts, at the validation seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hold-out", nargs="+", default=["Andika", "Z003"], metavar="PREFIX")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="a setting of mnist_core.detector")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--out", help="also save the weights here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    apply_settings(parser, detector, args.set)

    every = symbols.print_fonts()
    held_out = [f for f in every if f.stem.startswith(tuple(args.hold_out))]
    if not held_out:
        sys.exit(f"no installed print font starts with {args.hold_out}")
    kept = [f for f in every if f not in held_out]
    print(f"training without {len(held_out)} of {len(every)} print fonts: {', '.join(f.stem for f in held_out)}", flush=True)
    symbols.print_fonts = detector.print_fonts = lambda: kept  # what training draws letters and digits in
    model, metadata = train_detector(args.epochs)
    if args.out:
        save_weights(model, args.out, metadata)

    symbols.print_fonts = lambda: held_out
    found = Detector(model.eval(), float(metadata["threshold"]))
    letters = to_float(symbols.printed_non_digits.__wrapped__(LETTERS, VALIDATION_SEED))  # not the cache: other fonts
    digits = to_float(symbols.printed_digits.__wrapped__(DIGITS, VALIDATION_SEED))
    print(f"settings: {' '.join(args.set) or 'as shipped'}; threshold {metadata['threshold']:.3f}")
    print(f"  held-out digits refused {metadata['val_digits_refused']:.2%} (MNIST {metadata['val_mnist_refused']:.2%}), "
          f"held-out non-digits refused {metadata['val_non_digits_refused']:.2%}, "
          f"printed digits refused {metadata['val_printed_digits_refused']:.2%}")
    print(f"  unseen fonts: letters and symbols refused {(~found.is_digit(letters)).float().mean():.2%} "
          f"({len(letters)}), their digits refused {(~found.is_digit(digits)).float().mean():.2%} ({len(digits)})")


if __name__ == "__main__":
    main()
