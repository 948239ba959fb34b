"""MNIST Sketch Lab: draw a digit and see at once what several neural networks think it is.

`python app.py` serves the app on GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (Gradio's defaults
otherwise), as a Hugging Face Space does. The page is declared in one place, at the bottom of
this file: one function per tab.

The canvas is our own (static/sketchpad.js in a gr.HTML): Gradio's Sketchpad takes seconds to
send a drawing and first asks for a brush. Ours sends a small PNG of the drawing while the user
draws and the moment a stroke ends, straight to a server function (read_drawing) whose answer it
shows itself; Python turns the PNG into what the networks see with mnist_core.to_mnist, as it
does for an uploaded photo.
"""

from __future__ import annotations

import base64
import functools
import html
import io
from pathlib import Path
from typing import Any

import gradio as gr
import torch
from gradio.components.label import LabelConfidence, LabelData
from PIL import Image

import mnist_core
from mnist_core.reading import NOT_A_DIGIT, Reading, is_a_digit, read
from retrain_tab import correction_control, retrain_tab

STATIC = Path(__file__).parent / "static"
NOTHING_DRAWN = "Nothing drawn"  # the Label's value (and the API's answer) for an empty image

# One thread: a batch of one through a small network gains nothing from more, and the answer
# stays fast while other work (a training run, another request) uses the second core.
torch.set_num_threads(1)
if not mnist_core.list_models():
    raise SystemExit("No trained model found (no weights file for any network): train one first.")

_models: dict[str, torch.nn.Module] = {}


def get_model(model_id: str) -> torch.nn.Module:
    """The network `model_id`, loaded on first use and kept; gr.Error for an unknown id.

    The list of models is read each time (a directory listing, well under a millisecond):
    retrained models appear as they are saved and are refused once deleted.
    """
    if not isinstance(model_id, str):
        raise gr.Error(f"The model id must be a string, not {model_id!r:.80}.")
    available = mnist_core.list_models()
    if model_id not in available:
        _models.pop(model_id, None)
        raise gr.Error(f"Unknown model {model_id[:80]!r}. Available models: {', '.join(available)}.")
    if model_id not in _models:
        _models[model_id] = mnist_core.load_model(model_id)
    return _models[model_id]


@functools.cache
def model_label(model_id: str) -> str:
    """How the model selector names a network, e.g. "ConvNet-BN (ours) · 99.6%"."""
    info = mnist_core.model_info(model_id)
    accuracy = info.get("test_accuracy")
    return f"{info['name']} · {accuracy:.1%}" if accuracy is not None else f"{info['name']} · not tested"


def model_choices() -> list[tuple[str, str]]:
    """(label, id) of every available network, for a gr.Dropdown."""
    return [(model_label(model_id), model_id) for model_id in mnist_core.list_models()]


def most_accurate() -> str:
    """The default network: the best measured test accuracy (DEFAULT_MODEL wins a tie)."""
    def score(model_id: str) -> tuple[float, bool]:
        accuracy = mnist_core.model_info(model_id).get("test_accuracy")
        return (accuracy if accuracy is not None else -1.0, model_id == mnist_core.DEFAULT_MODEL)
    return max(mnist_core.list_models(), key=score)


def to_tensor(image: str | None) -> torch.Tensor | None:
    """What the networks see ([1, 28, 28]) of a canvas data URL or an uploaded file's path.

    None when nothing is drawn; gr.Error with mnist_core's explanation for an unreadable image.
    """
    if not image:
        return None
    try:
        return mnist_core.to_mnist(image)
    except mnist_core.InvalidImage as error:
        raise gr.Error(str(error)) from None


def canvas_image(value: object) -> str | None:
    """The canvas's value, checked: a PNG data URL, or None when nothing is drawn.

    A client can send anything as this value, and to_mnist would open a path as a file on the
    server: anything but a data URL is refused.
    """
    if not value:
        return None
    if not (isinstance(value, str) and value.startswith("data:image/")):
        raise gr.Error("The drawing could not be read. Please clear the canvas and draw again.")
    return value


def reading(x: torch.Tensor, model_id: str, is_digit: bool | None = None) -> Reading:
    """Network `model_id`'s calibrated reading of the image `x`: a digit, or "Not a digit"."""
    return read(get_model(model_id), x, temperature(model_id), is_digit)


@functools.cache
def temperature(model_id: str) -> float:
    return float(mnist_core.model_info(model_id).get("temperature", 1.0))


class ReadingLabel(gr.Label):
    """A gr.Label that also takes a LabelData, whose label ("Not a digit") need not be its top
    confidence's."""

    def postprocess(self, value: Any) -> Any:
        return value if isinstance(value, LabelData) else super().postprocess(value)

    def get_block_name(self) -> str:
        return "label"  # the page draws it with Label's own front end


