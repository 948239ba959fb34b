"""benchmarks/hershey.py: letters and symbols written with a pen, from the Hershey stroke fonts,
which benchmarks/not_a_digit.py measures the detector on and nothing trains on."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import hershey  # noqa: E402

pytestmark = pytest.mark.skipif(not hershey.installed(), reason="no Hershey fonts (apt-get install hershey-fonts-data)")


def test_glyphs_are_read_as_the_strokes_a_pen_makes() -> None:
    minus, plus, zero = (hershey.glyph("futural", c) for c in "-+0")
    assert len(minus) == 1 and np.ptp(minus[0][:, 1]) == 0 and np.ptp(minus[0][:, 0]) > 0  # one level line
    assert len(plus) == 2 and sorted(int(np.ptp(s[:, 0]) == 0) for s in plus) == [0, 1]  # a bar and an upright
    assert len(zero) == 1 and np.array_equal(zero[0][0], zero[0][-1])  # one closed stroke
    assert len(hershey.glyph("futural", "i")) == 2  # the stem and the dot


def test_greek_and_mathematical_signs_come_from_their_own_faces() -> None:
    assert hershey.faces_of("π") == ["greek"] and hershey.faces_of("√") == ["mathlow"]
    assert hershey.faces_of("d") == list(hershey.LATIN)
    assert not np.array_equal(np.concatenate(hershey.glyph("greek", "π")), np.concatenate(hershey.glyph("futural", "p")))


def test_written_symbols_are_inked_on_the_canvas_and_seeded() -> None:
    images, which = hershey.written(["A", "≠"], 2, np.random.default_rng(5))
    assert which == ["A"] * 6 + ["≠"] * 2  # A in three faces, ≠ in one; twice each
    for image in images:
        ink = np.asarray(image) < 128
        assert image.size == (400, 400) and 0.002 < ink.mean() < 0.5
    again, _ = hershey.written(["A", "≠"], 2, np.random.default_rng(5))
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(images, again))


def test_nothing_that_trains_reads_the_hershey_fonts() -> None:
    """They measure the detector: no code in mnist_core may draw from them."""
    sources = [path.read_text(encoding="utf-8").lower() for path in (ROOT / "mnist_core").glob("*.py")]
    assert not any("hershey" in source for source in sources)
