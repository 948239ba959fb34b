"""The Draw tab: a canvas (or a photo), what every network reads in it, and a correction.

The canvas is our own (static/sketchpad.js in a gr.HTML): Gradio's Sketchpad takes seconds to
send a drawing and first asks for a brush. Ours sends a small PNG of the drawing while the user
draws and the moment a stroke ends, straight to a server function (read_drawing) whose answer it
shows itself; Python turns the PNG into what the networks see with mnist_core.to_mnist, as it
does for an uploaded photo.

One image is read at a time, "the current one": the drawing, or an uploaded photo. Every panel
(the answer, the confidences, the 28x28 view, the comparison) is about it. Uploading a photo
clears the canvas and marks it as not being read; drawing (or Undo, Clear) takes the photo away.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import itertools
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, NamedTuple

import gradio as gr
import torch
from gradio.components.label import LabelConfidence, LabelData
from PIL import Image

import mnist_core
from mnist_core.number import NumberReading, read_number
from mnist_core.reading import NOT_A_DIGIT, Reading, is_a_digit, read, temperature_in
from mnist_core.user_samples import DIGITS, UserSampleError, count_user_samples, save_user_sample
from mnist_core.weights import WEIGHTS_DIR
from mnist_core.workspaces import Workspace
from ui.inside_view import inside_view, show_filters, show_inside
from ui.texts import language, say, t
from ui.visitors import workspace_of

STATIC = Path(__file__).parent / "static"
NOTHING_DRAWN = "Nothing drawn"  # the Label's value (and the API's answer) for an empty image

# One thread: a batch of one through a small network gains nothing from more, and the answer
# stays fast while other work (a training run, another request) uses the second core.
torch.set_num_threads(1)
if not mnist_core.list_models():
    raise SystemExit("No trained model found (no weights file for any network): train one first.")

MODELS_KEPT = 32  # retrained networks kept loaded at once (the shipped ones always are)
_models: OrderedDict[Path, torch.nn.Module] = OrderedDict()
_models_lock = threading.Lock()


def model_file(model_id: str, ws: Workspace | None) -> Path:
    """The weights file of a network the workspace `ws` may use; gr.Error for any other id, worded
    the same whether it never existed, was deleted, or is someone else's.

    The list of models is read each time (a directory listing, well under a millisecond):
    retrained models appear as they are saved and are refused once deleted.
    """
    if not isinstance(model_id, str):
        raise gr.Error(f"The model id must be a string, not {model_id!r:.80}.")
    try:
        return mnist_core.registry.model_path(model_id, workspace=ws)
    except KeyError:
        available = mnist_core.list_models(workspace=ws)
        raise gr.Error(f"Unknown model {model_id[:80]!r}. Available models: {', '.join(available)}.") from None


def get_model(model_id: str, ws: Workspace | None) -> torch.nn.Module:
    """The network `model_id` (of those `ws` may use), loaded on first use and kept; gr.Error otherwise."""
    return network(model_id, ws)[1]


def network(model_id: str, ws: Workspace | None) -> tuple[Path, torch.nn.Module]:
    """get_model's network and its weights file (which keys what is kept of it), found once."""
    path = model_file(model_id, ws)
    with _models_lock:
        if path in _models:
            _models.move_to_end(path)
            return path, _models[path]
    try:
        model = mnist_core.load_model(model_id, workspace=ws)
    except mnist_core.WeightsError as error:  # e.g. a model retrained for an earlier version of its network
        raise gr.Error(f"The network {model_id[:80]!r} cannot be read ({error}). Choose another one.") from None
    with _models_lock:
        _models[path] = model
        retrained = [p for p in _models if p.parent != WEIGHTS_DIR]
        for old in retrained[:max(0, len(retrained) - MODELS_KEPT)]:
            del _models[old]
    return path, model


def model_label(model_id: str, ws: Workspace | None, request: Any = None) -> str:
    """How the model selector names a network, e.g. "ConvNet-BN (ours) · 99.6%", in the page's language."""
    name, accuracy = _name_and_accuracy(model_file(model_id, ws), model_id)
    if name is None:
        return f"{model_id} · {say('unreadable file', request)}"
    return f"{say(name, request)} · " + (f"{accuracy:.1%}" if accuracy is not None else say("not tested", request))


