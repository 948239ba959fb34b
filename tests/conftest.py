"""Fixtures for testing the app as a person and a client meet it: the real server, a real browser."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Tests never read or write a real user data folder (retrained models, user samples).
os.environ["SKETCHLAB_DATA_DIR"] = tempfile.mkdtemp(prefix="sketchlab-test-")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 180  # loading torch and every model on a busy 2-core machine
# How long a browser test waits for a condition, an action or a page load before failing
# (Playwright's own defaults: 5 s for `expect`, 30 s for the rest). Bounds on a hang, not a
# pace: with two CPU-burning processes beside the server, the browser and the tests on 2 cores,
# an answer has taken more than 5 s to arrive and the page more than 30 s to load.
EXPECT_TIMEOUT_MS = 90_000
BROWSER_TIMEOUT_MS = 120_000
# A run that ends shows only once it has been read: 10,000 MNIST test digits, three views each
# (a cancelled run: only if kept), and 5,000 pen-drawn ones (the first run of a server may redraw them too).
# With the largest network that took 48 s on an idle 2-core machine here, over 90 s in CI.
RUN_READ_TIMEOUT_MS = 300_000
SERVER_LOGS: dict[str, Path] = {}  # each server's URL -> its app.log, shown when a browser test on it fails


def free_port() -> int:
    """A TCP port that the OS says is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: Path, log_dir: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`python app.py` on 127.0.0.1 (a free port unless told), as a Space runs it, with its user
    data (retrained models, samples) in `data_dir`, once it answers; returns (process, URL)."""
    port = port or free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "SKETCHLAB_DATA_DIR": str(data_dir)}
    log_path = log_dir / "app.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    SERVER_LOGS[url] = log_path
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with code {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return process, url
        except OSError:
            if time.monotonic() > deadline:
                stop_app(process)
                pytest.fail(f"app.py did not answer within {START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)


def stop_app(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def serve_app(data_dir: Path, log_dir: Path) -> Iterator[str]:
    """start_app(), stopped afterwards; yields its URL."""
    process, url = start_app(data_dir, log_dir)
    try:
        yield url
    finally:
        stop_app(process)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app as a Space runs it, its user data in a temporary folder, never the repo."""
    folder = tmp_path_factory.mktemp("app")
    with serve_app(folder / "user_data", folder) as url:
        yield url


def open_page(browser, url: str, **context_options):
    """A page at `url` with the timeouts above, once the Draw tab's canvas is on screen and its
    script is running (the canvas shows before its script runs: a stroke drawn then would be lost).
    `browser` is a Playwright Browser (a new context, that is a new visitor, 1280x1000 unless
    told) or a BrowserContext (another tab of the same visitor)."""
    from playwright.sync_api import expect

    if hasattr(browser, "new_context"):
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 1000}, **context_options})
    else:
        context = browser
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    context.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
    page = context.new_page()
    page.console_lines = []  # the browser's console and uncaught errors, shown if the test fails
    page.on("console", lambda message: page.console_lines.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: page.console_lines.append(f"uncaught: {error}"))
    page.goto(url)
    expect(page.locator("#sketchpad[data-ready]")).to_be_visible()  # its script listens for strokes
    return page


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (`playwright install` cannot run here)."""
    if not CHROMIUM.exists():
        message = f"browser tests need Chromium at {CHROMIUM} (Debian package 'chromium')"
        if os.environ.get("CI"):  # CI installs it (.ci/run): a missing browser there is a failure
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """When a browser test fails, its report also shows what a person would have seen and what the
    server said: the page's messages (toasts), its console, and the end of its server's log.
    A rare failure in CI is then explained by its one run."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None and not page.is_closed():
        try:
            toasts = page.locator(".toast-body").all_inner_texts()
        except Exception as error:  # the page may be what broke
            toasts = [f"(could not read: {error})"]
        report.sections.append(("the page's messages", "\n".join(toasts) or "(none)"))
        report.sections.append(("the browser's console", "\n".join(getattr(page, "console_lines", [])[-40:]) or "(none)"))
        for url, log in SERVER_LOGS.items():
            if page.url.startswith(url) and log.exists():
                tail = log.read_text(errors="replace").splitlines()[-60:]
                report.sections.append((f"the server's log ({log})", "\n".join(tail)))
    return report
