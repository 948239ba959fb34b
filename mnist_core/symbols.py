"""Things people draw that are not digits: letters, symbols, shapes, scribbles.

The networks answer one of ten digits whatever they are shown. To learn to say "not a digit"
(mnist_core.detector), they need examples of what is not one, and no such set is at hand, so
they are drawn here as pen strokes, the way mnist_core.styles draws digits, and made MNIST-like
by to_mnist, as the app does with a drawing.

Left out on purpose: shapes a digit can have. A circle or an O is a 0, a vertical bar, l or I
is a 1, S and s are 5s, Z and z are 2s, b and G are 6s, g and q are 9s, B is an 8, and a
rounded square is a 0; so is a digit cut short or two drawn over each other too close to a
sloppy digit. A user who draws those is answered with the digit.

Also here: digits written side by side so close that they touch (touching_digits), several
digits and so not one, and the digits cut out of them (touching_digits_cut), which are.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from mnist_core.styles import CANVAS, Stroke, arc, as_mnist_uint8, draw_strokes

Strokes = Callable[[np.random.Generator], list[Stroke]]


def _fixed(*strokes: Stroke) -> Strokes:
    return lambda rng: [list(s) for s in strokes]


SYMBOLS: dict[str, Strokes] = {
    # lower-case letters
    "a": _fixed(arc(0.45, 0.68, 0.35, 0.3, -30, 330, 16), [(0.8, 0.4), (0.8, 0.95), (0.95, 1.0)]),
    "c": _fixed(arc(0.55, 0.65, 0.4, 0.33, -40, -320, 14)),
    "d": _fixed(arc(0.42, 0.7, 0.33, 0.28, 0, 360, 16), [(0.78, 0.0), (0.78, 1.0)]),
    "e": _fixed([(0.12, 0.62), (0.88, 0.6)] + arc(0.5, 0.65, 0.38, 0.32, 0, -310, 14)),
    "f": _fixed([(0.8, 0.08), (0.55, 0.0), (0.42, 0.2), (0.42, 1.0)], [(0.15, 0.4), (0.75, 0.4)]),
    "h": _fixed([(0.2, 0.0), (0.2, 1.0)], [(0.2, 0.62)] + arc(0.5, 0.62, 0.3, 0.2, 180, 360, 8) + [(0.8, 1.0)]),
    "k": _fixed([(0.2, 0.0), (0.2, 1.0)], [(0.8, 0.4), (0.22, 0.72), (0.85, 1.0)]),
    "m": _fixed([(0.05, 0.4), (0.05, 1.0)], [(0.05, 0.55), (0.25, 0.38), (0.45, 0.55), (0.45, 1.0)],
                [(0.45, 0.55), (0.7, 0.38), (0.92, 0.55), (0.92, 1.0)]),
    "n": _fixed([(0.15, 0.35), (0.15, 1.0)], [(0.15, 0.55), (0.45, 0.35), (0.8, 0.5), (0.82, 1.0)]),
    "p": _fixed([(0.2, 0.3), (0.2, 1.0)], arc(0.48, 0.5, 0.3, 0.2, 180, 540, 14)),
    "r": _fixed([(0.25, 0.35), (0.25, 1.0)], [(0.25, 0.6), (0.5, 0.38), (0.85, 0.4)]),
    "t": _fixed([(0.45, 0.0), (0.45, 0.85), (0.6, 1.0), (0.85, 0.92)], [(0.1, 0.3), (0.85, 0.3)]),
    "u": _fixed([(0.15, 0.3), (0.15, 0.8), (0.45, 1.0), (0.8, 0.8)], [(0.82, 0.3), (0.85, 1.0)]),
    "v": _fixed([(0.05, 0.3), (0.5, 1.0), (0.95, 0.3)]),
    "w": _fixed([(0.0, 0.3), (0.25, 1.0), (0.5, 0.5), (0.75, 1.0), (1.0, 0.3)]),
    "x": _fixed([(0.1, 0.3), (0.9, 1.0)], [(0.9, 0.3), (0.1, 1.0)]),
    "y": _fixed([(0.1, 0.2), (0.5, 0.6)], [(0.9, 0.2), (0.3, 1.0)]),
    # capitals
    "A": _fixed([(0.05, 1.0), (0.5, 0.0), (0.95, 1.0)], [(0.25, 0.6), (0.75, 0.6)]),
    "C": _fixed(arc(0.55, 0.5, 0.45, 0.5, -40, -320, 16)),
    "E": _fixed([(0.85, 0.0), (0.15, 0.0), (0.15, 1.0), (0.85, 1.0)], [(0.15, 0.5), (0.7, 0.5)]),
    "F": _fixed([(0.85, 0.0), (0.15, 0.0), (0.15, 1.0)], [(0.15, 0.5), (0.7, 0.5)]),
    "H": _fixed([(0.15, 0.0), (0.15, 1.0)], [(0.85, 0.0), (0.85, 1.0)], [(0.15, 0.5), (0.85, 0.5)]),
    "K": _fixed([(0.15, 0.0), (0.15, 1.0)], [(0.85, 0.0), (0.17, 0.55), (0.85, 1.0)]),
    "L": _fixed([(0.2, 0.0), (0.2, 1.0), (0.85, 1.0)]),
    "M": _fixed([(0.05, 1.0), (0.1, 0.0), (0.5, 0.65), (0.9, 0.0), (0.95, 1.0)]),
    "N": _fixed([(0.12, 1.0), (0.12, 0.0), (0.88, 1.0), (0.88, 0.0)]),
    "P": _fixed([(0.15, 1.0), (0.15, 0.0)], [(0.15, 0.0)] + arc(0.45, 0.27, 0.4, 0.27, -90, 90, 10) + [(0.15, 0.54)]),
    "R": _fixed([(0.15, 1.0), (0.15, 0.0)], [(0.15, 0.0)] + arc(0.45, 0.27, 0.4, 0.27, -90, 90, 10) + [(0.15, 0.54)],
                [(0.4, 0.54), (0.9, 1.0)]),
    "T": _fixed([(0.05, 0.0), (0.95, 0.0)], [(0.5, 0.0), (0.5, 1.0)]),
    "V": _fixed([(0.05, 0.0), (0.5, 1.0), (0.95, 0.0)]),
    "W": _fixed([(0.0, 0.0), (0.25, 1.0), (0.5, 0.35), (0.75, 1.0), (1.0, 0.0)]),
    "X": _fixed([(0.1, 0.0), (0.9, 1.0)], [(0.9, 0.0), (0.1, 1.0)]),
    "Y": _fixed([(0.1, 0.0), (0.5, 0.5), (0.9, 0.0)], [(0.5, 0.5), (0.5, 1.0)]),
    # operators and marks
    "+": _fixed([(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]),
    "=": _fixed([(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.65), (0.9, 0.65)]),
    "×": _fixed([(0.15, 0.15), (0.85, 0.85)], [(0.85, 0.15), (0.15, 0.85)]),
    "÷": _fixed([(0.1, 0.5), (0.9, 0.5)], arc(0.5, 0.2, 0.05, 0.05, 0, 360, 6), arc(0.5, 0.8, 0.05, 0.05, 0, 360, 6)),
    "±": _fixed([(0.5, 0.05), (0.5, 0.65)], [(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.92), (0.9, 0.92)]),
    "≠": _fixed([(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.65), (0.9, 0.65)], [(0.7, 0.05), (0.3, 0.95)]),
    "<": _fixed([(0.85, 0.1), (0.15, 0.5), (0.85, 0.9)]),
    ">": _fixed([(0.15, 0.1), (0.85, 0.5), (0.15, 0.9)]),
    "≤": _fixed([(0.85, 0.05), (0.15, 0.4), (0.85, 0.75)], [(0.15, 0.95), (0.85, 0.95)]),
    "→": _fixed([(0.0, 0.5), (1.0, 0.5)], [(0.7, 0.25), (1.0, 0.5), (0.7, 0.75)]),
    "√": _fixed([(0.0, 0.6), (0.15, 0.5), (0.35, 1.0), (0.6, 0.0), (1.0, 0.0)]),
    "!": _fixed([(0.5, 0.0), (0.5, 0.7)], arc(0.5, 0.93, 0.04, 0.04, 0, 360, 6)),
    "?": _fixed(arc(0.5, 0.25, 0.35, 0.25, 200, 450, 12) + [(0.5, 0.7)], arc(0.5, 0.95, 0.04, 0.04, 0, 360, 6)),
    "[": _fixed([(0.7, 0.0), (0.3, 0.0), (0.3, 1.0), (0.7, 1.0)]),
    "]": _fixed([(0.3, 0.0), (0.7, 0.0), (0.7, 1.0), (0.3, 1.0)]),
    "#": _fixed([(0.35, 0.0), (0.3, 1.0)], [(0.7, 0.0), (0.65, 1.0)], [(0.05, 0.33), (0.95, 0.33)],
                [(0.05, 0.67), (0.95, 0.67)]),
    "∞": _fixed(arc(0.27, 0.5, 0.25, 0.22, 0, 360, 12) + arc(0.73, 0.5, 0.25, 0.22, 180, -180, 12)),
    "Σ": _fixed([(0.9, 0.0), (0.1, 0.0), (0.55, 0.5), (0.1, 1.0), (0.9, 1.0)]),
    "∫": _fixed([(0.8, 0.05), (0.62, 0.0), (0.5, 0.3), (0.5, 0.7), (0.38, 1.0), (0.2, 0.95)]),
    # Greek
    "α": _fixed(arc(0.4, 0.6, 0.3, 0.3, 30, 330, 14) + [(0.95, 1.0)]),
    "γ": _fixed([(0.05, 0.3), (0.2, 0.25), (0.55, 0.8), (0.5, 1.0), (0.42, 0.8), (0.9, 0.3)]),
    "θ": _fixed(arc(0.5, 0.5, 0.3, 0.5, 0, 360, 16), [(0.2, 0.5), (0.8, 0.5)]),
    "π": _fixed([(0.05, 0.3), (0.95, 0.28)], [(0.3, 0.3), (0.28, 1.0)], [(0.7, 0.3), (0.75, 0.95), (0.9, 1.0)]),
    "μ": _fixed([(0.2, 0.3), (0.15, 1.0)], [(0.18, 0.7), (0.45, 0.85), (0.75, 0.7)], [(0.75, 0.3), (0.8, 0.85), (0.95, 0.9)]),
    "Δ": _fixed([(0.5, 0.0), (0.05, 1.0), (0.95, 1.0), (0.5, 0.0)]),
    # more that people write: symbols drawn only in print fonts before, and joined-up (cursive) letters
    "≥": _fixed([(0.15, 0.05), (0.85, 0.4), (0.15, 0.75)], [(0.15, 0.95), (0.85, 0.95)]),
    "β": _fixed([(0.22, 1.0), (0.22, 0.25)] + arc(0.45, 0.22, 0.23, 0.2, 180, 450, 12)
                + arc(0.47, 0.62, 0.3, 0.2, -90, 180, 12)[1:]),
    "φ": _fixed(arc(0.5, 0.5, 0.38, 0.22, 0, 360, 16), [(0.5, 0.0), (0.5, 1.0)]),
    "%": _fixed(arc(0.22, 0.2, 0.14, 0.16, 0, 360, 10), [(0.85, 0.05), (0.15, 0.95)],
                arc(0.78, 0.8, 0.14, 0.16, 0, 360, 10)),
    "@": _fixed(arc(0.5, 0.55, 0.18, 0.18, 0, 360, 12) + [(0.68, 0.78), (0.85, 0.7)]
                + arc(0.5, 0.5, 0.45, 0.45, 20, -300, 18)),
    "d, joined": _fixed(arc(0.4, 0.7, 0.3, 0.27, -10, -370, 16) + [(0.72, 0.0), (0.72, 0.92), (0.9, 1.0)]),
    "u, joined": _fixed([(0.05, 0.35), (0.15, 0.3), (0.15, 0.8)] + arc(0.45, 0.75, 0.3, 0.25, 180, 0, 8)[1:]
                        + [(0.75, 0.3), (0.75, 0.92), (0.92, 1.0)]),
    "e, looped": _fixed([(0.1, 0.8), (0.7, 0.45)] + arc(0.5, 0.45, 0.22, 0.15, 0, -180, 8)[1:]
                        + arc(0.45, 0.72, 0.3, 0.28, 180, 60, 8)),
    "f, looped": _fixed([(0.45, 0.55)] + arc(0.55, 0.2, 0.12, 0.2, 180, -90, 8) + [(0.42, 0.9)]
                        + arc(0.35, 0.85, 0.08, 0.15, 0, 270, 6), [(0.2, 0.45), (0.75, 0.45)]),
    # shapes
    "star": _fixed([(0.5, 0.0), (0.2, 0.95), (0.95, 0.35), (0.05, 0.35), (0.8, 0.95), (0.5, 0.0)]),
    "heart": _fixed([(0.5, 1.0), (0.05, 0.4)] + arc(0.27, 0.3, 0.22, 0.22, 180, 360, 8)
                    + arc(0.73, 0.3, 0.22, 0.22, 180, 360, 8) + [(0.95, 0.4), (0.5, 1.0)]),
    "smiley": _fixed(arc(0.5, 0.5, 0.48, 0.48, 0, 360, 20), arc(0.5, 0.55, 0.25, 0.2, 20, 160, 8),
                     [(0.35, 0.3), (0.35, 0.38)], [(0.65, 0.3), (0.65, 0.38)]),
}


def _scribble(rng: np.random.Generator) -> list[Stroke]:
    """A scrawl: a pen wandering at random, or hatching back and forth across the box."""
    n = int(rng.integers(10, 24))
    if rng.random() < 0.5:
        return [[tuple(p) for p in rng.uniform(0, 1, (n, 2))]]
    ys = np.sort(rng.uniform(0, 1, n))
    xs = np.where(np.arange(n) % 2, rng.uniform(0.7, 1, n), rng.uniform(0, 0.3, n))
    return [list(zip(xs.tolist(), ys.tolist()))]


def _marks(rng: np.random.Generator) -> list[Stroke]:
    """A few short separate marks: dashes and dots scattered over the box."""
    strokes = []
    for _ in range(int(rng.integers(3, 7))):
        x, y = rng.uniform(0.05, 0.95, 2)
        dx, dy = rng.uniform(-0.15, 0.15, 2)
        strokes.append([(x, y), (x + dx, y + dy)])
    return strokes


# Scribbles and marks come in many more shapes than a letter does: they get more examples.
MAKERS: list[Strokes] = [*SYMBOLS.values(), *[_scribble] * 8, *[_marks] * 4]


@functools.lru_cache(maxsize=2)
def synthesize_non_digits(n: int, seed: int) -> torch.Tensor:
    """n drawings that are not digits, MNIST-like: uint8 [m, 28, 28], m <= n (drawings that
    to_mnist sees as nothing drawn are left out). The same seed gives the same drawings."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        x = as_mnist_uint8(draw_strokes(MAKERS[i % len(MAKERS)](rng), rng))
        if x is not None:
            images.append(x)
    return torch.stack(images)