@functools.lru_cache(maxsize=1024)
def _name_and_accuracy(path: Path, model_id: str) -> tuple[str | None, float | None]:
    """A weights file's network name and MNIST test accuracy (None, None: the file cannot be read)."""
    try:
        info = mnist_core.weights.read_metadata(path)
    except mnist_core.WeightsError:
        return None, None
    return info["name"], info.get("test_accuracy")


def model_choices(ws: Workspace | None, request: Any = None) -> list[tuple[str, str]]:
    """(label, id) of every network `ws` may use, for a gr.Dropdown. Labels are unique: two
    networks that would share one (retrained in the same minute) also show their ids."""
    labels = {}
    for model_id in mnist_core.list_models(workspace=ws):
        try:
            labels[model_id] = model_label(model_id, ws, request)
        except gr.Error:  # deleted since the listing
            pass
    repeated = {label for label in labels.values() if list(labels.values()).count(label) > 1}
    return [(f"{label} · {model_id}" if label in repeated else label, model_id) for model_id, label in labels.items()]


def most_accurate(ws: Workspace | None = None) -> str:
    """The default network: the best measured test accuracy (DEFAULT_MODEL wins a tie; a
    weights file that cannot be read is never it)."""
    def score(model_id: str) -> tuple[float, bool]:
        try:
            accuracy = mnist_core.model_info(model_id, workspace=ws).get("test_accuracy")
        except (mnist_core.WeightsError, KeyError):
            accuracy = None
        return (accuracy if accuracy is not None else -1.0, model_id == mnist_core.DEFAULT_MODEL)
    return max(mnist_core.list_models(workspace=ws), key=score)


def still_there(model_id: Any, ws: Workspace | None) -> str | None:
    """`model_id` if `ws` may still use it, else None (a retrained model deleted, maybe from
    another page, while this page had it selected)."""
    return model_id if isinstance(model_id, str) and model_id in mnist_core.list_models(workspace=ws) else None


def reading_network(model_id: Any, ws: Workspace | None) -> str:
    """The network that reads for a page: its own, or the default one if its own was deleted."""
    return still_there(model_id, ws) or most_accurate(ws)


def model_or_default(model_id: Any, ws: Workspace | None, request: Any = None) -> tuple[str, Any]:
    """The network a page reads with, and the update for its selector: when its network is gone,
    the default one (and the current choices); else the same network and no update."""
    if still_there(model_id, ws):
        return model_id, gr.skip()
    fallback = most_accurate(ws)
    return fallback, gr.Dropdown(choices=model_choices(ws, request), value=fallback)


def say_it_was_deleted(model_id: Any, ws: Workspace | None, request: Any = None) -> None:
    """The warning, once, when a page's network was deleted (maybe from another page)."""
    fallback = most_accurate(ws)
    gr.Warning(say("The network {model!r} is no longer on this server (it was deleted). Reading with {fallback} instead.",
                   request, model=str(model_id)[:80], fallback=model_label(fallback, ws, request)))


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


def number_in(image: str | None, model_id: str, ws: Workspace | None) -> NumberReading:
    """Network `model_id`'s reading of every digit written in `image` (no digits when nothing
    is drawn); gr.Error with mnist_core's explanation for an unreadable image.

    One stroke's image is read by several events (the panels, the comparison, the digit
    selector): the latest readings are kept, by image and network (ids are never reused).
    """
    if not image:
        return NumberReading([])
    path, model = network(model_id, ws)  # a network deleted since is refused, even for an image read before
    try:
        return _read_number(image, path, model)
    except mnist_core.InvalidImage as error:
        raise gr.Error(str(error)) from None


@functools.lru_cache(maxsize=64)
def _read_number(image: str, path: Path, model: torch.nn.Module) -> NumberReading:
    return read_number(image, model, _temperature(path))


def least_certain(number: NumberReading) -> int:
    """The digit whose details the page shows for a number: the least certain one."""
    return min(range(len(number.digits)), key=lambda i: number.digits[i].confidence)


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


def is_photo(image: object) -> bool:
    """Whether the current image is an uploaded photo (a file path) rather than the drawing."""
    return isinstance(image, str) and bool(image) and not image.startswith("data:")


