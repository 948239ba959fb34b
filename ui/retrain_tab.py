"""The Retrain tab: train a network again, from the page or through the /retrain API.

`retrain_tab()` declares the tab's content; app.py places it in `with gr.Tab("Retrain"):`.
The work is done by mnist_core.retrain (one training at a time, in a background thread)
and mnist_core.user_samples (the drawings users corrected in the Draw tab). This file only
turns settings into calls and results into components.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import time
from typing import Any, Callable, Iterator

import gradio as gr
import pandas as pd
from PIL import Image

import mnist_core
from mnist_core import retrain as rt
from mnist_core.models import SPECS
from mnist_core.registry import model_info, own_models
from mnist_core.train import Progress
from mnist_core.user_samples import (HOLDOUT_MIN_SAMPLES, UserSampleError, count_user_samples,
                                     delete_user_sample, list_user_samples, max_samples)
from mnist_core.workspaces import QUOTA, Workspace
from ui.texts import language, say, t
from ui.visitors import owner_of, workspace_of

log = logging.getLogger(__name__)

PLOT_EVERY_S = 0.5  # the curves are redrawn at most this often
SAMPLES_SHOWN = 120
PRESETS = [(t("Short retrain: fine-tune the shipped weights, a minute or so"), "short"),
           (t("The tutorial's recipe, from scratch"), "tutorial")]
CURVE_COLUMNS = ["epoch", "value", "series"]
LOSS_SERIES = ["training loss"]
ACCURACY_SERIES = ["training (augmented batches)", "validation"]
SERIES_COLOURS = {"training loss": "#ea580c", "training (augmented batches)": "#ea580c", "validation": "#2563eb"}
LOSS_PLOT = (LOSS_SERIES, "Loss", "cross-entropy")  # its series, title and y axis title
ACCURACY_PLOT = (ACCURACY_SERIES, "Accuracy", "accuracy")
# A run's loss axis starts at 0: how far the loss has to fall, and an axis of ticks from the
# first point on (an axis fitted to a run's first, lone point was a single tick of six decimals).
LOSS_Y_LIM = [0, None]


def _curves(history: list[Progress], request: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Loss and accuracy curves as long tables (x: epoch, y: value, colour: series, named in the page's language)."""
    loss_series, accuracy_series = ([say(name, request) for name in names] for names in (LOSS_SERIES, ACCURACY_SERIES))
    loss = [(p.epoch, p.loss, loss_series[0]) for p in history if p.step]
    accuracy = [(p.epoch, p.train_accuracy, accuracy_series[0]) for p in history if p.step]
    accuracy += [(p.epoch, p.val_accuracy, accuracy_series[1]) for p in history if p.val_accuracy is not None]
    return _table(loss, loss_series, 0.0), _table(accuracy, accuracy_series, 1.0)


def _table(rows: list[tuple[float, float, str]], series: list[str], bound: float) -> pd.DataFrame:
    """A curve's long table, typed (numbers, not objects) even when empty: the plot's axes follow the types.

    Every series in `series` has a row, a placeholder until it has points. Why: Gradio's
    LinePlot fixes its colour scale's domain (the series it colours and lists in the legend)
    from the table it first renders, and later values only replace the plot's data. A series
    missing from that first table is drawn without a colour, that is, not at all. The
    placeholder is one point, which a line does not draw, at epoch 0 and the curve's natural
    `bound` (a loss's 0, an accuracy's 1), so the axes stay finite and where the curve goes
    anyway (NaN placeholders made Vega warn "Infinite extent" in the console).
    """
    missing = [(0.0, bound, name) for name in series if name not in {row[2] for row in rows}]
    return pd.DataFrame(rows + missing, columns=CURVE_COLUMNS).astype({"epoch": float, "value": float, "series": str})


def _plot_words(series: list[str], title: str, y_title: str, request: Any = None) -> dict[str, Any]:
    """A curve plot's words in the page's language (titles, legend), and its colours by series name."""
    return dict(title=say(title, request), x_title=say("epoch", request), y_title=say(y_title, request),
                color_title=say("series", request),
                color_map={say(name, request): SERIES_COLOURS[name] for name in series})


def _plots_over(history: list[Progress], epochs: float, request: Any = None) -> tuple[gr.LinePlot, gr.LinePlot]:
    """The loss and accuracy plots of `history` on an x axis from 0 to `epochs`. A new x_lim also
    makes the plots render afresh, from tables that name every series (see _table)."""
    loss, accuracy = _curves(history, request)
    return (gr.LinePlot(loss, x_lim=[0, epochs], y_lim=LOSS_Y_LIM, **_plot_words(*LOSS_PLOT, request)),
            gr.LinePlot(accuracy, x_lim=[0, epochs], y_lim=None, **_plot_words(*ACCURACY_PLOT, request)))


def _curve_plot(blank: pd.DataFrame, series: list[str], title: str, y_title: str, elem_id: str) -> gr.LinePlot:
    """A plot before any run. Its axes are fixed, 0 to 1 each way: fitted to the lone placeholder
    point they were one tick each, "0.000000" (see _table). A run's plots free them (_plots_over)."""
    return gr.LinePlot(blank, x="epoch", y="value", color="series", height=260, elem_id=elem_id,
                       x_lim=[0, 1], y_lim=[0, 1], **_plot_words(series, title, y_title))


