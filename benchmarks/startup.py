"""Start-up time and memory of the server, as a Hugging Face Space starts it: `python app.py`.

    python benchmarks/startup.py [--runs 3]

Each run starts `python app.py` on a free port (with a fresh, empty SKETCHLAB_DATA_DIR),
polls GET / every 50 ms, and takes the time from the process's start to the first answer.
Then the server's memory from /proc: resident (VmRSS) once it serves, and again with its
peak (VmHWM) after one /predict call per shipped network. Prints each run and the median.
Target (issue 5): serving within 10 s on this 2-core machine; the free "CPU basic" Space
hardware has 2 vCPU and 16 GB.

load.py and tests/test_load.py use start_app() and memory_mib() from here.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.05
START_TIMEOUT_S = 180.0


@dataclass
class App:
    """A running `python app.py`: its process, URL, log file, and how long it took to serve."""

    process: subprocess.Popen
    url: str
    log: Path
    startup_s: float

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: Path, python: str = sys.executable) -> App:
    """`python app.py` on 127.0.0.1 and a free port, user data in `data_dir`; returns once it serves."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "SKETCHLAB_DATA_DIR": str(data_dir)}
    log = data_dir / "app.log"
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen([python, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with code {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return App(process, url, log, time.perf_counter() - started)
        except OSError:
            pass
        if time.perf_counter() - started > START_TIMEOUT_S:
            process.kill()
            raise RuntimeError(f"app.py did not serve within {START_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(POLL_S)


def memory_mib(pid: int) -> tuple[float, float]:
    """(resident, peak resident) memory of a process, in MiB, from /proc/<pid>/status."""
    fields: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def predict_once_per_model(url: str, folder: Path) -> float:
    """One /predict call per shipped network (a drawn "7"); returns the slowest call's seconds."""
    from gradio_client import Client, handle_file
    from PIL import Image, ImageDraw

    sys.path.insert(0, str(ROOT))
    from mnist_core.models import SPECS
    from mnist_core.registry import list_models

    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).line([(60, 60), (220, 60), (120, 240)], fill=0, width=22)
    path = folder / "seven.png"
    image.save(path)
    client = Client(url, verbose=False, ssl_verify=False)  # plain http; see load.py's client()
    slowest = 0.0
    for model_id in [m for m in list_models() if m in SPECS]:
        start = time.perf_counter()
        client.predict(handle_file(str(path)), model_id, api_name="/predict")
        slowest = max(slowest, time.perf_counter() - start)
    return slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    startups, serving, peaks, after = [], [], [], []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="sketchlab-startup-") as folder:
            app = start_app(Path(folder))
            try:
                rss, _ = memory_mib(app.process.pid)
                slowest = predict_once_per_model(app.url, Path(folder))
                rss_after, peak = memory_mib(app.process.pid)
            finally:
                app.stop()
        startups.append(app.startup_s)
        serving.append(rss)
        after.append(rss_after)
        peaks.append(peak)
        print(f"run {run}: serving after {app.startup_s:.2f} s; memory {rss:.0f} MiB serving, "
              f"{rss_after:.0f} MiB after a /predict per network (slowest call {slowest * 1000:.0f} ms), "
              f"peak {peak:.0f} MiB", flush=True)
    print(f"median of {args.runs}: start-up {statistics.median(startups):.2f} s "
          f"(min {min(startups):.2f}, max {max(startups):.2f}); memory {statistics.median(serving):.0f} MiB serving, "
          f"{statistics.median(after):.0f} MiB after predictions, peak {statistics.median(peaks):.0f} MiB")


if __name__ == "__main__":
    main()
