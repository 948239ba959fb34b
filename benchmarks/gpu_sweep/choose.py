"""The choice among the sweep's weights files, as the README tells it: each variant's MNIST
validation accuracy and loss (what chooses), its test accuracy (looked at after), and the
ensemble of the three best on validation.

    MNIST_ROOT=../shared/data python benchmarks/gpu_sweep/choose.py FOLDER   # the *.safetensors sweep.py wrote
"""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mnist_core.data import load_mnist, to_float  # noqa: E402
from mnist_core.models import ConvNetBN  # noqa: E402

torch.set_num_threads(2)
data = load_mnist()
probabilities = {}
for path in sorted(Path(sys.argv[1]).glob("*.safetensors")):
    model = ConvNetBN()
    model.load_state_dict(load_file(path))
    model.eval()
    with torch.no_grad():
        val, test = (torch.cat([model(x[i:i + 1000]) for i in range(0, len(x), 1000)]).log_softmax(1)
                     for x in (to_float(data.val_images), to_float(data.test_images)))
    probabilities[path.stem] = val.exp(), test.exp()
    print(f"{path.stem:12} validation {(val.argmax(1) == data.val_labels).float().mean():.4f} "
          f"loss {F.nll_loss(val, data.val_labels):.4f}   test {(test.argmax(1) == data.test_labels).float().mean():.4f}"
          + ("  (trained on the validation digits)" if path.stem.endswith("full") else ""))
chosen = sorted((name for name in probabilities if not name.endswith("full")),
                key=lambda name: -(probabilities[name][0].argmax(1) == data.val_labels).float().mean().item())[:3]
val, test = (torch.stack([probabilities[name][k] for name in chosen]).mean(0) for k in (0, 1))
print(f"ensemble of {', '.join(chosen)}: validation {(val.argmax(1) == data.val_labels).float().mean():.4f}, "
      f"test {(test.argmax(1) == data.test_labels).float().mean():.4f}")