def reading(x: torch.Tensor, model_id: str, ws: Workspace | None, is_digit: bool | None = None) -> Reading:
    """Network `model_id`'s calibrated reading of the image `x`: a digit, or "Not a digit"."""
    path, model = network(model_id, ws)
    return read(model, x, _temperature(path), is_digit)


@functools.lru_cache(maxsize=1024)
def _temperature(path: Path) -> float:
    """A network's temperature (see reading.py), from its weights file."""
    return temperature_in(mnist_core.weights.read_metadata(path))


class ReadingLabel(gr.Label):
    """A gr.Label that also takes a LabelData, whose label ("Not a digit") need not be its top
    confidence's."""

    def postprocess(self, value: Any) -> Any:
        return value if isinstance(value, LabelData) else super().postprocess(value)

    def get_block_name(self) -> str:
        return "label"  # the page draws it with Label's own front end


def label_value(r: Reading, request: Any = None) -> LabelData:
    """The Label's value (and /predict's answer, always in English): the answer, and the ten
    confidences. With the page's `request`, "Not a digit" in the page's language."""
    ranked = sorted(r.scores.items(), key=lambda item: item[1], reverse=True)
    label = say(r.answer, request) if request is not None else r.answer
    return LabelData(label=label, confidences=[LabelConfidence(label=d, confidence=c) for d, c in ranked])


def answer_html(r: Reading | None, photo: bool = False, request: Any = None) -> str:
    """The top answer, large; its text holds no digit but the answer (or, small, the closest one).
    For a photo it says so: the canvas beside it is then empty. In the page's language."""
    source = f'<div class="source">{say("in your photo", request)}</div>' if photo else ""
    if r is None:
        if photo:
            return f'<div class="digit">?</div><div class="detail">{say("No digit found in the photo.", request)}</div>'
        return f'<div class="digit">?</div><div class="detail">{say("Nothing drawn yet: draw a digit.", request)}</div>'
    if r.not_a_digit:
        return (f'<div class="digit not-digit">{say(NOT_A_DIGIT, request)}</div>'
                f'<div class="detail">{say(r.reason, request)}</div>'
                f'<div class="closest">{say("closest digit: {digit}", request, digit=r.digit)}</div>{source}')
    return f'<div class="digit">{r.digit}</div><div class="detail">{say(r.certainty, request)}</div>{source}'


ORDINALS = ["1st", "2nd", "3rd"] + [f"{n}th" for n in range(4, 13)]


def number_html(number: NumberReading, photo: bool = False, request: Any = None) -> str:
    """The answer for several digits: the number, large ("?" for a mark that is not a digit),
    which digit the panels beside it describe, and each digit's box (as shares of the image's
    width and height) for the canvas's script to draw."""
    shown = least_certain(number)
    digit = number.digits[shown]
    boxes = [[round(d.box[0] / number.size[0], 4), round(d.box[1] / number.size[1], 4),
              round(d.box[2] / number.size[0], 4), round(d.box[3] / number.size[1], 4), d.label]
             for d in number.digits] if not photo and all(number.size) else []
    source = f'<div class="source">{say("in your photo", request)}</div>' if photo else ""
    detail = say("{count} digits; the least sure is the {ordinal} ({label}, {certainty})", request,
                 count=len(number.digits), ordinal=ORDINALS[shown], position=shown + 1, label=digit.label,
                 certainty=say(digit.reading.certainty, request))
    return (f'<div class="digit number">{number.text}</div>'
            f'<div class="detail">{detail}</div>{source}'
            f"<div class=\"boxes\" hidden data-boxes='{json.dumps(boxes)}'></div>")


def problem_html(message: str) -> str:
    """The answer's place when the drawing cannot be read: no digit, the reason."""
    return f'<div class="digit">?</div><div class="detail">{html.escape(message)}</div>'


def seen_html(x: torch.Tensor | None, request: Any = None) -> str:
    """The 28x28 image a network sees, enlarged 8x with visible pixels, as an inline PNG.

    Inline, not a gr.Image: saving a file for each update would cost the live path ~7 ms.
    """
    # Its own title, not gr.HTML's label (which has a code icon).
    title = f'<div class="seen-title">{say("What the network sees (28×28)", request)}</div>'
    if x is None:
        return f'{title}<div class="empty">{say("The 28×28 image the network sees appears here.", request)}</div>'
    buffer = io.BytesIO()
    mnist_core.to_pil(x).resize((224, 224), Image.Resampling.NEAREST).save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'{title}<img src="data:image/png;base64,{data}" width="224" height="224" alt="the drawing at 28×28">'


