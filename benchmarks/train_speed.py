"""One LeNet-5 epoch: the tutorials' loop (PIL images through a DataLoader) against ours.

    python benchmarks/train_speed.py [--threads 2]

Both train the same network with the same recipe (Adam 1e-3, batch 64) on the same
55,000 training digits; prints the seconds each takes and the ratio.
"""

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset
from torchvision import transforms
from torchvision.datasets import MNIST

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from mnist_core.data import load_mnist, resolve_data_root
from mnist_core.models import SPECS, build_model
from mnist_core.train import fit


def tutorial_epoch(train_indices: torch.Tensor) -> float:
    """The loop of tutorial 001: ToTensor on every PIL image, DataLoader, Adam."""
    dataset = MNIST(str(resolve_data_root()), train=True, transform=transforms.ToTensor())
    loader = DataLoader(Subset(dataset, train_indices.tolist()), batch_size=64, shuffle=True)
    model = build_model("lenet5")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    model.train()
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def our_epoch() -> tuple[float, float]:
    data = load_mnist()
    recipe = SPECS["lenet5"].recipe
    result = fit(build_model("lenet5"), type(recipe)(**{**recipe.to_dict(), "epochs": 1}), data)
    return result.elapsed_s, result.val_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    order = torch.randperm(60000, generator=torch.Generator().manual_seed(0))
    tutorial_s = tutorial_epoch(order[5000:])
    ours_s, val = our_epoch()
    print(f"threads: {args.threads}")
    print(f"tutorial loop (PIL + DataLoader): {tutorial_s:6.1f} s / epoch")
    print(f"mnist_core.train.fit (tensors):   {ours_s:6.1f} s / epoch (incl. validation; val acc {val:.4f})")
    print(f"ratio: ours takes {ours_s / tutorial_s:.2f}x the tutorial's time ({tutorial_s / ours_s:.1f}x faster)")


if __name__ == "__main__":
    main()
