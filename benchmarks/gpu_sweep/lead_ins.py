"""The choice in sweep5 (issue 8's lead-in 1s), as the README tells it: for each weights file of a
sweep folder and the shipped one, MNIST validation (all digits, 1s, 7s), the styled 7s of every
7 style (300), and synthetic 1s with a lead-in of 4 lengths x 4 angles (60 each) read as 1.
Seeds 100 and 101: no training uses them.

    MNIST_ROOT=../shared/data python benchmarks/gpu_sweep/lead_ins.py FOLDER
"""
import math
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mnist_core import styles  # noqa: E402
from mnist_core.data import load_mnist, to_float  # noqa: E402
from mnist_core.models import ConvNetBN  # noqa: E402
from mnist_core.weights import load_weights  # noqa: E402

LENGTHS = (0.3, 0.42, 0.5, 0.6)  # of the digit's height
ANGLES = (10, 20, 30, 45)  # degrees above the horizontal


def lead_in_one(rng: np.random.Generator, length: float, degrees: float) -> list[styles.Stroke]:
    """styles._one_lead_in with its length and angle given."""
    angle, top = math.radians(degrees), (0.6, 0.03)
    start = (top[0] - length * math.cos(angle), top[1] + length * math.sin(angle))
    return [[start, top, (0.6 + rng.uniform(-0.05, 0.05), 0.97)]]


def main() -> None:
    torch.set_num_threads(2)
    data = load_mnist()
    ones = {}
    for length in LENGTHS:
        for degrees in ANGLES:
            rng = np.random.default_rng(100)
            ones[length, degrees] = torch.stack([styles.to_mnist(styles.draw_strokes(lead_in_one(rng, length, degrees), rng))
                                                 for _ in range(60)])
    rng = np.random.default_rng(101)
    sevens = torch.stack([styles.to_mnist(styles.draw_styled(7, rng, style))
                          for style in range(len(styles.STYLES[7])) for _ in range(100)])
    print("grid of lead-in 1s read as 1: lengths", LENGTHS, "x angles", ANGLES)
    for path in sorted(Path(sys.argv[1]).glob("*.safetensors")) + [Path("weights/convnet-bn.safetensors")]:
        model = ConvNetBN()
        load_weights(model, path)
        model.eval()
        with torch.no_grad():
            read_as_one = {key: (model(x).argmax(1) == 1).float().mean().item() for key, x in ones.items()}
            styled_sevens = (model(sevens).argmax(1) == 7).float().mean().item()
            val = torch.cat([model(to_float(data.val_images[i:i + 1000])).argmax(1) for i in range(0, len(data.val_images), 1000)])
        right = val == data.val_labels
        print(f"{path.stem:12} validation {right.float().mean():.4f}  1s {right[data.val_labels == 1].float().mean():.4f}  "
              f"7s {right[data.val_labels == 7].float().mean():.4f}  styled 7s {styled_sevens:.3f}  "
              f"lead-in 1s {np.mean(list(read_as_one.values())):.3f}  grid " + " ".join(f"{v:.2f}" for v in read_as_one.values()))


if __name__ == "__main__":
    main()
