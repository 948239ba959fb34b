"""Inside the network: every layer's output, Captum's attributions and the network's card, for
every shipped network and a retrained one; and the view in the browser, following the drawing."""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torch import nn

import mnist_core
from mnist_core import inside
from mnist_core import retrain as rt
from mnist_core.models import count_parameters
from mnist_core.preprocess import to_mnist_with_field
from mnist_core.reading import read
from test_retrain import TINY, run_to_end


def a_one() -> torch.Tensor:
    x = torch.zeros(1, 28, 28)
    x[0, 4:24, 13:15] = 1.0
    return x


@pytest.fixture(scope="module")
def networks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, nn.Module]:
    """Every shipped network, and one retrained from the page's code (a tiny run)."""
    models = {model_id: mnist_core.load_model(model_id) for model_id in mnist_core.SPECS}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKETCHLAB_DATA_DIR", str(tmp_path_factory.mktemp("inside")))
        retrained = rt.save_run(run_to_end(rt.make_settings(**TINY)))
        models[retrained] = mnist_core.load_model(retrained)
    return models


def test_every_layer_is_shown_in_order_with_the_shape_it_makes(networks: dict[str, nn.Module]) -> None:
    x = a_one()
    for model_id, model in networks.items():
        views = inside.look_inside(model, x)
        assert views[0].kind == "input" and views[0].shape == (1, 28, 28), model_id
        assert views[-1].kind == "output" and views[-1].shape == (10,), model_id
        assert torch.allclose(views[-1].output, model(x[None])[0], atol=1e-5), model_id  # the real answer
        leaves = [m for m in model.modules() if not list(m.children())]
        shown = [v for v in views if v.kind != "input"]
        assert len(shown) in (len(leaves), len(leaves) + 1), model_id  # + the logits when not a module's
        convs = [m for m in leaves if isinstance(m, nn.Conv2d)]
        conv_views = [v for v in views if v.kind == "conv"]
        assert [v.shape[0] for v in conv_views] == [c.out_channels for c in convs], model_id
        assert all(v.is_maps for v in conv_views), model_id
        dense = [v for v in views if v.kind == "dense"]
        assert [v.shape for v in dense] == [(m.out_features,) for m in leaves if isinstance(m, nn.Linear)][:len(dense)]


def test_two_looks_at_one_network_at_once_each_see_only_their_own_drawing(networks: dict[str, nn.Module]) -> None:
    """The app's networks are shared: pages look inside one while others use it (hooks are per call)."""
    model = networks["convnet-bn"]
    expected = len(inside.look_inside(model, a_one()))
    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: len(inside.look_inside(model, a_one())), range(40)))
    assert counts == [expected] * 40


def test_the_card_lists_every_layer_and_adds_up_to_the_parameters(networks: dict[str, nn.Module]) -> None:
    for model_id, model in networks.items():
        card = inside.network_card(model)
        assert sum(row.parameters for row in card) == count_parameters(model), model_id
        assert card[0].output_shape == (1, 28, 28) and card[-1].output_shape == (10,)
    assert "flattens the input image" in inside.tutorial_fix(networks["lenet5"])  # the tutorial's bug, fixed
    assert inside.tutorial_fix(networks["convnet-bn"]) == ""  # ours


def test_filters_have_the_shape_of_their_convolution(networks: dict[str, nn.Module]) -> None:
    for model_id, model in networks.items():
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        assert inside.feature_map_counts(model) == [c.out_channels for c in convs]
        for i, conv in enumerate(convs):
            assert torch.equal(inside.filters_of(model, i, conv.out_channels - 1), conv.weight[-1].detach())
        with pytest.raises(IndexError):
            inside.filters_of(model, len(convs), 0)


def test_attributions_are_integrated_gradients_for_the_answer_and_the_runner_up(networks: dict[str, nn.Module]) -> None:
    x = a_one()
    for model_id, model in networks.items():
        why = inside.attributions(model, x, steps=64)
        logits = model(x[None])[0]
        assert [why.answer, why.runner_up] == logits.topk(2).indices.tolist(), model_id
        assert why.towards_answer.shape == why.towards_runner_up.shape == (28, 28)
        # Completeness, the property that makes them Integrated Gradients: the attributions add up
        # to the change of the digit's logit from a blank canvas to the drawing.
        blank = model(torch.zeros(1, 1, 28, 28))[0]
        for digit, attribution in ((why.answer, why.towards_answer), (why.runner_up, why.towards_runner_up)):
            change = (logits[digit] - blank[digit]).item()
            assert abs(attribution.sum().item() - change) <= 0.05 * abs(change) + 0.05, (model_id, digit)
        assert (why.towards_answer[x[0] == 0] == 0).all()  # only ink can push: blank pixels have none


