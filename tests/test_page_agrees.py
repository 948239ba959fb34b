"""One page, one truth: after each action every panel (the answer, the confidences, the 28x28
view, the comparison, the counts, the selector) describes the same image and network, and a
message never hides a control. Real Chromium, and a server of its own with two retrained models.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, BrowserContext, Page, expect

import mnist_core
from conftest import RUN_READ_TIMEOUT_MS, open_page, serve_app
from mnist_core import retrain as rt
from test_browser import ONE, ZERO, answer, canvas_is_blank, draw
from test_retrain import TINY, run_to_end

NAME = "twin"  # both retrained models get this name: their labels would be the same
MINE = "mine"  # the same for the two a visitor owns


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str], Path, Path]]:
    """The app, its user data holding two retrained models made alike (same network, name, seed),
    everyone's (saved by the server's operator); two more such, not on the server yet, for a
    visitor to own (see give_to_visitor); yields (URL, the twins' ids, user data, staged models)."""
    folder = tmp_path_factory.mktemp("agrees") / "user_data"
    staged = tmp_path_factory.mktemp("staged")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKETCHLAB_DATA_DIR", str(folder))
        twins = [rt.save_run(run_to_end(rt.make_settings(**TINY, name=NAME))) for _ in range(2)]
        patch.setenv("SKETCHLAB_DATA_DIR", str(staged))
        for _ in range(2):
            rt.save_run(run_to_end(rt.make_settings(**TINY, name=MINE)))
    with serve_app(folder, tmp_path_factory.mktemp("app")) as url:
        yield url, twins, folder, staged / "models"


def give_to_visitor(context: BrowserContext, url: str, folder: Path, staged: Path) -> list[str]:
    """Load a first page in `context` (a visitor, known by its browser's id, see visitors.py), keep a
    drawing (which makes the visitor's workspace), and put the staged models into that workspace, as
    if the visitor had retrained them."""
    before = set((folder / "workspaces").glob("*")) if (folder / "workspaces").exists() else set()
    page = open_page(context, url)
    page.wait_for_function("() => localStorage.getItem('sketchlab-visitor')")  # the browser keeps its id
    draw(page, ONE)
    expect(answer(page)).to_have_text("1")
    page.locator("#correct-digit").get_by_label("1", exact=True).check()
    page.locator("#keep-drawing").click()
    expect(page.locator("#correction-note")).to_contain_text("Kept as a 1")
    (workspace,) = set((folder / "workspaces").glob("*")) - before
    (workspace / "models").mkdir(exist_ok=True)
    for path in sorted(staged.glob("*.safetensors"), key=lambda p: p.stat().st_mtime):
        shutil.copy2(path, workspace / "models" / path.name)
    page.close()
    return [path.stem for path in sorted(staged.glob("*.safetensors"), key=lambda p: p.stat().st_mtime)]


@pytest.fixture
def page(browser: Browser, server: tuple[str, list[str], Path, Path]) -> Iterator[Page]:
    page = open_page(browser, server[0])
    yield page
    page.context.close()


def photo_of_a_zero(folder: Path, name: str = "zero.jpg") -> Path:
    photo = Image.new("RGB", (300, 400), (235, 230, 220))  # paper, dark ink
    ImageDraw.Draw(photo).ellipse([90, 60, 210, 340], outline=(30, 30, 40), width=24)
    photo.save(folder / name)
    return folder / name


def upload(page: Page, path: Path) -> None:
    accordion = page.get_by_text("upload a photo or scan")
    if not page.locator("#upload input[type=file]").count():
        accordion.click()
    page.locator("#upload input[type=file]").set_input_files(path)


def top_confidence(page: Page):
    return page.locator("#confidences .confidence-set dt").first


def selected_model_row(page: Page):
    label = page.locator("#model input").input_value()
    return page.locator("#compare tbody tr").filter(has=page.get_by_text(label, exact=True))


def shows_everywhere(page: Page, digit: str, photo: bool) -> None:
    """Every panel is about one image read as `digit`: the answer, the top confidence, the 28x28
    view, the selected network's row of the comparison; and the page says which image it reads."""
    expect(answer(page)).to_have_text(digit)
    expect(top_confidence(page)).to_have_text(digit)
    expect(page.locator("#seen img")).to_be_visible()
    expect(selected_model_row(page).locator("td").nth(1)).to_have_text(digit)
    if photo:
        expect(page.locator(".photo-note")).to_be_visible()
        expect(page.locator("#prediction .source")).to_have_text("in your photo")
        expect(page.locator("#upload img")).to_be_visible()
    else:
        expect(page.locator(".photo-note")).to_be_hidden()
        expect(page.locator("#prediction .source")).to_have_count(0)
        expect(page.locator("#upload img")).to_have_count(0)


def shows_nothing(page: Page) -> None:
    expect(answer(page)).to_have_text("?")
    expect(page.locator("#confidences")).to_contain_text("Nothing drawn")
    expect(page.locator("#seen img")).to_have_count(0)
    expect(page.locator("#compare")).to_contain_text("Draw a digit")
    expect(page.locator("#upload img")).to_have_count(0)


def no_error_badge(page: Page) -> None:
    """No component is in Gradio's error state (its red "Error" badge covers the component)."""
    expect(page.locator(".error:visible, [data-testid=status-tracker].error")).to_have_count(0)


def test_a_warning_leaves_the_digit_buttons_usable(page: Page) -> None:
    draw(page, ONE)
    shows_everywhere(page, "1", photo=False)  # the drawing is the page's current image
    page.locator("#keep-drawing").click()  # no digit chosen
    expect(page.get_by_text("First choose the digit you drew")).to_be_visible()
    no_error_badge(page)
    page.locator("#correct-digit").get_by_label("7", exact=True).check()  # not hidden or covered
    page.locator("#keep-drawing").click()
    expect(page.locator("#correction-note")).to_contain_text("Kept as a 7")


def test_keep_pressed_before_the_page_has_followed_the_stroke_keeps_the_drawing_on_the_canvas(
        page: Page, server: tuple[str, list[str], Path, Path]) -> None:
    """Keep pressed while the reply to the stroke's end (read_canvas, which makes the drawing the
    page's current image) is still on its way: held here until the drawing is kept, as a busy
    server can. Before, Keep sent the current image then, none yet: "Nothing is drawn"."""
    kept_sevens = "workspaces/*/samples/drawn/7/*.png"
    before = set(server[2].glob(kept_sevens))
    held = []

    def hold_the_stroke_end(route) -> None:  # read_canvas: off the queue, with the drawing's data URL
        if "data:image/png" in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()

    page.route("**/gradio_api/run/predict", hold_the_stroke_end)
    draw(page, ONE)
    expect(answer(page)).to_have_text("1")  # the canvas's own answer (its server function) is not held
    page.locator("#correct-digit").get_by_label("7", exact=True).check()
    page.locator("#keep-drawing").click()
    expect(page.locator("#correction-note")).to_contain_text("Kept as a 7")
    assert held, "the stroke's end was never held: this test did not make the race it is about"
    expect(page.locator("#confidences")).to_contain_text("Nothing drawn")  # the page had not followed the stroke
    for route in held:
        route.continue_()
    shows_everywhere(page, "1", photo=False)
    (kept,) = set(server[2].glob(kept_sevens)) - before
    x = mnist_core.to_mnist(Image.open(kept))  # the drawing on the canvas, the 1 drawn
    assert mnist_core.load_model(mnist_core.DEFAULT_MODEL)(x[None]).argmax().item() == 1


def test_keep_keeps_the_photo_being_read_and_then_the_drawing_that_replaces_it(
        page: Page, server: tuple[str, list[str], Path, Path], tmp_path: Path) -> None:
    kept_nines = "workspaces/*/samples/drawn/9/*.png"
    draw(page, ONE)
    shows_everywhere(page, "1", photo=False)
    upload(page, photo_of_a_zero(tmp_path))
    shows_everywhere(page, "0", photo=True)  # the canvas is cleared: the photo is on show
    before = set(server[2].glob(kept_nines))
    page.locator("#correct-digit").get_by_label("9", exact=True).check()
    page.locator("#keep-drawing").click()
    expect(page.locator("#correction-note")).to_contain_text("Kept as a 9: 1 drawing(s)")
    (photo,) = set(server[2].glob(kept_nines)) - before
    assert Image.open(photo).size == (300, 400)  # the photo, as uploaded

    draw(page, ONE)  # now the drawing is on show, and is kept, whether or not the page has followed yet
    page.locator("#correct-digit").get_by_label("9", exact=True).check()
    page.locator("#keep-drawing").click()
    expect(page.locator("#correction-note")).to_contain_text("Kept as a 9: 2 drawing(s)")
    (drawing,) = set(server[2].glob(kept_nines)) - before - {photo}
    assert Image.open(drawing).size[0] > Image.open(drawing).size[1]  # the canvas's shape (3:2), not the photo's


def test_a_drawing_begun_while_a_photo_waits_its_turn_is_kept_and_read(page: Page, tmp_path: Path) -> None:
    """On a busy server an uploaded photo waits in the queue, and the person draws meanwhile: the
    drawing is newer. Held here until the drawing is read, the photo's reading then arrives: the
    drawing stays on the canvas, every panel reads it, and the photo goes. Before, the photo's
    reading wiped the drawing and took its place."""
    held = []

    def joins(request, photo: bool) -> bool:
        """A request to join the queue: show_photo's (it carries the uploaded file's path), or another's."""
        return "queue/join" in request.url and ("zero.jpg" in (request.post_data or "")) == photo

    def hold_the_photo(route) -> None:
        if joins(route.request, photo=True):
            held.append(route)
        else:
            route.continue_()

    page.route("**/gradio_api/queue/join*", hold_the_photo)
    with page.expect_request(lambda r: joins(r, photo=True)):
        upload(page, photo_of_a_zero(tmp_path))
    draw(page, ONE)
    expect(answer(page)).to_have_text("1")
    expect(top_confidence(page)).to_have_text("1")
    assert held, "the photo's reading was never held: this test did not make the race it is about"
    # Released: the photo's reading comes, and the next of the tab's events is asked for after it.
    with page.expect_request(lambda r: joins(r, photo=False)):
        for route in held:
            route.continue_()
    shows_everywhere(page, "1", photo=False)
    assert not canvas_is_blank(page)

    # Drawn and cleared again while the photo waits: nothing newer is on the canvas, the photo is read.
    held.clear()
    with page.expect_request(lambda r: joins(r, photo=True)):
        upload(page, photo_of_a_zero(tmp_path))
    draw(page, ONE)
    expect(top_confidence(page)).to_have_text("1")
    page.locator(".sketch-tools .clear").click()
    expect(page.locator("#confidences")).to_contain_text("Nothing drawn")
    with page.expect_request(lambda r: joins(r, photo=False)):
        for route in held:
            route.continue_()
    shows_everywhere(page, "0", photo=True)
    assert canvas_is_blank(page)


def choose(page: Page, network: str) -> None:
    page.locator("#model input").click()
    page.get_by_role("option", name=re.compile(network)).click()


def test_a_photo_and_the_drawing_are_never_read_at_once(page: Page, tmp_path: Path) -> None:
    draw(page, ONE)
    shows_everywhere(page, "1", photo=False)

    upload(page, photo_of_a_zero(tmp_path))  # the photo replaces the drawing
    shows_everywhere(page, "0", photo=True)
    assert canvas_is_blank(page)

    choose(page, "LeNet-5")  # another network reads the same photo
    shows_everywhere(page, "0", photo=True)

    draw(page, ONE)  # drawing replaces the photo
    shows_everywhere(page, "1", photo=False)

    upload(page, photo_of_a_zero(tmp_path, "another zero.png"))
    shows_everywhere(page, "0", photo=True)
    page.locator(".sketch-tools .clear").click()  # Clear with a photo on show: nothing is read
    shows_nothing(page)
    choose(page, "CNN 16-32")
    expect(page.locator("#model input")).to_have_value(re.compile("CNN 16-32"))
    shows_nothing(page)

    draw(page, ZERO)
    shows_everywhere(page, "0", photo=False)


def test_networks_chosen_in_quick_succession_every_panel_follows_the_last(page: Page) -> None:
    """Networks chosen one after the other, each while the last one's panels are still being made
    (the view inside the largest network takes longest): every panel ends on the last chosen.
    Gradio's default for an event that comes while the last of its kind runs is to drop it: the
    view inside stayed on ConvNet-BN."""
    page.get_by_role("button", name=re.compile("^Inside the network")).click()
    draw(page, ONE)
    shows_everywhere(page, "1", photo=False)
    for quick in ["LeNet-5", "CNN 16-32", "MLP 784-256-64-10"]:
        choose(page, "MLP 784-64")
        choose(page, "ConvNet-BN")  # the largest: its view takes longest
        choose(page, quick)
        expect(page.locator("#card")).to_contain_text(quick)
        shows_everywhere(page, "1", photo=False)


def test_an_answer_from_python_changes_the_canvas_answer_id_last() -> None:
    """Gradio's page sets an update's props one at a time, in order, and the canvas's script acts
    when `answer_id` changes, with the props it sees then: `photo` and `model_id` must be set
    before. (With `answer_id` second, a photo uploaded after a drawing was now and then taken for
    the drawing in CI: the drawing read again, its "1" left on show.)"""
    from ui.draw_tab import answer_update

    for photo in (True, False):
        update = answer_update("<div class='digit'>0</div>", "lenet5", photo)
        assert [key for key in update if key != "__type__"][-1] == "answer_id"
        assert {"photo", "model_id", "answer"} <= set(update)


def test_a_blank_photo_says_no_digit_was_found(page: Page, tmp_path: Path) -> None:
    Image.new("RGB", (200, 200), (240, 240, 240)).save(tmp_path / "blank.png")
    upload(page, tmp_path / "blank.png")
    expect(page.locator("#prediction")).to_contain_text("No digit found in the photo")
    expect(page.locator("#confidences")).to_contain_text("Nothing drawn")


def test_a_file_that_is_not_an_image_gets_its_message_and_is_taken_away(page: Page, tmp_path: Path) -> None:
    draw(page, ONE)
    shows_everywhere(page, "1", photo=False)
    (tmp_path / "digit.png").write_bytes(b"this is not a PNG")
    upload(page, tmp_path / "digit.png")
    expect(page.get_by_text("The file is not an image we can read")).to_be_visible()
    expect(page.locator("#upload img")).to_have_count(0)  # no broken image left on show
    shows_everywhere(page, "1", photo=False)  # the drawing is still what the page reads


def test_labels_are_unique(page: Page) -> None:
    page.locator("#model input").click()
    options = page.get_by_role("option")
    expect(options.filter(has_text=NAME)).to_have_count(2)
    names = options.all_inner_texts()
    assert len(names) == len(set(names)), names


def test_a_model_deleted_on_another_page_falls_back_to_the_default(
        browser: Browser, server: tuple[str, list[str], Path, Path], tmp_path: Path) -> None:
    """One visitor, two pages: page a reads with the visitor's retrained model; page b deletes it.
    Page a's next drawing (and, on a second round with the other model, its next photo) is read by
    the default network, said once."""
    url, _, folder, staged = server
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    twins = give_to_visitor(context, url, folder, staged)
    deleted = twins[0]
    a, b = open_page(context, url), open_page(context, url)  # the same visitor (browser), two tabs
    try:
        default = a.locator("#model input").input_value()
        a.locator("#model input").click()
        a.get_by_role("option", name=re.compile(re.escape(deleted))).click()
        draw(a, ONE)
        shows_everywhere(a, "1", photo=False)

        draw(b, ONE)
        expect(b.locator("#compare")).to_contain_text(deleted)
        b.get_by_role("tab", name="Retrain").click()
        b.get_by_role("button", name=re.compile("^Retrained models")).click()
        b.locator("#model-to-delete input").click()
        b.get_by_role("option", name=deleted, exact=True).click()
        b.get_by_role("button", name="Delete this model").click()
        b.get_by_role("button", name="Yes, delete it").click()
        expect(b.locator("#retrained-models")).not_to_contain_text(deleted)
        expect(b.locator("#compare")).not_to_contain_text(deleted)  # the deleting page's comparison, at once

        a.locator(".sketch-tools .clear").click()
        draw(a, ZERO)
        expect(a.get_by_text("is no longer on this server")).to_have_count(1)  # said once, in words
        expect(a.locator("#model input")).to_have_value(default)
        shows_everywhere(a, "0", photo=False)
        no_error_badge(a)
        expect(a.locator("#compare")).not_to_contain_text(deleted)

        other = twins[1]  # the same with an upload
        a.locator("#model input").click()
        a.get_by_role("option", name=re.compile(re.escape(MINE))).click()
        expect(a.locator("#model input")).to_have_value(re.compile(MINE))
        b.locator("#model-to-delete input").click()
        b.get_by_role("option", name=other, exact=True).click()
        b.get_by_role("button", name="Delete this model").click()
        b.get_by_role("button", name="Yes, delete it").click()
        expect(b.locator("#retrained-models")).not_to_contain_text(other)
        upload(a, photo_of_a_zero(tmp_path))
        expect(a.get_by_text(f"The network '{other}' is no longer on this server")).to_be_visible()
        expect(a.locator("#model input")).to_have_value(default)
        shows_everywhere(a, "0", photo=True)
        no_error_badge(a)
    finally:
        context.close()


def test_the_drawing_counts_follow_every_keep_and_delete(page: Page) -> None:
    retrain_tab = page.get_by_role("tab", name="Retrain")
    count = page.get_by_label(re.compile(r"Include your corrected drawings \(\d+\)"))
    retrain_tab.click()
    expect(count).to_be_attached()
    before = int(re.search(r"\((\d+)\)", count.evaluate("e => e.labels[0].innerText")).group(1))

    page.get_by_role("tab", name="Draw").click()
    for digit in ("3", "5"):
        page.locator(".sketch-tools .clear").click()
        draw(page, ONE)
        shows_everywhere(page, "1", photo=False)
        page.locator("#correct-digit").get_by_label(digit, exact=True).check()
        page.locator("#keep-drawing").click()
        expect(page.locator("#correction-note")).to_contain_text(f"Kept as a {digit}")
    retrain_tab.click()
    expect(page.get_by_text(f"Include your corrected drawings ({before + 2})")).to_be_visible()

    page.get_by_role("button", name=re.compile("^Your drawings")).click()
    expect(page.locator("#samples-note")).to_contain_text(f"{before + 2} drawing(s) kept")
    page.get_by_role("button", name="Delete the selected drawing").click()  # nothing selected: a warning
    expect(page.get_by_text("Select a drawing first")).to_be_visible()
    no_error_badge(page)
    thumbnails = page.locator("#samples .thumbnail-item")
    thumbnails.nth(1).click()  # the 3, and at once the 5: the last click is the one selected
    thumbnails.first.click()
    expect(page.locator("#selected-sample")).to_contain_text("Selected: drawing 1 of the gallery, a 5")  # newest first
    page.get_by_role("button", name="Delete the selected drawing").click()
    expect(page.get_by_text(f"Include your corrected drawings ({before + 1})")).to_be_visible()
    expect(page.locator("#samples-note")).to_contain_text(f"{before + 1} drawing(s) kept")
    thumbnails.first.click()  # the 5 is the one deleted
    expect(page.locator("#selected-sample")).to_contain_text("Selected: drawing 1 of the gallery, a 3")


def start_a_long_run(page: Page, network: str = "") -> None:
    """Our largest network (or `network`, an option's name), 20 epochs of all 55,000 digits on one
    core: far longer than the test on any CPU (LeNet-5 for 10 epochs took only 80 s here, so it
    serves only where it is cancelled as soon as it trains). The test cancels it."""
    page.get_by_role("tab", name="Retrain").click()
    if network:
        page.locator("#retrain-network input").click()
        page.get_by_role("option", name=network).click()
        expect(page.locator("#retrain-epochs input[type=number]")).not_to_have_value("20")  # its preset, now set
    else:
        expect(page.locator("#retrain-network input")).to_have_value(re.compile(r"\(convnet-bn\)"))  # the default
    epochs = page.locator("#retrain-epochs input[type=number]")
    if epochs.input_value() != "20":
        epochs.fill("20")
        epochs.press("Enter")
        page.get_by_label("MNIST training digits per epoch").fill("0")
    page.get_by_role("button", name="Start").click()


def epochs_trained(page: Page) -> float:
    summary = page.locator("#retrain-summary").inner_text()
    return float(re.search(r"after ([\d.]+) epoch", summary).group(1))


def test_start_twice_cancel_at_once_and_a_queued_run(browser: Browser, server: tuple[str, list[str], Path, Path]) -> None:
    url = server[0]
    a, b = open_page(browser, url), open_page(browser, url)
    status_a, status_b = a.locator("#retrain-status"), b.locator("#retrain-status")
    try:
        start_a_long_run(a)
        expect(status_a).to_contain_text("Training convnet-bn")  # training (its first step may take a while)
        a.get_by_role("button", name="Start").click()  # the same visitor again: refused, with the truth
        expect(a.get_by_text("Your training is already running")).to_be_visible()

        start_a_long_run(b)  # another visitor: waits, and is told so in words
        expect(status_b).to_contain_text("Waiting for its turn")
        # Gradio's own queue overlay ("queue: 1/1 | 1.2s") is in the page, but never shown
        tracker = b.locator("#retrain-status [data-testid=status-tracker]")
        expect(tracker).to_have_css("opacity", "0")
        b.get_by_role("button", name="Cancel").click()
        expect(status_b).to_contain_text("taken off the queue")

        a.get_by_role("button", name="Cancel").click()  # answered at once, then stopped
        expect(status_a).to_contain_text("Stopping")
        expect(status_a).to_contain_text("Cancelled", timeout=RUN_READ_TIMEOUT_MS)
        expect(a.get_by_role("button", name="Keep it as a new model")).to_be_visible()
        assert epochs_trained(a) < 20  # stopped long before the end

        # The slot is free again, and b's cancelled wait is not in the way (LeNet-5: its steps are
        # short, so it is cancelled within seconds).
        start_a_long_run(b, "LeNet-5 (lenet5)")
        expect(status_b).to_contain_text("Training lenet5")
        b.get_by_role("button", name="Cancel").click()
        expect(status_b).to_contain_text("Cancelled", timeout=RUN_READ_TIMEOUT_MS)
        no_error_badge(a)
        no_error_badge(b)
    finally:
        a.context.close()
        b.context.close()