def analyse(image: str | None, model_id: str, ws: Workspace | None,
            request: Any = None) -> tuple[LabelData | str, str, str, str | None]:
    """Everything the Draw tab shows for one image: confidences, answer, input as seen, in the
    page's language. The image (a canvas data URL or a file path) is returned too, kept as the
    current image.
    """
    get_model(model_id, ws)  # an unknown model is an error even for an empty canvas
    number = number_in(image, model_id, ws)
    photo = is_photo(image)
    if not number.digits:
        return say(NOTHING_DRAWN, request), answer_html(None, photo, request), seen_html(None, request), image
    digit = number.digits[least_certain(number)]
    answer = (answer_html(digit.reading, photo, request) if len(number.digits) == 1
              else number_html(number, photo, request))
    return label_value(digit.reading, request), answer, seen_html(digit.x, request), image


def predict(image: dict | None, model_id: str, request: gr.Request) -> LabelData | str:
    """API /predict: the answer ("7", or "Not a digit") and the calibrated confidence of each
    digit "0".."9" for the image, read as one digit.

    `image` arrives unprocessed (the event has preprocess=False): Gradio's file record, whose
    path goes to mnist_core.to_mnist, so an unreadable file gets its clear message rather than
    Gradio's own image decoder failing first. An empty image answers "Nothing drawn". A client
    may use the shipped networks and those of its own workspace (see visitors.py).
    """
    ws = workspace_of(request)
    get_model(model_id, ws)
    x = to_tensor(image["path"] if image else None)
    return NOTHING_DRAWN if x is None else label_value(reading(x, model_id, ws))


def read_number_api(image: dict | None, model_id: str, request: gr.Request) -> dict:
    """API /read_number: every digit written in the image, left to right:
    {"number": "2026", "digits": [{"label": "2", "confidence": 0.99, "box": [x0, y0, x1, y1]}, ...]},
    boxes in the image's pixels; "?" for a mark that is not a digit; {"number": "", "digits": []}
    when nothing is written."""
    ws = workspace_of(request)
    get_model(model_id, ws)
    return number_in(image["path"] if image else None, model_id, ws).as_dict()


def read_drawing(drawing: object, request: gr.Request) -> str:
    """The answer's HTML for {"image": the canvas's PNG data URL, "model": a model id}.

    The canvas's fast path: its script calls this server function directly and shows the answer
    itself. Through a Gradio event it took 80 ms p50 from stroke end to answer on screen, this
    way 25 ms (benchmarks/draw_latency.py). The confidences, the 28x28 image and the comparison
    follow through the canvas's stroke_end event. A network deleted since the page chose it
    reads with the default one, as that event then says and shows.
    """
    try:
        if not isinstance(drawing, dict):
            raise gr.Error("The drawing could not be read. Please clear the canvas and draw again.")
        ws = workspace_of(request)
        image, model_id = canvas_image(drawing.get("image")), drawing.get("model")
        model_id = reading_network(model_id, ws)
        number = number_in(image, model_id, ws)
        if len(number.digits) > 1:
            return number_html(number, request=request)
        return answer_html(number.digits[0].reading if number.digits else None, request=request)
    except gr.Error as error:
        return problem_html(say(error.message, request))


_answer_numbers = itertools.count(1)


def answer_update(answer: str, model_id: str, photo: bool) -> dict:
    """The canvas's props for an answer from Python: `answer` (shown by its script) with a new
    `answer_id` (the script shows an answer when this changes: the same answer as last time can
    be new to the page, which may show one of read_drawing's since), the network it reads with
    from now on, and whether a photo is read (the script then clears the canvas).

    `answer_id` comes last: Gradio's page sets an update's props one at a time, in order, and the
    script may react to `answer_id` before the next is set. Before it was last, a photo uploaded
    after a drawing was, now and then, taken for the drawing (`photo` not yet set: the drawing was
    read again, and its answer stayed on show) and a network just chosen was not yet the one the
    drawing was read with."""
    return gr.update(photo="photo" if photo else "", model_id=model_id, answer=answer, answer_id=next(_answer_numbers))