def label_value(r: Reading) -> LabelData:
    """The Label's value (and /predict's answer): the answer, and the ten confidences."""
    ranked = sorted(r.scores.items(), key=lambda item: item[1], reverse=True)
    return LabelData(label=r.answer, confidences=[LabelConfidence(label=d, confidence=c) for d, c in ranked])


def answer_html(r: Reading | None) -> str:
    """The top answer, large; its text holds no digit but the answer (or, small, the closest one)."""
    if r is None:
        return f'<div class="digit">?</div><div class="detail">{NOTHING_DRAWN} yet: draw a digit.</div>'
    if r.not_a_digit:
        return (f'<div class="digit not-digit">{NOT_A_DIGIT}</div><div class="detail">{r.reason}</div>'
                f'<div class="closest">closest digit: {r.digit}</div>')
    return f'<div class="digit">{r.digit}</div><div class="detail">{r.certainty}</div>'


def problem_html(message: str) -> str:
    """The answer's place when the drawing cannot be read: no digit, the reason."""
    return f'<div class="digit">?</div><div class="detail">{html.escape(message)}</div>'


def seen_html(x: torch.Tensor | None) -> str:
    """The 28x28 image a network sees, enlarged 8x with visible pixels, as an inline PNG.

    Inline, not a gr.Image: saving a file for each update would cost the live path ~7 ms.
    """
    if x is None:
        return '<div class="empty">The 28×28 image the network sees appears here.</div>'
    buffer = io.BytesIO()
    mnist_core.to_pil(x).resize((224, 224), Image.Resampling.NEAREST).save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img src="data:image/png;base64,{data}" width="224" height="224" alt="the drawing at 28×28">'


def analyse(image: str | None, model_id: str) -> tuple[LabelData | str, str, str, str | None]:
    """Everything the Draw tab shows for one image: confidences, answer, input as seen.

    The image (a canvas data URL or a file path) is returned too, kept as the current image.
    """
    get_model(model_id)  # an unknown model is an error even for an empty canvas
    x = to_tensor(image)
    if x is None:
        return NOTHING_DRAWN, answer_html(None), seen_html(None), image
    r = reading(x, model_id)
    return label_value(r), answer_html(r), seen_html(x), image


def predict(image: dict | None, model_id: str) -> LabelData | str:
    """API /predict: the answer ("7", or "Not a digit") and the calibrated confidence of each
    digit "0".."9" for the image.

    `image` arrives unprocessed (the event has preprocess=False): Gradio's file record, whose
    path goes to mnist_core.to_mnist, so an unreadable file gets its clear message rather than
    Gradio's own image decoder failing first. An empty image answers "Nothing drawn".
    """
    return analyse(image["path"] if image else None, model_id)[0]


def read_drawing(request: object) -> str:
    """The answer's HTML for {"image": the canvas's PNG data URL, "model": a model id}.

    The canvas's fast path: its script calls this server function directly and shows the answer
    itself. Through a Gradio event it took 80 ms p50 from stroke end to answer on screen, this
    way 25 ms (benchmarks/draw_latency.py). The confidences, the 28x28 image and the comparison
    follow through the canvas's events.
    """
    try:
        if not isinstance(request, dict):
            raise gr.Error("The drawing could not be read. Please clear the canvas and draw again.")
        image, model_id = canvas_image(request.get("image")), request.get("model")
        get_model(model_id)
        x = to_tensor(image)
        return answer_html(None if x is None else reading(x, model_id))
    except gr.Error as error:
        return problem_html(error.message)


def analyse_canvas(value: object, model_id: str) -> tuple[LabelData | str, str, str | None]:
    """analyse() of the drawing on the canvas, less the answer (read_drawing already showed it)."""
    scores, _, seen, image = analyse(canvas_image(value), model_id)
    return scores, seen, image


def show(image: str | None, model_id: str) -> tuple[LabelData | str, dict, str, str | None]:
    """analyse() for the outputs [label, sketch, seen, current]: the answer (and the model it is
    from) go to the canvas's props `answer` and `model_id`, which its script shows and uses."""
    scores, answer, seen, image = analyse(image, model_id)
    return scores, gr.update(answer=answer, model_id=model_id), seen, image


def show_canvas(value: object, model_id: str) -> tuple[LabelData | str, dict, str, str | None]:
    """show() of the drawing on the canvas."""
    return show(canvas_image(value), model_id)


def compare_canvas(value: object) -> str:
    """compare_all() of the drawing on the canvas."""
    return compare_all(canvas_image(value))


