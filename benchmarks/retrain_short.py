"""The Retrain tab's default "short retrain": how long it takes, how accurate it gets, and
how fast the Draw tab still answers while it runs.

    MNIST_ROOT=../shared/data python benchmarks/retrain_short.py [--architecture ID] [--preset short|tutorial]
                                                                  [--epochs N] [--lr LR] [--train-size N] [--start S]
                                                                  [--runs N] [--cancel] [--precision P]

It runs the preset exactly as the app does (mnist_core.retrain: one training thread, in
the background, in a fresh process so MNIST is loaded as on a server's first run), while
the main thread keeps predicting one drawing after another as the Draw tab does
(decode a PNG, mnist_core.to_mnist, forward through the app's default network). The
target: >= 99.0% MNIST test accuracy within 60 s on 2 CPU cores. Nothing is saved: the
user data folder is a fresh temporary one, so no user drawings are mixed in. With --runs 2,
the same run again in the same process: what a server's later runs take (MNIST is then in
memory). What runs compare with (the shipped network's answers) and the fine-tune's pen-drawn
digits are kept on disk by any run before (mnist_core.data.kept_beside_mnist): delete
<MNIST_ROOT>/MNIST/*.npy to time a first run ever. --cancel presses Cancel at the run's first
report (its starting network validated), prints how long the result took to come after it, then
how long Keep then takes (the check before keeping and the MNIST test, skipped at Cancel).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["SKETCHLAB_DATA_DIR"] = tempfile.mkdtemp(prefix="sketchlab-bench-")

import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

import mnist_core  # noqa: E402
from mnist_core import retrain as rt  # noqa: E402

TARGET_ACCURACY = 0.99
TARGET_SECONDS = 60.0


def drawing() -> bytes:
    """A "7" as the canvas sends it: a PNG, dark ink on white."""
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).line([(60, 60), (220, 60), (120, 240)], fill=0, width=18, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def predict_once(model: torch.nn.Module, png: bytes) -> float:
    """Seconds for one Draw-tab prediction: decode + preprocess + forward."""
    start = time.perf_counter()
    x = mnist_core.to_mnist(png)
    with torch.inference_mode():
        model(x[None]).softmax(1)
    return time.perf_counter() - start


def latency(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    return f"p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms ({len(ms)} predictions)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--architecture", default=rt.DEFAULT_ARCHITECTURE, choices=list(mnist_core.SPECS))
    parser.add_argument("--preset", default="short", choices=["short", "tutorial"])
    parser.add_argument("--seed", type=int, default=0)
    for name, kind in [("epochs", int), ("lr", float), ("train-size", int), ("start", str)]:
        parser.add_argument(f"--{name}", type=kind, help="instead of the preset's")
    parser.add_argument("--runs", type=int, default=1, help="the same run again, in the same process")
    parser.add_argument("--cancel", action="store_true", help="cancel at the first report; time the answer")
    parser.add_argument("--precision", choices=("float32", "bfloat16"),
                        help="instead of the preset's (bfloat16 only where the CPU computes it natively)")
    args = parser.parse_args()

    torch.set_num_threads(1)  # as app.py: one core answers, the other trains
    overrides = {k: v for k, v in vars(args).items() if k in ("epochs", "lr", "train_size", "start") and v is not None}
    settings = rt.preset(args.architecture, args.preset)
    # remember, styled_share, bfloat16...: the preset's own, not settings a user gives: make_settings adds them
    given = {k: v for k, v in vars(settings).items() if k in inspect.signature(rt.make_settings).parameters}
    settings = rt.make_settings(**{**given, **overrides, "seed": args.seed, "use_user_samples": False})
    if args.precision:
        settings = dataclasses.replace(settings, bfloat16=args.precision == "bfloat16")
    print(f"{args.preset} preset: {settings}")
    predictor = mnist_core.load_model(mnist_core.DEFAULT_MODEL if mnist_core.DEFAULT_MODEL in mnist_core.list_models()
                                      else mnist_core.list_models()[0])
    png = drawing()
    idle = [predict_once(predictor, png) for _ in range(200)]
    for number in range(1, args.runs + 1):
        if args.runs > 1:
            print(f"run {number} of {args.runs}:")
        one_run(args, settings, predictor, png, idle)


def one_run(args: argparse.Namespace, settings: rt.RetrainSettings, predictor: torch.nn.Module, png: bytes,
            idle: list[float]) -> None:
    done = threading.Event()
    during: list[float] = []
    run: rt.Run | None = None
    cancelled_at: float | None = None

    def train() -> None:
        nonlocal run, cancelled_at
        try:
            for update in rt.retrain(settings, owner="benchmark"):
                if isinstance(update, rt.Run):
                    run = update
                elif args.cancel and cancelled_at is None:
                    rt.cancel("benchmark")
                    cancelled_at = time.perf_counter()
        finally:
            done.set()

    start = time.perf_counter()
    threading.Thread(target=train).start()
    while not done.is_set():
        during.append(predict_once(predictor, png))
        time.sleep(0.01)  # a user drawing: about 10 predictions a second at most, plus the work itself
    seconds = time.perf_counter() - start
    assert run is not None, "the run failed"
    if cancelled_at is not None:
        print(f"{args.architecture}: cancelled at its first report ({cancelled_at - start:.1f} s after Start); its "
              f"result came {start + seconds - cancelled_at:.1f} s after Cancel (training {run.fit.elapsed_s:.1f} s, "
              f"{run.fit.steps} step(s))")
        print(f"  Draw-tab prediction while it ran: {latency(during)}")
        kept_at = time.perf_counter()
        rt.read_mnist_test(run)  # what Keep then does before saving it: the check, and MNIST test
        print(f"  Keep: checked and tested in {time.perf_counter() - kept_at:.1f} s (validation "
              f"{run.fit.val_accuracy:.2%}, test {run.test_accuracy:.2%}, "
              f"{len(run.worse_digits)} digit(s) worse)")
        return

    print(f"{args.architecture}, {args.preset} retrain ({settings.start} weights, {settings.epochs} epoch(s), "
          f"{settings.train_size or 55_000} MNIST digits, {settings.optimizer} lr {settings.lr:g}, "
          f"batch {settings.batch_size}, augment {settings.augment}, "
          f"{'bfloat16' if settings.recipe().bfloat16 and rt.bfloat16_native(torch.device('cpu')) else 'float32'}):")
    print(f"  MNIST test accuracy {run.test_accuracy:.2%}, validation {run.fit.val_accuracy:.2%}")
    print(f"  {seconds:.1f} s from start to result (training {run.fit.elapsed_s:.1f} s, "
          f"{run.fit.epochs:.2f} epochs{', stopped at its time limit' if run.out_of_time else ''})")
    print(f"  Draw-tab prediction while idle:     {latency(idle)}")
    print(f"  Draw-tab prediction while training: {latency(during)}")
    met = run.test_accuracy >= TARGET_ACCURACY and seconds <= TARGET_SECONDS
    print(f"  target (>= {TARGET_ACCURACY:.1%} in <= {TARGET_SECONDS:.0f} s on {os.cpu_count()} cores): "
          f"{'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