def test_the_attribution_laid_over_the_drawing_lies_on_its_ink(networks: dict[str, nn.Module]) -> None:
    """As the app's canvas sends it (3:2, 112 px high, dark ink on white), the 7 off to one side."""
    drawing = Image.new("RGB", (168, 112), "white")
    ImageDraw.Draw(drawing).line([(100, 20), (150, 20), (120, 95)], fill="black", width=7, joint="curve")
    ink = torch.from_numpy(np.asarray(drawing.convert("L")) < 128)
    x, field = to_mnist_with_field(drawing)
    for model_id in ("convnet-bn", "lenet5", "mlp-3x64"):
        why = inside.attributions(networks[model_id], x)
        over = inside.on_drawing(why.towards_answer, field)
        assert over.shape == (112, 168), model_id  # the drawing's size
        assert over[:, :math.floor(field.left)].abs().max() == 0, model_id  # nothing where the 28x28 does not reach
        # Where it is strong, it is on the ink: the 200 strongest of its 18,816 pixels lie within one
        # pixel of the 28x28 of a stroke. (The strongest, not those above half the largest: a map may
        # peak at a single pixel of the 28x28, a few of the drawing's.)
        reach = math.ceil(field.width / 28)
        near_ink = F.max_pool2d(ink[None, None].float(), 2 * reach + 1, stride=1, padding=reach)[0, 0] > 0
        strongest = over.abs().flatten().topk(200).indices
        assert near_ink.flatten()[strongest].float().mean() > 0.95, model_id
        assert over.abs().max() >= 0.9 * why.towards_answer.abs().max(), model_id  # its peak kept
    assert inside.on_drawing(why.towards_answer, field, (252, 168)).shape == (168, 252)  # the drawing scaled


def test_the_drawing_is_shown_under_its_attribution_only_when_it_was_read_whole(networks: dict[str, nn.Module]) -> None:
    """One digit of a number was cut out of the drawing: its 28x28 has no place in the whole one."""
    from mnist_core.number import read_number
    from ui.inside_view import drawing_picture

    model = networks["convnet-bn"]
    seven = Image.new("RGB", (168, 112), "white")
    ImageDraw.Draw(seven).line([(60, 20), (110, 20), (80, 95)], fill="black", width=7, joint="curve")
    x = mnist_core.to_mnist(seven)
    picture = drawing_picture(inside.attributions(model, x).towards_answer, x, seven)
    assert picture is not None and picture.startswith("data:image/png;base64,")
    seventeen = Image.new("RGB", (252, 112), "white")
    ImageDraw.Draw(seventeen).line([(40, 15), (40, 95)], fill="black", width=7)
    ImageDraw.Draw(seventeen).line([(120, 20), (170, 20), (140, 95)], fill="black", width=7, joint="curve")
    digits = read_number(seventeen, model).digits
    assert len(digits) == 2
    assert all(drawing_picture(inside.attributions(model, d.x).towards_answer, d.x, seventeen) is None for d in digits)


def test_the_view_follows_the_drawing_in_the_browser(browser, app_url: str) -> None:
    from playwright.sync_api import expect

    from conftest import open_page
    from test_browser import ONE, ZERO, answer, draw

    page = open_page(browser, app_url)
    try:
        layers = page.locator("#inside section.layer")
        expected = len(inside.look_inside(mnist_core.load_model(mnist_core.DEFAULT_MODEL), a_one()))
        page.get_by_role("button", name=re.compile("^Inside the network")).click()  # closed at first
        expect(page.locator("#card")).to_contain_text("parameters")  # the default network's card, before any drawing
        draw(page, ONE)
        expect(answer(page)).to_have_text("1")
        expect(layers).to_have_count(expected)
        expect(layers.first.locator("img")).to_be_visible()
        expect(page.locator("#why img")).to_have_count(3)  # towards the answer (28x28, drawing), the runner-up
        expect(page.locator("#why")).to_contain_text(re.compile(r"towards 1 \(the answer\)"))
        # the output's bar for 1 says what the confidences beside the canvas say (one truth)
        page.wait_for_function("""() => {
            const label = document.querySelector('#confidences [data-testid="1-confidence-set"]');
            const bar = document.querySelectorAll('#inside section.output .bar b')[1];
            const shown = label && (label.textContent.match(/\\d+%/) || [])[0];
            return Boolean(bar && shown && bar.textContent.trim() === shown);
        }""", timeout=90_000)
        over = page.locator("#why figure.on-drawing img")
        expect(page.locator("#why figure.on-drawing")).to_contain_text("towards 1 (the answer), over your drawing")
        expect(over).to_be_visible()
        assert over.evaluate("img => img.naturalHeight") == 168  # the whole canvas, as drawn (3:2)
        assert over.evaluate("img => img.naturalWidth / img.naturalHeight") == pytest.approx(1.5, abs=0.05)
        first_conv = page.locator("#inside section.conv img").first.get_attribute("src")

        page.locator(".sketch-tools .clear").click()
        draw(page, ZERO)
        expect(answer(page)).to_have_text("0")
        expect(page.locator("#why")).to_contain_text(re.compile(r"towards 0 \(the answer\)"))
        expect(page.locator("#why figure.on-drawing")).to_contain_text("towards 0")  # it follows the drawing too
        expect(page.locator("#inside section.conv img").first).not_to_have_attribute("src", first_conv)

        filters = page.locator("#filters img")
        expect(filters).to_be_visible()
        before = filters.get_attribute("src")
        page.locator("#filter-layer input").click()
        page.get_by_role("option", name=re.compile(r"^2: Conv2d")).click()
        expect(filters).not_to_have_attribute("src", before)
        expect(page.locator("#filters")).to_contain_text("input channel(s)")

        # A click on a feature map shows that map's filter: the second convolution's 18th map
        # (second row, second column of 16), picked in the picture, not in the controls.
        second = page.locator("#inside section.conv img").nth(1)
        second.scroll_into_view_if_needed()
        tile_w, tile_h = (int(second.get_attribute(f"data-tile-{side}")) for side in "wh")
        box = second.bounding_box()
        scale = box["width"] / second.evaluate("img => img.naturalWidth")
        page.mouse.click(box["x"] + 0.5 * tile_w * scale, box["y"] + 0.5 * tile_h * scale)  # map 1, and at once 18:
        page.mouse.click(box["x"] + 1.5 * tile_w * scale, box["y"] + 1.5 * tile_h * scale)  # the last click's map shows
        expect(page.locator("#filters")).to_contain_text("feature map 18's filter")
        expect(page.locator("#filter-map input[type=number]")).to_have_value("18")
        expect(page.locator("#filter-layer input")).to_have_value(re.compile(r"^2: Conv2d"))
        page.locator("#inside section.conv img").first.click(position={"x": 2, "y": 2})  # the first map of the first
        expect(page.locator("#filters")).to_contain_text("feature map 1's filter: 1 input channel(s)")
        expect(page.locator("#filter-layer input")).to_have_value(re.compile(r"^1: Conv2d"))
    finally:
        page.context.close()