# The same kinds in print fonts: other letter shapes than our templates (serifs, a two-storey a,
# italics, bold, a calligraphic script, a school typeface's single-storey a). Only the print
# families below: the handwriting fonts that benchmarks/real_style.py and benchmarks/not_a_digit.py
# evaluate on are never trained on. Debian: fonts-dejavu-core, fonts-liberation, fonts-urw-base35,
# fonts-sil-andika, fonts-freefont-ttf; without them the detector learns from the pen strokes only.
PRINTED = [k for k in SYMBOLS if len(k) == 1 and k not in "∫"] + ["&"]  # & is not drawn as pen strokes
PRINT_FONT_DIRS = ["dejavu", "liberation", "urw-base35", "andika", "freefont"]
NOT_LETTERS = ("StandardSymbolsPS", "D050000L")  # urw-base35's symbol and dingbat fonts: pictures, not letters


# Handwriting-style fonts too, a script letter being what the print fonts lack (a d like a 0 with a
# stem, a c like a 6): never those that benchmarks/real_style.py and benchmarks/not_a_digit.py
# measure on (real_style.FONT_DIRS). Debian: fonts-breip fonts-sjfonts fonts-nanum-extra fonts-havana
# fonts-tlwg-purisa-ttf fonts-kiloji fonts-dustin fonts-lobster fonts-leckerli-one fonts-rufscript
# fonts-isabella fonts-tomsontalks (folder/file patterns under /usr/share/fonts/*/).
SCRIPT_FONT_GLOBS = ["breip/*", "sjfonts/*", "nanum/NanumPen.ttf", "nanum/NanumBrush.ttf", "havana/*",
                     "tlwg/Purisa*", "kiloji/*", "dustin/Domestic_Manners.ttf", "dustin/Junkyard.ttf", "lobster/*",
                     "leckerli-one/*", "rufscript/*", "isabella/*", "tomsontalks/*"]


