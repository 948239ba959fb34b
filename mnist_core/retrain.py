"""Retraining a network from the app, one run at a time, in a background thread.

    settings = make_settings("lenet5", epochs=1)     # the short preset, checked
    for update in retrain(settings):                 # Progress ..., then one Run
        ...
    model_id = save_run(update)                      # <user data>/models/<id>.safetensors

The server has two cores and serves predictions while it trains, so there is one
training slot: a run trains on TRAIN_THREADS core(s) and leaves the rest to the answers.
Runs that wait for it wait here, in a short line with one place per owner (see expect), not
in Gradio's queue. Every run has a time cap, and nothing is written before a run is over:
its weights are saved (atomically) only when the user keeps them, so a run that fails or is
cancelled leaves no file behind.

Retrained models never overwrite the shipped weights: their ids are generated here
("lenet5-1405-a1b2c3"), never taken from a user, and they live in the folder of the
workspace the run was for (registry.retrained_models_dir), where registry.list_models()
finds them.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import math
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from mnist_core import pen, preprocess
from mnist_core.data import MnistData, code_of, digest, kept_beside_mnist, load_mnist, to_float
from mnist_core.evaluate import accuracy, bfloat16_native, choose_temperature, precision, predict_logits
from mnist_core.models import DEFAULT_MODEL, SPECS, Recipe, build_model
from mnist_core.registry import MODEL_ID_PATTERN, list_models, load_model, own_models, retrained_models_dir
from mnist_core.styles import with_styled_digits
from mnist_core.train import FitResult, Progress, fit, pick_device, weights_metadata
from mnist_core.user_samples import load_user_samples, split_user_samples
from mnist_core.weights import load_weights, save_weights, weights_path
from mnist_core.workspaces import QUOTA, QuotaError, Workspace, local_or, make_room

# At least every network's own recipe (the Retrain tab's "tutorial" preset: the default network's
# trains 30 epochs, and a limit of 20 refused it); a run stops at TIME_CAP_S whatever it asks for.
MAX_EPOCHS = max(20, *(spec.recipe.epochs for spec in SPECS.values()))
MAX_BATCH_SIZE = 1024
MAX_LR = 10.0
MAX_RETRAINED_MODELS = 20
TIME_CAP_S = 600.0  # no run trains longer than this, whatever it asks for
TRAIN_THREADS = 1  # of the server's 2 cores: the other one keeps answering the Draw tab
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("onecycle", "constant")
STARTS = ("shipped", "scratch")
USER_SHARE = 0.12  # the user's drawings make up about this share of an epoch (see user_sample_weight)
MAX_USER_WEIGHT = 50
# USER_SHARE, REMEMBER, REPLAY and the default network's short preset (SHORT_PRESETS below) were
# chosen with benchmarks/learn_from_me.py --split val, seeds 0, 1 and 2: 20 pen-written lead-in 1s
# that the default network (the shipped weights trained with longer lead-ins, styles.LEAD_IN_LENGTH
# 0.15-0.6) reads as 7 kept as corrections (15-18 trained on, the rest kept out by id), scored on
# the first half's other 275-280 1s of that style and on each digit of MNIST validation; never on
# the second half (its --split test, the report) nor on MNIST test. Chosen: the highest mean style
# accuracy among the settings under which no digit of MNIST validation lost more than 1 point.
# USER_SHARE 0.12 already counts those corrections 49-50 times (the cap, MAX_USER_WEIGHT) in the
# 6,000-digit preset, so it could only teach less: kept, not varied.
# The short retrain keeps the shipped network's answers on MNIST (distillation, see train.fit) with
# this weight, unless the network's short preset says otherwise (the default network: 0.5, below).
REMEMBER = 1.0
# With the corrections, MNIST digits of the classes the shipped network mistook them for are
# replayed, REPLAY times as many as those corrections count in an epoch: 20 1s read as 7 bring
# twice as many MNIST 7s, so that learning "this is a 1" does not become "less of a 7" (see
# replay_confused). On the val split (seed 0): REPLAY 3 instead of 2 protects the 7s a little more
# (MNIST validation 7s -0.4 -> -0.2 points, at peak lr 1e-3) but teaches less (the style 88.0% ->
# 83.0%); REPLAY 1 (at 2e-3) teaches no more (93.5% -> 92.8%) and costs the 7s more (-0.4 -> -0.8).
REPLAY = 2.0
# Tried and not kept (learn_from_me.py --split val, seeds 0 and 1, where the settings here teach
# the style 90.8% and 81.3%, seed 0's 7s flagged): each copy of a correction bent by its own
# elastic distortion (alpha 34, sigma 4: 73.6% and 43.7%, no digit flagged: seed 0's MNIST
# validation 7s kept at 100.0%), the corrections not augmented while MNIST is (83.8% and 79.6%,
# seed 1's 9s flagged), and USER_SHARE 0.24 with MAX_USER_WEIGHT 100 (each correction 97 times,
# and so twice the replayed 7s: seed 0 85.6%, the 9s flagged). All taught the style less.
# Also tried (2026-11-28), on the val split of both styles (1:7 and 4:9, seeds 0, 1, 2), with a rule
# written before (no run flagged and the best mean style; else the fewest flagged runs): replaying the
# 7s the shipped network reads most like each correction (nearest in its log-probabilities) instead
# of 7s at random, or half of each. Nearest taught the 1s more (88.9% against 86.7%, no 7s flagged)
# but the 4s less (93.9% against 99.0%), flagging all three 4 runs (the 9s nearest an open 4 look
# like 4s: replayed as 9s, they cost the 4s and 7s). Over the six runs: at random (kept) 92.8%, one
# run flagged; nearest 91.4%, three; half of each 91.3%, three. Also tried (2026-12-06, rule written
# first): replaying, as the corrected digit, the MNIST training digits of that digit the shipped
# network finds most like what it was mistaken for (as many as the corrections count): 1:7 seeds 0
# and 1 90.1% and 89.1%, 4:9 seed 0 97.3%, every run flagged (the preset: 2 of 4). Not kept (README).
# Drawn as pen strokes (2026-12-05): the check before keeping now also reads MNIST validation's
# digits redrawn as pen strokes (drawn_validation), and with the settings above it flagged 5 of the
# 6 report runs (learn_from_me.py --split test, 1:7 and 4:9, seeds 0-2): pen-drawn 9s lost up to 2.7
# points while MNIST's own lost 0.6. The fine-tune saw pen strokes only in the corrections. Now the
# replayed confused digits are redrawn as pen strokes, and PEN_SHARE of a fine-tune's MNIST digits
# (at most MAX_PEN_REDRAWN, a few seconds) are too, so that distillation keeps the shipped network's
# answers on pen-drawn digits as well. Chosen on --split val (1:7 and 4:9, seeds 0 and 1) under a
# rule written first (fewest flagged runs, then the best mean style): shipped settings 3 runs of 4
# flagged, mean style 92.0%; replay redrawn only, 4 flagged, 93.2%; both (kept) 2 flagged, 93.7%.
PEN_SHARE = 0.25
MAX_PEN_REDRAWN = 2000
MISTAKES_SHOWN = 60

# The default "short retrain": the network the Draw tab answers with by default, fine-tuned
# on MNIST and the users' corrected drawings. benchmarks/retrain_short.py measures it
# (target: >= 99.0% MNIST test accuracy within 60 s on 2 cores; see README).
DEFAULT_ARCHITECTURE = DEFAULT_MODEL
# The short preset of a network is one epoch from its shipped weights with augmentation,
# one-cycle, and its recipe's optimizer, learning rate and batch size, except as here: about
# half a minute of training on one core each, measured with benchmarks/retrain_short.py.
SHORT_PRESETS: dict[str, dict[str, Any]] = {
    # A lower peak than from scratch (3e-3): it forgets less. Peak 2e-3 and remember 0.5, chosen on
    # learn_from_me.py --split val (see USER_SHARE above; seeds 0, 1, 2): the style 93.5%, 79.3%,
    # 87.5% (mean 86.8%), no digit of MNIST validation down more than 0.8 points. Peak 1e-3 and
    # remember 1.0 (before): 88.0%, 76.7%, 87.5% (84.1%), at most 0.5 down; 2e-3 with remember 1.0:
    # 93.5%, 77.8%, 87.5% (86.3%), at most 0.9 down. On seed 0, peak 3e-3 (remember 1.0) and
    # remember 2 (2e-3) taught less: 90.9% and 88.0%. Which 20 corrections moves the style by up to
    # 15 points; 0.5 points between two settings is within the noise, 2.7 less so.
    # Layer-wise rates (block_lr_scales 0.1, 0.3, 1), alone and with remember 0.25, were tried under
    # three rules and not kept: over 8 val runs one flagged against three, but the style 92.3%
    # against 93.7% (README, "Layer-wise learning rates").
    # Peak 4e-3 with the weights blended back towards the shipped ones (a = 0.8, 0.6), under a rule
    # written first (--split val, 1:7 seeds 0-2, 4:9 seeds 0-1): the blends that flag no run lose 7
    # points or more of the 1s, peak 4e-3 flags more runs; not kept (README, "A harder fine-tune").
    # Styled digits at the share of the recipe before aa1f92d (12,000 of 55,000: 1,309 of 6,000;
    # its 18,000 since would give 1,964). Chosen on --split val (1:7 and 4:9, seeds 0-2) under a
    # rule written first: the style 93.4% against 92.6% (1:7 93.0, 87.9, 93.0; 4:9 96.9, 93.3,
    # 96.4), one run flagged each (1:7 seed 1, MNIST validation 7s), a run 95 s against 101 s
    # (training 53 against 56 s).
    # In bfloat16 where the CPU computes it natively (Recipe.bfloat16), under a rule written first
    # (--split val, 1:7 and 4:9, seeds 0-2, float32 and bfloat16 one after the other on a 2-core
    # AVX512-BF16 machine): the style 93.4% either way (one run changed, 93.0 -> 92.6%), the same run
    # flagged, MNIST test 99.62% either way, a run 29 s against 47 s (training 16 against 26 s).
    # No label smoothing (the recipe's is 0.2; fine-tunes had always trained without it, and the
    # settings above were chosen so): with 0.2, under a rule written first (--split val, 1:7 and
    # 4:9, seeds 0-2), the style 92.3% against 93.4% (1:7 89.8, 84.8, 92.6; 4:9 100.0, 90.0, 96.4),
    # the same run flagged, MNIST test higher (99.66% against 99.62%): not kept.
    "convnet-bn": dict(train_size=6000, lr=2e-3, remember=0.5, styled_share=12_000 / 55_000, bfloat16=True,
                       label_smoothing=0.0),
    "lenet5": dict(epochs=2),
}


class RetrainError(ValueError):
    """Settings out of range, too many models, an unknown model...: the message is for the user."""


class Busy(RetrainError):
    """Another run holds the training slot."""


class Cancelled(RetrainError):
    """The user cancelled a run before it started."""


@dataclass(frozen=True)
class RetrainSettings:
    """Everything a run is made of. `train_size` None trains on all 55,000 MNIST training digits."""

    architecture: str
    epochs: int
    lr: float
    batch_size: int
    optimizer: str
    augment: bool
    schedule: str = "onecycle"
    start: str = "shipped"  # "shipped": fine-tune the shipped weights; "scratch": fresh weights
    use_user_samples: bool = True
    train_size: int | None = None
    time_budget_s: float = TIME_CAP_S
    seed: int = 0
    name: str = ""  # an optional display name; never part of a path
    remember: float = 0.0  # starting from shipped weights: how strongly it keeps their answers on MNIST (see fit)
    block_lr_scales: tuple[float, ...] = ()  # starting from shipped weights: each block's share of lr (see Recipe)
    styled_share: float | None = None  # starting from shipped weights: styled digits per MNIST digit (None: recipe's)
    bfloat16: bool = False  # a fine-tune: trained and read in bfloat16 where the hardware computes it natively (see Recipe)
    label_smoothing: float | None = None  # a fine-tune's (None: the recipe's); from scratch, always the recipe's

    def recipe(self) -> Recipe:
        """The network's recipe with these settings; its weight decay, momentum and label smoothing
        are kept (a fine-tune's label smoothing may be its preset's)."""
        tutorial = SPECS[self.architecture].recipe
        own_share = self.start == "shipped" and self.styled_share is not None  # from scratch: the recipe's
        share = self.styled_share if own_share else tutorial.styled_digits / 55_000
        styled = round(share * (self.train_size or 55_000))
        return Recipe(self.optimizer, self.lr, self.batch_size, self.epochs, augment=self.augment,
                      schedule=self.schedule, weight_decay=tutorial.weight_decay,
                      momentum=tutorial.momentum if self.optimizer == "sgd" else 0.0, styled_digits=styled,
                      styled_pen=tutorial.styled_pen,
                      label_smoothing=self.label_smoothing if self.start == "shipped" and self.label_smoothing is not None
                      else tutorial.label_smoothing,
                      block_lr_scales=self.block_lr_scales if self.start == "shipped" else (),
                      bfloat16=self.bfloat16 and self.start == "shipped")  # from scratch: as the recipe trains


def preset(architecture: str, kind: str = "short") -> RetrainSettings:
    """The settings the Retrain tab shows for a network.

    "tutorial": the network's own recipe from scratch, as its tutorial trains it.
    "short": its shipped weights fine-tuned for half a minute or so (see SHORT_PRESETS), with
    augmentation and a one-cycle learning rate: the way a user's drawings are learnt
    without forgetting MNIST.
    """
    if architecture not in SPECS:
        raise RetrainError(f"Unknown network {str(architecture)[:40]!r}. Choose one of: {', '.join(SPECS)}.")
    recipe = SPECS[architecture].recipe
    if kind == "tutorial":
        return RetrainSettings(architecture, recipe.epochs, recipe.lr, recipe.batch_size, recipe.optimizer,
                               recipe.augment, recipe.schedule, start="scratch")
    if kind != "short":
        raise ValueError(f"unknown preset {kind!r}")
    shipped = weights_path(architecture).exists()
    short = RetrainSettings(architecture, 1, recipe.lr, recipe.batch_size, recipe.optimizer, augment=True,
                            schedule="onecycle", start="shipped" if shipped else "scratch", remember=REMEMBER)
    return dataclasses.replace(short, **SHORT_PRESETS.get(architecture, {}))


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RetrainError(f"{what} must be a whole number from {low} to {high}, not {str(value)[:20]}.")
    return value


def _number(value: Any, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low < value <= high:
        raise RetrainError(f"{what} must be a number above {low:g} and at most {high:g}, not {str(value)[:20]}.")
    return float(value)


def _choice(value: Any, what: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise RetrainError(f"{what} must be one of {', '.join(choices)}, not {str(value)[:20]!r}.")
    return value


def clean_name(name: Any) -> str:
    """A display name as typed, reduced to one line of at most 60 printable characters."""
    if not isinstance(name, str):
        return ""
    return " ".join("".join(c if c.isprintable() else " " for c in name).split())[:60]


def make_settings(architecture: Any, epochs: Any = None, lr: Any = None, batch_size: Any = None,
                  optimizer: Any = None, augment: Any = None, schedule: Any = None, start: Any = None,
                  use_user_samples: Any = True, train_size: Any = None, time_budget_s: Any = None,
                  seed: Any = 0, name: Any = "") -> RetrainSettings:
    """Checked settings from what a user or an API client sent; None means the short preset's
    value for that network (train_size 0: all 55,000 MNIST training digits). Raises
    RetrainError, with a message for the user, for anything out of range."""
    if not isinstance(architecture, str) or architecture not in SPECS:
        raise RetrainError(f"Unknown network {str(architecture)[:40]!r}. Choose one of: {', '.join(SPECS)}.")
    base = preset(architecture)

    def given(value: Any, default: Any) -> Any:
        return default if value is None else value

    settings = RetrainSettings(
        architecture=architecture,
        epochs=_whole(given(epochs, base.epochs), "Epochs", 1, MAX_EPOCHS),
        lr=_number(given(lr, base.lr), "The learning rate", 0, MAX_LR),
        batch_size=_whole(given(batch_size, base.batch_size), "The batch size", 1, MAX_BATCH_SIZE),
        optimizer=_choice(given(optimizer, base.optimizer), "The optimizer", OPTIMIZERS),
        augment=bool(given(augment, base.augment)),
        schedule=_choice(given(schedule, base.schedule), "The schedule", SCHEDULES),
        start=_choice(given(start, base.start), "Start", STARTS),
        use_user_samples=bool(use_user_samples),
        train_size=base.train_size if train_size is None else _whole(train_size, "The number of training digits",
                                                                     0, 55_000) or None,
        time_budget_s=_number(given(time_budget_s, TIME_CAP_S), "The time limit (seconds)", 0, TIME_CAP_S),
        seed=_whole(given(seed, 0), "The seed", 0, 2**31 - 1),
        name=clean_name(name),
        remember=base.remember,
        block_lr_scales=base.block_lr_scales,
        styled_share=base.styled_share,
        bfloat16=base.bfloat16,
        label_smoothing=base.label_smoothing,
    )
    if settings.start == "shipped" and not weights_path(architecture).exists():
        raise RetrainError(f"{architecture} has no shipped weights to start from: start from scratch.")
    return settings


# --- A run -------------------------------------------------------------------------


@dataclass
class UserScores:
    """How a model does on the users' own drawings, before (the shipped network) and after.

    Drawings it trained on say little about how it will do on new ones, so some are held
    out (see user_samples.split_user_samples) once there are enough.
    """

    weight: int  # how many times each training drawing counts in an epoch
    trained: int
    held_out: int
    trained_before: float | None = None
    trained_after: float | None = None
    held_out_before: float | None = None
    held_out_after: float | None = None


@dataclass
class Mistake:
    image: torch.Tensor  # uint8 [28, 28]
    label: int
    predicted: int
    confidence: float


# A run whose network reads any digit more than this much worse than the network it started from
# (on MNIST validation, or on the same digits drawn as pen strokes) is not kept without asking:
# learning a user's 1s must not cost their 7s.
WORSE_BY = 0.01
# The seed the validation digits are redrawn as pen strokes with (pen.redraw); no training uses it.
DRAWN_SEED = pen.VALIDATION_SEED


@dataclass
class DigitChange:
    """One digit's accuracy before (the shipped network of the run's architecture, which a
    short retrain starts from) and after the run: on MNIST validation, and on the same digits
    drawn as pen strokes on the canvas (drawn_validation). The second is where a person's pen
    7s fall after they taught their 1s, while MNIST's own 7s barely move."""

    digit: int
    before: float | None  # None: no shipped network to compare with
    after: float
    drawn_before: float | None = None
    drawn_after: float | None = None

    @property
    def worse_on_mnist(self) -> bool:
        return self.before is not None and self.after < self.before - WORSE_BY

    @property
    def worse_drawn(self) -> bool:
        return self.drawn_before is not None and self.drawn_after is not None \
            and self.drawn_after < self.drawn_before - WORSE_BY

    @property
    def worse(self) -> bool:
        return self.worse_on_mnist or self.worse_drawn


