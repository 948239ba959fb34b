"""Test accuracy, loss, size and speed of the shipped networks.

    python -m mnist_core.evaluate --all
    python -m mnist_core.evaluate --model lenet5 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from mnist_core.data import DataUnavailable, load_split, to_float
from mnist_core.weights import WeightsError


@torch.inference_mode()
def predict_logits(model: nn.Module, images: torch.Tensor, device: torch.device | None = None,
                   batch_size: int = 1000) -> torch.Tensor:
    """Logits [N, 10] for uint8 images [N, 28, 28], in eval mode, batch by batch."""
    was_training = model.training
    model.eval()
    device = device or next(model.parameters()).device
    outputs = [model(to_float(images[i:i + batch_size]).to(device)).float().cpu()
               for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(outputs)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device | None = None) -> float:
    return (predict_logits(model, images, device).argmax(1) == labels).float().mean().item()


@torch.inference_mode()
def forward_ms_per_image(model: nn.Module, repeats: int = 200) -> float:
    """Median time of one forward pass for a single image on one CPU thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model.eval()
    x = torch.rand(1, 1, 28, 28)
    for _ in range(20):
        model(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - start)
    torch.set_num_threads(threads)
    return sorted(times)[len(times) // 2] * 1000


def evaluate_model(model_id: str, data_root: str | None = None) -> dict[str, object]:
    from mnist_core.registry import load_model, model_info

    model = load_model(model_id)
    images, labels = load_split(train=False, data_root=data_root)
    logits = predict_logits(model, images)
    return {
        "id": model_id,
        "name": model_info(model_id).get("name", model_id),
        "test_accuracy": (logits.argmax(1) == labels).float().mean().item(),
        "test_loss": F.cross_entropy(logits, labels).item(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "forward_ms": forward_ms_per_image(model),
        "recorded_test_accuracy": model_info(model_id).get("test_accuracy"),
    }


def main(argv: list[str] | None = None) -> None:
    from mnist_core.registry import list_models

    parser = argparse.ArgumentParser(prog="python -m mnist_core.evaluate", description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="model id")
    which.add_argument("--all", action="store_true", help="every model list_models() offers")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--data-root", help="folder holding MNIST/raw (default: $MNIST_ROOT, else ./data)")
    args = parser.parse_args(argv)

    ids = list_models() if args.all else [args.model]
    try:
        results = [evaluate_model(model_id, args.data_root) for model_id in ids]
    except (DataUnavailable, WeightsError, KeyError) as error:
        sys.exit(f"error: {error}")
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'model':<14} {'test acc':>9} {'test loss':>9} {'params':>10} {'forward':>10}")
    for r in results:
        print(f"{r['id']:<14} {r['test_accuracy']:>9.2%} {r['test_loss']:>9.4f} {r['parameters']:>10,} "
              f"{r['forward_ms']:>7.2f} ms")


if __name__ == "__main__":
    main()
