"""Retraining (mnist_core.retrain) and the /retrain endpoint, against a real server.

The server (python app.py) runs on a free loopback port with its own temporary user data
folder (SKETCHLAB_DATA_DIR). Runs are tiny (a few hundred MNIST digits), so the file
takes a minute or two on 2 cores; nothing here depends on how fast anything is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from gradio_client import Client, handle_file
from PIL import Image, ImageDraw

import mnist_core
from mnist_core import retrain as rt
from mnist_core import user_samples as us
from mnist_core.data import to_float
from mnist_core.evaluate import predict_logits, words_hold
from mnist_core.models import SPECS, one_view
from mnist_core.train import Progress
from mnist_core.weights import WEIGHTS_DIR, read_metadata, save_weights
from conftest import open_page, serve_app

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(architecture="lenet5", epochs=1, train_size=400)  # a few seconds of training
WAIT_S = 300  # generous bound on a state a test waits for, so a hang fails instead of blocking


def digit_png(path: Path, digit: str = "1") -> Path:
    """A digit as a photo or the canvas has it: dark ink on white."""
    image = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(image)
    if digit == "1":
        pen.line([(140, 40), (140, 240)], fill=0, width=22)
    elif digit == "7":
        pen.line([(60, 60), (220, 60), (120, 240)], fill=0, width=20, joint="curve")
    elif digit == "0":
        pen.ellipse([80, 40, 200, 240], outline=0, width=22)
    image.save(path)
    return path


def shipped_hashes() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(WEIGHTS_DIR.glob("*"))}


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user data folder for this process (retrained models, user drawings)."""
    monkeypatch.setenv("SKETCHLAB_DATA_DIR", str(tmp_path / "user_data"))
    return tmp_path / "user_data"


def run_to_end(settings: rt.RetrainSettings, **kwargs) -> rt.Run:
    updates = list(rt.retrain(settings, **kwargs))
    assert isinstance(updates[-1], rt.Run) and not any(isinstance(u, rt.Run) for u in updates[:-1])
    return updates[-1]


# --- Settings --------------------------------------------------------------------


@pytest.mark.parametrize(("given", "message"), [
    (dict(architecture="no-such-net", epochs=1), "Unknown network 'no-such-net'. Choose one of: "),
    (dict(architecture="../weights/lenet5", epochs=1), "Unknown network '../weights/lenet5'"),
    (dict(architecture="lenet5", epochs=0), "Epochs must be a whole number from 1 to 30, not 0."),
    (dict(architecture="lenet5", epochs=10_000), "Epochs must be a whole number from 1 to 30"),
    (dict(architecture="lenet5", epochs=1.5), "Epochs must be a whole number"),
    (dict(architecture="lenet5", epochs=1, lr=-1), "The learning rate must be a number above 0"),
    (dict(architecture="lenet5", epochs=1, lr=float("nan")), "The learning rate must be a number"),
    (dict(architecture="lenet5", epochs=1, batch_size=0), "The batch size must be a whole number from 1 to 1024"),
    (dict(architecture="lenet5", epochs=1, optimizer="rmsprop"), "The optimizer must be one of sgd, adam, adamw"),
    (dict(architecture="lenet5", epochs=1, start="elsewhere"), "Start must be one of shipped, scratch"),
    (dict(architecture="lenet5", epochs=1, train_size=10**9), "The number of training digits must be"),
    (dict(architecture="lenet5", epochs=1, time_budget_s=10**6), "The time limit (seconds) must be"),
])
def test_out_of_range_settings_are_refused_with_a_clear_message(given: dict, message: str) -> None:
    with pytest.raises(rt.RetrainError) as refused:
        rt.make_settings(**given)
    assert str(refused.value).startswith(message)


def test_missing_settings_take_the_short_preset() -> None:
    settings = rt.make_settings("lenet5", 2)

    assert settings.epochs == 2
    assert settings == rt.RetrainSettings(**{**vars(rt.preset("lenet5")), "epochs": 2})
    assert rt.make_settings(rt.DEFAULT_ARCHITECTURE).epochs == rt.preset(rt.DEFAULT_ARCHITECTURE).epochs
    assert rt.make_settings("convnet-bn", 1).train_size == rt.SHORT_PRESETS["convnet-bn"]["train_size"]
    assert rt.make_settings("convnet-bn", 1, train_size=0).train_size is None  # 0: all 55,000


def test_the_short_retrain_mixes_in_styled_digits_at_its_presets_share() -> None:
    """The default network's short preset draws styled digits at the share of its recipe before
    aa1f92d (12,000 of 55,000; chosen with learn_from_me.py), whatever the number of MNIST digits;
    a run from scratch (the tab's "tutorial" preset) at its recipe's, as its recipe trains it."""
    short = rt.make_settings("convnet-bn")
    recipe = SPECS["convnet-bn"].recipe

    assert short.start == "shipped" and short.train_size == 6_000
    assert short.recipe().styled_digits == round(12_000 * short.train_size / 55_000) == 1_309  # the recipe's: 1,964
    assert rt.make_settings("convnet-bn", train_size=0).recipe().styled_digits == 12_000
    scratch = rt.make_settings("convnet-bn", recipe.epochs, start="scratch", train_size=0)
    assert scratch.recipe().styled_digits == recipe.styled_digits == 18_000


def test_the_default_short_retrain_is_a_fine_tune_in_bfloat16_and_a_run_from_scratch_is_not() -> None:
    """bfloat16 where native (Recipe.bfloat16) halves the default network's short retrain's steps
    and readings (chosen with learn_from_me.py, README); a run from scratch trains as its recipe
    does, so that the tab's "tutorial" preset makes what python -m mnist_core.train makes."""
    short = rt.make_settings("convnet-bn")
    assert short.bfloat16 and short.recipe().bfloat16
    tutorial = rt.preset("convnet-bn", "tutorial")
    scratch = rt.make_settings("convnet-bn", tutorial.epochs, start="scratch")
    assert not scratch.recipe().bfloat16 and not SPECS["convnet-bn"].recipe.bfloat16
    assert not rt.make_settings("lenet5").recipe().bfloat16


@pytest.mark.parametrize("architecture", list(SPECS))
def test_the_tutorial_preset_trains_exactly_the_networks_recipe(architecture: str) -> None:
    """Every field fit reads, the label smoothing too (convnet-bn's 0.2 was once dropped: the page
    trained the default network from scratch with none)."""
    recipe = SPECS[architecture].recipe
    tutorial = rt.preset(architecture, "tutorial")
    settings = rt.make_settings(architecture, tutorial.epochs, tutorial.lr, tutorial.batch_size, tutorial.optimizer,
                                tutorial.augment, tutorial.schedule, tutorial.start, train_size=0)
    assert dataclasses.replace(settings.recipe(), seed=recipe.seed) == recipe  # the seed is the run's own