@dataclass
class Run:
    """A finished, cancelled or timed-out run, in memory until saved with save_run."""

    settings: RetrainSettings
    model: nn.Module
    fit: FitResult
    user: UserScores
    cancelled: bool
    out_of_time: bool
    # The user's drawings it trained on and held out (images, labels, images, labels), as they were.
    drawings: tuple[torch.Tensor, ...] = ()
    # Set by check (the check before keeping), which a cancelled run gets only when kept.
    checked: bool = False
    temperature: float = 1.0  # see evaluate.choose_temperature
    per_digit: list[DigitChange] = dataclasses.field(default_factory=list)
    seconds: float = 0.0  # the whole run: loading, training, evaluating (not a check or test made when it is kept)
    # MNIST test (see read_mnist_test): None until tested, which a cancelled run is only when kept.
    test_accuracy: float | None = None
    confusion: torch.Tensor | None = None  # int64 [10, 10]: rows the true digit, columns the network's answer
    mistakes: list[Mistake] = dataclasses.field(default_factory=list)  # wrongly answered test digits, most confident first
    workspace: Workspace | None = None  # where save_run keeps it (None: the local workspace)
    model_id: str | None = None  # set by save_run

    @property
    def worse_digits(self) -> list[DigitChange]:
        """The digits it reads more than WORSE_BY worse than the network it started from."""
        return [change for change in self.per_digit if change.worse]