def show(image: str | None, model_id: str, ws: Workspace | None,
         request: Any = None) -> tuple[LabelData | str, dict, str, str | None]:
    """analyse() for the outputs [label, sketch, seen, current], the answer to the canvas."""
    scores, answer, seen, image = analyse(image, model_id, ws, request)
    return scores, answer_update(answer, model_id, is_photo(image)), seen, image


def read_canvas(value: object, model_id: str, current: str | None, request: gr.Request) -> tuple[Any, ...]:
    """After a stroke, Undo or Clear: the drawing becomes the current image, read by the page's
    network (or the default one if it was deleted). Outputs [label, seen, current, sketch,
    upload, model, gone]: a photo on show is taken away, the selector follows a fallback, and
    `gone` keeps the deleted network's id for the selector's change event to warn about (this
    event is off the queue, where Gradio shows no warnings)."""
    ws = workspace_of(request)
    chosen, selector = model_or_default(model_id, ws, request)
    scores, answer, seen, image = analyse(canvas_image(value), chosen, ws, request)
    photo_gone = is_photo(current)
    if chosen != model_id:  # the default network: the canvas's script reads with it from now on
        sketch = answer_update(answer, chosen, photo=False)
    elif photo_gone:
        sketch = gr.update(photo="")
    else:
        sketch = gr.skip()
    gone = model_id if chosen != model_id else gr.skip()
    return scores, seen, image, sketch, None if photo_gone else gr.skip(), selector, gone


def show_model(image: str | None, model_id: str, gone: str | None, request: gr.Request) -> tuple[Any, ...]:
    """show() of the current image with the network just selected (or the default one, if it was
    deleted meanwhile), the selector's update, and `gone` said and cleared."""
    ws = workspace_of(request)
    chosen, selector = model_or_default(model_id, ws, request)
    if chosen != model_id:
        say_it_was_deleted(model_id, ws, request)
    elif gone and chosen == most_accurate(ws):  # the switch to the default that read_canvas made
        say_it_was_deleted(gone, ws, request)
    return (*show(image, chosen, ws, request), selector, None)


def show_photo(image: dict | None, model_id: str, request: gr.Request) -> tuple[Any, ...]:
    """show() of an uploaded photo, which becomes the current image (read by the default network
    if the page's was deleted), the selector's update, and the upload's: a file that is not an
    image gets its message and is taken away, and the image read before stays the current one."""
    ws = workspace_of(request)
    chosen, selector = model_or_default(model_id, ws, request)
    try:
        shown = show(image["path"] if image else None, chosen, ws, request)
    except gr.Error as error:
        gr.Warning(say(error.message, request))
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), None
    if chosen != model_id:
        say_it_was_deleted(model_id, ws, request)
    return (*shown, selector, gr.skip())


def compare_all(image: str | None, request: gr.Request | None = None) -> str:
    """A Markdown table: every network's answer and confidence for the current image (for a
    number: each network's reading of it, and its least confidence)."""
    ws = workspace_of(request) if request is not None else None
    number = number_in(image, most_accurate(ws), ws)
    if not number.digits:
        return say("No digit found in the photo." if is_photo(image) else "Draw a digit to see every network's answer.",
                   request)
    if len(number.digits) > 1:
        rows = [say("| Network | Number | Least confidence |", request), "| --- | :---: | ---: |"]
        for label, model_id in model_choices(ws, request):
            n = number_in(image, model_id, ws)
            rows.append(f"| {label} | **{n.text}** | {min(d.confidence for d in n.digits):.1%} |")
        return "\n".join(rows)
    x = number.digits[0].x
    rows = [say("| Network | Answer | Confidence |", request), "| --- | :---: | ---: |"]
    digit = is_a_digit(x)  # one detector for every network
    for label, model_id in model_choices(ws, request):
        r = reading(x, model_id, ws, digit)
        if r.not_a_digit:  # the confidence is the closest digit's, not how sure "not a digit" is: say whose
            closest = say("closest digit: {digit}", request, digit=r.digit)
            rows.append(f"| {label} | {say(NOT_A_DIGIT, request)} | {closest}, {r.confidence:.1%} |")
        else:
            rows.append(f"| {label} | **{r.digit}** | {r.confidence:.1%} |")
    return "\n".join(rows)


