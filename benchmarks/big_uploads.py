"""Memory and time to read the largest uploads the app accepts, each in a process of its own.

    python benchmarks/big_uploads.py

Writes 6000x6000 images (a 16-bit TIFF of noise, a 16-bit TIFF of a scanned 7 on white paper,
an 8-bit PNG and an RGBA PNG of the same 7) to a temporary folder, then for each starts a fresh
Python that imports mnist_core and runs mnist_core.to_mnist on the file, and prints the extra
peak memory (ru_maxrss after minus before) and the seconds it took.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
SIDE = 6000
MEASURE = """
import resource, sys, time
from mnist_core import to_mnist
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = time.perf_counter()
to_mnist(sys.argv[1])
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024, time.perf_counter() - began)
"""


def seven() -> Image.Image:
    sketch = Image.new("L", (600, 600), 255)
    ImageDraw.Draw(sketch).line([(150, 120), (450, 120), (260, 500)], fill=0, width=40)
    return sketch.resize((SIDE, SIDE))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sketchlab-uploads-") as folder:
        files = {}
        rng = np.random.default_rng(0)
        files["16-bit TIFF, noise"] = Path(folder) / "noise.tif"
        Image.fromarray(rng.integers(0, 65536, (SIDE, SIDE), dtype=np.uint16)).save(files["16-bit TIFF, noise"])
        digit = seven()
        files["16-bit TIFF, a scanned 7"] = Path(folder) / "seven.tif"
        Image.fromarray(np.asarray(digit, dtype=np.uint16) * 257).save(files["16-bit TIFF, a scanned 7"])
        files["8-bit PNG, a 7"] = Path(folder) / "seven.png"
        digit.save(files["8-bit PNG, a 7"])
        files["RGBA PNG, a 7"] = Path(folder) / "seven-rgba.png"
        digit.convert("RGBA").save(files["RGBA PNG, a 7"])
        for name, path in files.items():
            out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], cwd=ROOT, capture_output=True,
                                 text=True, check=True).stdout.split()
            print(f"{name} ({SIDE}x{SIDE}): {float(out[0]):.0f} MiB extra peak memory, {float(out[1]):.2f} s")


if __name__ == "__main__":
    main()