@pytest.mark.parametrize("architecture", list(SPECS))
def test_every_networks_own_recipe_can_be_asked_for(architecture: str) -> None:
    """The Retrain tab's "tutorial" preset, as its fields send it: the default network's 30 epochs
    were once refused (the limit was 20), in the page and through /retrain."""
    tutorial = rt.preset(architecture, "tutorial")
    settings = rt.make_settings(architecture, tutorial.epochs, tutorial.lr, tutorial.batch_size, tutorial.optimizer,
                                tutorial.augment, tutorial.schedule, tutorial.start)
    assert (settings.epochs, settings.lr, settings.batch_size) == (tutorial.epochs, tutorial.lr, tutorial.batch_size)
    assert tutorial.epochs <= rt.MAX_EPOCHS


def test_block_learning_rates_are_for_a_fine_tune_only() -> None:
    fine_tune = dataclasses.replace(rt.preset("convnet-bn"), start="shipped", block_lr_scales=(0.1, 0.3, 1.0))

    assert fine_tune.recipe().block_lr_scales == (0.1, 0.3, 1.0)
    assert dataclasses.replace(fine_tune, start="scratch").recipe().block_lr_scales == ()  # every layer learns


def test_time_left_is_paced_from_the_first_step_not_from_the_start() -> None:
    """The first step ended at 100 s; then 1 s a step. Paced from the start, the estimate at step 11
    was ten times too long (and at step 1 all the time the limit leaves)."""
    settings = rt.make_settings("lenet5", 2, time_budget_s=600)
    at = lambda step, elapsed: Progress(step, 101, step / 50, 0.5, 0.9, None, elapsed, first_step_s=100.0)
    assert rt.eta_s(at(1, 100.0), settings) is None  # one step: no pace yet
    assert rt.eta_s(at(11, 110.0), settings) == pytest.approx(90.0)
    assert rt.eta_s(at(11, 590.0), settings) == pytest.approx(10.0)  # within the time limit
    job = rt.Job(settings, owner="me", stop=None, progress=at(1, 100.0))
    assert job.describe() == "lenet5, 1% done"
    job.progress = at(11, 110.0)
    assert job.describe() == "lenet5, 11% done, about 90 s left"


# --- User drawings ---------------------------------------------------------------


def test_user_samples_round_trip_through_the_imagefolder_layout(data_dir: Path, tmp_path: Path) -> None:
    from torchvision.datasets import ImageFolder

    ids = {us.save_user_sample(Image.open(digit_png(tmp_path / "7.png", "7")), 7): 7,
           us.save_user_sample(digit_png(tmp_path / "1.png", "1"), "1"): 1}

    for kind in ("drawn", "mnist28"):
        # Any tool reads them: one folder per digit, as torchvision's ImageFolder expects;
        # all ten are there (empty ones too), so the class index is the digit.
        dataset = ImageFolder(str(data_dir / "samples" / kind), allow_empty=True)
        assert dataset.classes == [str(d) for d in range(10)]
        assert sorted((Path(path).stem, c) for path, c in dataset.samples) == sorted(ids.items())
    first = next(iter(ids))
    assert Image.open(data_dir / "samples" / "mnist28" / "7" / f"{first}.png").size == (28, 28)
    assert Image.open(data_dir / "samples" / "drawn" / "7" / f"{first}.png").size == (280, 280)

    images, labels = us.load_user_samples()
    expected = {7: mnist_core.to_mnist(digit_png(tmp_path / "7b.png", "7")), 1: mnist_core.to_mnist(tmp_path / "1.png")}
    assert images.shape == (2, 28, 28) and sorted(labels.tolist()) == [1, 7]
    for image, label in zip(images, labels.tolist()):
        assert (image.float() / 255 - expected[label][0]).abs().max() <= 1 / 255 + 1e-6
    assert [s.id for s in us.list_user_samples()] != [] and us.count_user_samples() == 2

    us.delete_user_sample(first)
    assert us.count_user_samples() == 1
    assert not any(first in p.name for p in files_under(data_dir))
    with pytest.raises(us.UserSampleError, match="already deleted"):
        us.delete_user_sample(first)


@pytest.mark.parametrize("sample_id", ["../../weights/lenet5", "0" * 31 + "/", "", None])
def test_a_sample_id_never_becomes_a_path(data_dir: Path, sample_id: object) -> None:
    with pytest.raises(us.UserSampleError, match="No drawing with id"):
        us.delete_user_sample(sample_id)  # type: ignore[arg-type]


def test_bad_corrections_are_refused(data_dir: Path, tmp_path: Path) -> None:
    blank = Image.new("L", (280, 280), 255)
    with pytest.raises(us.UserSampleError, match="Nothing is drawn"):
        us.save_user_sample(blank, 3)
    with pytest.raises(us.UserSampleError, match="Nothing is drawn"):
        us.save_user_sample(None, 3)  # type: ignore[arg-type]
    for digit in (10, -1, "x", True):
        with pytest.raises(us.UserSampleError, match="The digit must be one of 0–9"):
            us.save_user_sample(digit_png(tmp_path / "1.png"), digit)  # type: ignore[arg-type]
    with pytest.raises(mnist_core.InvalidImage):
        us.save_user_sample(b"not an image", 1)
    assert us.count_user_samples() == 0