def _fill(architecture: str, preset: str) -> list[Any]:
    """The controls for a network and preset (see rt.preset)."""
    s = rt.preset(architecture, preset)
    return [s.start, s.epochs, s.lr, s.batch_size, s.optimizer, s.schedule, s.augment, s.train_size or 0]


WORKSPACE_NOTE = (
    "_Your drawings and retrained models are yours: nobody else sees, uses or deletes them. This browser keeps "
    "them for you (up to {models} models, {drawings} drawings, {megabytes} MB); where the server runs out of "
    "room, the anonymous work unused the longest is removed first. Signed in with Hugging Face (where "
    "offered), they stay with your account._")


def _waiting_words(waiting: rt.Waiting, request: Any = None) -> str:
    running = html.escape(say(waiting.running, request)) if waiting.running else say("finishing", request)
    more = say(", and {count} more wait before yours", request, count=waiting.ahead - 1) if waiting.ahead > 1 else ""
    return say(WAITING, request, running=running, more=more)


WAITING = ("**Waiting for its turn.** Another training is running ({running}){more}; one runs at a time on this "
           "server. Yours starts when it ends; **Cancel** takes it off the queue.")


def _percent(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _summary(run: rt.Run, request: Any = None) -> str:
    """The run's results as Markdown, in the page's language: MNIST validation and test, and the user's drawings."""
    s, u = run.settings, run.user
    how = "cancelled" if run.cancelled else "stopped at its time limit" if run.out_of_time else "finished"
    rows = [
        say("**{network}** {how} after {epochs} epoch(s), {steps} steps, in {seconds} s (training {training} s).",
            request, network=s.architecture, how=say(how, request), epochs=f"{run.fit.epochs:.2f}", steps=run.fit.steps,
            seconds=f"{run.seconds:.0f}", training=f"{run.fit.elapsed_s:.0f}"),
        "",
        say("| | accuracy |", request),
        "| --- | ---: |",
        say("| MNIST validation (5,000 training-set digits held out) | {accuracy} |", request,
            accuracy=say("– (checked if kept)", request) if run.fit.val_accuracy is None
            else _percent(run.fit.val_accuracy)),
        say("| MNIST test (10,000 digits, never trained on) | **{accuracy}** |", request,
            accuracy=say("– (tested if kept)", request) if run.test_accuracy is None else _percent(run.test_accuracy)),
    ]
    if u.trained or u.held_out:
        before = say("the shipped {network}", request, network=s.architecture)
        if u.held_out:
            rows.append(say("| your {count} held-out drawings (never trained on) | **{after}** ({before}: {then}) |",
                            request, count=u.held_out, after=_percent(u.held_out_after), before=before,
                            then=_percent(u.held_out_before)))
        if u.trained:
            rows.append(say("| your {count} drawings it trained on (each counted {weight}× an epoch: optimistic) | "
                            "{after} ({before}: {then}) |", request, count=u.trained, weight=u.weight,
                            after=_percent(u.trained_after), before=before, then=_percent(u.trained_before)))
        if u.trained and not u.held_out:
            rows.append("")
            rows.append(say("_With {count} drawings or more, one in five is held out to measure the network on "
                            "drawings it never saw._", request, count=HOLDOUT_MIN_SAMPLES))
    if any(change.before is not None for change in run.per_digit):
        changes = run.per_digit
        drawn = any(c.drawn_before is not None for c in changes)
        rows += ["", say("Each digit, the shipped {network} → this network (**bold**: more than {worse} worse), on "
                         "MNIST validation and on the same digits drawn as pen strokes:" if drawn else
                         "Each digit on MNIST validation, the shipped {network} → this network (**bold**: more than "
                         "{worse} worse):", request, network=s.architecture, worse=f"{rt.WORSE_BY:.0%}"), "",
                 f"| {say('digit', request)} | " + " | ".join(str(c.digit) for c in changes) + " |",
                 "| --- |" + " ---: |" * len(changes),
                 f"| {say('before', request)} | " + " | ".join(_percent(c.before) for c in changes) + " |",
                 f"| {say('after', request)} | " + " | ".join(_bold_if(c.worse_on_mnist, c.after) for c in changes) + " |"]
        if drawn:
            rows += [f"| {say('drawn, before', request)} | " + " | ".join(_percent(c.drawn_before) for c in changes) + " |",
                     f"| {say('drawn, after', request)} | " + " | ".join(_bold_if(c.worse_drawn, c.drawn_after)
                                                                       for c in changes) + " |"]
    return "\n".join(rows)


def _bold_if(worse: bool, x: float | None) -> str:
    return f"**{_percent(x)}**" if worse else _percent(x)


MOST_WORSE_NAMED = 3  # more digits worse than this are counted, not listed: a list of 9 is a wall of text


def _worse_words(run: rt.Run, request: Any = None) -> str:
    """E.g. "it reads 7 worse than the shipped convnet-bn it is compared with (MNIST validation,
    7: 99.6% → 98.4%; drawn as pen strokes, 7: 98.8% → 97.1%)", in the page's language."""
    worse = run.worse_digits
    if len(worse) > MOST_WORSE_NAMED:  # a wrecked run: the table below says it digit by digit
        return say("it reads {count} of the 10 digits worse than the shipped {network} it is compared with "
                   "(each digit in the table below)", request, count=len(worse), network=run.settings.architecture)
    where = []
    if any(c.worse_on_mnist for c in worse):
        where.append(say("MNIST validation, {changes}", request, changes=", ".join(
            f"{c.digit}: {_percent(c.before)} → {_percent(c.after)}" for c in worse if c.worse_on_mnist)))
    if any(c.worse_drawn for c in worse):
        where.append(say("drawn as pen strokes, {changes}", request, changes=", ".join(
            f"{c.digit}: {_percent(c.drawn_before)} → {_percent(c.drawn_after)}" for c in worse if c.worse_drawn)))
    digits = say(" and ", request).join(str(c.digit) for c in worse)
    return say("it reads {digits} worse than the shipped {network} it is compared with ({changes})",
               request, digits=digits, network=run.settings.architecture, changes="; ".join(where))


def _careful(run: rt.Run, request: Any = None) -> str:
    """The status of a run that reads a digit worse: not kept without asking."""
    return say("**Careful**: {worse}. MNIST test accuracy **{accuracy}**. Keep it anyway, or throw it away?", request,
               worse=_worse_words(run, request), accuracy=f"{run.test_accuracy:.1%}")


def _confusion_columns(request: Any = None) -> list[str]:
    return [say("true ↓ / answer →", request)] + [str(d) for d in range(10)]


def _confusion(run: rt.Run, request: Any = None) -> pd.io.formats.style.Styler | pd.DataFrame:
    if run.confusion is None:  # not tested (yet): a cancelled run
        return pd.DataFrame(columns=_confusion_columns(request))
    table = pd.DataFrame([[str(digit), *row] for digit, row in enumerate(run.confusion.tolist())],
                         columns=_confusion_columns(request))

    def shade(row: pd.Series) -> list[str]:
        digit = int(row.iloc[0])
        styles = [""]
        for answer, count in enumerate(row.iloc[1:]):
            if answer == digit:
                styles.append("font-weight: bold")
            elif count:
                styles.append(f"background-color: rgba(220, 38, 38, {min(0.15 + count / 20, 0.8):.2f})")
            else:
                styles.append("color: #aaa")
        return styles

    return table.style.apply(shade, axis=1)


def _mistakes(run: rt.Run) -> list[tuple[Image.Image, str]]:
    return [(mnist_core.to_pil(m.image.float() / 255).resize((112, 112), Image.Resampling.NEAREST),
             f"{m.label} → {m.predicted}, {m.confidence:.0%}") for m in run.mistakes]


MODEL_COLUMNS = ["id", "name", "MNIST test", "started from", "epochs", "your drawings", "saved (UTC)"]


def _models_table(ws: Workspace | None, request: Any = None) -> pd.DataFrame:
    """Every retrained model of the workspace `ws`, newest first, with how it was made (ids first),
    in the page's language."""
    rows = []
    for model_id in reversed(own_models(ws)):
        try:
            info = model_info(model_id, workspace=ws)
        except Exception:  # a broken file: list it, so that it can be deleted
            rows.append([model_id, say("unreadable file", request), "", "", "", "", ""])
            continue
        user = info.get("user_samples") or {}
        rows.append([model_id, info.get("name", ""), _percent(info.get("test_accuracy")),
                     say(str(info.get("started_from", "")), request), info.get("epochs_trained", ""),
                     say("{trained} (+{held_out} held out)", request, trained=user.get("trained", 0),
                         held_out=user.get("held_out", 0)),
                     str(info.get("date", ""))[:16].replace("T", " ")])
    return pd.DataFrame(rows, columns=[say(column, request) for column in MODEL_COLUMNS])


def _models_update(request: gr.Request) -> tuple[pd.DataFrame, gr.Dropdown, gr.Row]:
    """The list of the visitor's retrained models, and the delete controls: nothing preselected (a
    second click must never delete another model), no confirmation pending."""
    table = _models_table(workspace_of(request), request)
    return table, gr.Dropdown(choices=table.iloc[:, 0].tolist(), value=None), gr.Row(visible=False)


def _samples_update(digit: str, request: gr.Request) -> tuple[list[tuple[Image.Image, str]], list[str], str, None, str]:
    """The gallery of the visitor's drawings (as the networks see them), newest first; none selected."""
    ws = workspace_of(request)
    samples = list_user_samples(ws)
    total = len(samples)
    if digit != "all":
        samples = [s for s in samples if s.digit == int(digit)]
    shown = samples[:SAMPLES_SHOWN]
    images = [(Image.open(s.mnist28_path).convert("L").resize((112, 112), Image.Resampling.NEAREST), str(s.digit))
              for s in shown]
    which = "" if digit == "all" else say(" of the {count} labelled {digit}", request, count=len(samples), digit=digit)
    note = say("{total} drawing(s) kept (at most {most}); showing {shown}{which}, newest first. They come from the "
               "Draw tab: when a network is wrong, say which digit you drew. Select one to delete it.", request,
               total=total, most=max_samples(ws), shown=len(shown), which=which)
    return images, [s.id for s in shown], note, None, ""


def retrain_tab(model_selector: gr.Dropdown | None = None,
                model_choices: Callable[[Workspace | None], list[tuple[str, str]]] | None = None,
                drawing_kept: Any = None, after_models_change: Callable[[Any], None] | None = None,
                page_loaded: Any = None) -> None:
    """Declare the Retrain tab and the /retrain API endpoint.

    `model_selector`: the Draw tab's network dropdown, and `model_choices()` its (label, id)
    choices. When the page loads and after a model is kept or deleted, the dropdown gets
    the current choices; a newly kept model becomes its value, and `after_models_change` chains
    what else follows (the Draw tab's comparison). `drawing_kept`: the Draw tab's event that
    keeps a corrected drawing, after which this tab's counts and gallery follow. `page_loaded`:
    the event that tells the server whose page it is (visitors.welcome), after which the tab
    shows that visitor's drawings and models.
    """
    default = rt.preset(rt.DEFAULT_ARCHITECTURE, "short")
    gr.Markdown(t(
        "Train a network again and use it in the Draw tab. The **short retrain** fine-tunes a network's "
        "shipped weights on MNIST (with random distortions) plus your corrected drawings, then checks and "
        "tests it: a minute or so on two cores. The **tutorial recipe** trains it from scratch as its tutorial "
        "does. One training runs at a time on this server: a second one waits for it (at most three wait)."
    ))
    gr.Markdown(t(WORKSPACE_NOTE, models=QUOTA.models, drawings=QUOTA.drawings, megabytes=QUOTA.megabytes),
                elem_id="workspace-note")
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            architecture = gr.Dropdown([(f"{spec.name} ({spec.id})", spec.id) for spec in SPECS.values()],
                                       value=default.architecture, label=t("Network"), filterable=False,
                                       elem_id="retrain-network")
            preset = gr.Radio(PRESETS, value="short", label=t("Settings from"))
            start = gr.Radio([(t("its shipped weights"), "shipped"), (t("scratch (random weights)"), "scratch")],
                             value=default.start, label=t("Start from"))
            epochs = gr.Slider(1, rt.MAX_EPOCHS, value=default.epochs, step=1, label=t("Epochs"), elem_id="retrain-epochs")
            # Every control a preset fills (_fill) stays out of "More settings": Gradio renders a closed
            # accordion's children only once it opens, and then applies the values they missed a moment
            # later, over what the person may have typed already (a typed 2,000 became 0 again, and the
            # run trained on all 55,000: see README, "The Retrain tab").
            train_size = gr.Number(default.train_size or 0, precision=0, minimum=0, maximum=55_000,
                                   label=t("MNIST training digits per epoch (0: all 55,000)"))
            with gr.Row():
                lr = gr.Number(default.lr, label=t("Learning rate (peak, with one-cycle)"), minimum=0, step=1e-4)
                batch_size = gr.Number(default.batch_size, label=t("Batch size"), precision=0, minimum=1,
                                       maximum=rt.MAX_BATCH_SIZE)
            with gr.Row():
                optimizer = gr.Dropdown([("SGD", "sgd"), ("Adam", "adam"), ("AdamW", "adamw")],
                                        value=default.optimizer, label=t("Optimizer"), filterable=False)
                schedule = gr.Dropdown([(t("one-cycle"), "onecycle"), (t("constant"), "constant")],
                                       value=default.schedule, label=t("Learning-rate schedule"), filterable=False)
            augment = gr.Checkbox(default.augment, label=t("Augment: random rotation, scale, shear, shift, stroke width"))
            use_samples = gr.Checkbox(True, label=t("Include your corrected drawings"))
            # The name too: typed just after "More settings" opened, it was once lost (the run kept
            # no name; tests/test_retrain.py's cancelled run, on 5b36285's clean clone).
            name = gr.Textbox("", label=t("Name (optional)"), max_length=60,
                              placeholder=t("e.g. lenet5 with my sevens"))
            with gr.Accordion(t("More settings"), open=False):
                time_budget_s = gr.Slider(10, rt.TIME_CAP_S, value=rt.TIME_CAP_S, step=10,
                                          label=t("Time limit (seconds): training stops there"),
                                          elem_id="retrain-time-limit")
                seed = gr.Number(0, precision=0, minimum=0, label=t("Random seed"))
            with gr.Row():
                start_button = gr.Button(t("Start"), variant="primary")
                cancel_button = gr.Button(t("Cancel"), variant="stop")
        with gr.Column(scale=2):
            status = gr.Markdown(t("Choose a network and press **Start**."), elem_id="retrain-status")
            with gr.Row():
                blank_loss, blank_accuracy = _curves([])
                loss_plot = _curve_plot(blank_loss, *LOSS_PLOT, "loss-plot")
                accuracy_plot = _curve_plot(blank_accuracy, *ACCURACY_PLOT, "accuracy-plot")
            summary = gr.Markdown(elem_id="retrain-summary")
            with gr.Row(visible=False) as keep_row:
                keep_button = gr.Button(t("Keep it as a new model"), variant="primary")
                discard_button = gr.Button(t("Throw it away"))
            new_model = gr.Textbox(label=t("New model (select it in the Draw tab)"), interactive=False)
            with gr.Accordion(t("Confusion matrix and the test digits it gets wrong"), open=True):
                confusion = gr.Dataframe(pd.DataFrame(columns=_confusion_columns()), interactive=False, elem_id="confusion",
                                         label=t("MNIST test: true digit (rows) against the network's answer (columns)"))
                mistakes = gr.Gallery(label=t("Test digits it gets wrong (true digit → its answer, confidence), "
                                              "most confident first"), columns=6,
                                      height=300, object_fit="contain")
    pending = gr.State(None, time_to_live=3600)  # a cancelled run, until kept or thrown away
    queue_note = gr.State("")  # what a run just started waits for, in words

    with gr.Accordion(t("Your drawings"), open=False) as samples_box:
        with gr.Row():
            digit_filter = gr.Dropdown([(t("all"), "all")] + [str(d) for d in range(10)], value="all", label=t("Show"),
                                       filterable=False, scale=0, min_width=120)
            samples_note = gr.Markdown(elem_id="samples-note")
        samples = gr.Gallery(label=t("Your drawings as the networks see them (28×28)"), columns=12, height=260,
                             object_fit="contain", allow_preview=False, elem_id="samples")
        sample_ids = gr.State([])
        selected_sample = gr.State(None)
        with gr.Row():
            selected_note = gr.Markdown(elem_id="selected-sample")
            delete_sample_button = gr.Button(t("Delete the selected drawing"), size="sm")

    with gr.Accordion(t("Retrained models"), open=False):
        models = gr.Dataframe(pd.DataFrame(columns=MODEL_COLUMNS), interactive=False,
                              label=t("Yours (at most {models})", models=QUOTA.models),
                              elem_id="retrained-models")
        with gr.Row():
            model_to_delete = gr.Dropdown([], value=None, label=t("Model"), filterable=False, elem_id="model-to-delete")
            delete_model_button = gr.Button(t("Delete this model"), size="sm", variant="stop")
        with gr.Row(visible=False) as confirm_row:
            confirm_note = gr.Markdown()
            confirm_button = gr.Button(t("Yes, delete it"), size="sm", variant="stop")
            keep_model_button = gr.Button(t("No, keep it"), size="sm")

    controls = dict(architecture=architecture, start=start, epochs=epochs, lr=lr, batch_size=batch_size,
                    optimizer=optimizer, schedule=schedule, augment=augment, use_user_samples=use_samples,
                    train_size=train_size, time_budget_s=time_budget_s, seed=seed, name=name)
    SETTINGS = set(controls.values())  # a set: the functions get one {component: value} dict

    def values(given: dict[gr.components.Component, Any]) -> dict[str, Any]:
        return {key: given[component] for key, component in controls.items()}
    RESULTS = [status, loss_plot, accuracy_plot, summary, keep_row, new_model, confusion, mistakes, pending]

    def announce(given: dict, request: gr.Request) -> str:
        """Before the run is queued: check the settings and that this visitor has no run yet, and
        say in words what the run waits for. A refusal is a warning, and stops the chain with an
        invisible error: this event has no visible outputs, so no control is put in an error state."""
        try:
            rt.make_settings(**values(given))
            waiting_for = rt.expect(owner_of(request))
        except rt.RetrainError as error:
            gr.Warning(say(str(error), request))
            raise gr.Error(str(error), visible=False, print_exception=False) from None
        if waiting_for:
            return say(WAITING, request, running=html.escape(say(waiting_for, request)), more="")
        return say("Starting…", request)

    def shown(run: rt.Run, request: Any) -> dict:
        """A run's results on the page: its curves (the x axis spans what ran: a run cancelled or out
        of time early fills the plots, too), summary, confusion matrix and mistakes (until tested, none)."""
        loss, accuracy = _plots_over(run.fit.history, max(run.fit.epochs, 1e-3), request)
        return {loss_plot: loss, accuracy_plot: accuracy, summary: _summary(run, request),
                confusion: _confusion(run, request), mistakes: _mistakes(run)}

    def train(given: dict, request: gr.Request) -> Iterator[dict]:
        try:
            settings = rt.make_settings(**values(given))
        except rt.RetrainError as error:  # announce checked them: settings changed since
            gr.Warning(say(str(error), request))
            yield {status: say(str(error), request)}
            return
        # The x axis spans the whole run, so the curves grow across it.
        blank_loss, blank_accuracy = _plots_over([], settings.epochs, request)
        yield {status: say("Starting: loading MNIST and your drawings…" if settings.use_user_samples
                           else "Starting: loading MNIST…", request),
               loss_plot: blank_loss, accuracy_plot: blank_accuracy,
               summary: "", keep_row: gr.Row(visible=False), new_model: "", pending: None}
        history: list[Progress] = []
        shown_at = 0.0
        try:
            for update in rt.retrain(settings, owner=owner_of(request), workspace=workspace_of(request)):
                if isinstance(update, rt.Waiting):
                    yield {status: _waiting_words(update, request)}
                    continue
                if isinstance(update, Progress):
                    if update.stage != "validating":  # a notice, not a point of the curves
                        history.append(update)
                    left = rt.eta_s(update, settings)
                    # The first step's report is shown at once: training has begun, and the curves start;
                    # so is a validation's start (half a minute for the default network) and end.
                    if (time.monotonic() - shown_at >= PLOT_EVERY_S or update.val_accuracy is not None
                            or update.step == 1 or update.stage != "training"):
                        shown_at = time.monotonic()
                        loss, accuracy = _curves(history, request)
                        if rt.stopping(owner_of(request)):
                            text = say("**Stopping** at step {step} of {steps}; then you can keep what it learnt or "
                                       "throw it away…", request, step=update.step, steps=update.total_steps)
                        elif update.step == 0:  # fit's first report: the starting network, validated
                            text = say("Training {network}: it starts at {accuracy} validation accuracy…", request,
                                       network=settings.architecture, accuracy=f"{update.val_accuracy:.1%}")
                        elif update.stage == "validating":
                            text = say("Training {network}: step {step} of {steps}; validating it on the 5,000 "
                                       "held-out digits…", request, network=settings.architecture,
                                       step=update.step, steps=update.total_steps)
                        elif update.stage == "trained":  # at its last step or its time limit
                            text = say("Trained: now checking it against the shipped network and testing it on "
                                       "the 10,000 MNIST test digits…", request)
                        elif left is None:  # the first step: no pace yet to say how long is left
                            text = say("Training {network}: step {step} of {steps}, loss {loss}.", request,
                                       network=settings.architecture, step=update.step, steps=update.total_steps,
                                       loss=f"{update.loss:.3f}")
                        else:
                            text = say("Training {network}: step {step} of {steps} ({share}), epoch {epoch} of "
                                       "{epochs}, loss {loss}, about {left} s left.", request,
                                       network=settings.architecture, step=update.step, steps=update.total_steps,
                                       share=f"{update.step / update.total_steps:.0%}", epoch=f"{update.epoch:.2f}",
                                       epochs=settings.epochs, loss=f"{update.loss:.3f}", left=f"{left:.0f}")
                        yield {status: text, loss_plot: loss, accuracy_plot: accuracy}
                    continue
                run = update
                results = shown(run, request)
                if run.cancelled:  # checked and tested only if kept: Cancel is answered at once
                    yield {**results, status: say("Cancelled after {steps} step(s). Keep what it learnt (it is "
                                                  "checked against the shipped network and tested on the MNIST test "
                                                  "digits first, a minute or two), or throw it away?", request,
                                                  steps=run.fit.steps),
                           keep_row: gr.Row(visible=True), pending: run}
                elif run.worse_digits:  # not kept without asking
                    yield {**results, status: _careful(run, request), keep_row: gr.Row(visible=True), pending: run}
                else:
                    model_id = rt.save_run(run)
                    yield {**results, new_model: model_id, pending: None,
                           status: say("Done: MNIST test accuracy **{accuracy}**. Saved as **{model}**, now in the "
                                       "Draw tab's list of networks.", request, accuracy=f"{run.test_accuracy:.1%}",
                                       model=model_id)}
        except rt.Cancelled as error:  # before it started
            gr.Info(say(str(error), request))
            yield {status: say(str(error), request)}
        except rt.RetrainError as error:  # too many models, the line full, ...
            gr.Warning(say(str(error), request))
            yield {status: say(str(error), request)}
        except Exception as error:
            log.exception("retraining failed")
            gr.Warning(say("Training failed, nothing was saved: {error}", request, error=error),
                       title=say("Training failed", request))
            yield {status: say("Training failed, nothing was saved: {error}", request, error=html.escape(str(error)))}

    def cancel(request: gr.Request) -> Any:
        """Answers at once: the status says what happens (a running run stops after its step)."""
        outcome = rt.cancel(owner_of(request))
        if outcome == "stopping":
            return say("**Stopping** after the current step; then you can keep what was trained so far or throw "
                       "it away.", request)
        if outcome == "unqueued":
            return say("Cancelled: taken off the queue, it will not start.", request)
        gr.Info(say("You have no training running.", request))
        return gr.skip()

    def keep(run: rt.Run | None, request: gr.Request) -> Iterator[dict]:
        """Save the run on show and show its test. A cancelled one is checked and tested first (a
        minute or two; the buttons are hidden meanwhile), its validation curve then reaches its
        end, and it is not kept without asking again when it reads a digit worse."""
        if run is None:
            gr.Warning(say("There is nothing to keep: train a network first.", request))
            yield {}
            return
        results = {}
        try:
            if not run.checked:
                yield {status: say("Checking it against the shipped {network}, then testing it on the 10,000 MNIST "
                                   "test digits…", request, network=run.settings.architecture),
                       keep_row: gr.Row(visible=False)}
                rt.check(run)
                yield {**shown(run, request), status: say("Checked: now testing it on the 10,000 MNIST test digits…",
                                                          request)}
                rt.read_mnist_test(run)
                results = shown(run, request)
                if run.worse_digits:
                    yield {**results, status: _careful(run, request), keep_row: gr.Row(visible=True)}
                    return
            model_id = rt.save_run(run)
        except rt.RetrainError as error:
            gr.Warning(say(str(error), request))
            yield {**results, keep_row: gr.Row(visible=True)}
            return
        yield {status: say("Kept as **{model}** (MNIST test accuracy **{accuracy}**), now in the Draw tab's list of "
                           "networks.", request, model=model_id, accuracy=f"{run.test_accuracy:.1%}"),
               **results, new_model: model_id, keep_row: gr.Row(visible=False), pending: None}

    def discard(request: gr.Request) -> tuple[Any, ...]:
        return say("Thrown away: nothing was saved.", request), "", gr.Row(visible=False), None

    def ask_to_delete(model_id: str | None, request: gr.Request) -> tuple[Any, Any]:
        if not model_id:
            gr.Warning(say("Choose the model to delete first.", request))
            return gr.skip(), gr.skip()
        return say("Delete **{model}** for good?", request, model=html.escape(model_id)), gr.Row(visible=True)

    def delete_model(model_id: str | None, request: gr.Request) -> str:
        try:
            rt.delete_retrained_model(model_id, workspace_of(request))
        except rt.RetrainError as error:
            gr.Warning(say(str(error), request))
            return gr.skip()
        gr.Info(say("Deleted {model}.", request, model=html.escape(model_id)))
        return ""

    def select_sample(ids: list[str], event: gr.SelectData, request: gr.Request) -> tuple[str | None, str]:
        """The drawing clicked in the gallery, and the words that say which one is selected."""
        if event.index is None or event.index >= len(ids):
            return None, ""
        caption = (event.value or {}).get("caption") if isinstance(event.value, dict) else None
        words = ("Selected: drawing {number} of the gallery, a {digit}." if caption
                 else "Selected: drawing {number} of the gallery.")
        return ids[event.index], say(words, request, number=event.index + 1, digit=caption)

    def delete_sample(sample_id: str | None, digit: str, request: gr.Request) -> tuple[Any, ...]:
        try:
            if sample_id is None:
                raise UserSampleError("Select a drawing first (click it in the gallery), then delete it.")
            delete_user_sample(sample_id, workspace_of(request))
        except UserSampleError as error:
            gr.Warning(say(str(error), request))
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return _samples_update(digit, request)

    def samples_label(request: gr.Request) -> gr.Checkbox:
        return gr.Checkbox(label=say("Include your corrected drawings ({count})", request,
                                     count=count_user_samples(workspace_of(request))))

    def words_of_the_empty_tab(request: gr.Request) -> tuple[Any, ...]:
        """On page load, for a browser that reads another language than the page was built in: the
        plots' and the confusion matrix's words in it (the tab's fixed text is translated by Gradio)."""
        if language(request) == "en":
            return gr.skip(), gr.skip(), gr.skip()
        loss, accuracy = _curves([], request)
        return (gr.LinePlot(loss, **_plot_words(*LOSS_PLOT, request)),
                gr.LinePlot(accuracy, **_plot_words(*ACCURACY_PLOT, request)),
                pd.DataFrame(columns=_confusion_columns(request)))

    def refresh_selector(selected: str | None, new_model_id: str, request: gr.Request) -> gr.Dropdown:
        """The Draw tab's choices now, with the new model selected. The value is left alone
        otherwise (unless its model was deleted), so that no stray change event redraws the answer."""
        choices = model_choices(workspace_of(request), request)
        ids = [model_id for _, model_id in choices]
        if new_model_id in ids:
            return gr.Dropdown(choices=choices, value=new_model_id)
        if selected in ids:
            return gr.Dropdown(choices=choices)
        return gr.Dropdown(choices=choices, value=model_selector.value if model_selector.value in ids else ids[0])

    def refresh_on_load(selected: str | None, request: gr.Request) -> gr.Dropdown:
        """A page gets the choices of when the server started: add the visitor's models, and those saved since."""
        choices = model_choices(workspace_of(request), request)
        return gr.skip() if choices == model_selector.choices else refresh_selector(selected, "", request)

    def models_changed(dependency: Any, on_load: bool = False) -> None:
        """After a model is saved or deleted: the tab's list, and the Draw tab's selector."""
        dependency = dependency.then(_models_update, None, [models, model_to_delete, confirm_row],
                                     api_visibility="private")
        if model_selector is None or model_choices is None:
            return
        if on_load:
            dependency.then(refresh_on_load, model_selector, model_selector, api_visibility="private")
        else:
            dependency = dependency.then(refresh_selector, [model_selector, new_model], model_selector,
                                         api_visibility="private")
            if after_models_change is not None:
                after_models_change(dependency)

    private = dict(api_visibility="private")
    for control in (architecture, preset):
        control.change(_fill, [architecture, preset],
                       [start, epochs, lr, batch_size, optimizer, schedule, augment, train_size], **private)
    # Start: announce (at once) takes the visitor's place in mnist_core.retrain's line of runs, or
    # refuses it (the visitor's own run is already there; the line is full), and says what the run
    # waits for; then the run waits for the one training slot in that line, not in Gradio's queue
    # (no concurrency limit), so a waiting run never takes a place from predictions. Gradio's own
    # progress overlay is hidden: the status says where the run stands, in words.
    announced = start_button.click(announce, SETTINGS, queue_note, concurrency_limit=None, **private)
    shown_note = announced.success(lambda note: note, queue_note, status, queue=False, **private)
    trained = shown_note.success(train, SETTINGS, RESULTS, concurrency_limit=None, show_progress="hidden", **private)
    models_changed(trained)
    # Cancel answers at once; a waiting run leaves the line within a second, a training one stops after its step.
    cancel_button.click(cancel, None, status, concurrency_limit=None, **private)
    models_changed(keep_button.click(keep, pending, RESULTS, **private))
    discard_button.click(discard, None, [status, new_model, keep_row, pending], **private)
    delete_model_button.click(ask_to_delete, model_to_delete, [confirm_note, confirm_row], **private)
    keep_model_button.click(lambda: gr.Row(visible=False), None, confirm_row, **private)
    models_changed(confirm_button.click(delete_model, model_to_delete, new_model, **private))

    sample_outputs = [samples, sample_ids, samples_note, selected_sample, selected_note]
    gr.on([samples_box.expand, digit_filter.change], _samples_update, digit_filter, sample_outputs, **private)
    # Every click is answered with its own drawing, one at a time on the queue, so the last click
    # is answered last: Gradio's default drops a click that comes while the last is answered, and
    # "always_last" would answer it with the first click's drawing; either way the gallery would
    # mark one drawing while Delete removed another.
    samples.select(select_sample, sample_ids, [selected_sample, selected_note], trigger_mode="multiple",
                   concurrency_limit=1, **private)
    # Every count follows every keep and delete: the checkbox's "(N)" and the gallery's note.
    delete_sample_button.click(delete_sample, [selected_sample, digit_filter], sample_outputs, **private).then(
        samples_label, None, use_samples, **private)
    if drawing_kept is not None:
        drawing_kept.then(samples_label, None, use_samples, **private).then(
            _samples_update, digit_filter, sample_outputs, **private)
    # On page load, once the server knows whose page it is: the visitor's drawings and models.
    loaded = page_loaded.then(samples_label, None, use_samples, **private) if page_loaded is not None else \
        gr.on(None, samples_label, None, use_samples, **private)
    models_changed(loaded, on_load=True)
    gr.on(None, words_of_the_empty_tab, None, [loss_plot, accuracy_plot, confusion], queue=False, **private)

    # Runs wait for the training slot in mnist_core.retrain's own short line, not in Gradio's queue
    # (where they would take places from predictions): no concurrency limit here.
    gr.api(retrain_api, api_name="retrain", concurrency_limit=None)


def retrain_api(architecture: str, epochs: int, lr: float | None = None, batch_size: int | None = None,
                optimizer: str | None = None, augment: bool | None = None, schedule: str | None = None,
                start: str | None = None, use_user_samples: bool = True, train_size: int | None = None,
                time_budget_s: float | None = None, seed: int = 0, name: str = "", keep_if_worse: bool = False,
                request: gr.Request = None) -> Iterator[dict]:
    """Retrain a network on MNIST (and the users' corrected drawings) and save it as a new model.

    `architecture` is a network id (lenet5, cnn-10-20, ...); every other setting left out
    takes the network's "short retrain" value: its shipped weights fine-tuned for
    `epochs` with augmentation and a one-cycle learning rate. `start` is "shipped" or
    "scratch"; `train_size` trains on only that many MNIST digits (0: all 55,000);
    `time_budget_s` stops training early (at most 600). Streams {"status": "training", "stage",
    "step", "eta_s", ...} while it trains ("stage": "training", "validating" as a pass over the
    validation digits begins, "trained" at the last report; "eta_s" null until a second step
    gives a pace), then
    {"status": "done", "model_id", "test_accuracy", "per_digit", ...}: the id that /predict
    accepts. A network that reads any digit more than 1 point worse than the shipped one
    ("per_digit": each digit's "before" and "after" on MNIST validation, "drawn_before" and
    "drawn_after" on the same digits drawn as pen strokes) is not saved unless `keep_if_worse`:
    then "kept" is false, "model_id" null and "worse_digits" lists them. Cancelling the call
    stops the training and saves nothing.
    """
    try:
        settings = rt.make_settings(architecture, epochs, lr=lr, batch_size=batch_size, optimizer=optimizer,
                                    augment=augment, schedule=schedule, start=start, use_user_samples=use_user_samples,
                                    train_size=train_size, time_budget_s=time_budget_s, seed=seed, name=name)
        for update in rt.retrain(settings, owner=owner_of(request), workspace=workspace_of(request)):
            if isinstance(update, rt.Waiting):
                yield {"status": "waiting", "runs_ahead": update.ahead, "running": update.running}
                continue
            if isinstance(update, Progress):
                yield {"status": "training", "stage": update.stage, "step": update.step, "total_steps": update.total_steps,
                       "epoch": round(update.epoch, 3), "loss": update.loss, "train_accuracy": update.train_accuracy,
                       "val_accuracy": update.val_accuracy, "elapsed_s": round(update.elapsed_s, 1),
                       "eta_s": None if (left := rt.eta_s(update, settings)) is None else round(left, 1)}
                continue
            kept = keep_if_worse or not update.worse_digits
            model_id = rt.save_run(update) if kept else None
            yield {"status": "done", "kept": kept, "model_id": model_id,
                   "name": model_info(model_id, workspace=update.workspace).get("name") if model_id else None,
                   "per_digit": [dataclasses.asdict(change) for change in update.per_digit],
                   "worse_digits": [change.digit for change in update.worse_digits],
                   "val_accuracy": update.fit.val_accuracy, "test_accuracy": update.test_accuracy,
                   "epochs_trained": round(update.fit.epochs, 3), "steps": update.fit.steps,
                   "stopped_at_time_limit": update.out_of_time, "seconds": round(update.seconds, 1),
                   "user_samples": dataclasses.asdict(update.user), "settings": dataclasses.asdict(settings)}
    except rt.RetrainError as error:
        raise gr.Error(str(error)) from None
    except Exception as error:
        log.exception("retraining failed")
        raise gr.Error(f"Training failed, nothing was saved: {error}") from None


if __name__ == "__main__":  # the tab alone, for trying it out: python -m ui.retrain_tab
    with gr.Blocks(title="MNIST Sketch Lab: Retrain") as demo:
        retrain_tab()
    demo.launch()
