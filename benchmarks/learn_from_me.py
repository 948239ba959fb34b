"""Learn from me without forgetting the rest: a person keeps 20 corrections of one confusable
style, presses Start (the default short retrain), and we measure what it learnt and what it cost.

    MNIST_ROOT=../shared/data python benchmarks/learn_from_me.py [--style 1:7] [--corrections 20] [--seed 0] [--split test]
        [--blend 1]

The style (by default; --style 4:9 takes the 4s written open at the top in one stroke, read as
9, instead): UCI pen digits' 1s written with a long lead-in stroke, which the shipped default
network reads as 7 (see benchmarks/real_style.py; real handwriting by 44 writers, CC BY 4.0,
never trained on by the shipped networks). The corrections are 1s of that style from the first
half of the set's rows, drawn as the app's canvas sends them and kept through
mnist_core.user_samples, exactly as "Wrong answer? It was a…" keeps them. Held out: the same
style in the second half (other drawings, never a correction; the set's copy does not say which
writer wrote which row, so some writers will be on both sides: a person teaching their own 1s).
The seed picks the 20 corrections, how each drawing lands on the canvas, and the corrections'
ids, and so which of them the retrain keeps out of training (one in five, by id: see
user_samples.is_held_out), so that a run is the same each time.

--split test (the default, the report) holds out the second half as above. --split val, for
tuning (USER_SHARE, REPLAY, REMEMBER and the short preset in mnist_core/retrain.py, or the
--user-share/--replay/--remember/--lr/--epochs/--optimizer/--block-lr/--styled-share/--precision/--label-smoothing overrides
here), holds out the first half's rows that were not kept as corrections instead: the style's
other 1s there, and the first half's other 1s and its 7s. The corrections are the same either
way, so tuning on val never looks at the second half, and the test split stays a fair report of
the chosen settings.

Prints, before (the shipped network) and after (the retrained one): the held-out style's
accuracy, every held-out pen-digit 1 and 7, the confused digit (7 for the 1s) in the styles MNIST lacks
(mnist_core.styles, at a seed no training uses), each digit of MNIST validation and of the same
digits drawn as pen strokes (the check the Retrain tab makes before keeping; the pen 7s the
issue saw fall), and MNIST test. MNIST test is the same set whatever --split says: choose settings on MNIST
validation, not on it. --blend A reports the retrained weights blended back towards the shipped
ones (A * retrained + (1 - A) * shipped), checked again as the tab checks a run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
import types
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["SKETCHLAB_DATA_DIR"] = tempfile.mkdtemp(prefix="sketchlab-learn-")  # corrections go here only

import numpy as np  # noqa: E402
import torch  # noqa: E402

import mnist_core  # noqa: E402
from mnist_core import retrain as rt  # noqa: E402
from mnist_core import styles  # noqa: E402
from mnist_core import user_samples as us  # noqa: E402
from real_style import on_canvas, pen_digits, seen  # noqa: E402

STYLED_SEED = 2_718_281  # styles.draw_styled seed that no training uses
STYLED_PER_DIGIT = 300


def style(text: str) -> tuple[int, int]:
    """"4:9" -> (4, 9): a digit and the digit the shipped network mistakes it for."""
    digit, read_as = (int(part) for part in text.split(":"))
    if not (0 <= digit <= 9 and 0 <= read_as <= 9 and digit != read_as):
        raise ValueError(text)
    return digit, read_as


def styled_digits(digit: int) -> torch.Tensor:
    """STYLED_PER_DIGIT of `digit` in the styles MNIST lacks (e.g. 7s with a crossbar or a hook),
    drawn on the canvas, as the networks see them. Never trained on."""
    rng = np.random.default_rng(STYLED_SEED + digit)
    return seen([styles.draw_styled(digit, rng) for _ in range(STYLED_PER_DIGIT)])


@torch.inference_mode()
def answers(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The digit `model` reads in each image [N, 1, 28, 28], a batch of 500 at a time (all 10,992 pen
    digits at once, read three ways, held about 15 GB of feature maps)."""
    model.eval()
    return torch.cat([model(images[i:i + 500]).argmax(1) for i in range(0, len(images), 500)])


