"""GPU sweep for the default network (issue 8), as run on a lent H200 this turn: the numbers in the README's
"The networks" come from it. Run from the repository root with MNIST in ./data (run.sh gunzips the
carried files): `OUT=out bash benchmarks/gpu_sweep/sweep.sh 330`, then `sweep2.sh 290`; a later turn ran
`sweep3.sh 440` and `sweep4.sh 340`, and a third `sweep5.sh 380` (the shipped weights are sweep5's
lead60; lead_ins.py prints its choice). A scratch tool: the
winning recipe lives in mnist_core/models.py.
Each variant in its own process; prints val/test, writes weights to $OUT."""
import dataclasses, json, os, sys, time
import torch
from torch import nn
sys.path.insert(0, os.getcwd())
from mnist_core import models
from mnist_core.data import load_mnist
from mnist_core.evaluate import accuracy
from mnist_core.styles import with_styled_digits
from mnist_core.train import fit, weights_metadata, pick_device
from mnist_core.weights import save_weights


class Wide(models.ConvNetBN):
    def __init__(self, w=(48, 96, 192)):
        super().__init__()
        a, b, c = w
        cb = models.conv_bn
        self.features = nn.Sequential(models.Normalize(), cb(1, a), cb(a, a), nn.MaxPool2d(2), cb(a, b), cb(b, b),
                                      nn.MaxPool2d(2), cb(b, c))
        self.classifier = nn.Linear(2 * c, 10)


import functools
from mnist_core import train as train_module
from mnist_core.data import augment

# The "mild" variants: the recipes' augmentation with about two thirds of its ranges.
mild_augment = functools.partial(augment, degrees=10, scale=0.1, shear=0.15, shift=0.1, thickness=0.4)


class Narrow(Wide):  # the network before the sweep (32-64-128); models.ConvNetBN is now 48-96-192
    def __init__(self):
        super().__init__((32, 64, 128))


class Wider(Wide):
    def __init__(self):
        super().__init__((64, 128, 256))


VARIANTS = {  # name: (builder, recipe overrides, seed)
    "base12": (Narrow, {}, 0),
    "e30": (Narrow, {"epochs": 30}, 0),
    "e30s1": (Narrow, {"epochs": 30}, 1),
    "e30st24": (Narrow, {"epochs": 30, "styled_digits": 24_000}, 0),
    "wide30": (Wide, {"epochs": 30}, 0),
    "e50": (Narrow, {"epochs": 50}, 0),
    "wide30s1": (Wide, {"epochs": 30}, 1),
    "wider30": (Wider, {"epochs": 30}, 0),
    "wide30ls": (Wide, {"epochs": 30}, 0),
    "wide30mild": (Wide, {"epochs": 30}, 0),
    "e30mild": (Narrow, {"epochs": 30}, 0),
    "wide30s2": (Wide, {"epochs": 30}, 2),
    # sweep3 (a later turn): the shipped recipe (wide30ls) with other seeds, longer, more smoothing, and
    # trained on its validation digits too ("full": its validation accuracy then means nothing).
    "ls30s1": (Wide, {"epochs": 30, "label_smoothing": 0.1}, 1),
    "ls30s2": (Wide, {"epochs": 30, "label_smoothing": 0.1}, 2),
    "ls30s3": (Wide, {"epochs": 30, "label_smoothing": 0.1}, 3),
    "ls30s4": (Wide, {"epochs": 30, "label_smoothing": 0.1}, 4),
    "ls45": (Wide, {"epochs": 45, "label_smoothing": 0.1}, 0),
    "ls2_30": (Wide, {"epochs": 30, "label_smoothing": 0.2}, 0),
    "ls30full": (Wide, {"epochs": 30, "label_smoothing": 0.1}, 0),
    # sweep4: the best of sweep3 on validation (label smoothing 0.2) with other seeds, longer, more smoothing.
    "ls2s1": (Wide, {"epochs": 30, "label_smoothing": 0.2}, 1),
    "ls2s2": (Wide, {"epochs": 30, "label_smoothing": 0.2}, 2),
    "ls2s3": (Wide, {"epochs": 30, "label_smoothing": 0.2}, 3),
    "ls2_45": (Wide, {"epochs": 45, "label_smoothing": 0.2}, 0),
    "ls3_30": (Wide, {"epochs": 30, "label_smoothing": 0.3}, 0),
    # sweep5 (issue 8's lead-in 1s): the shipped recipe (ls2s3) with longer, flatter lead-ins (STYLE_OVERRIDES).
    "lead55": (Wide, {"epochs": 30, "label_smoothing": 0.2}, 3),
    "lead55s1": (Wide, {"epochs": 30, "label_smoothing": 0.2}, 1),
    "lead60": (Wide, {"epochs": 30, "label_smoothing": 0.2}, 3),
    "lead55st24": (Wide, {"epochs": 30, "label_smoothing": 0.2, "styled_digits": 24_000}, 3),
    "ls2s3again": (Wide, {"epochs": 30, "label_smoothing": 0.2}, 3),  # the shipped recipe, for comparison
}
# mnist_core.styles settings per variant (the rest keep the module's own).
STYLE_OVERRIDES = {
    "lead55": dict(LEAD_IN_LENGTH=(0.15, 0.55), LEAD_IN_ANGLE=(15.0, 65.0)),
    "lead55s1": dict(LEAD_IN_LENGTH=(0.15, 0.55), LEAD_IN_ANGLE=(15.0, 65.0)),
    "lead55st24": dict(LEAD_IN_LENGTH=(0.15, 0.55), LEAD_IN_ANGLE=(15.0, 65.0)),
    "lead60": dict(LEAD_IN_LENGTH=(0.15, 0.6), LEAD_IN_ANGLE=(10.0, 65.0)),
}

name = sys.argv[1]
if name.endswith("mild"):
    train_module.augment = mild_augment
budget = float(sys.argv[2])
torch.set_num_threads(2)
build, overrides, seed = VARIANTS[name]
from mnist_core import styles
for setting, value in STYLE_OVERRIDES.get(name, {}).items():
    setattr(styles, setting, value)
# The recipe before the sweep (12 epochs, no label smoothing), changed by each variant's overrides.
recipe = dataclasses.replace(models.SPECS["convnet-bn"].recipe, **{
    "epochs": 12, "label_smoothing": 0.1 if name.endswith("ls") else 0.0, **overrides})
t0 = time.time()
data = with_styled_digits(load_mnist("data"), recipe.styled_digits, seed=seed)
print(name, "data", round(time.time() - t0), "s", flush=True)
with torch.random.fork_rng(devices=[]):
    torch.manual_seed(seed)
    model = build()
dev = pick_device()
extra = dict(extra_images=data.val_images, extra_labels=data.val_labels) if name.endswith("full") else {}
r = fit(model, recipe, data, seed=seed, device=dev, time_budget_s=budget, **extra,
        on_progress=lambda p: p.val_accuracy is not None and print(name, f"ep {p.epoch:.0f} val {p.val_accuracy:.4f} {p.elapsed_s:.0f}s", flush=True))
test = accuracy(model, data.test_images, data.test_labels, device=dev)
out = os.environ.get("OUT", "runs")
meta = weights_metadata("convnet-bn", "convnet-bn", model, recipe, seed, r, test)
meta["variant"] = name
save_weights(model.cpu(), f"{out}/{name}.safetensors", meta)
res = dict(name=name, val=r.val_accuracy, test=test, epochs=r.epochs, s=r.elapsed_s, early=r.stopped_early)
print("RESULT", json.dumps(res), flush=True)

