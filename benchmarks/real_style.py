"""Accuracy on handwriting that is not MNIST's, beside MNIST test, for every network.

    python benchmarks/real_style.py [--models ID ...] [--limit N] [--json FILE]

Every set goes through the app's own path (`mnist_core.to_mnist`, then the network) and none
is ever trained on (see benchmarks/handwriting/README.md):

- **pen digits, canvas**: UCI Pen-Based Recognition of Handwritten Digits, 10,992 digits by 44
  writers (Alimoglu & Alpaydin), written on a tablet. Each is 8 pen positions; they are drawn
  as one smooth stroke through them (corners cut) with a round pen (8 to 30 px) on a 400x400
  white canvas, as the app's canvas sends a drawing.
- **pen digits, bold tight crop**: the same digits written with a bold pen (a sixth to a
  quarter of the digit's height) on grey paper, scanned (noise, blur, JPEG) and cropped
  tightly: the ink touches the image's edges and covers much of it.
- **handwriting fonts**: each digit 4 times in each of Debian's handwriting-style fonts (see
  FONT_DIRS; skipped when none is installed), at random sizes and slants, on the canvas.
- **scanned forms, 8x8**: UCI Optical Recognition of Handwritten Digits, 5,620 digits by 43
  writers, as 8x8 block counts of 32x32 scans (the resolution is the set's, not ours).
- **scanned forms, 32x32**: the same set's writer-independent test digits as scanned, 1,797
  digits by 13 writers, 32x32 bitmaps of forms filled in with a pen at 300 dpi, each digit
  scaled to the bitmap's height: bold tight crops of real handwriting, black on white.
- **scanned digits, 16x16**: Semeion Handwritten Digit, 1,593 digits by about 80 writers, each
  digit written twice (once carefully, once fast), scanned, stretched to fill a 16x16 box and
  made black and white by a fixed threshold.
- **MNIST test**: the 10,000 test digits, as the networks were measured.

Prints accuracy per set and network, and for the default network per digit, with the most
common mistakes. Seeded: the same arguments give the same numbers.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import mnist_core  # noqa: E402
from mnist_core.data import load_split, to_float  # noqa: E402
from mnist_core.styles import round_corners  # noqa: E402
from mnist_core.symbols import has_glyph  # noqa: E402

DATA = Path(__file__).resolve().parent / "handwriting"
CANVAS = 400


@dataclass
class EvalSet:
    name: str
    images: torch.Tensor  # float [N, 1, 28, 28], what the networks see; blank where to_mnist saw nothing
    labels: torch.Tensor  # int64 [N]


def pen_digits() -> tuple[np.ndarray, np.ndarray]:
    """UCI pendigits: pen positions float [N, 8, 2] (x right, y down, 0..1) and labels [N]."""
    table = np.loadtxt(DATA / "pendigits.csv", delimiter=",", dtype=np.float64)
    points = table[:, :16].reshape(-1, 8, 2) / 100.0
    points[..., 1] = 1.0 - points[..., 1]  # the tablet's y points up
    return points, table[:, 16].astype(np.int64)


def opt_digits() -> tuple[np.ndarray, np.ndarray]:
    """UCI optdigits: 8x8 counts 0..16 as uint8 images [N, 8, 8] (ink bright) and labels [N]."""
    table = np.loadtxt(DATA / "optdigits.csv", delimiter=",", dtype=np.int64)
    return (table[:, :64].reshape(-1, 8, 8) * 255 // 16).astype(np.uint8), table[:, 64]


def opt_digits_32() -> tuple[np.ndarray, np.ndarray]:
    """UCI optdigits' writer-independent test file as scanned: 32x32 bitmaps as uint8 images
    [N, 32, 32], black ink (0) on white (255), and labels [N]. The file is the set's own
    text: a header, then per digit 32 lines of 0s and 1s (1 = ink) and a line with the label."""
    with gzip.open(DATA / "optdigits-orig.windep.gz", "rt") as f:
        lines = [line for line in f.read().splitlines() if line and line != "EOF"]
    start = next(i for i, line in enumerate(lines) if len(line) == 32 and set(line) <= {"0", "1"})
    rows = lines[start:]
    bits = np.array([[list(map(int, row)) for row in rows[i:i + 32]] for i in range(0, len(rows), 33)], np.uint8)
    labels = np.array([int(rows[i + 32]) for i in range(0, len(rows), 33)], np.int64)
    return (255 * (1 - bits)).astype(np.uint8), labels


def semeion_digits() -> tuple[np.ndarray, np.ndarray]:
    """Semeion Handwritten Digit: 16x16 bitmaps as uint8 images [N, 16, 16], black ink (0) on
    white (255), and labels [N]. Each line of the file: 256 pixels (1 = ink), row by row, then
    the label as ten 0s and 1s."""
    with gzip.open(DATA / "semeion.data.gz", "rt") as f:
        table = np.array([line.split() for line in f.read().splitlines() if line.strip()], dtype=np.uint8)
    bits, one_hot = table[:, :256].reshape(-1, 16, 16), table[:, 256:]
    return (255 * (1 - bits)).astype(np.uint8), one_hot.argmax(1).astype(np.int64)


def through(points: np.ndarray) -> np.ndarray:
    """A smooth pen path through the 8 recorded positions: their polyline with its corners cut
    (Chaikin's scheme, mnist_core.styles.round_corners), which never overshoots, so a stroke
    that goes back along itself stays a line (a spline would make a loop of it)."""
    return round_corners(points)


def place(points: np.ndarray, side: float, pen: float) -> list[tuple[float, float]]:
    """The digit's pen positions scaled to `side` px tall (aspect kept), pen width included."""
    span = np.ptp(points, axis=0)
    scale = (side - pen) / max(span[1], span[0], 1e-6)
    return [tuple(p) for p in (points - points.min(axis=0)) * scale + pen / 2]


def stroke(draw: ImageDraw.ImageDraw, xy: list[tuple[float, float]], pen: float, fill: int,
           offset: tuple[float, float] = (0.0, 0.0)) -> None:
    """One stroke through `xy` with a round pen."""
    xy = [(x + offset[0], y + offset[1]) for x, y in xy]
    draw.line(xy, fill=fill, width=max(1, round(pen)), joint="curve")
    for x, y in (xy[0], xy[-1]):
        draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=fill)


