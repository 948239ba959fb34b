"""The "Inside the network" view of the Draw tab: every layer's output for the current drawing,
why the network answered as it did (over the 28x28 and over the drawing itself), the network's
card, and a convolution's filters.

The work is mnist_core.inside's (hooks and Captum); this file turns tensors into pictures
(inline PNGs, one per layer) and declares the components. It follows the Draw tab's current
image and network after its panels (see draw_tab.follow), so the answer never waits for it.
"""

from __future__ import annotations

import base64
import html
import json
import io
import math
from typing import Any, NamedTuple

import gradio as gr
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from mnist_core import inside
from mnist_core.models import SPECS, count_parameters
from mnist_core.preprocess import InvalidImage, load_image, to_mnist_with_field
from mnist_core.reading import temperature_in
from mnist_core.weights import WEIGHTS_DIR
from ui.texts import say, t

# Each shipped network's accuracy on handwriting that is not MNIST's, as benchmarks/real_style.py
# measured it (--json weights/real_style.json): {set: {model id: accuracy}}.
REAL_STYLE: dict[str, dict[str, float]] = json.loads((WEIGHTS_DIR / "real_style.json").read_text())["results"]
MAPS_SHOWN = 64  # feature maps drawn per layer (our own network has up to 192)
TILE_PX = 42  # a feature map's side on screen
STRIP_PER_ROW = 100  # a dense layer's units per row of its strip
DRAWING_BOX = (280, 168)  # the drawing under its attribution fits this on screen (168: the 28x28's, 6x)
EMPTY = "Draw a digit: every layer of the network appears here."
# What each kind of layer (inside.LayerView.kind) is called on the page, before PyTorch's name for it.
KINDS = {"input": "input", "conv": "convolution", "norm": "normalisation", "relu": "activation", "pool": "pooling",
         "flatten": "flattening", "dense": "fully connected", "output": "output", "other": "layer"}


def empty_html(request: Any = None) -> str:
    return f'<div class="inside-empty">{say(EMPTY, request)}</div>'


