"""How fast the Draw tab answers: from the end of a stroke to the new answer on screen.

Starts the app (`python app.py` on a free port) unless --url is given, opens it in headless
Chromium, and draws digits with the mouse on #sketchpad at a person's pace (live updates go out
while drawing, as they do for a user). For every stroke it measures, in the page:

  stroke end -> answer on screen: from the pointerup to the first animation frame at which
      #prediction shows the answer to the finished drawing: the answer of the first call of
      app.read_drawing (the canvas's server function) sent after the pointerup, read from its
      response. Trials where that answer differs from the one on screen at the pointerup are
      also reported alone: there the screen visibly changes.
  its parts: pointerup -> call sent, round trip, response -> on screen.

Then, in this process, the server-side time per drawing on those same drawings, with the
default model: decode the PNG data URL + mnist_core.to_mnist, and all of read_drawing (that
+ forward + the answer's HTML).

With --inside, the view "Inside the network" is open while it draws (it is then computed after
every stroke), and it also measures stroke end -> that view updated (its first change after the
pointerup: new layer pictures in it; the benchmark waits for them after each stroke).

    python benchmarks/draw_latency.py [--strokes 60] [--url http://127.0.0.1:7860] [--inside]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Records, in the page, every pointerup and every call of the canvas's server function
# read_drawing (the answer's fast path), with the time its answer is on screen: the first
# animation frame at which #prediction shows it.
PAGE_PROBE = """
window.bench = {ups: [], requests: []};
window.insides = [];  // when new layer pictures were put in the view inside the network (with --inside)
new MutationObserver((changes) => {
  const picture = (node) => node.matches?.("#inside section.layer, #inside section.layer img") ||
    node.querySelector?.("section.layer");
  const fresh = (c) => c.type === "attributes" ? picture(c.target) : [...c.addedNodes].some(picture);
  if (changes.some(fresh)) window.insides.push(performance.now());
}).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]});
const shown = () => document.querySelector("#prediction .digit")?.textContent;
window.addEventListener("pointerup", () => {
  window.bench.ups.push({up: performance.now(), before: shown(), requests: window.bench.requests.length});
}, true);
const originalFetch = window.fetch;
window.fetch = async function (resource, options) {
  const body = options && typeof options.body === "string" ? options.body : "";
  if (!String(resource).includes("/component_server") || !body.includes('"read_drawing"') ||
      !body.includes('"data:image/png')) {
    return originalFetch.apply(this, arguments);
  }
  const request = {sent: performance.now(), payload: JSON.parse(body).data.image};
  window.bench.requests.push(request);
  const response = await originalFetch.apply(this, arguments);
  request.received = performance.now();
  response.clone().json().then((result) => {
    const html = document.createElement("div");
    html.innerHTML = result;
    request.answer = html.querySelector(".digit").textContent;
    const superseded = () => window.bench.requests.some((r) => r.sent > request.sent && r.received);
    const look = (now) => {
      if (shown() === request.answer) request.visible = now;
      else if (!superseded()) requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  });
  return response;
};
"""


def digit_strokes() -> dict[str, list[list[tuple[float, float]]]]:
    """A few digits as strokes of points in a square of unit side (0..1), drawn in the middle of
    the canvas at its full height (see draw)."""
    def line(x0: float, y0: float, x1: float, y1: float, n: int = 24) -> list[tuple[float, float]]:
        return [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(n + 1)]

    def arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 36) -> list[tuple[float, float]]:
        return [(cx + rx * math.cos(a0 + (a1 - a0) * i / n), cy + ry * math.sin(a0 + (a1 - a0) * i / n))
                for i in range(n + 1)]

    return {
        "1": [line(0.5, 0.15, 0.5, 0.85)],
        "0": [arc(0.5, 0.5, 0.22, 0.33, -math.pi / 2, 1.5 * math.pi + 0.2)],
        "7": [line(0.28, 0.2, 0.72, 0.2, 12) + line(0.72, 0.2, 0.42, 0.85)[1:]],
        "4": [line(0.6, 0.15, 0.25, 0.6) + line(0.25, 0.6, 0.78, 0.6)[1:], line(0.62, 0.35, 0.62, 0.88)],
        "3": [arc(0.48, 0.33, 0.2, 0.17, -2.6, 1.6, 24) + arc(0.48, 0.67, 0.22, 0.17, -1.6, 2.6, 24)],
    }


def draw(page: Page, points: list[tuple[float, float]], gap_s: float = 0.01) -> None:
    """One stroke with the mouse on #sketchpad: about 100 pointer moves a second. `points` are in a
    unit square, placed in the middle of the (wider than tall) canvas at its full height."""
    box = page.locator("#sketchpad").bounding_box()
    assert box is not None
    left = box["x"] + (box["width"] - box["height"]) / 2
    at = [(left + x * box["height"], box["y"] + y * box["height"]) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        time.sleep(gap_s)
        page.mouse.move(x, y)
    page.mouse.up()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        if process.poll() is not None:
            raise SystemExit(f"app.py exited with code {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return process, url
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit("app.py did not answer within 120 s")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(name: str, values: list[float], qs: tuple[int, ...] = (50, 95)) -> str:
    parts = ", ".join(f"p{q} {percentile(values, q):6.1f} ms" for q in qs)
    return f"{name:<44} n={len(values):<4} {parts}, max {max(values):6.1f} ms"


def measure_browser(url: str, n_strokes: int, inside: bool = False) -> list[dict]:
    """Draw digits stroke by stroke; per stroke: its pointerup and the request with its drawing.

    That request is the first one sent after the pointerup. When none is (the last pointer
    move had already sent the finished drawing, so it did not change at the pointerup), it is
    the last one sent before.
    """
    digits = digit_strokes()
    strokes: list[dict] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.add_init_script(PAGE_PROBE)
        page.goto(url)
        page.wait_for_selector("#sketchpad[data-ready]")  # its script listens for strokes
        if inside:
            page.get_by_role("button", name=re.compile("^Inside the network")).click()
            page.wait_for_function("document.querySelector('#card')?.textContent.includes('parameters')")
        draw(page, digits["1"][0])  # warm up: the first requests open connections
        page.wait_for_timeout(500)
        while len(strokes) < n_strokes:
            for digit, parts in digits.items():
                page.locator(".sketch-tools .clear").click()
                page.wait_for_function("document.querySelector('#prediction .digit').textContent === '?'")
                page.evaluate("window.bench = {ups: [], requests: []}")
                for points in parts:
                    draw(page, points)
                    page.wait_for_timeout(200)  # a person lifts the pen; the last request goes out
                    page.wait_for_function("window.bench.requests.at(-1).visible", timeout=10_000)
                    if inside:
                        page.wait_for_function("window.insides.some((t) => t > window.bench.ups.at(-1).up)",
                                               timeout=10_000)
                    page.wait_for_timeout(100)
                bench = page.evaluate("window.bench")
                insides = page.evaluate("window.insides")
                for up in bench["ups"]:
                    if inside:
                        up["inside"] = min(t for t in insides if t > up["up"])
                    after = up["requests"] < len(bench["requests"])
                    request = bench["requests"][up["requests"] if after else up["requests"] - 1]
                    if "visible" not in request:
                        raise SystemExit(f"the answer to a stroke of {digit!r} never showed: {request.get('answer')}")
                    strokes.append({**up, **request, "digit": digit, "sent_after_up": after})
        browser.close()
    return strokes[:n_strokes]


def measure_server(payloads: list[str], repeats: int) -> tuple[list[float], list[float], str]:
    """Per drawing, in ms: decode + to_mnist, and all that read_drawing does (decode + to_mnist +
    forward of the default model + the answer's HTML), in this process, as app.py runs it."""
    sys.path.insert(0, str(ROOT))
    import torch

    import app  # noqa: F401 - loads every model, sets torch's threads as the server does
    from ui import draw_tab

    model_id = draw_tab.most_accurate()
    preprocess, total = [], []
    for _ in range(repeats):
        for payload in payloads:
            t0 = time.perf_counter()
            draw_tab.to_tensor(payload)
            draw_tab._read_number.cache_clear()  # each drawing read afresh, as a new stroke is
            t1 = time.perf_counter()
            draw_tab.read_drawing({"image": payload, "model": model_id}, None)  # no page: its session is "none"
            t2 = time.perf_counter()
            preprocess.append((t1 - t0) * 1000)
            total.append((t2 - t1) * 1000)
    return preprocess, total, f"{model_id}, torch threads {torch.get_num_threads()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strokes", type=int, default=60)
    parser.add_argument("--url", help="a running app; default: start app.py on a free port")
    parser.add_argument("--server-repeats", type=int, default=20)
    parser.add_argument("--inside", action="store_true", help="with the view inside the network open")
    args = parser.parse_args()

    process, url = (None, args.url) if args.url else start_app()
    try:
        load_before = os.getloadavg()
        strokes = measure_browser(url, args.strokes, args.inside)
        load_after = os.getloadavg()
    finally:
        if process:
            process.terminate()
            process.wait(10)

    latency = [max(0.0, s["visible"] - s["up"]) for s in strokes]
    changed = [max(0.0, s["visible"] - s["up"]) for s in strokes if s["answer"] != s["before"]]
    after_up = [s for s in strokes if s["sent_after_up"]]
    to_send = [s["sent"] - s["up"] for s in after_up]
    round_trip = [s["received"] - s["sent"] for s in after_up]
    to_screen = [s["visible"] - s["received"] for s in after_up]
    preprocess, total, model = measure_server([s["payload"] for s in strokes], args.server_repeats)

    print(f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after; {os.cpu_count()} CPUs")
    print(summary("stroke end -> answer on screen", latency))
    if changed:
        print(summary("  of which the answer changed at stroke end", changed))
    else:
        print("  the answer never changed at stroke end: the live answer was already the final one")
    print(summary("  pointerup -> call sent", to_send))
    print(summary("  round trip of the call", round_trip))
    print(summary("  response -> on screen", to_screen))
    print(f"  strokes whose drawing was sent before the pointerup: {sum(not s['sent_after_up'] for s in strokes)}")
    if args.inside:
        print(summary("stroke end -> the view inside the network updated", [s["inside"] - s["up"] for s in strokes]))
    print(f"server-side predict ({model}):")
    print(summary("  decode + to_mnist", preprocess, (50, 99)))
    print(summary("  read_drawing: decode + to_mnist + forward", total, (50, 99)))
    answers = {d: [s["answer"] for s in strokes if s["digit"] == d] for d in digit_strokes()}
    print("answers after each stroke:", json.dumps(answers))


if __name__ == "__main__":
    main()