@functools.cache
def print_fonts() -> list[Path]:
    fonts = (p for folder in PRINT_FONT_DIRS for p in Path("/usr/share/fonts").glob(f"*/{folder}/*.[ot]tf"))
    return sorted(p for p in fonts if not p.stem.startswith(NOT_LETTERS))


@functools.cache
def script_fonts() -> list[Path]:
    """The handwriting-style fonts of SCRIPT_FONT_GLOBS that are installed."""
    fonts = {p for pattern in SCRIPT_FONT_GLOBS for p in Path("/usr/share/fonts").glob(f"*/{pattern}")}
    return sorted(p for p in fonts if p.suffix in (".ttf", ".otf"))


@functools.cache
def has_glyph(font_path: Path, text: str) -> bool:
    """Whether the font draws `text` itself: a missing glyph is drawn as a box, which is a 0."""
    font = ImageFont.truetype(str(font_path), 40)
    missing = font.getmask("\U0010fffd")
    mask = font.getmask(text)
    return mask.size != missing.size or bytes(mask) != bytes(missing)


def draw_printed(text: str, font_path: Path, rng: np.random.Generator) -> Image.Image:
    """`text` in a font (print or handwriting-style), as big as a drawn digit, turned and sheared
    a little, black on white."""
    size = int(rng.uniform(0.45, 0.8) * CANVAS)
    font = ImageFont.truetype(str(font_path), size)
    image = Image.new("L", (CANVAS, CANVAS), 255)
    ImageDraw.Draw(image).text((CANVAS / 2, CANVAS / 2), text, fill=0, anchor="mm", font=font,
                               stroke_width=int(rng.integers(0, 3)), stroke_fill=0)
    angle, shear = rng.uniform(-12, 12), rng.uniform(-0.25, 0.15)
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    forward = np.array([[c, -s + shear * c], [s, c + shear * s]])  # a shear, then a turn, about the centre
    (a, b), (d, e) = np.linalg.inv(forward)  # PIL maps each output pixel back to the input
    centre = CANVAS / 2
    inverse = (a, b, centre - (a + b) * centre, d, e, centre - (d + e) * centre)
    return image.transform(image.size, Image.AFFINE, inverse, resample=Image.BILINEAR, fillcolor=255)