def _png(pixels: torch.Tensor) -> str:
    """An inline PNG of uint8 pixels [H, W] or [H, W, 3]."""
    buffer = io.BytesIO()
    Image.fromarray(pixels.contiguous().numpy()).save(buffer, format="PNG", optimize=False, compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _grey(values: torch.Tensor) -> torch.Tensor:
    """Values scaled to 0..255 over their own range (white: the strongest), uint8."""
    lo, hi = values.min(), values.max()
    return ((values - lo) / (hi - lo) * 255 if hi > lo else torch.zeros_like(values)).round().to(torch.uint8)


class Grid(NamedTuple):
    """How maps_picture lays out feature maps: `columns` a row, each tile `tile_w` x `tile_h` image
    pixels (the map and a 1 px gap), the first `count` maps."""

    columns: int
    tile_w: int
    tile_h: int
    count: int


def _grid(maps: torch.Tensor) -> tuple[Grid, int]:
    """The layout of maps [C, H, W] in maps_picture, and each map's scale."""
    c, h, w = maps[:MAPS_SHOWN].shape
    scale = max(1, (TILE_PX if c > 1 else 4 * TILE_PX) // max(h, w))  # one map alone (the input): larger
    return Grid(min(c, 16), w * scale + 1, h * scale + 1, c), scale


def maps_picture(maps: torch.Tensor) -> str:
    """Feature maps [C, H, W] as one grid image, each map TILE_PX wide, 1 px apart."""
    maps = maps[:MAPS_SHOWN]
    (columns, side_w, side_h, c), scale = _grid(maps)
    h, w = maps.shape[1:]
    tiles = F.interpolate(_grey(maps).float()[:, None], scale_factor=scale, mode="nearest")[:, 0].to(torch.uint8)
    rows = math.ceil(c / columns)
    grid = torch.full((rows * side_h, columns * side_w), 128, dtype=torch.uint8)
    for i in range(c):
        r, q = divmod(i, columns)
        grid[r * side_h:r * side_h + h * scale, q * side_w:q * side_w + w * scale] = tiles[i]
    return _png(grid)


def strip_picture(vector: torch.Tensor) -> str:
    """A vector's values as a strip of cells, STRIP_PER_ROW a row, 6 px each."""
    n = vector.numel()
    rows = math.ceil(n / STRIP_PER_ROW)
    cells = torch.zeros(rows * STRIP_PER_ROW)
    cells[:n] = _grey(vector.flatten()).float()
    grid = cells.view(rows, STRIP_PER_ROW).repeat_interleave(6, 0).repeat_interleave(6, 1)
    width = min(n, STRIP_PER_ROW) * 6
    return _png(grid[:, :width].to(torch.uint8))


def _heat(a: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """uint8 RGB [H, W, 3]: grey `base` (0..255) tinted red where `a` (-1..1) > 0, blue where < 0."""
    red = torch.where(a > 0, base, base * (1 + a)).clamp(0, 255)
    blue = torch.where(a < 0, base, base * (1 - a)).clamp(0, 255)
    green = (base * (1 - a.abs())).clamp(0, 255)
    return torch.stack([red, green, blue], dim=-1).round().to(torch.uint8)


def heat_picture(attribution: torch.Tensor, x: torch.Tensor) -> str:
    """An attribution [28, 28] over the drawing: red where ink pushed towards the digit, blue
    where it pushed away, the ink in grey beneath; 6x."""
    a = attribution / attribution.abs().max().clamp_min(1e-8)
    base = 255 - 90 * x.reshape(28, 28).clamp(0, 1)  # the drawing, light grey on white
    return _png(_heat(a, base).repeat_interleave(6, 0).repeat_interleave(6, 1))


def drawing_picture(attribution: torch.Tensor, x: torch.Tensor, drawing: Any) -> str | None:
    """An attribution [28, 28] laid back over the drawing as it was drawn (or the photo), coloured
    as heat_picture colours the 28x28, within DRAWING_BOX. None unless `x` is what to_mnist makes
    of the whole of `drawing` (for one digit of a number, it is not)."""
    try:
        image = load_image(drawing)  # decoded once: the field is found in it, and it is drawn on
        placed = None if image is None else to_mnist_with_field(image)
    except (InvalidImage, TypeError):
        return None
    if placed is None or not torch.equal(placed[0], x.reshape(1, 28, 28)):
        return None
    field = placed[1]
    scale = min(DRAWING_BOX[0] / field.size[0], DRAWING_BOX[1] / field.size[1])
    size = (max(1, round(field.size[0] * scale)), max(1, round(field.size[1] * scale)))
    if image.mode == "RGBA":  # as the page showed it: on white
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    grey = torch.from_numpy(np.asarray(image.convert("L").resize(size, Image.Resampling.LANCZOS), dtype=np.float32))
    a = inside.on_drawing(attribution, field, size) / attribution.abs().max().clamp_min(1e-8)
    return _png(_heat(a.clamp(-1, 1), 255 - 90 / 255 * (255 - grey)))  # the drawing lightened as the 28x28's


def layer_name(kind: str, name: str, request: Any = None) -> str:
    """A layer as the page names it: what it does, in the page's language, then PyTorch's name for
    it (e.g. "卷积 · Conv2d 1→6, 5×5"); the input by its kind alone."""
    word = say(KINDS.get(kind, "layer"), request)
    return word if kind == "input" else f"{word} · {html.escape(say(name, request))}"


def layers_html(views: list[inside.LayerView], request: Any = None, temperature: float = 1.0) -> str:
    """Every layer, in order: its name, output shape and parameters, and its picture. A
    convolution's maps say where each lies (data-*), so that a click picks one (PICK_MAP). The
    output's ten logits are shown as the confidences the page shows: softmax(logits / temperature),
    the network's calibration (with T = 1 the default network's 7 read "81%" here, "100%" above)."""
    parts = []
    convolutions = 0
    for v in views:
        shape = "×".join(str(s) for s in v.shape)
        if v.kind == "output":
            probabilities = (v.output / temperature).softmax(0)
            bars = "".join(f'<div class="bar"><span>{d}</span><i style="width:{p * 100:.1f}%"></i>'
                           f"<b>{p:.0%}</b></div>" for d, p in enumerate(probabilities.tolist()))
            note = say("the confidences: softmax(logits / {t}), the network's calibration", request,
                       t=f"{temperature:.3g}")
            picture = f'<div class="bars">{bars}</div><div class="bars-note">{note}</div>'
        elif v.is_maps:
            more = (say(" (the first {shown} of {count})", request, shown=MAPS_SHOWN, count=v.shape[0])
                    if v.shape[0] > MAPS_SHOWN else "")
            maps = say("{count} feature maps", request, count=v.shape[0])
            clickable = ""
            if v.kind == "conv":
                grid, _ = _grid(v.output)
                clickable = (f' data-conv="{convolutions}" data-columns="{grid.columns}" data-tile-w="{grid.tile_w}" '
                             f'data-tile-h="{grid.tile_h}" data-count="{grid.count}" '
                             f'title="{say("Click a feature map to see its filter", request)}"')
                convolutions += 1
            picture = f'<img src="{maps_picture(v.output)}" alt="{maps}{more}"{clickable}>{more}'
        else:
            values = say("{count} values", request, count=v.output.numel())
            picture = f'<img src="{strip_picture(v.output)}" alt="{values}">'
        params = " · " + say("{count} parameters", request, count=f"{v.parameters:,}") if v.parameters else ""
        parts.append(f'<section class="layer {v.kind}" data-kind="{v.kind}"><div class="layer-title">'
                     f"<b>{v.index}. {layer_name(v.kind, v.name, request)}</b> <span>{shape}{params}</span></div>"
                     f"{picture}</section>")
    return "".join(parts)


def why_html(why: inside.Attribution, x: torch.Tensor, drawing: Any = None, request: Any = None) -> str:
    """Why the network answered: the attributions towards the answer and the runner-up over the
    28x28, and the answer's also over the drawing (`drawing`: the image x was made from)."""
    title = say("Why this answer (Integrated Gradients, Captum): red ink pushed towards the digit, blue away from it",
                request)

    def figure(picture: str | None, caption: str, digit: int, attributes: str = "") -> str:
        if picture is None:
            return ""
        alt = html.escape(say("towards {digit}", request, digit=digit))
        return (f'<figure{attributes}><img src="{picture}" alt="{alt}">'
                f"<figcaption>{say(caption, request, digit=digit)}</figcaption></figure>")

    answer, runner_up = why.answer, why.runner_up
    over = drawing_picture(why.towards_answer, x, drawing) if drawing is not None else None
    return (f'<div class="why-title">{title}</div><div class="why-maps">'
            + figure(heat_picture(why.towards_answer, x), "towards <b>{digit}</b> (the answer)", answer)
            + figure(over, "towards <b>{digit}</b> (the answer), over your drawing", answer,
                     ' class="on-drawing"')
            + figure(heat_picture(why.towards_runner_up, x), "towards <b>{digit}</b> (the runner-up)", runner_up)
            + "</div>")


def card_markdown(model: torch.nn.Module, model_id: str, info: dict, request: Any = None) -> str:
    """The network's card: what it is, its layers, recipe, accuracies, and the tutorial's bug we fixed
    (from the network's docstring; texts.ZH has each one's Chinese)."""
    base = info.get("base_model", model_id)
    spec = SPECS.get(base)
    name = f"**{html.escape(say(str(info.get('name', model_id)), request))}** (`{model_id}`)"
    count = f"{count_parameters(model):,}"
    rows = [say("{name}, {count} parameters, from {source}.", request, name=name, count=count,
                source=say(spec.source, request))
            if spec else say("{name}, {count} parameters.", request, name=name, count=count)]
    accuracy = info.get("test_accuracy")
    if accuracy is not None:
        rows.append(say("MNIST test accuracy: **{accuracy}**.", request, accuracy=f"{accuracy:.2%}"))
    real = {name: row[model_id] for name, row in REAL_STYLE.items() if name != "MNIST test" and model_id in row}
    if real:
        sets = say(", ", request).join(f"{say(name, request)} {value:.1%}" for name, value in real.items())
        rows.append(say("On handwriting that is not MNIST's (`benchmarks/real_style.py`): {sets}.", request, sets=sets))
    elif info.get("retrained"):
        rows.append(say("Not measured on handwriting that is not MNIST's: `benchmarks/real_style.py` measures the "
                        "shipped networks.", request))
    recipe = info.get("recipe")
    if isinstance(recipe, dict):
        rows.append(say("Recipe: {optimizer} {lr}, batch {batch}, {epochs} epochs, {schedule} schedule{augmented}.",
                        request, optimizer=recipe.get("optimizer"), lr=recipe.get("lr"), batch=recipe.get("batch_size"),
                        epochs=recipe.get("epochs"), schedule=say(str(recipe.get("schedule")), request),
                        augmented=(say(", augmented", request) if recipe.get("augment") else "")
                        + (say(", label smoothing {amount}", request, amount=recipe["label_smoothing"])
                           if recipe.get("label_smoothing") else "")
                        + (say(", + {count} digits in the styles MNIST lacks", request, count=recipe["styled_digits"])
                           if recipe.get("styled_digits") else "")))
    fix = inside.tutorial_fix(model)
    if fix:
        rows.append(say("Fixed from the tutorial: {fix}", request, fix=say(fix, request)))
    table = [say("| # | layer | output | parameters |", request), "| ---: | --- | --- | ---: |"]
    for i, row in enumerate(inside.network_card(model)):
        table.append(f"| {i} | {layer_name(row.kind, row.layer, request)} | {'×'.join(map(str, row.output_shape))} | "
                     f"{row.parameters:,} |")
    return "\n\n".join(rows) + "\n\n" + "\n".join(table)


def filters_picture(weights: torch.Tensor) -> str:
    """A feature map's filter [in_channels, k, k]: one small image per input channel (at most 64)."""
    weights = weights[:MAPS_SHOWN]
    k = weights.shape[-1]
    return maps_picture(F.interpolate(weights[:, None], size=(max(k, 7), max(k, 7)), mode="nearest")[:, 0])


class InsideView(NamedTuple):
    box: gr.Accordion
    opened: gr.State  # whether the box is open: the view is only computed then
    layers: gr.HTML
    why: gr.HTML
    card: gr.Markdown
    conv: gr.Dropdown
    channel: gr.Slider
    filters: gr.HTML
    picked_at: gr.State  # when the click whose map is shown was made (PICK_MAP's `at`)


# A click on a convolution's maps (layers_html) picks that map: its filter is shown (pick_map).
# `at`, when it was clicked (a page's clock only goes forward): two quick clicks can reach the
# server in either order, and only a later click may replace the map shown.
PICK_MAP = """
element.addEventListener("click", (event) => {
  const img = event.target.closest("img[data-conv]");
  if (!img || !img.naturalWidth) return;
  const box = img.getBoundingClientRect(), d = img.dataset;
  const column = Math.floor((event.clientX - box.left) * img.naturalWidth / box.width / Number(d.tileW));
  const row = Math.floor((event.clientY - box.top) * img.naturalHeight / box.height / Number(d.tileH));
  const map = row * Number(d.columns) + column;
  if (column < Number(d.columns) && map < Number(d.count)) trigger("click", {conv: Number(d.conv), map: map, at: performance.timeOrigin + performance.now()});
});
"""


def inside_view() -> InsideView:
    """Declare the view (in an accordion below the comparison, closed at first: it is computed only
    while open); the Draw tab wires it."""
    opened = gr.State(False)
    picked_at = gr.State(0.0)
    with gr.Accordion(t("Inside the network: every layer, and why this answer"), open=False, elem_id="inside-box") as box:
        with gr.Row():
            with gr.Column(scale=3):
                layers = gr.HTML(empty_html(), elem_id="inside", js_on_load=PICK_MAP)
            with gr.Column(scale=2):
                why = gr.HTML("", elem_id="why")
                with gr.Group():
                    conv = gr.Dropdown([], label=t("Filters of the convolution"), elem_id="filter-layer",
                                       filterable=False)
                    channel = gr.Slider(1, 2, value=1, step=1, label=t("Feature map"), elem_id="filter-map", visible=False)
                    filters = gr.HTML("", elem_id="filters")
                card = gr.Markdown(elem_id="card")
    box.collapse(lambda: False, None, opened, queue=False, show_progress="hidden", api_visibility="private")
    return InsideView(box, opened, layers, why, card, conv, channel, filters, picked_at)


def show_inside(model: torch.nn.Module, model_id: str, info: dict, x: torch.Tensor | None,
                conv_index: int | None, request: Any = None, drawing: Any = None) -> tuple[Any, ...]:
    """The view's outputs [layers, why, card, conv, channel, filters] for a drawing (x) read by a
    network; `drawing`: the image x was made from (a canvas data URL, a photo's path), if any."""
    names = inside.convolutions(model)
    chosen = conv_index if isinstance(conv_index, int) and 0 <= conv_index < len(names) else 0
    conv = gr.Dropdown(choices=[(name, i) for i, name in enumerate(names)], value=chosen if names else None,
                       visible=bool(names))
    card = card_markdown(model, model_id, info, request)
    if x is None:
        return empty_html(request), "", card, conv, gr.Slider(visible=bool(names)), ""
    views = inside.look_inside(model, x)
    temperature = temperature_in(info)  # as the page's answer reads it (draw_tab._temperature)
    return (layers_html(views, request, temperature), why_html(inside.attributions(model, x), x, drawing, request),
            card, conv, gr.skip(), gr.skip())


def show_filters(model: torch.nn.Module, conv_index: Any, channel: Any, request: Any = None) -> tuple[Any, str]:
    """The slider's range for the chosen convolution, and the chosen feature map's filter weights."""
    counts = inside.feature_map_counts(model)
    if not isinstance(conv_index, int) or not 0 <= conv_index < len(counts):
        return gr.Slider(visible=False), ""
    count = counts[conv_index]
    index = min(max(int(channel or 1), 1), count) - 1
    weights = inside.filters_of(model, conv_index, index)
    return (gr.Slider(1, max(count, 2), value=index + 1, step=1, visible=count > 1),
            f'<img src="{filters_picture(weights)}" alt="{say("filter weights", request)}"><div class="filter-note">'
            + say("feature map {map}'s filter: {inputs} input channel(s) of {size} weights (white: the largest)",
                  request, map=index + 1, inputs=weights.shape[0], size=f"{weights.shape[1]}×{weights.shape[2]}")
            + "</div>")

