"""Letters, symbols and digits written with a pen, from the Hershey fonts: for evaluation only.

The Hershey fonts (Dr. A. V. Hershey, U.S. National Bureau of Standards, 1967; data format by
James Hurt, Cognition, Inc.) are drawn as pen strokes, not filled outlines: their "simplex"
faces are one line for each stroke a person would write: a plain hand (futural), a roman hand
(rowmans), a joined-up school script (scripts), Greek (greek) and mathematical
signs (mathlow). Debian's `hershey-fonts-data` installs them in /usr/share/hershey-fonts
(`apt-get install hershey-fonts-data`); its licence lets anyone use them, with the
acknowledgement above.

Each glyph is drawn on the app's 400x400 canvas as its strokes, with a round pen of 8 to 30 px,
at a random size, slant and turn, every point moved a little as a hand would (then to_mnist,
as the app does). Nothing trains on them: no code in mnist_core reads them (tests/test_hershey.py
checks).

    strokes = glyph("scripts", "d")          # [array [K, 2] of (x, y), y down], one per pen stroke
    image = on_canvas(strokes, rng)          # PIL "L" image, black on white
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from real_style import CANVAS, place, stroke
from mnist_core.styles import round_corners

FONT_DIR = Path("/usr/share/hershey-fonts")
LATIN = ("futural", "rowmans", "scripts")  # letters, signs and digits at their ASCII places
# Where the other faces keep the kinds that benchmarks/not_a_digit.py measures (looked at, glyph by glyph):
GREEK = {"α": "a", "β": "b", "γ": "g", "θ": "Q", "π": "p", "φ": "f", "μ": "m", "Δ": "D", "Σ": "S"}
MATH = {"×": "#", "÷": "x", "±": "!", "≠": "?", "≤": "&", "≥": "'", "→": "i", "√": "b", "∞": "_"}


def installed() -> bool:
    return all((FONT_DIR / f"{face}.jhf").exists() for face in (*LATIN, "greek", "mathlow"))


@functools.cache
def _face(face: str) -> list[list[np.ndarray]]:
    """The glyphs of a .jhf file, one per line from ASCII 32 on: each a list of strokes. A line
    is a number (5 characters), a count (3), the glyph's left and right edges, then pairs of
    characters, each coordinate its distance from "R"; " R" lifts the pen."""
    glyphs = []
    for line in (FONT_DIR / f"{face}.jhf").read_text(encoding="latin-1").splitlines():
        pairs = [line[i:i + 2] for i in range(10, len(line) - 1, 2)]
        strokes, current = [], []
        for pair in pairs + [" R"]:
            if pair == " R":
                if len(current) > 0:
                    strokes.append(np.array(current, dtype=np.float64))
                current = []
            else:
                current.append((ord(pair[0]) - ord("R"), ord(pair[1]) - ord("R")))
        glyphs.append(strokes)
    return glyphs


def glyph(face: str, symbol: str) -> list[np.ndarray]:
    """The strokes of `symbol` in `face` (its ASCII place; for greek and mathlow, see GREEK, MATH)."""
    place = GREEK.get(symbol, symbol) if face == "greek" else MATH.get(symbol, symbol) if face == "mathlow" else symbol
    return _face(face)[ord(place) - 32]


def faces_of(symbol: str) -> list[str]:
    """The faces that write `symbol`."""
    if symbol in GREEK:
        return ["greek"]
    if symbol in MATH:
        return ["mathlow"]
    return [face for face in LATIN if " " < symbol <= "~" and glyph(face, symbol)]


def on_canvas(strokes: list[np.ndarray], rng: np.random.Generator) -> Image.Image:
    """The strokes written on the canvas: black on white, a round pen of 8 to 30 px, 35% to 90% of
    the canvas tall, slanted (shear up to 0.25), turned up to 8 degrees, each point moved by about
    2% of the glyph's height, the corners rounded as a moving pen rounds them."""
    angle, shear = np.radians(rng.uniform(-8, 8)), rng.uniform(-0.25, 0.25)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array([[1, -shear], [0, 1]])
    everything = np.concatenate(strokes)
    height = max(np.ptp(everything[:, 1]), np.ptp(everything[:, 0]) * 0.5, 1.0)
    strokes = [round_corners((s + rng.normal(0, 0.02 * height, s.shape)) @ turn.T) for s in strokes]
    pen = rng.uniform(8, 30)
    placed = np.array(place(np.concatenate(strokes), rng.uniform(0.35, 0.9) * CANVAS, pen))  # all strokes as one
    size = placed.max(axis=0) + pen / 2
    offset = (rng.uniform(0, max(CANVAS - size[0], 0)), rng.uniform(0, max(CANVAS - size[1], 0)))
    image = Image.new("L", (CANVAS, CANVAS), 255)
    draw = ImageDraw.Draw(image)
    for s in np.split(placed, np.cumsum([len(s) for s in strokes])[:-1]):
        xy = [tuple(p) for p in s]
        stroke(draw, xy if len(xy) > 1 else xy * 2, pen, 0, offset)
    return image


def written(symbols: list[str], times: int, rng: np.random.Generator) -> tuple[list[Image.Image], list[str]]:
    """Each symbol `times` times in each face that writes it, on the canvas, and which symbol each is."""
    pairs = [(symbol, face) for symbol in symbols for face in faces_of(symbol) for _ in range(times)]
    return [on_canvas(glyph(face, symbol), rng) for symbol, face in pairs], [symbol for symbol, _ in pairs]