def digit_choices(image: str | None, model_id: str, request: gr.Request) -> dict:
    """The digit selector for a number: a choice per digit ("2 (1st)"), the least certain chosen,
    whose confidences and 28x28 view the panels show; hidden for one digit or none."""
    ws = workspace_of(request)
    try:
        number = number_in(image, reading_network(model_id, ws), ws)
    except gr.Error:  # the image's own message is on show already
        number = NumberReading([])
    if len(number.digits) < 2:
        return gr.update(visible=False, choices=[], value=None)
    choices = [(f"{d.label} ({ORDINALS[i]})", i) for i, d in enumerate(number.digits)]
    return gr.update(visible=True, choices=choices, value=least_certain(number))


def show_digit(image: str | None, model_id: str, index: int | None, request: gr.Request) -> tuple[Any, Any]:
    """The confidences and 28x28 view of the digit chosen in a number."""
    ws = workspace_of(request)
    number = number_in(image, reading_network(model_id, ws), ws)
    if not isinstance(index, int) or not 0 <= index < len(number.digits):
        return gr.skip(), gr.skip()
    digit = number.digits[index]
    return label_value(digit.reading, request), seen_html(digit.x, request)


def words_of_the_empty_page(request: gr.Request) -> tuple[Any, ...]:
    """On page load, for a browser that reads another language than the page was built in: the
    empty panels' words in it (the page's fixed text is translated by Gradio, see texts.py)."""
    if language(request) == "en":
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return (say(NOTHING_DRAWN, request), gr.update(answer=answer_html(None, request=request), answer_id=next(_answer_numbers)),
            seen_html(None, request), compare_all(None, request))


def inside_of(opened: bool, image: str | None, model_id: str, conv_index: Any, request: gr.Request) -> tuple[Any, ...]:
    """The "Inside the network" view for the current image (its least certain digit, for a number)
    and the page's network (or the default one if it was deleted); nothing while the view is closed."""
    if not opened:
        return (gr.skip(),) * 6
    ws = workspace_of(request)
    model_id = reading_network(model_id, ws)
    try:
        number = number_in(image, model_id, ws)
    except gr.Error:  # the image's own message is on show already
        number = NumberReading([])
    x = number.digits[least_certain(number)].x if number.digits else None
    path, model = network(model_id, ws)
    return show_inside(model, model_id, mnist_core.weights.read_metadata(path), x, conv_index, request, image)


def filters_of(model_id: str, conv_index: Any, channel: Any, request: gr.Request) -> tuple[Any, str]:
    """The chosen convolution's feature map's filter weights, for the page's network."""
    ws = workspace_of(request)
    return show_filters(get_model(reading_network(model_id, ws), ws), conv_index, channel, request)


def map_picked(model_id: str, shown_at: float, event: gr.EventData, request: gr.Request) -> tuple[Any, Any, str, float]:
    """A click on a convolution's feature map (inside_view.PICK_MAP): that convolution and map
    chosen, and the map's filter shown, unless the map shown is from a later click (one that
    reached the server first)."""
    picked = getattr(event, "_data", None) or {}
    conv, map_index, at = picked.get("conv"), picked.get("map"), picked.get("at")
    if (not isinstance(conv, int) or not isinstance(map_index, int) or not isinstance(at, (int, float))
            or at <= (shown_at or 0.0)):
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    channel, filters = filters_of(model_id, conv, map_index + 1, request)
    return gr.Dropdown(value=conv), channel, filters, float(at)