def blended(run: rt.Run, shipped: torch.nn.Module, a: float) -> rt.Run:
    """The run with its weights blended back towards the shipped network's, a * retrained + (1 - a) *
    shipped (Wortsman et al. 2022, WiSE-FT), checked and tested again as the Retrain tab checks a run."""
    base = shipped.state_dict()
    run.model.load_state_dict({name: (a * w.float() + (1 - a) * base[name].float()).to(w.dtype)
                               if w.is_floating_point() else w for name, w in run.model.state_dict().items()})
    run.fit.val_logits, run.checked, run.test_accuracy = None, False, None
    return rt.read_mnist_test(rt.check(run))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corrections", type=int, default=20)
    parser.add_argument("--style", type=style, default=(1, 7), metavar="DIGIT:READ_AS",
                        help="the confusable style: pen digits of DIGIT the shipped network reads as READ_AS "
                             "(default 1:7, the 1s with a long lead-in; 4:9 is the 4s written open in one stroke)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--user-share", type=float, help=f"share of an epoch the corrections make (default {rt.USER_SHARE})")
    parser.add_argument("--remember", type=float, help="distillation weight towards the shipped network (default: the preset's)")
    parser.add_argument("--replay", type=float, help=f"MNIST digits of the confused class per correction (default {rt.REPLAY})")
    parser.add_argument("--lr", type=float, help="the peak learning rate (default: the preset's)")
    parser.add_argument("--epochs", type=int, help="epochs (default: the preset's)")
    parser.add_argument("--optimizer", choices=rt.OPTIMIZERS, help="the optimizer (default: the preset's)")
    parser.add_argument("--block-lr", type=lambda text: tuple(float(x) for x in text.split(",")), metavar="A,B,C",
                        help="each block's share of the peak learning rate, from the input up (Recipe.block_lr_scales; "
                             "e.g. 0.1,0.3,1; default: the preset's, one rate for all)")
    parser.add_argument("--styled-share", type=float,
                        help="styled digits mixed into the short retrain per MNIST digit (default: the preset's)")
    parser.add_argument("--precision", choices=("float32", "bfloat16"),
                        help="train and read the run in this precision (bfloat16 only where the CPU computes it "
                             "natively; default: the preset's)")
    parser.add_argument("--label-smoothing", type=float,
                        help="the fine-tune's label smoothing (default: the preset's)")
    parser.add_argument("--blend", type=float, default=1.0, metavar="A",
                        help="report the retrained weights blended back towards the shipped ones, "
                             "A * retrained + (1 - A) * shipped (WiSE-FT; default 1, the retrained network as it is)")
    parser.add_argument("--split", choices=("val", "test"), default="test",
                        help="held out: the first half's rows that are not corrections (val, for tuning) "
                             "or the second half (test, the report; default)")
    args = parser.parse_args()
    if args.user_share is not None:
        rt.USER_SHARE = args.user_share
    if args.replay is not None:
        rt.REPLAY = args.replay
    torch.set_num_threads(2)

    rng = np.random.default_rng(args.seed)
    points, labels = pen_digits()
    drawings = [on_canvas(p, rng) for p in points]  # as the canvas sends them
    x = seen(drawings)
    shipped = mnist_core.load_model(mnist_core.DEFAULT_MODEL)
    before = answers(shipped, x)
    rows = np.arange(len(labels))
    digit, read_as = args.style
    confused = (labels == digit) & (before.numpy() == read_as)  # the style: e.g. a 1 read as 7
    half = len(rows) // 2
    person = rows[confused & (rows < half)]
    person = rng.choice(person, size=min(args.corrections, len(person)), replace=False)
    ids = random.Random(args.seed)  # the corrections' ids, random in the app, seeded here
    us.uuid = types.SimpleNamespace(uuid4=lambda: uuid.UUID(int=ids.getrandbits(128), version=4))
    for i in person:
        us.save_user_sample(drawings[i], digit)
    if args.split == "test":
        others = rows >= half
    else:  # the first half, less the corrections
        others = rows < half
        others[person] = False
    held_style = torch.from_numpy(rows[confused & others])
    held_digit = torch.from_numpy(rows[(labels == digit) & others])
    held_read_as = torch.from_numpy(rows[(labels == read_as) & others])
    where = "second half" if args.split == "test" else "first half, not corrections"
    print(f"{len(person)} corrections (pen-digit {digit}s read as {read_as}, first half); held out ({where}, "
          f"split {args.split}): {len(held_style)} {digit}s of that style, {len(held_digit)} {digit}s and "
          f"{len(held_read_as)} {read_as}s")

    settings = rt.preset(rt.DEFAULT_ARCHITECTURE)
    if args.remember is not None:
        settings = dataclasses.replace(settings, remember=args.remember)
    if args.lr is not None:
        settings = dataclasses.replace(settings, lr=args.lr)
    if args.epochs is not None:
        settings = dataclasses.replace(settings, epochs=args.epochs)
    if args.optimizer is not None:
        settings = dataclasses.replace(settings, optimizer=args.optimizer)
    if args.block_lr is not None:
        settings = dataclasses.replace(settings, block_lr_scales=args.block_lr)
    if args.styled_share is not None:
        settings = dataclasses.replace(settings, styled_share=args.styled_share)
    if args.label_smoothing is not None:
        settings = dataclasses.replace(settings, label_smoothing=args.label_smoothing)
    if args.precision is not None:
        settings = dataclasses.replace(settings, bfloat16=args.precision == "bfloat16")
    in_bfloat16 = settings.recipe().bfloat16 and rt.bfloat16_native(torch.device("cpu"))  # else float32
    run = [u for u in rt.retrain(settings) if isinstance(u, rt.Run)][-1]
    if args.blend != 1:
        run = blended(run, shipped, args.blend)
    after = answers(run.model, x)
    data = rt.mnist()
    styled = styled_digits(read_as)
    test_before = (answers(shipped, mnist_core.data.to_float(data.test_images)) == data.test_labels).float().mean()

    def share(predicted: torch.Tensor, index: torch.Tensor, digit: int) -> str:
        return f"{(predicted[index] == digit).float().mean().item():.1%}"

    print(f"short retrain of {settings.architecture}: {run.fit.epochs:.2f} epochs in {run.seconds:.0f} s "
          f"(training {run.fit.elapsed_s:.0f} s), {run.user.trained} corrections trained on "
          f"({run.user.held_out} kept out), each counted {run.user.weight}x, "
          f"{settings.recipe().styled_digits} styled digits, remember {settings.remember}, replay {rt.REPLAY}, "
          f"user share {rt.USER_SHARE}, {settings.optimizer} lr {settings.lr:g}, "
          f"label smoothing {settings.recipe().label_smoothing:g}, "
          f"{'bfloat16' if in_bfloat16 else 'float32'}"
          + (f" (blocks x{', x'.join(f'{x:g}' for x in settings.block_lr_scales)})" if settings.block_lr_scales else "")
          + (f", blended back: {args.blend:g} x retrained + {1 - args.blend:g} x shipped" if args.blend != 1 else ""))
    print("| | before | after |\n| --- | ---: | ---: |")
    print(f"| held-out {digit}s of the style (read as {digit}) | {share(before, held_style, digit)} | "
          f"{share(after, held_style, digit)} |")
    print(f"| all held-out pen-digit {digit}s | {share(before, held_digit, digit)} | {share(after, held_digit, digit)} |")
    print(f"| held-out pen-digit {read_as}s | {share(before, held_read_as, read_as)} | "
          f"{share(after, held_read_as, read_as)} |")
    change = run.per_digit[read_as]
    print(f"| MNIST validation {read_as}s ({int((data.val_labels == read_as).sum())}) | {change.before:.1%} | "
          f"{change.after:.1%} |")
    print(f"| the same drawn as pen strokes (the check's) | {change.drawn_before:.1%} | {change.drawn_after:.1%} |")
    every = torch.arange(len(styled))
    print(f"| {read_as}s in the styles MNIST lacks ({len(styled)}) | {share(answers(shipped, styled), every, read_as)} | "
          f"{share(answers(run.model, styled), every, read_as)} |")
    print(f"| MNIST test (the run's reading) | {test_before:.2%} | {run.test_accuracy:.2%} |")
    if in_bfloat16:  # the Draw tab reads in float32
        test_after = (answers(run.model, mnist_core.data.to_float(data.test_images)) == data.test_labels).float().mean()
        print(f"| MNIST test read in float32, as the Draw tab reads | {test_before:.2%} | {test_after:.2%} |")
    print("\nEach digit, MNIST validation and the same drawn as pen strokes (the Retrain tab's check before keeping):")
    print("| digit | " + " | ".join(str(c.digit) for c in run.per_digit) + " |")
    print("| --- |" + " ---: |" * 10)
    print("| before | " + " | ".join(f"{c.before:.1%}" for c in run.per_digit) + " |")
    print("| after | " + " | ".join(f"{c.after:.1%}" for c in run.per_digit) + " |")
    print("| drawn, before | " + " | ".join(f"{c.drawn_before:.1%}" for c in run.per_digit) + " |")
    print("| drawn, after | " + " | ".join(f"{c.drawn_after:.1%}" for c in run.per_digit) + " |")
    mnist_worse = ", ".join(str(c.digit) for c in run.worse_digits if c.worse_on_mnist) or "none"
    drawn_worse = ", ".join(str(c.digit) for c in run.worse_digits if c.worse_drawn) or "none"
    print(f"digits more than {rt.WORSE_BY:.0%} worse (the tab would ask before keeping): MNIST validation "
          f"{mnist_worse}; drawn as pen strokes {drawn_worse}")


if __name__ == "__main__":
    main()