@dataclass
class Job:
    settings: RetrainSettings
    owner: str
    stop: threading.Event
    workspace: Workspace | None = None  # whose drawings it learns from, where it is saved (None: the local one)
    progress: Progress | None = None
    abandoned: bool = False  # nobody waits for the result any more

    def describe(self) -> str:
        """E.g. "lenet5, 42% done, about 30 s left"; "lenet5, 1% done" at the first step (no pace yet)."""
        p = self.progress
        if p is None or not p.step:
            return f"{self.settings.architecture}, starting"
        done, left = f"{self.settings.architecture}, {p.step / p.total_steps:.0%} done", eta_s(p, self.settings)
        return done if left is None else f"{done}, about {left:.0f} s left"


def eta_s(p: Progress, settings: RetrainSettings) -> float | None:
    """Seconds of training left: the pace since the first step, within the run's time limit; None
    before a second step. (The first step is slower than the rest: paced from the start, a short
    LeNet-5 retrain said "54 s left" at step 1 of a run whose training took 20 s.)"""
    if p.first_step_s is None or p.step < 2:
        return None
    left = (p.elapsed_s - p.first_step_s) / (p.step - 1) * (p.total_steps - p.step)
    return max(0.0, min(left, min(settings.time_budget_s, TIME_CAP_S) - p.elapsed_s))