def on_canvas(points: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A pen digit drawn on the app's canvas: black on white, random size, pen and position."""
    side = rng.uniform(0.35, 0.9) * CANVAS
    pen = rng.uniform(8, 30)
    xy = place(through(points), side, pen)
    width = max(x for x, _ in xy) + pen / 2
    offset = (rng.uniform(0, CANVAS - width), rng.uniform(0, CANVAS - side))
    image = Image.new("L", (CANVAS, CANVAS), 255)
    stroke(ImageDraw.Draw(image), xy, pen, 0, offset)
    return image


def bold_tight_crop(points: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A pen digit written with a bold pen on grey paper, scanned, cropped to its ink."""
    side = rng.uniform(60, 200)
    pen = rng.uniform(1 / 6, 1 / 4) * side
    paper, ink = rng.uniform(200, 245), rng.uniform(10, 60)
    margin = 20
    xy = place(through(points), side, pen)
    size = (round(max(x for x, _ in xy) + pen / 2) + 2 * margin, round(side) + 2 * margin)
    image = Image.new("L", size, 255)
    stroke(ImageDraw.Draw(image), xy, pen, 0, (margin, margin))
    a = np.asarray(image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5))), np.float64) / 255
    a = ink + (paper - ink) * a + rng.normal(0, rng.uniform(2, 8), a.shape)
    scan = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    # Crop to the ink, or a pixel or two into it: the ink touches every edge.
    ys, xs = np.nonzero(a < (paper + ink) / 2)
    cut = rng.integers(0, 3, 4)
    scan = scan.crop((xs.min() + cut[0], ys.min() + cut[1], xs.max() + 1 - cut[2], ys.max() + 1 - cut[3]))
    buffer = io.BytesIO()
    scan.save(buffer, format="JPEG", quality=int(rng.integers(70, 95)))
    return Image.open(io.BytesIO(buffer.getvalue()))


# Debian's handwriting-style fonts (OFL and GPL-with-font-exception), installed for this benchmark by
# apt-get install fonts-bwht fonts-humor-sans fonts-dkg-handwriting fonts-comic-neue fonts-klee
#                 fonts-kristi fonts-dancingscript fonts-kaushanscript fonts-seto fonts-yusei-magic
FONT_DIRS = ["bwht", "humor-sans", "fifthhorseman", "comic-neue", "klee", "kristi", "dancingscript",
             "kaushanscript", "seto", "yusei-magic"]


def handwriting_fonts() -> list[Path]:
    """The fonts of FONT_DIRS that are installed and draw every digit."""
    fonts = sorted(p for folder in FONT_DIRS for p in Path("/usr/share/fonts").glob(f"*/{folder}/*.[ot]tf"))
    return [font for font in fonts if all(draws(str(d), font) for d in range(10))]


def draws(text: str, font: Path) -> bool:
    """Whether `font` draws `text` with a glyph of its own: a missing glyph is drawn as a box (or
    not at all), which is no more a letter than a digit (until this turn, 270 of the 1,488
    letters and symbols of benchmarks/not_a_digit.py were such boxes)."""
    image = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(image).text((32, 32), text, fill=0, anchor="mm", font=ImageFont.truetype(str(font), 40))
    return np.asarray(image).min() < 128 and has_glyph(font, text)


def in_font(text: str, font: Path, rng: np.random.Generator) -> Image.Image:
    """`text` in `font` on the app's canvas: black on white, random size, slant and position."""
    size = int(rng.uniform(0.3, 0.7) * CANVAS)
    image = Image.new("L", (CANVAS, CANVAS), 255)
    ImageDraw.Draw(image).text((CANVAS / 2, CANVAS / 2), text, fill=0, anchor="mm",
                               font=ImageFont.truetype(str(font), size))
    return image.rotate(rng.uniform(-10, 10), fillcolor=255)


def font_digits(fonts: list[Path], per_font: int, rng: np.random.Generator) -> tuple[list[Image.Image], list[int]]:
    pairs = [(font, digit) for font in fonts for digit in range(10) for _ in range(per_font)]
    return [in_font(str(digit), font, rng) for font, digit in pairs], [digit for _, digit in pairs]


def seen(images: list[Image.Image | np.ndarray]) -> torch.Tensor:
    """What the networks see of each image, [N, 1, 28, 28]; blank for 'nothing drawn'."""
    out = torch.zeros(len(images), 1, 28, 28)
    for i, image in enumerate(images):
        x = mnist_core.to_mnist(image)
        if x is not None:
            out[i] = x
    return out


def pick(n: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size=limit, replace=False)) if limit and limit < n else np.arange(n)


def build_sets(limit: int | None = None, seed: int = 0, data_root: str | None = None) -> list[EvalSet]:
    rng = np.random.default_rng(seed)
    points, labels = pen_digits()
    index = pick(len(points), limit, rng)
    sets = [EvalSet("pen digits, canvas", seen([on_canvas(points[i], rng) for i in index]), torch.from_numpy(labels[index])),
            EvalSet("pen digits, bold tight crop", seen([bold_tight_crop(points[i], rng) for i in index]),
                    torch.from_numpy(labels[index]))]
    fonts = handwriting_fonts()
    if fonts:
        images, font_labels = font_digits(fonts, 4, rng)
        sets.append(EvalSet(f"handwriting fonts ({len(fonts)} fonts)", seen(images), torch.tensor(font_labels)))
    else:
        print("no handwriting fonts installed: skipping that set (see FONT_DIRS)")
    scans, scan_labels = opt_digits()
    index = pick(len(scans), limit, rng)
    sets.append(EvalSet("scanned forms, 8x8", seen([scans[i] for i in index]), torch.from_numpy(scan_labels[index])))
    scans, scan_labels = opt_digits_32()
    index = pick(len(scans), limit, rng)
    sets.append(EvalSet("scanned forms, 32x32", seen([scans[i] for i in index]), torch.from_numpy(scan_labels[index])))
    scans, scan_labels = semeion_digits()
    index = pick(len(scans), limit, rng)
    sets.append(EvalSet("scanned digits, 16x16", seen([scans[i] for i in index]), torch.from_numpy(scan_labels[index])))
    test_images, test_labels = load_split(train=False, data_root=data_root)
    sets.append(EvalSet("MNIST test", to_float(test_images), test_labels))
    return sets


@torch.inference_mode()
def predictions(model_id: str, images: torch.Tensor) -> torch.Tensor:
    model = mnist_core.load_model(model_id)
    return torch.cat([model(images[i:i + 1000]).argmax(1) for i in range(0, len(images), 1000)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", help="model ids (default: every shipped network)")
    parser.add_argument("--limit", type=int, help="at most this many digits per set (MNIST test: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    torch.set_num_threads(2)

    models = args.models or list(mnist_core.SPECS)
    sets = build_sets(args.limit, args.seed)
    results: dict[str, dict[str, float]] = {}
    width = max(len(m) for m in models) + 2
    print(f"{'set':32}" + "".join(f"{m:>{width}}" for m in models))
    per_digit: dict[str, dict[str, list[float]]] = {}
    for s in sets:
        row = []
        for model_id in models:
            predicted = predictions(model_id, s.images)
            right = predicted == s.labels
            results.setdefault(s.name, {})[model_id] = right.float().mean().item()
            row.append(f"{right.float().mean().item():{width}.2%}")
            per_digit.setdefault(s.name, {})[model_id] = [right[s.labels == d].float().mean().item() for d in range(10)]
            if model_id == mnist_core.DEFAULT_MODEL:
                mistakes = Counter(f"{t}->{p}" for t, p in zip(s.labels[~right].tolist(), predicted[~right].tolist()))
                results[s.name]["default mistakes"] = dict(mistakes.most_common(8))
        print(f"{s.name + f' ({len(s.labels)})':32}" + "".join(row))
    print(f"\nper digit, {mnist_core.DEFAULT_MODEL}:")
    print(f"{'set':32}" + "".join(f"{d:>7}" for d in range(10)))
    for name, by_model in per_digit.items():
        if mnist_core.DEFAULT_MODEL in by_model:
            print(f"{name:32}" + "".join(f"{a:7.1%}" for a in by_model[mnist_core.DEFAULT_MODEL]))
    for name, r in results.items():
        if "default mistakes" in r:
            print(f"{name}: most common mistakes of {mnist_core.DEFAULT_MODEL} (true->answer: count) {r['default mistakes']}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "per_digit": per_digit}, indent=1))


if __name__ == "__main__":
    main()
