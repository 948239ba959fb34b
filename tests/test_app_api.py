"""The /predict endpoint, called with gradio_client against the real server (python app.py), and
the canvas's own fast path (the server function read_drawing) called as the page calls it."""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from PIL import Image, ImageDraw

import mnist_core


def digit_image(path: Path, digit: str | None) -> Path:
    """A handwritten-looking digit as a photo would have it: black ink on white, 280x280 PNG."""
    image = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(image)
    if digit == "1":
        pen.line([(140, 40), (140, 240)], fill=0, width=22)
    elif digit == "0":
        pen.ellipse([80, 40, 200, 240], outline=0, width=22)
    image.save(path)
    return path


# The server under test keeps its user data in a temporary folder: it has the shipped networks only.
SHIPPED = [model_id for model_id in mnist_core.list_models() if model_id in mnist_core.SPECS]
ANY_MODEL = SHIPPED[0]  # for answers that do not depend on the network


@pytest.fixture(scope="module")
def client(app_url: str) -> Client:
    return Client(app_url, verbose=False)


@pytest.mark.parametrize("model_id", SHIPPED)
@pytest.mark.parametrize("digit", ["1", "0"])
def test_predict_reads_a_drawn_digit(client: Client, tmp_path: Path, digit: str, model_id: str) -> None:
    result = client.predict(handle_file(digit_image(tmp_path / f"{digit}.png", digit)), model_id, api_name="/predict")

    assert result["label"] == digit
    confidences = {c["label"]: c["confidence"] for c in result["confidences"]}
    assert sorted(confidences) == [str(d) for d in range(10)]
    assert sum(confidences.values()) == pytest.approx(1.0, abs=1e-4)
    assert max(confidences, key=confidences.get) == digit


SYMBOLS = {  # what people draw that is not a digit, as strokes on a 280x280 page
    "A": [[(60, 240), (140, 40), (220, 240)], [(95, 160), (185, 160)]],
    "plus": [[(140, 50), (140, 230)], [(50, 140), (230, 140)]],
    "equals": [[(50, 100), (230, 100)], [(50, 180), (230, 180)]],
    "X": [[(60, 60), (220, 220)], [(220, 60), (60, 220)]],
    "scribble": [[(40, 60), (240, 80), (50, 120), (230, 150), (40, 190), (240, 220), (60, 250), (200, 40)]],
}


@pytest.mark.parametrize("model_id", SHIPPED)
@pytest.mark.parametrize("symbol", list(SYMBOLS))
def test_predict_says_not_a_digit_for_a_letter_a_symbol_or_a_scribble(client: Client, tmp_path: Path, symbol: str,
                                                                      model_id: str) -> None:
    image = Image.new("L", (280, 280), 255)
    for stroke in SYMBOLS[symbol]:
        ImageDraw.Draw(image).line(stroke, fill=0, width=20, joint="curve")
    image.save(tmp_path / "symbol.png")
    result = client.predict(handle_file(tmp_path / "symbol.png"), model_id, api_name="/predict")

    assert result["label"] == "Not a digit"
    confidences = {c["label"]: c["confidence"] for c in result["confidences"]}  # the closest digits, still there
    assert sorted(confidences) == [str(d) for d in range(10)]
    assert sum(confidences.values()) == pytest.approx(1.0, abs=1e-4)


def test_predict_says_nothing_drawn_for_a_blank_image(client: Client, tmp_path: Path) -> None:
    result = client.predict(handle_file(digit_image(tmp_path / "blank.png", None)), ANY_MODEL, api_name="/predict")

    assert result["label"] == "Nothing drawn"
    assert not result.get("confidences")


def test_predict_refuses_an_unknown_model(client: Client, tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"Unknown model 'no-such-net'\. Available models: "):
        client.predict(handle_file(digit_image(tmp_path / "1.png", "1")), "no-such-net", api_name="/predict")


def test_predict_refuses_an_unreadable_file(client: Client, tmp_path: Path) -> None:
    not_an_image = tmp_path / "digit.png"
    not_an_image.write_bytes(b"this is not a PNG")
    with pytest.raises(mnist_core.InvalidImage) as invalid:
        mnist_core.to_mnist(not_an_image)

    with pytest.raises(Exception, match=re.escape(str(invalid.value))):
        client.predict(handle_file(not_an_image), ANY_MODEL, api_name="/predict")


def read_drawing(app_url: str, data: object) -> str:
    """Call the canvas's server function as its script does: POST /gradio_api/component_server/."""
    config = json.load(urllib.request.urlopen(app_url + "config"))
    canvas = next(c["id"] for c in config["components"] if "read_drawing" in (c["props"].get("server_fns") or []))
    body = json.dumps({"data": data, "component_id": canvas, "fn_name": "read_drawing", "session_hash": "test"})
    request = urllib.request.Request(app_url + "gradio_api/component_server/", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))


def test_canvas_fast_path_answers(app_url: str, tmp_path: Path) -> None:
    png = digit_image(tmp_path / "1.png", "1").read_bytes()
    drawing = "data:image/png;base64," + base64.b64encode(png).decode()

    assert '<div class="digit">1</div>' in read_drawing(app_url, {"image": drawing, "model": ANY_MODEL})
    assert "Nothing drawn" in read_drawing(app_url, {"image": "", "model": ANY_MODEL})
    # A page whose network was deleted meanwhile: the default network reads it (the page's
    # stroke_end event then switches its selector and says so; tests/test_page_agrees.py).
    assert '<div class="digit">1</div>' in read_drawing(app_url, {"image": drawing, "model": "no-such-net"})


def test_canvas_fast_path_never_opens_a_server_path(app_url: str, tmp_path: Path) -> None:
    # A page can send any string as the drawing; a path to a file on the server must not be read.
    path = digit_image(tmp_path / "1.png", "1")
    answer = read_drawing(app_url, {"image": str(path), "model": ANY_MODEL})
    assert '<div class="digit">?</div>' in answer and "could not be read" in answer


def test_read_number_reads_each_digit_with_its_box(client: Client, tmp_path: Path) -> None:
    image = Image.new("L", (560, 280), 255)  # "10": a 1 and a 0, side by side
    pen = ImageDraw.Draw(image)
    pen.line([(140, 40), (140, 240)], fill=0, width=22)
    pen.ellipse([330, 40, 450, 240], outline=0, width=22)
    image.save(tmp_path / "10.png")

    result = client.predict(handle_file(tmp_path / "10.png"), ANY_MODEL, api_name="/read_number")

    assert result["number"] == "10"
    assert [d["label"] for d in result["digits"]] == ["1", "0"]
    one, zero = (d["box"] for d in result["digits"])
    assert one[0] < 140 < one[2] and zero[0] < 390 < zero[2]  # boxes in the image's own pixels
    assert all(0 < d["confidence"] <= 1 for d in result["digits"])


def test_read_number_of_nothing_and_of_bad_input(client: Client, tmp_path: Path) -> None:
    Image.new("L", (300, 200), 255).save(tmp_path / "blank.png")
    assert client.predict(handle_file(tmp_path / "blank.png"), ANY_MODEL, api_name="/read_number") == {
        "number": "", "digits": []}
    (tmp_path / "broken.png").write_bytes(b"this is not a PNG")
    with pytest.raises(Exception, match="not an image we can read"):
        client.predict(handle_file(tmp_path / "broken.png"), ANY_MODEL, api_name="/read_number")
    with pytest.raises(Exception, match="Unknown model 'no-such-net'"):
        client.predict(handle_file(tmp_path / "blank.png"), "no-such-net", api_name="/read_number")
