"""The Draw tab end to end: real Chromium, real server, drawing with the mouse and a finger."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

import mnist_core
from conftest import EXPECT_TIMEOUT_MS, open_page

Points = list[tuple[float, float]]  # in canvas units: (0, 0) top left, (1, 1) bottom right
ONE: Points = [(0.5, 0.15 + 0.7 * i / 20) for i in range(21)]
ZERO: Points = [(0.5 + 0.22 * math.cos(a), 0.5 + 0.33 * math.sin(a))
                for a in (-math.pi / 2 + 2.1 * math.pi * i / 40 for i in range(41))]


def open_app(browser: Browser, url: str, **context_options) -> Page:
    return open_page(browser, url, **context_options)


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    page = open_app(browser, app_url)
    yield page
    page.context.close()


def on_canvas(page: Page, points: Points) -> list[tuple[float, float]]:
    """`points` in the viewport's pixels, once the canvas's script listens (Gradio may mount the
    canvas afresh, e.g. when its tab is shown again: a stroke drawn before its script runs is
    lost), the whole canvas scrolled into view (the mouse draws at viewport positions: off
    screen, a stroke would be lost)."""
    canvas = page.locator("#sketchpad[data-ready]")
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    return [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]


# What the page hears of a stroke: which element each press landed on (for draw(), and for its
# message when a stroke leaves no ink). Listeners are added once per page.
LISTEN = """() => {
    if (window.__pointer) { window.__pointer.length = 0; return; }
    window.__pointer = [];
    for (const type of ["pointerdown", "pointerup", "pointercancel"]) {
        window.addEventListener(type, (e) => window.__pointer.push(
            `${type} at ${Math.round(e.clientX)},${Math.round(e.clientY)} on ${e.target.id || e.target.tagName}`), {capture: true});
    }
}"""


def press(page: Page, points: Points, tries: int = 5) -> list[tuple[float, float]]:
    """Presses the mouse on the canvas at the first of `points`; gives all of them in the viewport.

    The page can move between finding the canvas and pressing the mouse: an answer arriving
    after Clear makes the panels shorter, and a page scrolled down then jumps back up. A press
    that did not land on the canvas is released away from anything it could click (the top
    left corner) and made again where the canvas now is.
    """
    for _ in range(tries):
        at = on_canvas(page, points)
        page.evaluate(LISTEN)
        page.mouse.move(*at[0])
        page.mouse.down()
        if pressed_on_canvas(page):
            return at
        page.mouse.move(0, 0)
        page.mouse.up()
    pytest.fail(f"the page kept moving: {tries} presses missed the canvas ({page.evaluate('window.__pointer')})")


def pressed_on_canvas(page: Page) -> bool:
    return page.evaluate("window.__pointer.some((e) => e.startsWith('pointerdown') && e.endsWith('on sketchpad'))")


def touch(page: Page, points: Points, tries: int = 5) -> None:
    """One stroke with a finger (Chrome's own touch events), made again where the canvas now is
    when the touch did not land on it (the page can move under it: see press)."""
    session = page.context.new_cdp_session(page)

    def send(kind: str, at: list[tuple[float, float]]) -> None:
        session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in at]})

    for _ in range(tries):
        at = on_canvas(page, points)
        page.evaluate(LISTEN)
        send("touchStart", at[:1])
        if pressed_on_canvas(page):
            for point in at[1:]:
                send("touchMove", [point])
            send("touchEnd", [])
            return
        send("touchCancel", [])  # lifted without a tap: nothing it landed on is clicked
    pytest.fail(f"the page kept moving: {tries} touches missed the canvas ({page.evaluate('window.__pointer')})")


def draw(page: Page, points: Points) -> None:
    """One stroke with the mouse on #sketchpad; fails at once if the canvas shows no ink after it
    (a stroke the page did not take), rather than later on an answer that never changes."""
    at = press(page, points)
    for x, y in at[1:]:
        page.mouse.move(x, y)
    page.mouse.up()
    try:
        page.wait_for_function("""() => {
            const canvas = document.querySelector("#sketchpad");
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            return pixels.some((v) => v !== 255);
        }""", timeout=EXPECT_TIMEOUT_MS)
    except PlaywrightTimeout:
        seen = page.evaluate("""([x, y]) => ({
            on_top: document.elementFromPoint(x, y)?.outerHTML.slice(0, 300),
            canvases: [...document.querySelectorAll("#sketchpad")].map((c) => ({
                ready: c.dataset.ready, width: c.width, box: c.getBoundingClientRect().toJSON()})),
            heard: window.__pointer, visibility: document.visibilityState, scroll: [scrollX, scrollY],
        })""", list(at[0]))
        pytest.fail(f"the stroke from {at[0]} left no ink on the canvas; the page: {seen}")


def answer(page: Page):
    return page.locator("#prediction .digit")


def canvas_is_blank(page: Page) -> bool:
    return page.eval_on_selector("#sketchpad", """canvas => {
        const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        return pixels.every((v) => v === 255);
    }""")


def test_page_is_ready_to_draw_and_says_nothing_is_drawn(page: Page) -> None:
    expect(answer(page)).to_have_text("?")
    expect(page.locator("#prediction")).to_contain_text("Nothing drawn")
    assert page.eval_on_selector("#sketchpad", "c => getComputedStyle(c).touchAction") == "none"
    box = page.locator("#sketchpad").bounding_box()  # wide enough for a number, tall enough for one digit
    assert box is not None and 440 <= box["width"] <= 470 and box["width"] / box["height"] == pytest.approx(1.5, abs=0.02)


def test_draws_a_one_and_a_zero(page: Page) -> None:
    draw(page, ONE)
    expect(answer(page)).to_have_text("1")
    expect(page.locator("#seen img")).to_be_visible()

    page.locator(".sketch-tools .clear").click()
    expect(answer(page)).to_have_text("?")
    draw(page, ZERO)
    expect(answer(page)).to_have_text("0")
    # every network answers, for the finished drawing: the selected one as above
    rows = page.locator("#compare tbody tr")
    shipped = [model_id for model_id in mnist_core.list_models() if model_id in mnist_core.SPECS]
    expect(rows).to_have_count(len(shipped))  # the server's user data is empty: no retrained models
    selected = page.locator("#model input").input_value()
    expect(rows.filter(has_text=selected).locator("td").nth(1)).to_have_text("0")


def test_a_letter_is_not_a_digit_for_every_network(page: Page) -> None:
    draw(page, [(0.3, 0.85), (0.5, 0.15), (0.7, 0.85)])  # an A: two strokes
    draw(page, [(0.39, 0.58), (0.61, 0.58)])
    expect(answer(page)).to_have_text("Not a digit")
    expect(page.locator("#prediction .closest")).to_contain_text("closest digit:")
    rows = page.locator("#compare tbody tr")
    expect(rows.first).to_contain_text("Not a digit")
    expect(rows.filter(has_text="Not a digit")).to_have_count(rows.count())
    # the confidence shown is the closest digit's: the cell says so, lest it read as how sure "not a digit" is
    expect(rows.first.locator("td").nth(2)).to_contain_text("closest digit:")


def test_a_number_of_several_digits_is_read_with_each_digit_boxed(page: Page) -> None:
    draw(page, [(0.2, 0.3 + 0.4 * i / 10) for i in range(11)])  # a 1 ...
    draw(page, [(0.45, 0.38), (0.52, 0.3), (0.62, 0.32), (0.64, 0.42), (0.45, 0.7), (0.67, 0.7)])  # ... and a 2
    expect(answer(page)).to_have_text("12")
    boxes = page.locator(".digit-box")
    expect(boxes).to_have_count(2)
    assert [boxes.nth(i).get_attribute("data-label") for i in range(2)] == ["1", "2"]
    expect(page.locator("#compare")).to_contain_text("12")

    # the panels describe one digit of the number (the least sure first); the person picks which
    choice = page.locator("#digit-choice")
    expect(choice.get_by_label("1 (1st)")).to_be_visible()
    expect(choice.get_by_label("2 (2nd)")).to_be_visible()
    top = page.locator("#confidences .confidence-set dt").first
    for digit in ("1 (1st)", "2 (2nd)", "1 (1st)"):
        choice.get_by_label(digit).check()
        expect(top).to_have_text(digit[0])

    page.locator(".sketch-tools .undo").click()  # back to one digit: no boxes, no choice
    expect(answer(page)).to_have_text("1")
    expect(boxes).to_have_count(0)
    expect(choice).to_be_hidden()


def test_clear_and_undo_erase_the_drawing(page: Page) -> None:
    draw(page, ONE)
    expect(answer(page)).to_have_text("1")
    page.locator(".sketch-tools .clear").click()
    expect(answer(page)).to_have_text("?")
    expect(page.locator("#prediction")).to_contain_text("Nothing drawn")
    expect(page.locator("#seen img")).to_have_count(0)
    assert canvas_is_blank(page)

    draw(page, ONE)
    expect(answer(page)).to_have_text("1")
    draw(page, [(0.3, 0.9), (0.7, 0.9)])  # a second stroke, then Undo takes it back
    page.locator(".sketch-tools .undo").click()
    expect(answer(page)).to_have_text("1")
    page.locator(".sketch-tools .undo").click()
    expect(answer(page)).to_have_text("?")
    assert canvas_is_blank(page)


def test_answer_follows_the_pen_before_the_stroke_ends(page: Page) -> None:
    at = press(page, ONE)
    for x, y in at[1:]:
        page.mouse.move(x, y)
    expect(answer(page)).not_to_have_text("?")  # the mouse button is still down
    page.mouse.up()
    expect(answer(page)).to_have_text("1")


def test_draws_with_a_finger_on_a_phone(browser: Browser, app_url: str) -> None:
    page = open_app(browser, app_url, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        box = page.locator("#sketchpad").bounding_box()
        assert box is not None and box["width"] <= 390
        touch(page, ONE)
        expect(answer(page)).to_have_text("1")
    finally:
        page.context.close()


def test_an_uploaded_photo_goes_through_the_same_path(page: Page, tmp_path: Path) -> None:
    photo = Image.new("RGB", (300, 400), (235, 230, 220))  # paper, dark ink
    ImageDraw.Draw(photo).ellipse([90, 60, 210, 340], outline=(30, 30, 40), width=24)
    photo.save(tmp_path / "zero.jpg")

    page.get_by_text("upload a photo or scan").click()
    page.locator("#upload input[type=file]").set_input_files(tmp_path / "zero.jpg")
    expect(answer(page)).to_have_text("0")
    expect(page.locator("#seen img")).to_be_visible()


FAST_PATH = "**/gradio_api/component_server/**"  # where the canvas's script asks read_drawing


def test_a_lost_answer_is_asked_again(page: Page) -> None:
    lost: list[str] = []

    def lose_first_try(route) -> None:  # every request fails once, as on a dropped connection
        if route.request.post_data not in lost:
            lost.append(route.request.post_data)
            route.abort()
        else:
            route.continue_()

    page.route(FAST_PATH, lose_first_try)
    draw(page, ONE)
    expect(answer(page)).to_have_text("1")
    assert lost, "no request went through the route"


def test_a_late_answer_is_waited_for_and_the_wait_is_shown(page: Page) -> None:
    draw(page, ONE)
    expect(answer(page)).to_have_text("1")
    page.locator(".sketch-tools .clear").click()
    expect(answer(page)).to_have_text("?")

    held = []  # the answers for the new drawing, held back until released below
    page.route(FAST_PATH, lambda route: held.append(route))
    draw(page, ZERO)
    prediction = page.locator("#prediction")
    expect(prediction).to_have_class(re.compile(r"\bpending\b"))  # dimmed: not yet the finished drawing's answer
    assert held
    for route in held:
        route.continue_()
    expect(answer(page)).to_have_text("0")
    expect(prediction).not_to_have_class(re.compile(r"\bpending\b"))


def test_an_answer_that_never_comes_is_asked_again(page: Page) -> None:
    unanswered: list = []  # each drawing's first request is held for ever: lost on its way

    def hold_first_try(route) -> None:
        if route.request.post_data not in [r.request.post_data for r in unanswered]:
            unanswered.append(route)
        else:
            route.continue_()

    page.route(FAST_PATH, hold_first_try)
    draw(page, ONE)
    expect(answer(page)).to_have_text("1")  # asked again after PATIENCE_MS (sketchpad.js)
    assert unanswered, "no request was held"


def test_no_answer_is_not_the_last_word(page: Page) -> None:
    """Every try fails for a while (a server restarting): the page says so, then asks again
    until the answer comes."""
    server_down = True  # every try fails until the page has said so, then the server is back

    def fail_while_down(route) -> None:
        if server_down:
            route.abort()
        else:
            route.continue_()

    page.route(FAST_PATH, fail_while_down)
    draw(page, ONE)
    expect(page.locator("#prediction")).to_contain_text("No answer")
    # (Counting each drawing's tries instead raced: a drawing sent while the pen moved could be
    # the finished one, with tries already spent, and its answer came before "No answer" showed.)
    server_down = False
    expect(answer(page)).to_have_text("1")