def test_keep_reads_no_server_file_named_by_the_page(data_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep's drawing comes from the page (draw_tab.KEEP_ON_SHOW), so a client can send anything
    there: only a canvas data URL is a drawing; a path gets the message, and nothing is kept. A
    photo is kept from the server's own record of the upload being read."""
    import base64
    from types import SimpleNamespace

    from ui import draw_tab

    warned: list[str] = []
    monkeypatch.setattr(draw_tab.gr, "Warning", warned.append)
    request = SimpleNamespace(session_hash="keep", headers={"accept-language": "en"})
    photo = digit_png(tmp_path / "1.png")
    workspace = draw_tab.workspace_of(request)

    for sent in (str(photo), "/etc/passwd", 7):
        draw_tab.save_correction(sent, None, "1", request)
    assert warned == ["The drawing could not be read. Please clear the canvas and draw again."] * 3
    assert us.count_user_samples(workspace) == 0

    drawing = "data:image/png;base64," + base64.b64encode(photo.read_bytes()).decode()
    assert "Kept as a **1**: 1 drawing(s)" in draw_tab.save_correction(drawing, None, "1", request)[0]
    assert "Kept as a **1**: 2 drawing(s)" in draw_tab.save_correction("", str(photo), "1", request)[0]  # the photo
    assert "Kept as a **1**: 3 drawing(s)" in draw_tab.save_correction(drawing, str(photo), "1", request)[0]
    draw_tab.save_correction("", drawing, "1", request)  # an empty canvas and no photo: nothing to keep
    assert warned[-1].startswith("Nothing is drawn") and us.count_user_samples(workspace) == 3


def test_the_user_dataset_has_a_size_cap(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(us, "MAX_USER_SAMPLES", 2)
    image = Image.open(digit_png(tmp_path / "1.png"))
    us.save_user_sample(image, 1)
    us.save_user_sample(image, 1)
    with pytest.raises(us.UserSampleError, match=r"Your collection of drawings is full \(2\)"):
        us.save_user_sample(image, 1)
    assert us.count_user_samples() == 2


# --- Runs in this process -----------------------------------------------------------


def test_a_cancelled_run_can_be_kept_or_thrown_away(data_dir: Path) -> None:
    before = shipped_hashes()
    settings = rt.make_settings(**{**TINY, "train_size": 5000})
    runs = []
    for _ in range(2):
        for update in rt.retrain(settings, owner="me", report_every=1):
            if isinstance(update, rt.Run):
                runs.append(update)
            elif update.step == 1:
                assert rt.cancel("someone else") == "nothing"
                assert rt.cancel("me") == "stopping"
    kept, thrown_away = runs

    assert kept.cancelled and thrown_away.cancelled and not kept.out_of_time
    assert kept.fit.steps < settings.train_size // settings.batch_size
    assert files_under(data_dir) == []  # nothing is written before the user keeps it
    # Checked (validation, digit by digit) and tested on MNIST only if kept: Cancel is answered at once.
    assert not kept.checked and not kept.per_digit and kept.fit.val_accuracy is None
    assert kept.fit.history[-1].val_accuracy is None
    assert kept.test_accuracy is None and kept.confusion is None and not kept.mistakes
    model_id = rt.save_run(kept)
    assert kept.checked and len(kept.per_digit) == 10 and kept.fit.val_accuracy > 0.5
    assert kept.fit.history[-1].val_accuracy == kept.fit.val_accuracy  # where its validation curve ends
    info = mnist_core.model_info(model_id)
    assert info["val_accuracy"] == kept.fit.val_accuracy and len(info["per_digit_validation"]) == 10
    del thrown_away
    assert files_under(data_dir) == [data_dir / "models" / f"{model_id}.safetensors"]
    assert mnist_core.list_models()[-1] == model_id
    assert mnist_core.model_info(model_id)["stopped"] == "cancelled"
    assert 0.5 < kept.test_accuracy == mnist_core.model_info(model_id)["test_accuracy"]
    assert kept.confusion.sum() == 10_000 and kept.confusion.trace() == round(kept.test_accuracy * 10_000)
    assert shipped_hashes() == before


def test_a_run_stops_at_its_time_limit(data_dir: Path) -> None:
    run = run_to_end(rt.make_settings(**{**TINY, "train_size": 55_000, "time_budget_s": 1}))

    assert run.out_of_time and not run.cancelled
    assert run.fit.epochs < 1


def test_a_run_from_scratch_is_the_same_for_the_same_seed(data_dir: Path) -> None:
    first, second, other = (run_to_end(rt.make_settings(**TINY, start="scratch", seed=seed)) for seed in (1, 1, 2))

    def weights(run: rt.Run) -> list:
        return list(run.model.state_dict().values())

    assert all((a == b).all() for a, b in zip(weights(first), weights(second)))
    assert not all((a == b).all() for a, b in zip(weights(first), weights(other)))


def test_the_test_digits_a_run_gets_wrong_are_shown_with_calibrated_confidences(data_dir: Path) -> None:
    """The results' gallery of mistakes says how sure the new network was as the Draw tab would say
    it with that network: softmax(logits / T), its temperature, not softmax(logits)."""
    run = run_to_end(rt.make_settings(**TINY, start="scratch", seed=1))
    assert run.mistakes and abs(run.temperature - 1) > 0.05  # else the two would hardly differ
    logits = predict_logits(run.model, torch.stack([m.image for m in run.mistakes]))
    predicted = torch.tensor([m.predicted for m in run.mistakes])
    shown = torch.tensor([m.confidence for m in run.mistakes])
    calibrated = (logits / run.temperature).softmax(1).gather(1, predicted[:, None])[:, 0]
    assert torch.allclose(shown, calibrated, atol=1e-5)
    assert not torch.allclose(shown, logits.softmax(1).gather(1, predicted[:, None])[:, 0], atol=1e-3)
    # ... and that temperature makes its words true on the digits it was chosen on (choose_temperature)
    labels = rt.mnist().val_labels
    assert words_hold(predict_logits(run.model, rt.mnist().val_images), labels, run.temperature)
    assert words_hold(predict_logits(run.model, rt.drawn_validation(), one_reading=True), labels, run.temperature)


def test_a_failed_run_leaves_no_files(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = shipped_hashes()

    def broken_fit(*args, **kwargs):
        raise RuntimeError("the disk caught fire")

    with monkeypatch.context() as patch:
        patch.setattr(rt, "fit", broken_fit)
        with pytest.raises(RuntimeError, match="the disk caught fire"):
            run_to_end(rt.make_settings(**TINY))
    assert files_under(data_dir) == []

    # Saving fails half-way through writing the file: no half-written file is left.
    run = run_to_end(rt.make_settings(**TINY))  # the slot was released: a new run starts

    def half_written(tensors, path, metadata=None):
        Path(path).write_bytes(b"half a safetensors file")
        raise OSError("No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("mnist_core.weights.save_file", half_written)
        with pytest.raises(rt.RetrainError, match=r"could not be saved \(No space left on device\); nothing was changed"):
            rt.save_run(run)
    assert files_under(data_dir / "models") == []
    assert mnist_core.list_models() == [m for m in mnist_core.SPECS if m in mnist_core.list_models()]
    assert shipped_hashes() == before


def test_retrained_model_ids_are_made_here_never_from_names(data_dir: Path) -> None:
    run = run_to_end(rt.make_settings(**TINY, name="../../weights/lenet5\n<b>mine</b>"))
    model_id = rt.save_run(run)

    assert rt.MODEL_ID_PATTERN.match(model_id) and model_id.startswith("lenet5-")
    assert files_under(data_dir) == [data_dir / "models" / f"{model_id}.safetensors"]
    assert mnist_core.model_info(model_id)["name"] == "../../weights/lenet5 <b>mine</b>"
    for bad in ("lenet5", "../weights/lenet5", "no-such-model"):
        with pytest.raises(rt.RetrainError):
            rt.delete_retrained_model(bad)
    rt.delete_retrained_model(model_id)
    assert files_under(data_dir) == []


def test_a_digit_drawn_as_pen_strokes_that_is_read_worse_flags_the_run_alone() -> None:
    """MNIST's own 7s hardly move while the pen-drawn ones fall: the run is still not kept without asking."""
    held = rt.DigitChange(7, before=1.0, after=0.996, drawn_before=0.988, drawn_after=0.971)
    assert held.worse and held.worse_drawn and not held.worse_on_mnist
    assert not rt.DigitChange(7, 1.0, 0.996, 0.988, 0.979).worse  # 0.9 point: within the limit
    assert not rt.DigitChange(7, None, 0.9).worse  # nothing to compare with


def test_the_number_of_retrained_models_is_capped(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rt, "MAX_RETRAINED_MODELS", 1)
    rt.save_run(run_to_end(rt.make_settings(**TINY)))
    with pytest.raises(rt.RetrainError, match="You already have 1 retrained models"):
        run_to_end(rt.make_settings(**TINY))


def test_user_drawings_are_trained_on_and_scored(data_dir: Path, tmp_path: Path) -> None:
    for i in range(3):
        us.save_user_sample(digit_png(tmp_path / f"{i}.png", "7"), 7)

    run = run_to_end(rt.make_settings(**TINY))

    assert run.user.trained == 3 and run.user.held_out == 0
    assert run.user.weight == rt.user_sample_weight(3, TINY["train_size"]) >= 1
    assert run.user.trained_before is not None and run.user.trained_after is not None


def test_a_run_that_reads_a_digit_worse_is_flagged_digit_by_digit(data_dir: Path, tmp_path: Path) -> None:
    """Drawn 7s kept as "1" (a person's slip, 30 times): the network learns to read 7s as 1s."""
    for i in range(30):
        us.save_user_sample(digit_png(tmp_path / f"{i}.png", "7"), 1)

    run = run_to_end(rt.make_settings(**TINY))

    shipped = mnist_core.load_model("lenet5")
    data = rt.mnist()
    before = rt.per_digit_accuracy(shipped, data.val_images, data.val_labels)
    after = rt.per_digit_accuracy(run.model, data.val_images, data.val_labels)
    assert [(c.digit, c.before, c.after) for c in run.per_digit] == list(zip(range(10), before, after))
    drawn = rt.drawn_validation()  # the same digits drawn as pen strokes: checked as well
    drawn_before = rt.per_digit_accuracy(shipped, drawn, data.val_labels, one_reading=True)
    drawn_after = rt.per_digit_accuracy(run.model, drawn, data.val_labels, one_reading=True)
    assert [(c.drawn_before, c.drawn_after) for c in run.per_digit] == list(zip(drawn_before, drawn_after))
    assert [c.digit for c in run.worse_digits] == [
        d for d in range(10) if after[d] < before[d] - rt.WORSE_BY or drawn_after[d] < drawn_before[d] - rt.WORSE_BY]
    assert 7 in [c.digit for c in run.worse_digits]
    model_id = rt.save_run(run)  # kept all the same, when the person says so: with what it cost
    recorded = read_metadata(data_dir / "models" / f"{model_id}.safetensors")["per_digit_validation"]
    assert [change["digit"] for change in recorded] == list(range(10))


# --- The server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """A user data folder that already holds a retrained model and a drawing, as a server
    finds it after a restart: (folder, the model's id, the drawing's id)."""
    folder = tmp_path_factory.mktemp("server") / "user_data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKETCHLAB_DATA_DIR", str(folder))
        model_id = rt.save_run(run_to_end(rt.make_settings(**TINY, name="from before the restart")))
        sample_id = us.save_user_sample(digit_png(tmp_path_factory.mktemp("png") / "7.png", "7"), 7)
    yield folder, model_id, sample_id


@pytest.fixture(scope="module")
def server(server_data: tuple[Path, str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python app.py` on a free loopback port with the user data folder above; yields its URL."""
    with serve_app(server_data[0], tmp_path_factory.mktemp("app")) as url:
        yield url


@pytest.fixture
def client(server: str) -> Client:
    return Client(server, verbose=False)  # a new session for each test


def client_models(folder: Path, client: Client) -> Path:
    """Where the server keeps the retrained models of an API client: its session's workspace."""
    name = hashlib.sha256(f"session:{client.session_hash}".encode()).hexdigest()[:32]
    return folder / "workspaces" / name / "models"


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT_S} s for {what}")
        time.sleep(0.1)


def draw_tab_choices(url: str) -> list[str]:
    """The model ids the Draw tab's selector offers to a page loading now."""
    config = json.load(urllib.request.urlopen(url + "config", timeout=30))
    dropdown = next(c for c in config["components"] if c["props"].get("elem_id") == "model")
    return [choice[1] for choice in dropdown["props"]["choices"]]


def test_models_and_drawings_from_before_a_restart_are_there(server: str, client: Client, tmp_path: Path,
                                                              server_data: tuple[Path, str, str]) -> None:
    folder, model_id, sample_id = server_data

    assert model_id in draw_tab_choices(server)
    result = client.predict(handle_file(digit_png(tmp_path / "1.png", "1")), model_id, api_name="/predict")
    assert result["label"] == "1"
    assert (folder / "samples" / "mnist28" / "7" / f"{sample_id}.png").exists()


def test_retrain_streams_progress_and_predict_accepts_the_new_model(server: str, client: Client, tmp_path: Path,
                                                                    server_data: tuple[Path, str, str]) -> None:
    folder = server_data[0]
    before = shipped_hashes()
    job = client.submit(architecture="lenet5", epochs=1, train_size=600, keep_if_worse=True, api_name="/retrain")
    updates = list(job)

    assert updates[-1]["status"] == "done"
    training = [u for u in updates[:-1] if u["status"] == "training"]
    # First the network it starts from, validated (the curves' epoch 0), then the steps.
    assert training[0]["step"] == 0 and 0.9 < training[0]["val_accuracy"] <= 1
    assert training[1:] and all(0 < u["step"] <= u["total_steps"] for u in training[1:])
    # Time left: none at the first step (no pace yet), then seconds within the run's time limit.
    assert training[1]["step"] == 1 and training[1]["eta_s"] is None
    assert training[2:] and all(0 <= u["eta_s"] <= rt.TIME_CAP_S for u in training[2:])
    # The last pass over the validation digits is announced, and the last report says it is trained.
    assert [u["stage"] for u in training[-2:]] == ["validating", "trained"]
    assert {u["stage"] for u in training[:-2]} == {"training"}  # one epoch: one validation
    done = updates[-1]
    model_id = done["model_id"]
    assert done["kept"] and 0.9 < done["test_accuracy"] <= 1
    assert [change["digit"] for change in done["per_digit"]] == list(range(10))  # before and after, each digit
    assert done["name"].startswith("lenet5 · retrained ")
    saved = client_models(folder, client) / f"{model_id}.safetensors"  # in the client's own workspace
    assert saved.exists() and not (folder / "models" / saved.name).exists()
    assert read_metadata(saved)["temperature"] > 0  # calibrated
    result = client.predict(handle_file(digit_png(tmp_path / "0.png", "0")), model_id, api_name="/predict")
    assert result["label"] == "0"
    assert shipped_hashes() == before


def test_retrain_keeps_nothing_that_reads_a_digit_worse_unless_told(client: Client,
                                                                     server_data: tuple[Path, str, str]) -> None:
    models = server_data[0]
    saved_before = [p for p in files_under(models) if p.suffix == ".safetensors"]
    # A learning rate of 1 for Adam wrecks the network: every digit is read worse.
    done = client.predict(architecture="lenet5", epochs=1, train_size=400, lr=1.0, api_name="/retrain")

    assert done["status"] == "done" and done["kept"] is False and done["model_id"] is None
    assert done["worse_digits"] and all(
        change["after"] < change["before"] - 0.01 for change in done["per_digit"] if change["digit"] in done["worse_digits"])
    assert [p for p in files_under(models) if p.suffix == ".safetensors"] == saved_before


def test_retrain_refuses_bad_parameters_with_clear_messages(client: Client) -> None:
    for given, message in [
        (dict(architecture="no-such-net", epochs=1), "Unknown network 'no-such-net'. Choose one of: "),
        (dict(architecture="lenet5", epochs=0), "Epochs must be a whole number from 1 to 30, not 0."),
        (dict(architecture="lenet5", epochs=1, lr=-1.0), "The learning rate must be a number above 0"),
        (dict(architecture="lenet5", epochs=1, optimizer="rmsprop"), "The optimizer must be one of sgd, adam, adamw"),
    ]:
        with pytest.raises(Exception, match=re.escape(message)):
            client.predict(**given, api_name="/retrain")


def test_predict_refuses_an_unknown_retrained_model(client: Client, tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"Unknown model 'lenet5-0000-beef'\. Available models: "):
        client.predict(handle_file(digit_png(tmp_path / "1.png")), "lenet5-0000-beef", api_name="/predict")


def statuses(job) -> list[str]:
    return [update["status"] for update in job.outputs()]


def test_one_training_at_a_time_a_second_waits_in_line_and_cancel_saves_nothing(
        server: str, client: Client, server_data: tuple[Path, str, str]) -> None:
    folder = server_data[0]
    before = [p for p in files_under(folder) if p.suffix == ".safetensors"]
    long_run = dict(architecture="lenet5", epochs=20, train_size=55_000, time_budget_s=600.0)  # minutes: cancelled
    first = client.submit(**long_run, api_name="/retrain")
    wait_for(lambda: "training" in statuses(first) or first.done(), "the first run to report progress")
    other = Client(server, verbose=False)
    second = other.submit(**long_run, api_name="/retrain")
    wait_for(lambda: "waiting" in statuses(second) or second.done(), "the second run to wait for its turn")
    assert not first.done()
    waiting = next(u for u in second.outputs() if u["status"] == "waiting")
    assert waiting["runs_ahead"] == 1 and waiting["running"].startswith("lenet5")
    # The same client again: refused at once (one run each), never queued.
    with pytest.raises(Exception, match="Your training is already waiting for its turn"):
        other.predict(**long_run, api_name="/retrain")
    # Waiting runs are not in Gradio's queue, where they would take places from predictions.
    assert json.load(urllib.request.urlopen(server + "gradio_api/queue/status", timeout=30))["queue_size"] == 0

    second.cancel()
    first.cancel()
    wait_for(first.done, "the first run to stop")

    # The slot is free again: a new run starts and finishes, and only its model is saved.
    done = client.predict(**TINY, keep_if_worse=True, api_name="/retrain")  # a tiny run may cost a digit a point
    assert done["status"] == "done"
    after = [p for p in files_under(folder) if p.suffix == ".safetensors"]
    assert after == sorted(before + [client_models(folder, client) / f"{done['model_id']}.safetensors"])


@pytest.fixture
def page(browser, server: str):
    page = open_page(browser, server)
    yield page
    page.context.close()


def samples_of(folder: Path, digit: int) -> int:
    """Drawings kept as `digit` by any visitor (each in a workspace of its own)."""
    return len(list(folder.glob(f"workspaces/*/samples/mnist28/{digit}/*.png")))


def test_the_draw_tab_keeps_a_corrected_drawing(page, server_data: tuple[Path, str, str]) -> None:
    from playwright.sync_api import expect

    from test_browser import ONE, draw

    folder = server_data[0]
    draw(page, ONE)
    expect(page.locator("#prediction .digit")).to_have_text("1")
    expect(page.locator("#seen img")).to_be_visible()  # the drawing is now the tab's current image
    before = samples_of(folder, 4)

    page.locator("#correct-digit").get_by_label("4", exact=True).check()
    page.locator("#keep-drawing").click()

    expect(page.locator("#correction-note")).to_contain_text("Kept as a 4")
    assert samples_of(folder, 4) == before + 1
    drawn = max(folder.glob("workspaces/*/samples/drawn/4/*.png"), key=lambda p: p.stat().st_mtime)
    assert Image.open(drawn).size[0] > 28  # the drawing as drawn, beside its 28x28


def test_a_model_saved_on_the_server_since_it_started_is_in_every_draw_tab(
        browser, server: str, server_data: tuple[Path, str, str]) -> None:
    """A model its operator saved (the command line, into the user data folder itself): everyone's."""
    from playwright.sync_api import expect

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKETCHLAB_DATA_DIR", str(server_data[0]))
        rt.save_run(run_to_end(rt.make_settings(**TINY, name="made for the browser test")))
    page = open_page(browser, server)
    try:
        page.locator("#model input").click()
        page.get_by_role("option", name="made for the browser test").click()
        expect(page.locator("#model input")).to_have_value(re.compile("made for the browser test"))
    finally:
        page.context.close()


def test_no_control_a_preset_fills_is_inside_a_closed_accordion() -> None:
    """Gradio renders a closed accordion's children only when it opens, and applies a value the
    server gave one of them meanwhile a moment after it appears, over what was typed in between: a
    number of digits typed right after opening "More settings" became the preset's 0 again."""
    import gradio as gr

    from ui.retrain_tab import retrain_tab

    with gr.Blocks() as demo:
        retrain_tab()
    config = demo.get_config_file()
    components = {c["id"]: c for c in config["components"]}

    def ancestors(node: dict, above: tuple[int, ...] = ()) -> Iterator[tuple[int, tuple[int, ...]]]:
        yield node["id"], above
        for child in node.get("children", []):
            yield from ancestors(child, (*above, node["id"]))

    above = dict(ancestors(config["layout"]))
    closed = {i for i, c in components.items() if c["type"] == "accordion" and not c["props"].get("open", True)}
    network = next(i for i, c in components.items() if c["props"].get("elem_id") == "retrain-network")
    filled = {output for dep in config["dependencies"] if [network, "change"] in [list(t) for t in dep["targets"]]
              for output in dep["outputs"]}
    assert len(filled) == 8  # start, epochs, lr, batch size, optimizer, schedule, augment, digits per epoch
    assert [components[i]["props"].get("label") for i in filled if closed & set(above[i])] == []


def test_the_retrain_tab_trains_a_model_that_the_draw_tab_selects(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Retrain").click()
    page.locator("#retrain-network input").click()
    page.get_by_role("option", name="LeNet-5 (lenet5)").click()
    expect(page.locator("#retrain-epochs input[type=number]")).to_have_value("2")  # its short preset
    page.get_by_label("MNIST training digits per epoch").fill("1000")
    page.get_by_label("Learning rate (peak, with one-cycle)").fill("1")  # wrecks it: every digit reads worse
    page.get_by_label("Name (optional)").fill("made in the Retrain tab")
    page.get_by_role("button", name="Start").click()

    # Not kept without asking: the page says what it costs, per digit, and offers to keep it.
    status = page.locator("#retrain-status")
    expect(status).to_contain_text("Careful: it reads", timeout=WAIT_S * 1000)
    expect(status).to_contain_text("Keep it anyway, or throw it away?")
    expect(page.locator("#retrain-summary")).to_contain_text("on MNIST validation and on the same digits drawn as pen strokes")
    page.get_by_role("button", name="Keep it as a new model").click()
    expect(status).to_contain_text("Kept as")
    page.get_by_role("tab", name="Draw").click()
    expect(page.locator("#model input")).to_have_value(re.compile("made in the Retrain tab"))


def test_the_default_networks_own_recipe_starts_from_the_page(page) -> None:
    """Its recipe trains 30 epochs: the page once set the Epochs slider to 30 of at most 20, and
    Start only said "Value 30 is greater than maximum value 20"."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Retrain").click()
    page.locator("#retrain-network input").click()
    page.get_by_role("option", name="ConvNet-BN (ours) (convnet-bn)").click()
    page.get_by_text("The tutorial's recipe, from scratch").click()
    epochs = SPECS["convnet-bn"].recipe.epochs
    expect(page.locator("#retrain-epochs input[type=number]")).to_have_value(str(epochs))
    page.get_by_role("button", name="Start").click()
    status = page.locator("#retrain-status")
    expect(status).to_contain_text("Training convnet-bn: step", timeout=WAIT_S * 1000)
    page.get_by_role("button", name="Cancel").click()
    expect(status).to_contain_text("Cancelled after", timeout=WAIT_S * 1000)
    page.get_by_role("button", name="Throw it away").click()
    expect(status).to_contain_text("Thrown away: nothing was saved.")


def test_a_cancelled_run_is_tested_when_it_is_kept_in_the_browser(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Retrain").click()
    page.locator("#retrain-network input").click()
    page.get_by_role("option", name="LeNet-5 (lenet5)").click()
    expect(page.locator("#retrain-epochs input[type=number]")).to_have_value("2")  # its short preset
    epochs = page.locator("#retrain-epochs input[type=number]")
    epochs.fill("20")  # minutes of training: cancelled long before its end
    epochs.press("Enter")
    page.get_by_label("MNIST training digits per epoch").fill("0")
    page.get_by_label("Name (optional)").fill("cancelled, then kept")
    page.get_by_role("button", name="Start").click()
    status = page.locator("#retrain-status")
    # Cancelled as soon as it trains (its first steps are reported at once: 1, 2, 4, 8..., then every
    # 300), so that its curves have a few steps at most.
    expect(status).to_contain_text("Training lenet5: step", timeout=WAIT_S * 1000)
    page.get_by_role("button", name="Cancel").click()

    # Answered at once: checked against the shipped network and tested on MNIST only if it is kept.
    expect(status).to_contain_text(re.compile(r"Cancelled after \d+ step\(s\)\. Keep what it learnt"),
                                   timeout=WAIT_S * 1000)
    # Its curves are drawn, across plots narrowed to what ran (a single loss point once drew nothing):
    # the training loss and accuracy; not the validation, which starts at step 0 and is not measured
    # again unless the network is kept.
    page.wait_for_function(f"() => {curves_drawn_as(CANCELLED_CURVES)}", timeout=WAIT_S * 1000)
    for plot in CURVES:  # each line runs across its plot (on the 20-epoch axis they were specks: 0.04%)
        assert min(page.eval_on_selector(plot, LINE_WIDTHS)) > 0.3, plot
    summary = page.locator("#retrain-summary")
    expect(summary).to_contain_text("lenet5 cancelled after")
    expect(summary).to_contain_text(re.compile(r"MNIST validation \(5,000 training-set digits held out\)\s*"
                                               r"– \(checked if kept\)"))
    expect(summary).to_contain_text(re.compile(r"MNIST test \(10,000 digits, never trained on\)\s*– \(tested if kept\)"))
    expect(summary).not_to_contain_text("Each digit")  # no per-digit check yet
    matrix = page.locator("#confusion [role=grid]")  # the confusion matrix: its heading row, and a row per digit
    expect(matrix).to_have_attribute("aria-rowcount", "1")

    page.get_by_role("button", name="Keep it as a new model").click()
    # Checked and tested first: kept, or (a digit read worse) asked again.
    expect(status).to_contain_text(re.compile(r"Kept as lenet5-|Careful"), timeout=WAIT_S * 1000)
    if "Careful" in status.inner_text():
        page.get_by_role("button", name="Keep it as a new model").click()
    expect(status).to_contain_text(re.compile(r"Kept as lenet5-\S+ \(MNIST test accuracy \d+\.\d%\)"),
                                   timeout=WAIT_S * 1000)
    expect(summary).to_contain_text(re.compile(r"MNIST validation \(5,000 training-set digits held out\)\s*\d+\.\d%"))
    expect(summary).to_contain_text(re.compile(r"MNIST test \(10,000 digits, never trained on\)\s*\d+\.\d%"))
    expect(summary).to_contain_text("Each digit, the shipped lenet5 → this network")
    page.wait_for_function(f"() => {CURVES_DRAWN_AS_EXPECTED}", timeout=WAIT_S * 1000)  # validated: its curve too
    expect(matrix).to_have_attribute("aria-rowcount", "11")
    page.get_by_role("tab", name="Draw").click()
    expect(page.locator("#model input")).to_have_value(re.compile("cancelled, then kept"))


# What each plot draws: its visible lines (a path through two points or more, with a colour, at
# least a pixel long) and its legend's entries. A plot can have axes and a legend title and still
# draw nothing.
DRAWN = """plot => ({
    lines: [...plot.querySelectorAll('path[aria-roledescription="line mark"]')].filter(
        (p) => /^M[^M]*L/.test(p.getAttribute("d") || "") && !["", "none"].includes(getComputedStyle(p).stroke)
               && Math.max(p.getBBox().width, p.getBBox().height) >= 1).length,
    legend: [...plot.querySelectorAll(".role-legend-label text")].map((t) => t.textContent),
})"""
# Each drawn line's width as a share of its plot's (the svg's, legend included).
LINE_WIDTHS = """plot => [...plot.querySelectorAll('path[aria-roledescription="line mark"]')].filter(
    (p) => /^M[^M]*L/.test(p.getAttribute("d") || "")).map(
    (p) => p.getBoundingClientRect().width / plot.querySelector("svg").getBoundingClientRect().width)"""
CURVES = {"#loss-plot": ["training loss"], "#accuracy-plot": ["training (augmented batches)", "validation"]}
CURVES_EXPECTED = {plot: {"lines": len(series), "legend": series} for plot, series in CURVES.items()}
CANCELLED_CURVES = {**CURVES_EXPECTED, "#accuracy-plot": {**CURVES_EXPECTED["#accuracy-plot"], "lines": 1}}


def curves_drawn_as(expected: dict[str, dict]) -> str:
    """Both plots drawn as `expected`, as a JavaScript condition for page.wait_for_function."""
    return (f"JSON.stringify(Object.fromEntries({json.dumps(list(CURVES))}.map((plot) => "
            f"[plot, ({DRAWN})(document.querySelector(plot))]))) === "
            f"{json.dumps(json.dumps(expected, separators=(',', ':')))}")


CURVES_DRAWN_AS_EXPECTED = curves_drawn_as(CURVES_EXPECTED)


def curves_drawn(page) -> dict[str, dict]:
    return {plot: page.eval_on_selector(plot, DRAWN) for plot in CURVES}


# Console messages that Gradio 6.31's own bundle writes, not this app: its plots' spec names Vega-Lite
# 5.17 while it ships Vega-Lite 6, and its upload progress closes a stream it never implemented
# (gradio-app/gradio#12002).
GRADIOS_OWN = ("The input spec uses Vega-Lite v5.17.0, but the current version of Vega-Lite is v6",
               "Method not implemented.")


def test_the_training_curves_draw_a_line_per_series_during_and_after_a_run(browser, server: str) -> None:
    from playwright.sync_api import expect

    console: list[str] = []  # what the browser's console says, from before the page loads
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.on("console", lambda message: console.append(f"{message.type}: {message.text}")
               if message.type in ("warning", "error") else None)
    page = open_page(context, server)
    try:
        curves_during_and_after_a_run(page)
        said = list(console)  # before the page closes (closing aborts its connections)
    finally:
        context.close()
    # Nothing to warn of on the way (the blank curves' placeholders once made Vega warn "Infinite extent").
    assert [line for line in said if not any(known in line for known in GRADIOS_OWN)] == []


def curves_during_and_after_a_run(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Retrain").click()
    # Before any run, empty plots with axes from 0 to 1 (fitted to the placeholder point, they were
    # one tick each, "0.000000").
    for plot in ("#loss-plot", "#accuracy-plot"):
        for axis in ("X-axis", "Y-axis"):
            expect(page.locator(f"{plot} .role-axis[aria-label^='{axis}']")).to_have_attribute(
                "aria-label", re.compile(r"values from 0(\.0+)? to 1(\.0+)?$"))
    page.locator("#retrain-network input").click()
    page.get_by_role("option", name="LeNet-5 (lenet5)").click()
    expect(page.locator("#retrain-epochs input[type=number]")).to_have_value("2")  # its short preset, now set
    # 20 epochs of 2,000 digits: 640 steps, a point on the curves every 12 steps (fit reports about
    # 50 times a run) and a validation point every 32, so the lines grow within seconds however slow
    # the machine; and the 10 s time limit stops a slow machine's run, so there is a "during" there
    # too, while a fast one takes several seconds for 20 validations.
    page.locator("#retrain-epochs input[type=number]").fill("20")
    page.locator("#retrain-epochs input[type=number]").press("Enter")
    page.get_by_text("More settings").click()
    digits = page.get_by_label("MNIST training digits per epoch")
    expect(digits).to_have_value("0")  # LeNet-5's preset (all), shown: a value typed before could be replaced
    digits.fill("2000")
    digits.press("Enter")
    page.locator("#retrain-time-limit input[type=number]").fill("10")
    page.locator("#retrain-time-limit input[type=number]").press("Enter")
    page.get_by_label("Name (optional)").fill("curves test")
    page.get_by_role("button", name="Start").click()

    status = page.locator("#retrain-status")
    expect(status).to_contain_text("Training lenet5: step", timeout=WAIT_S * 1000)
    expect(status).to_contain_text(" of 640")  # the run asked for: 20 epochs of 2,000 digits
    # While it trains (the status says so in the same instant): both plots show every series.
    page.wait_for_function(
        f"""() => document.querySelector("#retrain-status").textContent.includes("Training lenet5: step")
                  && {CURVES_DRAWN_AS_EXPECTED}""",
        timeout=WAIT_S * 1000)
    # The loss is drawn from 0, how far it has to fall (an axis fitted to the run's first, lone point
    # was a single tick of six decimals).
    expect(page.locator("#loss-plot .role-axis[aria-label^='Y-axis']")).to_have_attribute(
        "aria-label", re.compile(r"values from 0(\.0+)? to [\d.]*[1-9]"))
    # The accuracy's axis is the run's own again, not the idle 0 to 1 (a fine-tune starts near 1).
    expect(page.locator("#accuracy-plot .role-axis[aria-label^='Y-axis']")).not_to_have_attribute(
        "aria-label", re.compile(r"values from 0(\.0+)? to"))

    # Kept, or (a short run can cost a digit more than a point) offered to keep: trained either way.
    expect(status).to_contain_text(re.compile("Done: MNIST test accuracy|Keep it anyway"), timeout=WAIT_S * 1000)
    assert curves_drawn(page) == CURVES_EXPECTED


def test_a_model_file_that_does_not_fit_its_network_gets_a_clear_message(client: Client, tmp_path: Path,
                                                                            server_data: tuple[Path, str, str]) -> None:
    """E.g. a convnet-bn retrained before the network was widened: listed, but it cannot be read."""
    path = server_data[0] / "models" / "convnet-bn-0000-abcd.safetensors"
    save_weights(mnist_core.build_model("lenet5"), path, {"id": "convnet-bn-0000-abcd", "base_model": "convnet-bn"})
    try:
        with pytest.raises(Exception, match=r"The network 'convnet-bn-0000-abcd' cannot be read \(.*does not fit"):
            client.predict(handle_file(digit_png(tmp_path / "1.png")), "convnet-bn-0000-abcd", api_name="/predict")
    finally:
        path.unlink()


def test_the_digit_a_correction_was_mistaken_for_is_replayed(data_dir: Path) -> None:
    """Learning "this is a 1" must not become "less of a 7": MNIST 7s come with 1s read as 7."""
    shipped = mnist_core.load_model("convnet-bn")
    data = rt.mnist()
    sevens = data.train_images[data.train_labels == 7][:3]
    ones = data.train_images[data.train_labels == 1][:2]
    images = torch.cat([sevens, ones])
    labels = torch.tensor([1, 1, 1, 1, 1])  # three 7s said to be 1s (read as 7), two real 1s (read right)
    x, y = rt.replay_confused(shipped, images, labels, weight=4, seed=0)
    assert y.tolist() == [7] * round(rt.REPLAY * 4 * 3)
    assert x.dtype == torch.uint8 and x.shape == (len(y), 28, 28)
    assert not any(torch.equal(image, known) for known in data.train_images[data.train_labels == 7] for image in x[:3])
    assert (one_view(shipped)(to_float(x)).argmax(1) == 7).float().mean() > 0.9  # 7s, drawn as pen strokes
    assert len(rt.replay_confused(shipped, ones, torch.tensor([1, 1]), weight=4, seed=0)[0]) == 0  # read right
    assert len(rt.replay_confused(None, images, labels, weight=4, seed=0)[0]) == 0  # no shipped network


def test_a_fine_tune_learns_from_some_digits_drawn_as_pen_strokes() -> None:
    data = rt.mnist()
    small = dataclasses.replace(data, train_images=data.train_images[:400], train_labels=data.train_labels[:400])
    drawn = rt.with_pen_drawn(small, seed=0)
    changed = (drawn.train_images != small.train_images).flatten(1).any(1)
    assert int(changed.sum()) == round(rt.PEN_SHARE * 400)  # a quarter redrawn, the rest as they were
    assert torch.equal(drawn.train_labels, small.train_labels) and torch.equal(drawn.val_images, small.val_images)
    assert torch.equal(rt.with_pen_drawn(small, seed=0).train_images, drawn.train_images)  # seeded


def few_validation_digits_and_an_empty_data_folder(count: int, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> rt.MnistData:
    """MNIST (returned whole) as retrain sees it with only `count` validation digits, and
    tmp_path as the data folder, where arrays are kept beside MNIST."""
    data = rt.mnist()
    monkeypatch.setattr(rt, "mnist", lambda: dataclasses.replace(data, val_images=data.val_images[:count]))
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path))
    (tmp_path / "MNIST").mkdir()
    return data


def test_the_pen_drawn_validation_digits_are_made_once_and_kept_beside_mnist(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = few_validation_digits_and_an_empty_data_folder(12, tmp_path, monkeypatch)
    made = []
    monkeypatch.setattr(rt.pen, "redraw", lambda images, seed: made.append(seed) or images.flip(2))
    make = rt.drawn_validation.__wrapped__  # without the per-process cache
    drawn = make()
    assert made == [rt.DRAWN_SEED] and torch.equal(drawn, data.val_images[:12].flip(2))
    [kept] = (tmp_path / "MNIST").iterdir()  # one whole file, no partial one left
    assert kept.name.startswith("pen-drawn-validation-") and kept.suffix == ".npy"
    assert torch.equal(make(), drawn) and made == [rt.DRAWN_SEED]  # read back, not made again
    kept.write_bytes(kept.read_bytes()[:100])  # cut short: made again, and kept again
    assert torch.equal(make(), drawn) and len(made) == 2 and kept.stat().st_size > 100
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "nowhere"))  # a folder it cannot write: made each time
    assert torch.equal(make(), drawn) and len(made) == 3


def test_the_shipped_networks_answers_and_the_fine_tunes_pen_drawn_digits_are_kept_beside_mnist(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = few_validation_digits_and_an_empty_data_folder(20, tmp_path, monkeypatch)
    read = []
    monkeypatch.setattr(rt, "predict_logits", lambda model, images, **kw: read.append(len(images)) or predict_logits(model, images, **kw))
    logits = rt.shipped_val_logits.__wrapped__("lenet5", 0)
    assert logits.shape == (20, 10) and read == [20]
    assert torch.allclose(logits, predict_logits(mnist_core.load_model("lenet5"), data.val_images[:20]))
    assert torch.equal(rt.shipped_val_logits.__wrapped__("lenet5", 0), logits) and read == [20]  # read back from disk
    other = tmp_path / "other.pt"  # other weights for the same network: read again, not taken from the file
    save_weights(mnist_core.build_model("lenet5", seed=1), other, {})
    monkeypatch.setattr(rt, "weights_path", lambda architecture: other)
    monkeypatch.setattr(rt, "load_model", lambda architecture: mnist_core.build_model("lenet5", seed=1).eval())
    assert not torch.allclose(rt.shipped_val_logits.__wrapped__("lenet5", 1), logits) and read == [20, 20]
    # Read in bfloat16, for a run that reads its own network so: kept in a file of its own where that
    # is native (read again, then from disk); elsewhere the float32 reading is the one.
    native = rt.bfloat16_native(torch.device("cpu"))
    in_bfloat16 = rt.shipped_val_logits.__wrapped__("lenet5", 1, True)
    assert read == ([20, 20, 20] if native else [20, 20])
    assert torch.equal(rt.shipped_val_logits.__wrapped__("lenet5", 1, True), in_bfloat16)
    assert torch.equal(rt.shipped_val_logits.__wrapped__("lenet5", 1, False), in_bfloat16) != native
    assert read == ([20, 20, 20] if native else [20, 20])
    assert len(list((tmp_path / "MNIST").glob("validation-logits-lenet5-bfloat16*"))) == int(native)

    small = dataclasses.replace(data, train_images=data.train_images[:40], train_labels=data.train_labels[:40])
    redrawn = []
    monkeypatch.setattr(rt.pen, "redraw", lambda images, seed: redrawn.append(seed) or images.flip(2))
    drawn = rt.with_pen_drawn(small, seed=3)
    assert torch.equal(rt.with_pen_drawn(small, seed=3).train_images, drawn.train_images) and redrawn == [3003]
    rt.with_pen_drawn(small, seed=4)  # another seed: other digits, drawn otherwise
    assert redrawn == [3003, 3004]
