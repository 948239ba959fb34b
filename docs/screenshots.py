"""Screenshots of the app for the README, made the way a person sees the page.

    python docs/screenshots.py   # writes docs/*.png

Starts `python app.py` on a free port with its user data in a temporary folder, opens it in
headless Chromium (Debian's /usr/bin/chromium), draws a 7 in the Draw tab, looks inside the
network, asks to keep it
without a digit (a warning), uploads a photo of a 3, draws an A, writes 127, then runs the short retrain of
LeNet-5 from the Retrain tab, and once more at a learning rate that wrecks it (not kept without
asking); a second page deletes the new model, and the first page draws again.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from startup import start_app  # noqa: E402

OUT = Path(__file__).resolve().parent
# In canvas units: (0, 0) top left, (1, 1) bottom right of the 3:2 canvas.
SEVEN = [(0.35, 0.22), (0.65, 0.22), (0.56, 0.45), (0.48, 0.8)]
LETTER_A = [[(0.32, 0.8), (0.5, 0.2), (0.68, 0.8)], [(0.4, 0.58), (0.6, 0.58)]]
NUMBER_127 = [[(0.2, 0.3), (0.2, 0.72)],  # 1
              [(0.36, 0.38), (0.42, 0.3), (0.52, 0.32), (0.54, 0.42), (0.36, 0.72), (0.57, 0.72)],  # 2
              [(0.66, 0.3), (0.84, 0.3), (0.76, 0.5), (0.72, 0.72)]]  # 7


def draw(page, strokes: list[list[tuple[float, float]]]) -> None:
    expect(page.locator("#sketchpad[data-ready]")).to_be_visible(timeout=120_000)  # its script listens
    page.locator("#sketchpad").scroll_into_view_if_needed()  # the mouse draws at viewport positions
    box = page.locator("#sketchpad").bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0] * box["width"], box["y"] + stroke[0][1] * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
        page.mouse.up()


def careful_clip(page) -> dict[str, float]:
    """The Retrain tab's status and per-digit table, one above the other, in page coordinates (for a
    full-page screenshot: a clip in the viewport is cut off at its bottom edge)."""
    top = page.locator("#retrain-status").bounding_box()  # in the viewport
    table = page.locator("#retrain-summary table").last.bounding_box()
    scroll_x, scroll_y = page.evaluate("[window.scrollX, window.scrollY]")
    return {"x": top["x"] + scroll_x - 8, "y": top["y"] + scroll_y - 8, "width": max(top["width"], table["width"]) + 16,
            "height": table["y"] + table["height"] - top["y"] + 16}


def photo_of_a_three(folder: Path) -> Path:
    """A phone-like photo of a 3 written with a marker on slightly grey paper."""
    photo = Image.new("RGB", (360, 480), (232, 228, 218))
    ImageDraw.Draw(photo).line([(110, 120), (230, 110), (170, 230), (250, 320), (120, 380)], fill=(35, 35, 45),
                               width=26, joint="curve")
    photo.save(Path(folder) / "three.jpg")
    return Path(folder) / "three.jpg"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sketchlab-screens-") as folder, sync_playwright() as playwright:
        app = start_app(Path(folder))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        wait = dict(timeout=120_000)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})  # one visitor, two tabs below
            page = context.new_page()
            page.goto(app.url)
            expect(page.locator("#sketchpad[data-ready]")).to_be_visible(**wait)
            draw(page, [SEVEN])
            expect(page.locator("#prediction .digit")).to_have_text("7", **wait)
            expect(page.locator("#compare tbody tr").first).to_contain_text("7", **wait)
            page.screenshot(path=OUT / "draw-tab.png", full_page=True)

            # Inside the network: every layer's output for the 7, why it answered, its card.
            page.get_by_role("button", name=re.compile("^Inside the network")).click()
            expect(page.locator("#why img")).to_have_count(3, **wait)  # over the 28x28 (answer, runner-up) and the drawing
            expect(page.locator("#filters img")).to_be_visible(**wait)
            second = page.locator("#inside section.conv img").nth(1)  # a click on its 5th map shows that map's filter
            tile_w, tile_h = (int(second.get_attribute(f"data-tile-{side}")) for side in "wh")
            scale = second.bounding_box()["width"] / second.evaluate("img => img.naturalWidth")
            second.click(position={"x": 4.5 * tile_w * scale, "y": 0.5 * tile_h * scale})
            expect(page.locator("#filters")).to_contain_text("feature map 5's filter", **wait)
            page.locator("#inside-box").screenshot(path=OUT / "draw-inside.png")
            page.get_by_role("button", name=re.compile("^Inside the network")).click()  # closed again

            # A message never hides a control: "keep" without a digit is a warning; the digits stay usable.
            page.locator("#keep-drawing").click()
            expect(page.get_by_text("First choose the digit you drew")).to_be_visible(**wait)
            page.wait_for_function("""() => [...document.querySelectorAll(".toast-body")].every(
                (toast) => toast.getAnimations().every((a) => a.playState === "finished"))""")  # faded in
            page.screenshot(path=OUT / "draw-warning.png", full_page=True)
            expect(page.get_by_text("First choose the digit you drew")).to_be_hidden(**wait)  # the toast fades

            # A photo replaces the drawing, and the page says that it reads the photo.
            page.get_by_text("upload a photo or scan").click()
            page.locator("#upload input[type=file]").set_input_files(photo_of_a_three(folder))
            expect(page.locator("#prediction .source")).to_have_text("in your photo", **wait)
            expect(page.locator("#compare tbody tr").first).to_contain_text("3", **wait)
            page.screenshot(path=OUT / "draw-photo.png", full_page=True)

            page.locator(".sketch-tools .clear").click()
            draw(page, LETTER_A)
            expect(page.locator("#prediction .digit")).to_have_text("Not a digit", **wait)
            # The first stroke alone is "not a digit" too: wait until every panel reads the whole A, that is,
            # names the closest digit the answer names (the answer follows each stroke at once, the panels after).
            page.wait_for_function("""() => {
                const closest = (document.querySelector("#prediction .closest") || {}).textContent || "";
                const digit = closest.slice(-1);
                const top = document.querySelector("#confidences .confidence-set dt");
                const ours = [...document.querySelectorAll("#compare tbody tr")].pop();
                return /\\d/.test(digit) && top && top.textContent.trim() === digit && ours
                    && ours.textContent.includes("closest digit: " + digit);
            }""", **wait)
            page.screenshot(path=OUT / "draw-not-a-digit.png", full_page=True)

            # A number: each digit boxed; the panels describe the digit chosen (the least sure first).
            page.locator(".sketch-tools .clear").click()
            draw(page, NUMBER_127)
            expect(page.locator("#prediction .digit")).to_have_text("127", **wait)
            page.locator("#digit-choice").get_by_label("7 (3rd)").check()
            expect(page.locator("#confidences .confidence-set dt").first).to_have_text("7", **wait)
            page.screenshot(path=OUT / "draw-number.png", full_page=True)

            page.get_by_role("tab", name="Retrain").click()
            page.locator("#retrain-network input").click()
            page.get_by_role("option", name="LeNet-5 (lenet5)").click()
            expect(page.locator("#retrain-epochs input[type=number]")).to_have_value("2")
            page.get_by_role("button", name="Start").click()
            expect(page.locator("#retrain-status")).to_contain_text("Done", timeout=600_000)
            page.screenshot(path=OUT / "retrain-tab.png", full_page=True)

            # A run that reads digits worse (a learning rate of 1 wrecks it) is not kept without asking.
            page.get_by_label("Learning rate (peak, with one-cycle)").fill("1")
            page.locator("#retrain-epochs input[type=number]").fill("1")
            page.get_by_role("button", name="Start").click()
            expect(page.locator("#retrain-status")).to_contain_text("Careful", timeout=600_000)
            page.screenshot(path=OUT / "retrain-careful.png", clip=careful_clip(page), full_page=True)
            page.get_by_role("button", name="Throw it away").click()
            expect(page.locator("#retrain-status")).to_contain_text("Thrown away", **wait)

            # The new model is selected in the Draw tab; the same visitor's other tab deletes it (asked to confirm).
            other = context.new_page()
            other.goto(app.url)
            expect(other.locator("#sketchpad[data-ready]")).to_be_visible(**wait)
            other.get_by_role("tab", name="Retrain").click()
            other.get_by_role("button", name=re.compile("^Retrained models")).click()
            other.locator("#model-to-delete input").click()
            other.get_by_role("option").first.click()
            other.get_by_role("button", name="Delete this model").click()
            expect(other.get_by_role("button", name="Yes, delete it")).to_be_visible(**wait)
            other.screenshot(path=OUT / "retrain-delete.png", full_page=True)
            other.get_by_role("button", name="Yes, delete it").click()
            expect(other.get_by_text("Deleted")).to_be_visible(**wait)

            page.get_by_role("tab", name="Draw").click()
            page.locator(".sketch-tools .clear").click()
            draw(page, [SEVEN])
            expect(page.get_by_text("is no longer on this server")).to_be_visible(**wait)
            expect(page.locator("#compare tbody tr").first).to_contain_text("7", **wait)
            page.screenshot(path=OUT / "draw-deleted-model.png", full_page=True)

            # A Chinese browser (locale zh-CN) sees the page in Chinese (fonts-noto-cjk for the glyphs).
            chinese = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN").new_page()
            chinese.goto(app.url)
            expect(chinese.locator("#sketchpad[data-ready]")).to_be_visible(**wait)
            draw(chinese, [SEVEN])
            expect(chinese.locator("#prediction .digit")).to_have_text("7", **wait)
            expect(chinese.locator("#compare")).to_contain_text("置信度", **wait)
            chinese.screenshot(path=OUT / "draw-tab-zh.png", full_page=True)
            print(f"wrote draw-tab, draw-inside, draw-warning, draw-photo, draw-not-a-digit, draw-number, retrain-tab, retrain-careful, "
                  f"retrain-delete, draw-deleted-model and draw-tab-zh (.png) in {OUT}")
        finally:
            browser.close()
            app.stop()


if __name__ == "__main__":
    main()