@functools.lru_cache(maxsize=2)
def printed_non_digits(n: int, seed: int) -> torch.Tensor:
    """n of PRINTED in the print fonts installed, MNIST-like uint8 [m, 28, 28], m <= n (none
    where no print font is installed). The same seed and fonts give the same drawings."""
    return _printed(PRINTED, n, seed)


@functools.lru_cache(maxsize=2)
def printed_digits(n: int, seed: int) -> torch.Tensor:
    """n digits 0-9 in the same print fonts, drawn the same way: a glyph's clean, even stroke is
    no sign of a letter."""
    return _printed([str(d) for d in range(10)], n, seed)


@functools.lru_cache(maxsize=2)
def script_non_digits(n: int, seed: int) -> torch.Tensor:
    """As printed_non_digits, in the handwriting-style fonts (script_fonts)."""
    return _printed(PRINTED, n, seed, script_fonts())


@functools.lru_cache(maxsize=2)
def script_digits(n: int, seed: int) -> torch.Tensor:
    """As printed_digits, in the handwriting-style fonts: a handwritten look is no sign of a letter either."""
    return _printed([str(d) for d in range(10)], n, seed, script_fonts())


def _printed(texts: list[str], n: int, seed: int, fonts: list[Path] | None = None) -> torch.Tensor:
    """n of `texts` drawn in `fonts` (default: the print fonts), each pair of text and font that
    draws it as likely as any other."""
    rng = np.random.default_rng(seed)
    fonts = print_fonts() if fonts is None else fonts
    pairs = [(text, font) for text in texts for font in fonts if has_glyph(font, text)]
    images = []
    for _ in range(n if pairs else 0):
        text, font = pairs[rng.integers(len(pairs))]
        x = as_mnist_uint8(draw_printed(text, font, rng))
        if x is not None:
            images.append(x)
    return torch.stack(images) if images else torch.zeros(0, 28, 28, dtype=torch.uint8)