# --- One training at a time, and a short, fair line of runs waiting for it -----------------
# The line is ours, not Gradio's queue: a run waiting there would take one of the places that
# predictions need. Each owner has at most one run, training or waiting; at most MAX_WAITING
# wait in all; beyond that a run is refused at once with an estimate of when to try again.

MAX_WAITING = 3
CLAIM_WITHIN_S = 60.0  # a place taken by expect() but not claimed by retrain() within this is given up
TYPICAL_RUN_S = 60.0  # how long a waiting run is expected to train, for "try again in about N s"


@dataclass
class Waiting:
    """A run waiting for the training slot: how many runs are ahead of it (the one training included)."""

    ahead: int
    running: str | None  # the run training now, described (see Job.describe)


@dataclass
class _Place:
    owner: str
    since: float
    claimed: bool = False  # retrain() was called for it (the run is really waiting)
    cancelled: bool = False


_turns = threading.Condition()  # guards the two below; notified when the slot frees or the line changes
_current: Job | None = None
_line: list[_Place] = []


def _prune() -> None:
    """Give up the places that were announced but never claimed (a page that went away)."""
    now = time.monotonic()
    _line[:] = [p for p in _line if p.claimed or now - p.since < CLAIM_WITHIN_S]


def _waiting() -> list[_Place]:
    return [p for p in _line if not p.cancelled]