def save_correction(drawing: object, current: str | None, digit: str | None, request: gr.Request) -> tuple[Any, Any]:
    """Keep what is on show as a `digit`: the canvas's drawing as it is at the click (`drawing`,
    see KEEP_ON_SHOW), or else the uploaded photo being read (`current`).

    The drawing comes with the click, not from `current`: that follows a stroke only once
    read_canvas has answered, and a Keep pressed sooner kept nothing ("Nothing is drawn") or the
    drawing before. What a person must do first is a warning, never an error on a component: an
    error badge would cover the digit buttons it asks them to use."""
    ws = workspace_of(request)
    try:
        image = canvas_image(drawing) or (current if is_photo(current) else None)
        if digit is None:
            raise UserSampleError("First choose the digit you drew (one of 0–9 above), then keep it.")
        save_user_sample(image, digit, ws)
    except (UserSampleError, mnist_core.InvalidImage, gr.Error) as error:
        gr.Warning(say(error.message if isinstance(error, gr.Error) else str(error), request))
        return gr.skip(), gr.skip()
    return (say("✓ Kept as a **{digit}**: {count} drawing(s) kept so far. The next retrain (Retrain tab) learns "
                "from them; see or delete them there, under *Your drawings*.", request,
                digit=digit, count=count_user_samples(ws)), None)


# Run in the page at the click, before save_correction: the canvas's drawing as it is now (its
# script renders it, see sketchpad.js), in place of the component's value, which a stroke sets
# only once its fast answer is painted.
KEEP_ON_SHOW = """(drawing, current, digit) => {
    const canvas = document.querySelector("#sketchpad");
    return [canvas && canvas.drawingNow ? canvas.drawingNow() : drawing, current, digit];
}"""


# Run in the page when a photo is uploaded, before show_photo: the canvas notes which strokes were
# begun before it, so that a drawing begun while the photo waits to be read is kept (sketchpad.js).
PHOTO_CHOSEN = """(image, model) => {
    const canvas = document.querySelector("#sketchpad");
    if (canvas && canvas.photoChosen) canvas.photoChosen();
    return [image, model];
}"""


def correction_control(sketch: gr.HTML, current: gr.State) -> Any:
    """Declare the Draw tab's "That's wrong, it was a ___": the user gives the right digit and
    what is on show (the canvas's drawing, or the photo being read) is kept for retraining
    (mnist_core.user_samples). Returns the keep event, for the Retrain tab's counts to follow."""
    with gr.Group(elem_id="correction"):
        digit = gr.Radio(DIGITS, label=t("Wrong answer? It was a…"), elem_id="correct-digit")
        keep = gr.Button(t("Keep this drawing to retrain with"), size="sm", elem_id="keep-drawing")
    note = gr.Markdown(elem_id="correction-note")
    return keep.click(save_correction, [sketch, current, digit], [note, digit], js=KEEP_ON_SHOW,
                      api_visibility="private")


SKETCHPAD_HTML = """
<div class="sketch-row">
  <div class="sketch-wrap">
    <div class="canvas-box">
      <canvas id="sketchpad" aria-label="Draw a digit here with the mouse or a finger"></canvas>
      <div class="box-layer"></div>
      <div class="photo-note" hidden>The photo below is being read.<br>Draw here to read a drawing instead.</div>
    </div>
    <div class="sketch-tools">
      <button type="button" class="undo">Undo</button>
      <button type="button" class="clear">Clear</button>
    </div>
  </div>
  <div id="prediction" aria-live="polite"></div>
</div>
"""


class DrawTab(NamedTuple):
    """What other tabs need of the Draw tab."""

    model: gr.Dropdown  # the network selector, whose choices follow models kept or deleted
    drawing_kept: Any  # the event that keeps a corrected drawing, after which counts follow
    models_changed: Callable[[Any], None]  # chains, after an event that saved or deleted a model, the panels that list every model


