"""Screenshots of the app for the README, made the way a person sees the page.

    python docs/screenshots.py   # writes docs/draw-tab.png, docs/draw-not-a-digit.png, docs/retrain-tab.png

Starts `python app.py` on a free port with its user data in a temporary folder, opens it in
headless Chromium (Debian's /usr/bin/chromium), draws a 7 in the Draw tab, then an A, then runs
the short retrain of LeNet-5 from the Retrain tab and takes the tab once the run is done.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from startup import start_app  # noqa: E402

OUT = Path(__file__).resolve().parent
SEVEN = [(0.25, 0.22), (0.75, 0.22), (0.62, 0.45), (0.48, 0.8)]
LETTER_A = [[(0.25, 0.8), (0.5, 0.2), (0.75, 0.8)], [(0.35, 0.58), (0.65, 0.58)]]


def draw(page, strokes: list[list[tuple[float, float]]]) -> None:
    box = page.locator("#sketchpad").bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0] * box["width"], box["y"] + stroke[0][1] * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
        page.mouse.up()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sketchlab-screens-") as folder, sync_playwright() as playwright:
        app = start_app(Path(folder))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(app.url)
            expect(page.locator("#sketchpad")).to_be_visible(timeout=60_000)
            draw(page, [SEVEN])
            expect(page.locator("#prediction .digit")).to_have_text("7", timeout=60_000)
            expect(page.locator("#compare tbody tr").first).to_contain_text("7", timeout=60_000)
            page.screenshot(path=OUT / "draw-tab.png", full_page=True)

            page.locator(".sketch-tools .clear").click()
            draw(page, LETTER_A)
            expect(page.locator("#prediction .digit")).to_have_text("Not a digit", timeout=60_000)
            expect(page.locator("#compare tbody tr").first).to_contain_text("Not a digit", timeout=60_000)
            page.screenshot(path=OUT / "draw-not-a-digit.png", full_page=True)

            page.get_by_role("tab", name="Retrain").click()
            page.locator("#retrain-network input").click()
            page.get_by_role("option", name="LeNet-5 (lenet5)").click()
            expect(page.locator("#retrain-epochs input[type=number]")).to_have_value("2")
            page.get_by_role("button", name="Start").click()
            expect(page.locator("#retrain-status")).to_contain_text("Done", timeout=600_000)
            page.screenshot(path=OUT / "retrain-tab.png", full_page=True)
            print(f"wrote draw-tab.png, draw-not-a-digit.png and retrain-tab.png in {OUT}")
        finally:
            browser.close()
            app.stop()


if __name__ == "__main__":
    main()
