"""Reading numbers of several digits: mnist_core.number.read_number, in this process."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import mnist_core
from mnist_core.data import load_mnist
from mnist_core.number import MAX_DIGITS, _cut, _cuts_at_minima, _Group, read_number
from mnist_core.reading import temperature_in
from mnist_core.styles import draw_strokes
from mnist_core.symbols import SYMBOLS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from read_numbers import compose  # noqa: E402

MODEL_ID = mnist_core.DEFAULT_MODEL
STROKES = {  # digits as a pen writes them, in a 100x160 cell
    "1": [[(50, 15), (50, 145)]],
    "2": [[(15, 45), (40, 15), (75, 20), (80, 55), (15, 145), (90, 145)]],
    "0": [[(50, 15), (15, 50), (15, 110), (50, 145), (85, 110), (85, 50), (50, 15)]],
    "6": [[(75, 15), (25, 70), (20, 120), (50, 145), (80, 115), (60, 85), (25, 100)]],
    "7": [[(15, 15), (85, 15), (40, 145)], [(35, 80), (75, 80)]],  # its crossbar a stroke of its own
    "4": [[(60, 15), (15, 100), (90, 100)], [(65, 60), (65, 150)]],  # in two strokes
}


@pytest.fixture(scope="module")
def model() -> tuple[torch.nn.Module, float]:
    return mnist_core.load_model(MODEL_ID), temperature_in(mnist_core.model_info(MODEL_ID))


def written(number: str, gap: int = 40, width: int = 18) -> Image.Image:
    """`number` written with a pen, left to right, black on white."""
    cell = 100
    image = Image.new("L", (40 + len(number) * (cell + gap), 220), 255)
    pen = ImageDraw.Draw(image)
    for i, digit in enumerate(number):
        left = 20 + i * (cell + gap)
        for stroke in STROKES[digit]:
            pen.line([(left + x, 30 + y) for x, y in stroke], fill=0, width=width, joint="curve")
    return image


@pytest.mark.parametrize("number", ["12", "2026", "47", "7041", "1"])
def test_numbers_written_with_a_pen_are_read(model, number: str) -> None:
    reading = read_number(written(number), *model)
    assert reading.text == number
    boxes = [d.box for d in reading.digits]
    assert boxes == sorted(boxes), "left to right"
    width, height = written(number).size
    assert all(0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height for x0, y0, x1, y1 in boxes)


def test_a_single_digit_is_read_exactly_as_before(model) -> None:
    image = written("6")
    reading = read_number(image, *model)
    assert len(reading.digits) == 1
    assert torch.equal(reading.digits[0].x, mnist_core.to_mnist(image))


def test_nothing_written_is_an_empty_number(model) -> None:
    assert read_number(Image.new("L", (300, 200), 255), *model).as_dict() == {"number": "", "digits": []}
    assert read_number(None, *model).text == ""


def test_a_mark_that_is_not_a_digit_is_a_question_mark(model) -> None:
    image = written("12")
    page = Image.new("L", (image.width + 160, image.height), 255)
    page.paste(image, (0, 0))
    pen = ImageDraw.Draw(page)  # an X after the number
    left = image.width
    pen.line([(left, 45), (left + 100, 175)], fill=0, width=18)
    pen.line([(left + 100, 45), (left, 175)], fill=0, width=18)
    reading = read_number(page, *model)
    assert reading.text == "12?"
    assert reading.as_dict()["digits"][2]["label"] == "?"


def test_an_equals_sign_is_not_read_as_digits(model) -> None:
    """Its two bars lie one above the other: not two digits side by side (each bar passes for a
    2), and no cut goes through both (slices of two bars pass for 2s and 5s)."""
    rng = np.random.default_rng(5)
    read_as_digits = []
    for _ in range(10):
        length, pen, gap = rng.uniform(60, 200), rng.uniform(10, 30), rng.uniform(40, 90)
        page = Image.new("L", (400, 400), 255)
        draw = ImageDraw.Draw(page)
        for y in (200 - gap / 2, 200 + gap / 2):
            draw.line([(200 - length / 2, y), (200 + length / 2, y + rng.uniform(-8, 8))], fill=0, width=round(pen))
        text = read_number(page, *model).text
        read_as_digits += [text] if any(c.isdigit() for c in text) else []
    assert not read_as_digits, read_as_digits


@pytest.mark.parametrize("kind, at_most", [("∞", 5), ("w", 1)])
def test_a_lone_mark_refused_whole_is_not_cut_into_its_strokes(model, kind: str, at_most: int) -> None:
    """A letter written in one stroke is one mark, "not a digit" whole, but cut it reads as
    digits: an ∞ as a pair of 0s or a 6 and a 0, fairly surely; a w as "1111", each stroke a
    sure 1. A lone mark is cut only into digits that each read "sure", at most a third of them
    1s (without the first rule, 10 or 11 of these 20 ∞ are read as digits; without the second,
    4 of these 20 w)."""
    rng = np.random.default_rng(2024)
    texts = [read_number(draw_strokes(SYMBOLS[kind](rng), rng), *model).text for _ in range(20)]
    read_as_digits = [text for text in texts if any(c.isdigit() for c in text)]
    assert len(read_as_digits) <= at_most, read_as_digits


def test_a_five_with_its_flag_apart_is_one_digit(model) -> None:
    """A mark above another is part of the same digit (a 5's flag written apart), not a digit of its own."""
    page = Image.new("L", (300, 300), 255)
    pen = ImageDraw.Draw(page)
    pen.line([(110, 130), (100, 170), (160, 165), (185, 200), (175, 240), (140, 255), (100, 240)],
             fill=0, width=16, joint="curve")  # the body
    pen.line([(115, 95), (190, 90)], fill=0, width=16)  # the flag, above it and apart
    assert read_number(page, *model).text == "5"


def test_a_five_whose_flag_reaches_past_its_body_is_one_digit(model) -> None:
    """The flag written apart and reaching right of the body, over little of it: as MNIST's writers
    write many 5s (read as "52", and "15" as "1522", before)."""
    page = Image.new("L", (640, 300), 255)
    pen = ImageDraw.Draw(page)
    pen.line([(120, 90), (120, 255)], fill=0, width=16)  # a 1
    pen.line([(310, 130), (300, 170), (360, 165), (385, 200), (375, 240), (340, 255), (300, 240)],
             fill=0, width=16, joint="curve")  # the 5's body
    pen.line([(368, 100), (440, 92)], fill=0, width=16)  # its flag: over the body's last 25 px only
    assert read_number(page, *model).text == "15"


def test_a_short_thin_mark_beside_a_digit_is_stray_ink_but_a_short_1_is_a_digit(model) -> None:
    """A mark under 0.6 of the digit's height with under a fifth of its ink is stray ink (on
    MNIST's forms, a bit of a neighbour: a 9 with a grey tick beside it was read "91"); a 1 that
    tall or taller is a digit, however little ink it has."""
    image = written("6", gap=80)
    ImageDraw.Draw(image).line([(155, 110), (157, 165)], fill=110, width=7)  # grey, 0.42 of the 6's height
    assert read_number(image, *model).text == "6"
    image = written("6", gap=80)
    ImageDraw.Draw(image).line([(160, 75), (160, 175)], fill=0, width=18)  # a 1 of 0.75 of the 6's height
    assert read_number(image, *model).text == "61"


def test_stray_dots_between_digits_are_not_a_mark(model) -> None:
    """Two specks of ink one over the other (a ":" a pen left, or noise in a scan) are as tall as
    a digit's box is wide but hold hardly any ink: not a "?" between the digits."""
    image = written("12", gap=80)
    pen = ImageDraw.Draw(image)
    middle = 20 + 100 + 40  # in the gap between the two cells
    for y in (80, 150):
        pen.ellipse((middle - 6, y - 6, middle + 6, y + 6), fill=0)
    assert read_number(image, *model).text == "12"


def test_digits_that_touch_are_also_cut_where_the_ink_is_thinnest_not_only_near_even_places() -> None:
    """A narrow digit touching a wide one (a 1 beside a 0): the cut between them is far from the
    middle, where the even cut looks for it; the cuts at the columns of least ink find it."""
    labels = np.zeros((40, 70), dtype=np.int64)
    labels[:, 2:8] = 1  # a 1
    labels[20, 8:14] = 1  # the thin touch
    labels[:, 14:16] = labels[:, 66:68] = labels[:3, 14:68] = labels[-3:, 14:68] = 1  # a wide 0
    group = _Group([1], 2, 0, 68, 40)
    assert [p.x1 for p in _cut(group, labels, 2)][:1] != [group.x0 + 11]  # the even cut misses it
    cuts = [[p.x1 for p in option][:-1] for option in _cuts_at_minima(group, labels, height=40.0)]
    assert any(len(c) == 1 and 8 <= c[0] <= 14 for c in cuts), cuts


@pytest.mark.parametrize("pair, gap", [("12", -49), ("71", -57), ("41", -52), ("47", -30)])
def test_digits_written_so_close_that_they_touch_are_cut_however_narrow(model, pair: str, gap: int) -> None:
    """Two digits touching, no wider together than a digit is tall, after a 6: the pair is "not a
    digit" (the detector learnt digits that touch: symbols.touching_digits), so it is cut."""
    touching = written(pair, gap=gap)
    ink = np.asarray(touching) < 128
    columns = ink.any(axis=0).nonzero()[0]
    assert ink[:, columns[0]:columns[-1] + 1].any(axis=0).all(), "the digits touch"
    six = written("6")
    image = Image.new("L", (six.width + touching.width, six.height), 255)
    image.paste(six, (0, 0))
    image.paste(touching, (six.width, 0))
    assert read_number(image, *model).text == "6" + pair


def test_two_digits_that_touch_alone_are_not_read_as_one(model) -> None:
    """Alone, a narrow pair is not cut (cut into strokes, a letter would read as digits too); it
    is "not a digit", not a confident wrong digit."""
    assert read_number(written("12", gap=-49), *model).text == "?"


def test_a_page_of_scribbles_is_read_quickly_and_capped(model) -> None:
    rng = np.random.default_rng(0)
    page = Image.new("L", (800, 800), 255)
    pen = ImageDraw.Draw(page)
    for _ in range(300):
        x, y = rng.integers(0, 800, size=2)
        pen.line([(x, y), (x + rng.integers(-40, 40), y + rng.integers(-40, 40))], fill=0, width=6)
    reading = read_number(page, *model)  # no crash, a bounded answer
    assert len(reading.digits) <= MAX_DIGITS


def test_composed_numbers_from_held_out_digits(model) -> None:
    """Numbers made of MNIST validation digits (never trained on), as benchmarks/read_numbers.py
    makes them: most are read exactly (the benchmark measures how many)."""
    data = load_mnist()
    rng = np.random.default_rng(1)
    right = 0
    for i in range(20):
        picks = rng.integers(0, len(data.val_images), size=2 + i % 4)
        truth = "".join(str(int(data.val_labels[p])) for p in picks)
        image = compose([data.val_images[p].numpy() for p in picks], rng, square=bool(i % 2))
        right += read_number(image, *model).text == truth
    assert right >= 15, f"{right} of 20"