TOUCHING_GAP = (-0.15, 0.02)  # between digits written too close, as a share of their height (< 0: they overlap)


def touching_digits(digits: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n drawings of two (one in four: three) of `digits` (uint8 [N, 28, 28], ink bright) written
    as a person writes a number, but so close that they touch or overlap a little: several
    digits, not one. MNIST-like uint8 [n, 28, 28]. A detector that refuses them tells
    mnist_core.number to cut such a group, however narrow it is."""
    rng = np.random.default_rng(seed)
    images = []
    while len(images) < n:
        ink, _ = _written_touching(digits, rng)
        made = as_mnist_uint8(Image.fromarray(255 - ink))
        if made is not None:
            images.append(made)
    return torch.stack(images)


def touching_digits_cut(digits: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n digits cut out of touching ones (as touching_digits writes them) where one meets the
    next: each a digit with a sliver of its neighbour's ink, as mnist_core.number's cuts leave
    it. Digits, not "not a digit": MNIST-like uint8 [n, 28, 28]."""
    rng = np.random.default_rng(seed)
    images = []
    while len(images) < n:
        ink, cuts = _written_touching(digits, rng)
        edges = [0, *cuts, ink.shape[1]]
        k = rng.integers(len(edges) - 1)
        made = as_mnist_uint8(Image.fromarray(255 - ink[:, edges[k]:edges[k + 1]]))
        if made is not None:
            images.append(made)
    return torch.stack(images)


def _written_touching(digits: torch.Tensor, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
    """Two or three of `digits` written left to right, touching: their ink (uint8, bright on
    dark) and the columns where each meets the next (the middle of their overlap)."""
    height = 56
    pieces = []
    while len(pieces) < 2:
        pieces = []
        for index in rng.integers(0, len(digits), size=3 if rng.random() < 0.25 else 2):
            ink = digits[index].numpy()
            rows, cols = np.nonzero(ink.max(axis=1) > 40)[0], np.nonzero(ink.max(axis=0) > 40)[0]
            if not rows.size:
                continue
            piece = Image.fromarray(ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
            tall = round(height * rng.uniform(0.8, 1.2))
            pieces.append((piece.resize((max(2, round(piece.width * tall / piece.height)), tall), Image.BILINEAR),
                           round(rng.uniform(-0.1, 0.1) * height)))
    gaps = [round(rng.uniform(*TOUCHING_GAP) * height) for _ in pieces]
    canvas = np.zeros((3 * height, sum(p.width for p, _ in pieces) + sum(gaps) + 2 * height), dtype=np.uint8)
    x, cuts = height, []
    for (piece, shift), gap in zip(pieces, gaps):
        y = height + shift + (height - piece.height)
        region = canvas[y:y + piece.height, x:x + piece.width]
        np.maximum(region, np.asarray(piece)[:region.shape[0], :region.shape[1]], out=region)
        x += piece.width + gap
        cuts.append(x - gap // 2)
    return canvas, cuts[:-1]


def kinds() -> list[str]:
    return [*SYMBOLS, "scribble", "marks"]


