"""The shared training loop and the two command lines."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mnist_core import evaluate
from mnist_core.data import MnistData, augment, load_mnist, to_float
from mnist_core.evaluate import predict_logits
from mnist_core.models import SPECS, build_model
from mnist_core.registry import load_model
from mnist_core.train import Progress, fit, param_groups, reported
from mnist_core.weights import read_metadata

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small_data() -> MnistData:
    """3,000 training digits and 1,000 validation digits: enough to see learning."""
    data = load_mnist(validation_size=1000)
    data.train_images, data.train_labels = data.train_images[:3000], data.train_labels[:3000]
    return data


QUICK = dataclasses.replace(SPECS["lenet5"].recipe, epochs=3, batch_size=32)  # ~280 steps


def test_training_lowers_loss_and_reports_progress(small_data: MnistData) -> None:
    reports: list[Progress] = []
    model = build_model("lenet5")
    result = fit(model, QUICK, small_data, seed=1, on_progress=reports.append, report_every=50)
    assert result.steps == 3 * 94 and not result.stopped_early
    assert reports[-1].loss < 0.5 * reports[0].loss
    assert [r.epoch for r in reports if r.val_accuracy is not None] == [1, 2, 3]
    assert result.val_accuracy > 0.85
    assert all(0 <= r.train_accuracy <= 1 for r in reports)
    assert not model.training
    # The pace is measured from the end of the first step (retrain.eta_s), which every report carries.
    first_step_s = reports[0].first_step_s
    assert reports[0].step == 1 and first_step_s is not None and first_step_s <= reports[0].elapsed_s
    assert all(r.first_step_s == first_step_s < r.elapsed_s for r in reports[1:])


def test_the_curves_have_a_line_from_the_second_step(small_data: MnistData) -> None:
    """Reports at steps 1, 2, 4, 8... until report_every: a lone first point draws nothing, and a
    long run reports every 300 steps (Gradio's LinePlot draws lines, no point marks)."""
    reports: list[Progress] = []
    fit(build_model("lenet5"), QUICK, small_data, on_progress=reports.append, report_every=50)
    points = [r.step for r in reports if r.stage != "validating"]
    assert points == [1, 2, 4, 8, 16, 32, 50, 94, 100, 150, 188, 200, 250, 282]  # 94 steps an epoch
    assert [reported(step, 300) for step in (1, 2, 3, 4, 256, 257, 299, 300, 512, 600)] == \
        [True, True, False, True, True, False, False, True, False, True]


def test_training_is_deterministic_for_a_seed(small_data: MnistData) -> None:
    recipe = dataclasses.replace(QUICK, epochs=1, augment=True)
    a, b, c = (build_model("lenet5", seed=0) for _ in range(3))
    fit(a, recipe, small_data, seed=7)
    fit(b, recipe, small_data, seed=7)
    fit(c, recipe, small_data, seed=8)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_a_bfloat16_recipe_trains_in_float32_where_bfloat16_is_not_native(
        small_data: MnistData, monkeypatch: pytest.MonkeyPatch) -> None:
    """Emulated bfloat16 is slower than float32: there the recipe's wish is ignored, exactly."""
    monkeypatch.setattr(evaluate, "bfloat16_native", lambda device: False)
    recipe = dataclasses.replace(QUICK, epochs=1, augment=True)
    a, b = build_model("convnet-bn", seed=0), build_model("convnet-bn", seed=0)
    small = dataclasses.replace(small_data, train_images=small_data.train_images[:320],
                                train_labels=small_data.train_labels[:320])
    fit(a, recipe, small, seed=3)
    fit(b, dataclasses.replace(recipe, bfloat16=True), small, seed=3)
    assert same_weights(a, b)


@pytest.mark.skipif(not evaluate.bfloat16_native(torch.device("cpu")), reason="this CPU has no native bfloat16")
def test_a_bfloat16_recipe_trains_in_bfloat16_and_learns_as_well(small_data: MnistData) -> None:
    """The default network fine-tuned in bfloat16 (the short retrain's precision on such a CPU): its
    weights stay float32, it moves otherwise than in float32, and it reads its validation digits
    about as well."""
    recipe = dataclasses.replace(SPECS["convnet-bn"].recipe, epochs=1, lr=1e-3)
    as_float32, as_bfloat16 = load_model("convnet-bn"), load_model("convnet-bn")
    float32_run = fit(as_float32, recipe, small_data, seed=3)
    bfloat16_run = fit(as_bfloat16, dataclasses.replace(recipe, bfloat16=True), small_data, seed=3)
    assert all(w.dtype == torch.float32 for w in as_bfloat16.state_dict().values() if w.is_floating_point())
    assert not same_weights(as_float32, as_bfloat16)
    assert abs(bfloat16_run.val_accuracy - float32_run.val_accuracy) <= 0.005  # 5 of 1,000
    assert bfloat16_run.val_accuracy > 0.98


def test_reading_in_bfloat16_gives_the_same_answers_nearly_always() -> None:
    """predict_logits(bfloat16=True): where bfloat16 is native, the default network's answers to
    2,000 MNIST test digits differ from float32's on at most 0.2% (2 of 10,000 when measured); where
    it is not, the reading is float32's, exactly."""
    model, images = load_model("convnet-bn"), load_mnist().test_images[:2000]
    float32 = predict_logits(model, images)
    bfloat16 = predict_logits(model, images, bfloat16=True)
    if evaluate.bfloat16_native(torch.device("cpu")):
        assert not torch.equal(float32, bfloat16) and bfloat16.dtype == torch.float32
        assert (float32.argmax(1) != bfloat16.argmax(1)).sum() <= 4
        assert (float32 - bfloat16).abs().max() < 0.5
    else:
        assert torch.equal(float32, bfloat16)


def test_cancel_stops_within_a_step(small_data: MnistData) -> None:
    steps = 0

    def should_stop() -> bool:
        nonlocal steps
        steps += 1
        return steps >= 10

    result = fit(build_model("lenet5"), QUICK, small_data, should_stop=should_stop)
    assert result.stopped_early and result.steps == 10
    # Not validated: its caller validates it if it keeps it (Cancel is answered at once).
    assert result.val_accuracy is None and result.val_logits is None
    assert all(r.val_accuracy is None for r in result.history)
    trained = [(r.step, r.loss > 0, r.train_accuracy > 0) for r in result.history]
    assert trained == [(1, True, True), (2, True, True), (4, True, True), (8, True, True), (10, True, True)]
    [only] = fit(build_model("lenet5"), QUICK, small_data, should_stop=lambda: True).history
    assert only.step == 1 and only.loss > 0, "stopped right after a report: no second point"


def test_each_validation_is_announced_and_the_last_report_says_the_run_is_trained(small_data: MnistData) -> None:
    """So that a page can say "validating…" during a pass over the validation digits (half a minute
    for the default network), and "trained" once training is over, at its last step or time limit."""
    told: list[Progress] = []
    result = fit(build_model("lenet5"), dataclasses.replace(QUICK, epochs=2), small_data, on_progress=told.append)
    notices = [i for i, p in enumerate(told) if p.stage == "validating"]
    assert len(notices) == 2 and all(told[i].val_accuracy is None and told[i + 1].val_accuracy is not None
                                     and told[i + 1].step == told[i].step for i in notices)
    assert [p.stage for p in result.history] == ["training"] * (len(result.history) - 1) + ["trained"]
    assert [p for p in told if p.stage != "validating"] == result.history  # notices are not points of the curves
    timed_out = fit(build_model("lenet5"), QUICK, small_data, time_budget_s=0.0).history
    assert [p.stage for p in timed_out] == ["training", "trained"]


def test_a_run_stopped_right_after_a_report_repeats_that_point(small_data: MnistData) -> None:
    """Out of time at step 1: the last report, validated, has no step of its own, and must not
    read as a loss of 0."""
    result = fit(build_model("lenet5"), QUICK, small_data, time_budget_s=0.0)
    first, last = result.history
    assert first.step == last.step == 1 and first.val_accuracy is None and last.val_accuracy is not None
    assert result.val_accuracy == last.val_accuracy
    assert last.loss == first.loss > 0 and last.train_accuracy == first.train_accuracy


def test_time_budget(small_data: MnistData) -> None:
    result = fit(build_model("lenet5"), dataclasses.replace(QUICK, epochs=50), small_data, time_budget_s=1.0)
    assert result.stopped_early and result.epochs < 50


def test_extra_samples_are_mixed_in(small_data: MnistData) -> None:
    extra = small_data.val_images[:5]
    result = fit(build_model("mlp-3x64"), dataclasses.replace(QUICK, epochs=1, batch_size=100), small_data,
                 extra_images=extra, extra_labels=small_data.val_labels[:5], extra_weight=20)
    assert result.steps == 31  # (3000 + 5 * 20) / 100


def test_each_block_of_a_fine_tune_learns_at_its_own_rate(small_data: MnistData) -> None:
    recipe = dataclasses.replace(SPECS["convnet-bn"].recipe, epochs=1, batch_size=100, augment=False,
                                 block_lr_scales=(0.0, 0.3, 1.0))
    model = build_model("convnet-bn", seed=0)
    groups = param_groups(model, recipe)
    assert [g["lr"] for g in groups] == [0.0, 0.3 * recipe.lr, recipe.lr]
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    first, second, last = ([p.detach().clone() for p in block.parameters()] for block in model.blocks())

    fit(model, recipe, dataclasses.replace(small_data, train_images=small_data.train_images[:1000],
                                           train_labels=small_data.train_labels[:1000]))  # 10 steps

    moved = [[not torch.equal(a, b) for a, b in zip(before, block.parameters())]
             for before, block in zip((first, second, last), model.blocks())]
    assert not any(moved[0]), "a block at rate 0 stays as it was"
    assert all(moved[1]) and all(moved[2])


def test_block_learning_rates_need_a_network_with_that_many_blocks() -> None:
    with pytest.raises(ValueError, match="LeNet5 has 0 blocks, not the 3"):
        param_groups(build_model("lenet5"), dataclasses.replace(QUICK, block_lr_scales=(0.1, 0.3, 1.0)))
    with pytest.raises(ValueError, match="ConvNetBN has 3 blocks, not the 2"):
        param_groups(build_model("convnet-bn"), dataclasses.replace(QUICK, block_lr_scales=(0.1, 1.0)))


def test_augment_keeps_digits_recognisable() -> None:
    """Augmented digits differ from the originals, yet a network trained without
    augmentation (LeNet-5's shipped weights) still reads nearly all of them."""
    data = load_mnist(validation_size=1000)
    x, labels = to_float(data.val_images[:500]), data.val_labels[:500]
    out = augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert (out - x).abs().mean() > 0.05
    model = load_model("lenet5")
    with torch.inference_mode():
        assert (model(x).argmax(1) == labels).float().mean() > 0.97
        assert (model(out).argmax(1) == labels).float().mean() > 0.85


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_train_cli_help() -> None:
    out = run_cli("mnist_core.train", "--help")
    assert out.returncode == 0
    for flag in ("--model", "--epochs", "--out", "--data-root", "--seed"):
        assert flag in out.stdout


def test_train_cli_tiny_run(tmp_path: Path) -> None:
    out_file = tmp_path / "tiny.safetensors"
    out = run_cli("mnist_core.train", "--model", "mlp-3x64", "--epochs", "1", "--train-size", "600",
                  "--seed", "3", "--styled-pen", "0.05", "0.2", "--styled-digits", "30", "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    assert "mlp-3x64: 1.00 epochs" in out.stdout and "test 0." in out.stdout
    meta = read_metadata(out_file)
    assert meta["id"] == "mlp-3x64" and meta["seed"] == 3 and meta["recipe"]["batch_size"] == 15
    assert meta["recipe"]["styled_pen"] == [0.05, 0.2]  # recorded, so the file says how it was made
    assert meta["recipe"]["styled_digits"] == 30
    assert meta["recipe"]["bfloat16"] is False and "(float32)" in out.stdout


def test_train_cli_can_train_in_bfloat16_and_the_file_says_so(tmp_path: Path) -> None:
    out_file = tmp_path / "tiny.safetensors"
    out = run_cli("mnist_core.train", "--model", "lenet5", "--epochs", "1", "--train-size", "600", "--styled-digits", "0",
                  "--bfloat16", "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    native = evaluate.bfloat16_native(torch.device("cpu"))
    assert ("(bfloat16)" if native else "(float32)") in out.stdout  # where it is not native: float32, said so
    assert read_metadata(out_file)["recipe"]["bfloat16"] is native  # the file says how it was made


def test_train_cli_offline_error_names_folder_and_variable(tmp_path: Path) -> None:
    # An empty folder: torchvision tries to download; either way (offline here, or a
    # download that succeeds elsewhere) the CLI must not crash with a traceback.
    out = run_cli("mnist_core.train", "--model", "lenet5", "--epochs", "1", "--data-root", str(tmp_path / "nowhere"),
                  "--train-size", "100", "--out", str(tmp_path / "x.safetensors"))
    if out.returncode != 0:
        assert "MNIST_ROOT" in out.stderr and "nowhere" in out.stderr
        assert "Traceback" not in out.stderr


def test_evaluate_cli_json() -> None:
    import json

    out = run_cli("mnist_core.evaluate", "--model", "lenet5", "--json")
    assert out.returncode == 0, out.stderr
    [result] = json.loads(out.stdout)
    assert result["id"] == "lenet5" and result["parameters"] == 44_426
    assert result["test_accuracy"] > 0.98 and result["forward_ms"] > 0