def compare_all(image: str | None) -> str:
    """A Markdown table: every network's answer and confidence for the current image."""
    x = to_tensor(image)
    if x is None:
        return "Draw a digit to see every network's answer."
    rows = ["| Network | Answer | Confidence |", "| --- | :---: | ---: |"]
    digit = is_a_digit(x)  # one detector for every network
    for model_id in mnist_core.list_models():
        r = reading(x, model_id, digit)
        answer = f"{NOT_A_DIGIT} (closest: {r.digit})" if r.not_a_digit else f"**{r.digit}**"
        rows.append(f"| {model_label(model_id)} | {answer} | {r.confidence:.1%} |")
    return "\n".join(rows)


SKETCHPAD_HTML = """
<div class="sketch-row">
  <div class="sketch-wrap">
    <canvas id="sketchpad" aria-label="Draw a digit here with the mouse or a finger"></canvas>
    <div class="sketch-tools">
      <button type="button" class="undo">Undo</button>
      <button type="button" class="clear">Clear</button>
    </div>
  </div>
  <div id="prediction" aria-live="polite"></div>
</div>
"""


def draw_tab() -> gr.Dropdown:
    """The Draw tab: a canvas (or an uploaded photo), the networks' answers, a comparison.

    Returns the model selector, for a tab that adds models to update its choices.
    """
    current = gr.State(None)  # the image on show: a canvas data URL or an uploaded file's path
    default_model = most_accurate()
    with gr.Row():
        with gr.Column():
            # The top answer (#prediction) is part of the canvas: its script shows it (props.answer).
            sketch = gr.HTML(
                value="",
                html_template=SKETCHPAD_HTML,
                js_on_load=(STATIC / "sketchpad.js").read_text(),
                apply_default_css=False,
                server_functions=[read_drawing],
                answer=answer_html(None),
                model_id=default_model,
            )
            with gr.Accordion("…or upload a photo or scan of a handwritten digit", open=False):
                upload = gr.Image(label="Photo or scan", type="filepath", sources=["upload", "clipboard"], elem_id="upload",
                                  image_mode=None)  # None: its path as uploaded, not decoded and re-saved as RGB
        with gr.Column():
            model = gr.Dropdown(
                choices=model_choices(),
                value=default_model,
                label="Network",
                filterable=False,
                elem_id="model",
            )
            label = ReadingLabel(NOTHING_DRAWN, num_top_classes=10, show_heading=False, label="Confidence per digit")
            seen = gr.HTML(
                seen_html(None), label="What the network sees (28×28)", show_label=True, container=True,
                elem_id="seen", js_on_load=None,
            )
            correction_control(current)  # "that's wrong, it was a ___": kept for retraining
    with gr.Accordion("Compare all models", open=True):
        comparison = gr.Markdown(compare_all(None), elem_id="compare")

    shown = [label, sketch, seen, current]
    quiet = dict(show_progress="hidden", api_visibility="private")
    # While the user draws (up to 10 times a second) and when a stroke ends, the canvas's script
    # asks read_drawing for the answer. When a stroke ends it then sets its value to the drawing
    # (a PNG data URL): the rest of the tab follows, off the queue. "always_last" keeps one
    # request in flight.
    sketch.change(analyse_canvas, [sketch, model], [label, seen, current], queue=False, trigger_mode="always_last",
                  **quiet)
    sketch.stroke_end(compare_canvas, sketch, comparison, queue=False, trigger_mode="always_last", **quiet)
    model.change(show, [current, model], shown, **quiet)
    # An upload is the public API endpoint /predict, then fills the rest of the tab.
    upload.upload(predict, [upload, model], label, api_name="predict", preprocess=False, show_progress="hidden").success(
        show, [upload, model], shown, **quiet
    ).then(compare_all, current, comparison, **quiet)
    upload.clear(show_canvas, [sketch, model], shown, **quiet).then(compare_all, current, comparison, **quiet)
    return model


with gr.Blocks(title="MNIST Sketch Lab") as demo:
    gr.Markdown("# MNIST Sketch Lab\nDraw a digit (0–9) and watch the networks guess while you draw.")
    with gr.Tab("Draw"):
        model_selector = draw_tab()
    with gr.Tab("Retrain"):
        retrain_tab(model_selector, model_choices)
# Queue limits, chosen with benchmarks/load.py (see the README's "Many users at once"): two calls of
# an event at a time, so that one huge upload does not stall everyone's /predict; at most 64
# waiting, about 2 s of predictions on 2 cores: beyond that "Queue is full" beats a long wait.
demo.queue(max_size=64, default_concurrency_limit=2)

for model_id in mnist_core.list_models():  # load every network now, so that no drawing waits for one
    reading(torch.zeros(1, 28, 28), model_id)

if __name__ == "__main__":
    demo.launch(css_paths=[STATIC / "draw.css"], max_file_size="20mb")  # uploads: a photo is a few MB