def draw_tab() -> DrawTab:
    """The Draw tab: a canvas (or an uploaded photo), the networks' answers, a comparison."""
    current = gr.State(None)  # the image being read: a canvas data URL or an uploaded file's path
    gone = gr.State(None)  # the id of the page's network, deleted since it was chosen, until said
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
                answer_id=0,
                model_id=default_model,
                photo="",
            )
            with gr.Accordion(t("…or upload a photo or scan of a handwritten digit"), open=False):
                upload = gr.Image(label=t("Photo or scan"), type="filepath", sources=["upload", "clipboard"], elem_id="upload",
                                  image_mode=None)  # None: its path as uploaded, not decoded and re-saved as RGB
        with gr.Column():
            model = gr.Dropdown(
                choices=model_choices(None),
                value=default_model,
                label=t("Network"),
                filterable=False,
                elem_id="model",
            )
            digit = gr.Radio([], label=t("Details for the digit"), visible=False, elem_id="digit-choice")
            label = ReadingLabel(NOTHING_DRAWN, num_top_classes=10, show_heading=False, label=t("Confidence per digit"),
                               elem_id="confidences")
            seen = gr.HTML(
                seen_html(None), show_label=False, container=True,
                elem_id="seen", js_on_load=None,
            )
            drawing_kept = correction_control(sketch, current)  # "that's wrong, it was a ___": kept for retraining
    with gr.Accordion(t("Compare all models"), open=True):
        comparison = gr.Markdown(compare_all(None), elem_id="compare")
    view = inside_view()
    view_outputs = [view.layers, view.why, view.card, view.conv, view.channel, view.filters]

    # "always_last" everywhere: an event that comes while the last of its kind is still running runs
    # after it, with the page's image and network as they are then (Gradio's default, "once",
    # drops it: the view inside the network stayed on the network chosen before the last one).
    quiet = dict(show_progress="hidden", api_visibility="private", trigger_mode="always_last")
    # While the user draws (up to 10 times a second) and when a stroke ends, the canvas's script
    # asks read_drawing for the answer. After a stroke, Undo or Clear it sets its value to the
    # drawing (a PNG data URL) and fires stroke_end: the rest of the tab follows, off the queue.
    # "always_last" keeps one request in flight.
    # After each of them, the comparison and the digit selector (for a number) follow.
    # Last, the view inside the network (its pictures and attributions take longest).
    def follow(event: Any, **options: Any) -> None:
        event.then(compare_all, current, comparison, **options, **quiet)
        event.then(digit_choices, [current, model], digit, **options, **quiet)
        event.then(inside_of, [view.opened, current, model, view.conv], view_outputs, **options, **quiet).then(
            filters_of, [model, view.conv, view.channel], [view.channel, view.filters], **options, **quiet)

    follow(sketch.stroke_end(read_canvas, [sketch, model, current], [label, seen, current, sketch, upload, model, gone],
                             queue=False, **quiet),
           queue=False)
    shown = [label, sketch, seen, current, model]
    follow(model.change(show_model, [current, model, gone], [*shown, gone], **quiet))
    follow(upload.upload(show_photo, [upload, model], [*shown, upload], preprocess=False, js=PHOTO_CHOSEN, **quiet))
    digit.input(show_digit, [current, model, digit], [label, seen], queue=False, **quiet)
    gr.on(None, words_of_the_empty_page, None, [label, sketch, seen, comparison], queue=False, **quiet)
    view.box.expand(lambda: True, None, view.opened, queue=False, **quiet).then(
        inside_of, [view.opened, current, model, view.conv], view_outputs, queue=False, **quiet).then(
        filters_of, [model, view.conv, view.channel], [view.channel, view.filters], queue=False, **quiet)
    gr.on([view.conv.input, view.channel.release], filters_of, [model, view.conv, view.channel],
          [view.channel, view.filters], queue=False, **quiet)
    # A click on a feature map carries its own data (which map), which "always_last" would replace
    # by the first click's: every click runs ("multiple"), one at a time on the queue (the app lets
    # two events of a kind run at once, and the first could end last), and one that reaches the
    # server after a later click's is skipped (map_picked): the last click's map is the one shown.
    view.layers.click(map_picked, [model, view.picked_at], [view.conv, view.channel, view.filters, view.picked_at],
                      concurrency_limit=1, **dict(quiet, trigger_mode="multiple"))
    # The public API ("Use via API"), on hidden components: /predict reads an image as one digit,
    # /read_number reads every digit in it. An unknown model id is refused there, never replaced.
    api_image = gr.Image(type="filepath", visible=False, label="Photo or scan")
    api_answer = ReadingLabel(visible=False, label="Confidence per digit")
    api_number = gr.JSON(visible=False, label="The number read")
    gr.Button(visible=False).click(predict, [api_image, model], api_answer, api_name="predict", preprocess=False,
                                   show_progress="hidden")
    gr.Button(visible=False).click(read_number_api, [api_image, model], api_number, api_name="read_number",
                                   preprocess=False, show_progress="hidden")
    follow(upload.clear(show_model, [sketch, model, gone], [*shown, gone], **quiet))
    return DrawTab(model, drawing_kept, follow)  # after a model is saved or deleted: the table at once