def test_the_card_says_what_the_network_is_and_how_it_does(networks: dict[str, nn.Module]) -> None:
    from ui.inside_view import REAL_STYLE, card_markdown

    lenet = card_markdown(networks["lenet5"], "lenet5", mnist_core.model_info("lenet5"))
    assert "44,426 parameters, from tutorial 001" in lenet and "MNIST test accuracy: **99.12%**" in lenet
    assert f"pen digits, canvas {REAL_STYLE['pen digits, canvas']['lenet5']:.1%}" in lenet
    assert "Fixed from the tutorial: the tutorial's first listing flattens" in lenet
    assert lenet.count("\n| ") == len(inside.network_card(networks["lenet5"])) + 2  # a row a layer, header, rule
    retrained = next(model_id for model_id in networks if model_id not in mnist_core.SPECS)
    card = card_markdown(networks[retrained], retrained, {"name": "mine", "retrained": True, "base_model": "lenet5"})
    assert "Not measured on handwriting that is not MNIST's" in card


@pytest.mark.filterwarnings("ignore:The value passed into gr.Dropdown")  # an update, outside the page's Blocks
def test_a_click_that_reaches_the_server_after_a_later_one_does_not_replace_its_map(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two quick clicks on the feature maps can reach the server in either order (each is its own
    request): the map shown is the later click's, whichever is answered last."""
    import gradio as gr
    from types import SimpleNamespace

    from ui.draw_tab import map_picked

    monkeypatch.setenv("SKETCHLAB_DATA_DIR", str(tmp_path / "user_data"))
    request = SimpleNamespace(session_hash="one-page")
    later = gr.EventData(None, {"conv": 1, "map": 17, "at": 2_000.0})
    earlier = gr.EventData(None, {"conv": 1, "map": 0, "at": 1_000.0})
    conv, channel, filters, shown_at = map_picked(mnist_core.DEFAULT_MODEL, 0.0, later, request)
    assert "feature map 18's filter" in filters and shown_at == 2_000.0
    assert map_picked(mnist_core.DEFAULT_MODEL, shown_at, earlier, request) == (gr.skip(),) * 4
    _, _, filters, shown_at = map_picked(mnist_core.DEFAULT_MODEL, 0.0, earlier, request)  # in order: it shows
    assert "feature map 1's filter" in filters and shown_at == 1_000.0


def test_the_output_layer_shows_the_confidences_the_page_shows() -> None:
    """The output's bars are the calibrated confidences of the page's answer (softmax(logits / T),
    the network's temperature), not softmax(logits): the default network's label smoothing makes
    those far softer (a drawn 7 read 81% there and 100% beside the canvas)."""
    from test_languages import a_seven
    from ui.inside_view import layers_html

    model = mnist_core.load_model(mnist_core.DEFAULT_MODEL)
    temperature = float(mnist_core.model_info(mnist_core.DEFAULT_MODEL)["temperature"])
    x = mnist_core.to_mnist(a_seven())
    shown = read(model, x, temperature).scores
    bars = lambda t: re.findall(r"<b>(\d+%)</b>", layers_html(inside.look_inside(model, x), temperature=t))  # noqa: E731
    assert bars(temperature) == [f"{shown[str(d)]:.0%}" for d in range(10)]
    assert bars(1.0) != bars(temperature)  # what the view showed before: another truth
