"""The real handwriting that benchmarks/real_style.py measures on is what its README says it is."""

import gzip
import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from real_style import DATA, opt_digits, opt_digits_32, semeion_digits  # noqa: E402


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


def test_the_semeion_digits_are_the_file_the_readme_names() -> None:
    """The copy joined from 54 pieces, read twice and compared (benchmarks/handwriting/README.md):
    its checksum, 1,593 black-and-white 16x16 digits, each with one of ten labels, 155 to 162 of each."""
    with gzip.open(DATA / "semeion.data.gz", "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == "0a0db68edc935e157425afd5f0dd927256b473a2e82262fd442cfde4c6e42c76"
    scans, labels = semeion_digits()
    assert scans.shape == (1593, 16, 16) and set(np.unique(scans)) == {0, 255}
    assert np.bincount(labels).tolist() == [161, 162, 159, 159, 161, 159, 161, 158, 155, 158]