def wait_estimate_s() -> float:
    """About how long until the slot is free for a run that joins the line now."""
    job = _current
    left = eta_s(job.progress, job.settings) if job and job.progress else None  # None: no pace yet
    now = 0.0 if job is None else TYPICAL_RUN_S if left is None else left
    return now + TYPICAL_RUN_S * len(_waiting())


def _admit(owner: str) -> _Place:
    """A place in the line for `owner` (under _turns), or AlreadyYours / Busy."""
    _prune()
    if _current is not None and _current.owner == owner and not _current.abandoned:  # abandoned: it is stopping
        raise AlreadyYours(f"Your training is already running ({_current.describe()}). "
                           "Cancel it first to start another.")
    if any(p.owner == owner for p in _waiting()):
        raise AlreadyYours("Your training is already waiting for its turn. Cancel it first to start another.")
    if len(_waiting()) >= MAX_WAITING:
        behind = " behind the one training" if _current is not None else ""
        raise Busy(f"The server is busy: {len(_waiting())} runs wait for their turn{behind}. "
                   f"Try again in about {math.ceil(wait_estimate_s() / 10) * 10:.0f} s.")
    place = _Place(owner, time.monotonic())
    _line.append(place)
    _turns.notify_all()
    return place


class AlreadyYours(RetrainError):
    """The owner pressed Start while its own run trains or waits: one run per owner."""


def expect(owner: str) -> str | None:
    """Take a place in the line for `owner` (its run follows with retrain()); return what it
    waits for, e.g. "lenet5, 42% done, about 30 s left", or None. AlreadyYours when the owner's
    own run is training or waiting, Busy when the line is full: refused, not queued."""
    with _turns:
        _admit(owner)
        job = _current
        ahead = len(_waiting()) - 1
    parts = [job.describe()] if job else []
    if ahead:
        parts.append(f"{ahead} more before yours" if job else f"{ahead} waiting before yours")
    return "; ".join(parts) or None


def stopping(owner: str) -> bool:
    """Whether `owner`'s running training was asked to stop (and is finishing its step)."""
    job = _current
    return job is not None and job.owner == owner and job.stop.is_set()


def cancel(owner: str) -> str:
    """Stop `owner`'s run: "stopping" if it is training, "unqueued" if it is still waiting,
    "nothing" if it has none. Nobody can stop another owner's run."""
    with _turns:
        if _current is not None and _current.owner == owner:
            _current.stop.set()
            return "stopping"
        for place in _waiting():
            if place.owner == owner:
                place.cancelled = True
                _turns.notify_all()
                return "unqueued"
    return "nothing"


def count_retrained_models(workspace: Workspace | None = None) -> int:
    return len(own_models(workspace))


def max_models(workspace: Workspace | None = None) -> int:
    """How many retrained models `workspace` may keep."""
    return MAX_RETRAINED_MODELS if local_or(workspace).local else QUOTA.models


def _check_room_for_a_model(workspace: Workspace | None) -> None:
    if count_retrained_models(workspace) >= max_models(workspace):
        raise RetrainError(f"You already have {max_models(workspace)} retrained models, the most you can keep. "
                           "Delete one in the Retrain tab first.")


def retrain(settings: RetrainSettings, owner: str = "", workspace: Workspace | None = None,
            report_every: int | None = None) -> Iterator[Waiting | Progress | Run]:
    """Wait for the training slot (yielding Waiting about once a second), train in a background
    thread on `workspace`'s drawings (the local workspace's when None), yield its Progress
    reports, then the Run.

    `owner` is who the run is for (one run each; see expect). If the caller stops iterating
    (a page closed, an API call cancelled), the run leaves the line or stops training.
    """
    global _current
    with _turns:
        place = next((p for p in _line if p.owner == owner and not p.claimed), None)
        if place is not None and place.cancelled:
            _line.remove(place)
            raise Cancelled("Cancelled: taken off the queue, it will not start.")
        if place is None:  # not announced (the API): take a place now, or be refused
            place = _admit(owner)
        place.claimed = True
    job = Job(settings, owner, threading.Event(), workspace=workspace)
    try:
        _check_room_for_a_model(workspace)
        while True:
            with _turns:
                if place.cancelled:
                    raise Cancelled("Cancelled: taken off the queue, it will not start.")
                if _current is None and _waiting()[0] is place:
                    _line.remove(place)
                    _current = job
                    break
                ahead = _waiting().index(place) + (_current is not None)
                running = _current.describe() if _current else None
                _turns.wait(timeout=1.0)
            yield Waiting(ahead, running)
    finally:
        with _turns:
            if place in _line:
                _line.remove(place)
                _turns.notify_all()
    updates: queue.Queue[Progress | Run | BaseException] = queue.Queue()
    try:
        threading.Thread(target=_work, args=(job, updates, report_every), name="retrain", daemon=True).start()
    except BaseException:
        _release(job)
        raise
    finished = False
    try:
        while True:
            item = updates.get()
            if isinstance(item, BaseException):
                finished = True
                raise item
            if isinstance(item, Run):
                finished = True
                yield item
                return
            yield item
    finally:
        if not finished:
            job.abandoned = True
            job.stop.set()


