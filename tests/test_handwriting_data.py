"""The real handwriting that benchmarks/real_style.py measures on is what its README says it is."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from real_style import opt_digits, opt_digits_32  # noqa: E402


def test_the_32x32_scans_are_the_same_digits_as_the_sets_8x8_test_rows() -> None:
    """UCI made each 8x8 feature by counting the ink of a 4x4 block of the 32x32 bitmap: the
    copied bitmaps give, in order, the set's own test rows, labels and all (the last 1,797 of
    optdigits.csv), so not a pixel was lost in copying that would change a block's count."""
    scans, labels = opt_digits_32()
    assert scans.shape == (1797, 32, 32) and set(np.unique(scans)) == {0, 255}
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    ink = (scans == 0).astype(np.int64)
    counts = ink.reshape(-1, 8, 4, 8, 4).sum(axis=(2, 4))
    features, feature_labels = opt_digits()
    assert np.array_equal(counts * 255 // 16, features[-1797:].astype(np.int64))
    assert np.array_equal(labels, feature_labels[-1797:])