def _release(job: Job) -> None:
    global _current
    with _turns:
        if _current is job:
            _current = None
        _turns.notify_all()


def _work(job: Job, updates: queue.Queue, report_every: int | None) -> None:
    """The training thread: it alone trains, on TRAIN_THREADS core(s), then frees the slot."""
    threads = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)
    try:
        updates.put(_train(job, updates.put, report_every))
    except BaseException as error:  # handed to the generator, which raises it for the caller
        updates.put(error)
    finally:
        torch.set_num_threads(threads)
        _release(job)


@functools.cache
def mnist() -> MnistData:
    """MNIST, loaded once per process and kept in memory (about 55 MB)."""
    return load_mnist()


def user_sample_weight(n_user: int, n_mnist: int) -> int:
    """How many times each of the user's drawings counts per epoch: enough for them to make up
    about USER_SHARE of it, so that 30 drawings matter beside 55,000 MNIST digits, but not so
    often that the network learns those few by heart and forgets MNIST."""
    if n_user == 0:
        return 0
    return max(1, min(MAX_USER_WEIGHT, round(USER_SHARE * n_mnist / n_user)))


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float | None:
    return accuracy(model, images, labels) if len(images) else None


def _train(job: Job, report: Any, report_every: int | None) -> Run | None:
    start = time.perf_counter()
    s = job.settings
    data = mnist()
    if s.train_size:
        data = dataclasses.replace(data, train_images=data.train_images[:s.train_size],
                                   train_labels=data.train_labels[:s.train_size])
    recipe = s.recipe()
    data = with_styled_digits(data, recipe.styled_digits, seed=s.seed, pen_width=recipe.styled_pen)  # as the network's recipe mixes them
    if s.start == "shipped":
        data = with_pen_drawn(data, s.seed)
    model = build_model(s.architecture, seed=s.seed)  # the same fresh weights for the same seed
    shipped_path = weights_path(s.architecture)
    if s.start == "shipped":
        load_weights(model, shipped_path)

    # The user's drawings: trained on (most), held out (some, once there are enough), and
    # how the shipped network does on them, to compare with.
    if s.use_user_samples:
        (train_x, train_y), (held_x, held_y) = split_user_samples(job.workspace)
    else:
        train_x, train_y = torch.zeros(0, 28, 28, dtype=torch.uint8), torch.zeros(0, dtype=torch.int64)
        held_x, held_y = load_user_samples(job.workspace)  # none trained on: every one is a fair test
    weight = user_sample_weight(len(train_x), len(data.train_images))
    user = UserScores(weight, len(train_x), len(held_x))
    shipped = None
    start_accuracy: bool | float = True  # fit measures the starting network's validation accuracy...
    if shipped_path.exists():
        shipped = load_model(s.architecture)
        user.trained_before = _accuracy(shipped, train_x, train_y)
        user.held_out_before = _accuracy(shipped, held_x, held_y)
        shipped_logits = shipped_val_logits(s.architecture, shipped_path.stat().st_mtime_ns, recipe.bfloat16)
        if s.start == "shipped":  # ... unless it is the shipped one, measured already
            start_accuracy = (shipped_logits.argmax(1) == data.val_labels).float().mean().item()

    def on_progress(p: Progress) -> None:
        job.progress = p
        report(p)

    replay_x, replay_y = replay_confused(shipped, train_x, train_y, weight, s.seed)
    extra_x, extra_y = torch.cat([train_x] * max(weight, 1) + [replay_x]), torch.cat([train_y] * max(weight, 1) + [replay_y])
    steps = math.ceil((len(data.train_images) + len(extra_x)) / s.batch_size) * s.epochs
    result = fit(model, recipe, data, seed=s.seed, device=pick_device(), on_progress=on_progress,
                 should_stop=job.stop.is_set, time_budget_s=min(s.time_budget_s, TIME_CAP_S),
                 report_every=report_every or max(10, min(300, steps // 50)),
                 extra_images=extra_x if len(extra_x) else None, extra_labels=extra_y,
                 validate_first=start_accuracy, teacher=shipped if s.start == "shipped" and s.remember else None,
                 remember=s.remember)
    if job.abandoned:
        return None
    model.cpu().eval()
    cancelled = job.stop.is_set()
    run = Run(s, model, result, user, cancelled=cancelled, out_of_time=result.stopped_early and not cancelled,
              workspace=job.workspace, drawings=(train_x, train_y, held_x, held_y))
    if not cancelled:  # a cancelled run is checked and tested only if kept (save_run): Cancel is answered at once
        read_mnist_test(check(run))
    run.seconds = time.perf_counter() - start
    return run


def check(run: Run) -> Run:
    """The check before keeping: the run's network against the shipped one it is compared with,
    digit by digit, on MNIST validation and on the same digits drawn as pen strokes (read once,
    see shipped_drawn_logits); its temperature, for calibrated confidences (reading.py), from
    both; and its accuracy on the user's drawings. Made when a run ends, unless it was
    cancelled: then only if it is kept (save_run). Its validation pass was most of the 45 s the
    default short retrain took to answer a Cancel at its first report (benchmarks/retrain_short.py
    --cancel, 2 cores)."""
    if run.checked:
        return run
    s, model, data = run.settings, run.model, mnist()
    bfloat16 = s.recipe().bfloat16  # read as it was trained, and the shipped network alike
    val_logits = run.fit.val_logits if run.fit.val_logits is not None else \
        predict_logits(model, data.val_images, bfloat16=bfloat16)
    run.fit.val_accuracy = (val_logits.argmax(1) == data.val_labels).float().mean().item()
    if run.fit.history and run.fit.history[-1].val_accuracy is None:  # cancelled: its curve ends here too
        run.fit.history[-1] = dataclasses.replace(run.fit.history[-1], val_accuracy=run.fit.val_accuracy)
    drawn_logits = predict_logits(model, drawn_validation(), one_reading=True, bfloat16=bfloat16)
    run.temperature = round(choose_temperature([(val_logits, data.val_labels), (drawn_logits, data.val_labels)]), 4)
    train_x, train_y, held_x, held_y = run.drawings
    run.user.trained_after = _accuracy(model, train_x, train_y)
    run.user.held_out_after = _accuracy(model, held_x, held_y)
    after = _per_digit(val_logits, data.val_labels)
    before = drawn_before = drawn_after = [None] * 10
    shipped_path = weights_path(s.architecture)
    if shipped_path.exists():
        version = shipped_path.stat().st_mtime_ns
        before = _per_digit(shipped_val_logits(s.architecture, version, bfloat16), data.val_labels)
        drawn_before = _per_digit(shipped_drawn_logits(s.architecture, version, bfloat16), data.val_labels)
        drawn_after = _per_digit(drawn_logits, data.val_labels)
    run.per_digit = [DigitChange(d, before[d], after[d], drawn_before[d], drawn_after[d]) for d in range(10)]
    run.checked = True
    return run


def read_mnist_test(run: Run) -> Run:
    """Read MNIST's 10,000 test digits with the run's network: its test accuracy, confusion matrix
    and most confident mistakes, after its check (see check). A run is tested when it ends, unless
    it was cancelled: then only if it is kept (save_run), so that Cancel is answered at once (three
    readings of each test digit were most of the 73 s the default short retrain, cancelled at its
    first report, once took to answer on one slow core; benchmarks/retrain_short.py --cancel)."""
    if run.test_accuracy is not None:
        return run
    check(run)  # its temperature first
    data = mnist()
    logits = predict_logits(run.model, data.test_images, bfloat16=run.settings.recipe().bfloat16)
    probabilities = (logits / run.temperature).softmax(1)  # the mistakes' confidences, as the Draw tab would show them
    predicted = probabilities.argmax(1)
    labels = data.test_labels
    wrong = (predicted != labels).nonzero().flatten()
    wrong = wrong[probabilities[wrong, predicted[wrong]].argsort(descending=True)][:MISTAKES_SHOWN]
    run.mistakes = [Mistake(data.test_images[i], int(labels[i]), int(predicted[i]), float(probabilities[i, predicted[i]]))
                    for i in wrong.tolist()]
    run.confusion = torch.bincount(labels * 10 + predicted, minlength=100).view(10, 10)
    run.test_accuracy = (predicted == labels).float().mean().item()
    return run


def replay_confused(shipped: nn.Module | None, images: torch.Tensor, labels: torch.Tensor, weight: int,
                    seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST training digits to replay beside the corrections, redrawn as pen strokes as the
    corrections were drawn: for each correction the shipped network read as another digit, REPLAY
    x `weight` MNIST digits of that other digit (drawn from all 55,000, seeded). None for
    corrections it already read right, or without a shipped network."""
    none = torch.zeros(0, 28, 28, dtype=torch.uint8), torch.zeros(0, dtype=torch.int64)
    if shipped is None or not len(images) or REPLAY <= 0:
        return none
    mistaken = predict_logits(shipped, images).argmax(1)
    confused = mistaken[mistaken != labels]
    if not len(confused):
        return none
    data = mnist()
    generator = torch.Generator().manual_seed(seed)
    picked = []
    for digit, count in zip(*torch.unique(confused, return_counts=True)):
        pool = (data.train_labels == digit).nonzero().flatten()
        picked.append(pool[torch.randint(len(pool), (round(REPLAY * weight * int(count)),), generator=generator)])
    index = torch.cat(picked)
    return pen.redraw(data.train_images[index], seed=1000 + seed), data.train_labels[index]


def with_pen_drawn(data: MnistData, seed: int) -> MnistData:
    """`data` with PEN_SHARE of its training digits (at most MAX_PEN_REDRAWN, chosen by `seed`)
    redrawn as pen strokes (pen.redraw); validation and test unchanged. The redrawn digits are
    kept beside MNIST: the next run with the same seed reads them (5 s of redrawing on one slow core)."""
    count = min(round(PEN_SHARE * len(data.train_images)), MAX_PEN_REDRAWN)
    index = torch.randperm(len(data.train_images), generator=torch.Generator().manual_seed(2000 + seed))[:count]
    images = data.train_images.clone()
    images[index] = pen.kept_redraw("pen-drawn-training", data.train_images[index], seed=3000 + seed)
    return dataclasses.replace(data, train_images=images)


def _kept_shipped_logits(architecture: str, images: torch.Tensor, name: str, one_reading: bool,
                         bfloat16: bool) -> torch.Tensor:
    """The shipped network's logits on `images`, kept beside MNIST: the weights file, the images
    and the code that reads them name the file. Read in bfloat16 (where native) for a run that
    reads its own network so: the check compares two networks read alike."""
    bfloat16 = bfloat16 and bfloat16_native(torch.device("cpu"))
    made_from = digest(weights_path(architecture).read_bytes(), images.numpy().tobytes(), str(one_reading).encode(),
                       *code_of(load_model, load_weights, build_model, predict_logits, precision, to_float))
    return torch.from_numpy(kept_beside_mnist(
        f"{name}-logits-{architecture}" + ("-bfloat16" if bfloat16 else ""), made_from,
        lambda: predict_logits(load_model(architecture), images, one_reading=one_reading, bfloat16=bfloat16).numpy(),
        (len(images), 10), np.float32))


@functools.lru_cache(maxsize=2 * len(SPECS))
def shipped_val_logits(architecture: str, file_version: int, bfloat16: bool = False) -> torch.Tensor:
    """The shipped network's logits on the MNIST validation digits, once per process (and weights
    file version) and kept beside MNIST: every run compares with them, a fine-tune starts from
    them, and reading 5,000 digits three ways took a server's first run 24 s on one slow core."""
    return _kept_shipped_logits(architecture, mnist().val_images, "validation", one_reading=False, bfloat16=bfloat16)


@functools.cache
def drawn_validation() -> torch.Tensor:
    """MNIST's validation digits redrawn as pen strokes on a canvas (uint8 [5000, 28, 28]).

    Made once (14 s on 2 slow cores, on the first run's thread, after its training) and kept
    beside MNIST, where the data folder can be written: the next process, and every test
    server, reads 4 MB instead."""
    return pen.kept_redraw("pen-drawn-validation", mnist().val_images, seed=DRAWN_SEED)


@functools.lru_cache(maxsize=2 * len(SPECS))
def shipped_drawn_logits(architecture: str, file_version: int, bfloat16: bool = False) -> torch.Tensor:
    """The shipped network's logits on drawn_validation(), once per process (and weights file
    version), kept beside MNIST. One reading each, before and after alike: the check compares,
    and three readings of 5,000 more digits would add seconds to every run."""
    return _kept_shipped_logits(architecture, drawn_validation(), "pen-drawn-validation", one_reading=True,
                                bfloat16=bfloat16)


def per_digit_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                       one_reading: bool = False) -> list[float]:
    """The share of each digit 0..9 of `images` that `model` reads right (see predict_logits)."""
    return _per_digit(predict_logits(model, images, one_reading=one_reading), labels)


def _per_digit(logits: torch.Tensor, labels: torch.Tensor) -> list[float]:
    right = logits.argmax(1) == labels
    return [right[labels == d].float().mean().item() for d in range(10)]


# --- Keeping the result ------------------------------------------------------------

_save_lock = threading.Lock()


def new_model_id(architecture: str, now: datetime.datetime, workspace: Workspace | None = None) -> str:
    """E.g. "lenet5-1405-a1b2c3": the network, the time, and 6 random hex digits (unique on the server)."""
    taken = set(list_models(workspace=workspace))
    while True:
        model_id = f"{architecture}-{now:%H%M}-{secrets.token_hex(3)}"
        if MODEL_ID_PATTERN.match(model_id) and model_id not in taken:
            return model_id


def save_run(run: Run) -> str:
    """Save a run's network as a new model and return its id, e.g. "lenet5-1405-a1b2".

    Its name is "lenet5 · retrained 14:05" (the app adds the test accuracy) or the name
    the user gave. It goes into the run's workspace. Refuses (RetrainError) beyond the
    workspace's number of models or bytes, or when the disk cannot take it (nothing is
    written then). A cancelled run is checked and tested first (read_mnist_test): its file records both.
    """
    if run.model_id:
        return run.model_id
    read_mnist_test(run)  # a cancelled run is checked and tested now, before it is written
    s = run.settings
    now = datetime.datetime.now()
    with _save_lock:
        _check_room_for_a_model(run.workspace)
        size = sum(t.numel() * t.element_size() for t in run.model.state_dict().values()) + 64 * 1024
        try:
            make_room(local_or(run.workspace), size)
        except QuotaError as error:
            raise RetrainError(str(error)) from None
        model_id = new_model_id(s.architecture, now, run.workspace)
        name = s.name or f"{s.architecture} · retrained {now:%H:%M}"
        metadata = weights_metadata(model_id, s.architecture, run.model, s.recipe(), s.seed, run.fit,
                                    run.test_accuracy, name=name)
        metadata.update({
            "temperature": run.temperature,
            "retrained": True,
            "started_from": s.start,
            "train_size": s.train_size or len(mnist().train_images),
            "stopped": "cancelled" if run.cancelled else "time limit" if run.out_of_time else "",
            "user_samples": dataclasses.asdict(run.user),
            "per_digit_validation": [dataclasses.asdict(change) for change in run.per_digit],
        })
        try:
            save_weights(run.model, weights_path(model_id, retrained_models_dir(run.workspace)), metadata)
        except OSError as error:  # e.g. the disk is full: save_weights leaves nothing behind
            raise RetrainError(f"The network could not be saved ({error.strerror or error}); nothing was "
                               "changed. Try again later.") from None
    run.model_id = model_id
    return model_id


def delete_retrained_model(model_id: str, workspace: Workspace | None = None) -> None:
    """Delete one of `workspace`'s retrained models. The shipped models, and everyone else's,
    cannot be deleted: to another workspace a model id is simply unknown."""
    if model_id in SPECS:
        raise RetrainError(f"{model_id} is a shipped model: it cannot be deleted.")
    if not isinstance(model_id, str) or model_id not in own_models(workspace):
        raise RetrainError(f"There is no retrained model {str(model_id)[:70]!r} of yours.")
    weights_path(model_id, retrained_models_dir(workspace)).unlink(missing_ok=True)

