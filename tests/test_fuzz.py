"""Fuzzing: whatever a person uploads or an API client sends, the app answers or explains.

In process, more than a thousand seeded cases go through mnist_core.to_mnist: empty, 1x1 and
6000x6000 images, every PIL mode, 16-bit, palette and animated files, blank canvases, a single
dot, NaN-bearing arrays, truncated and corrupted files, and files that are no images at all but
are named like one. Each gives a [1, 28, 28] tensor, None ("nothing drawn") or InvalidImage with
a message meant for a person, within bounded memory. A smaller set goes through the real
server's /predict with gradio_client, and so do unknown model ids and out-of-range /retrain
settings: each gets a clear message, never Gradio's hidden "error" or an HTTP 500.

Every case is generated from SEED, and its name says how it was made, so a failure can be
reproduced with `cases(tmp_dir)`.
"""

from __future__ import annotations

import ctypes
import gc
import io
import json
import math
import random
import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import mnist_core
from mnist_core import InvalidImage, to_mnist
from mnist_core.retrain import MAX_EPOCHS

SEED = 20251126
RANDOM_CASES = 1000
SERVER_RANDOM_CASES = 40  # random file cases sent to the real server, beside every special file case
LARGE_SIDE = 6000
MAX_EXTRA_MEMORY_MIB = 1024  # peak memory one huge input may add while to_mnist reads it
MODES = list(Image.MODES)  # every mode Pillow knows: 1, L, P, RGB, RGBA, CMYK, YCbCr, LAB, HSV, I, F, I;16, ...
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp",
           "ICO": ".ico", "PPM": ".ppm", "TGA": ".tga", "PCX": ".pcx", "QOI": ".qoi", "JPEG2000": ".jp2"}
KINDS = ["digit", "digit", "digit", "blank", "dot", "speckles", "noise", "gradient", "transparent"]
NO_INK = {"blank", "dot"}  # kinds that must never come out as a digit
NOTHING_DRAWN = "Nothing drawn"
NOT_A_DIGIT = "Not a digit"
HIDDEN_ERROR = "has not enabled verbose error reporting"  # Gradio's text for an exception it hides
NON_IMAGES: dict[str, bytes] = {  # file name: content
    "empty.png": b"",
    "notes.png": b"this is not a PNG, it is a note\n",
    "page.jpg": b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>",
    "drawing.png": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>',
    "data.gif": json.dumps({"image": [[0, 255], [255, 0]]}).encode(),
    "archive.webp": b"PK\x03\x04" + bytes(200),
    "doc.bmp": b"%PDF-1.7\n" + bytes(100) + b"%%EOF",
    "program.tif": b"\x7fELF\x02\x01\x01" + bytes(120),
    "script.png": b"import os\nos.system('rm -rf /')\n",
    "zeros.jpg": bytes(4096),
    "ones.png": b"\xff" * 4096,
}


@dataclass
class Case:
    """One input for to_mnist; `file` is set when the input is a file the server can be sent."""

    name: str
    value: Any
    kind: str = "any"  # a KINDS entry when the content is known, else "any"
    file: Path | None = None
    large: bool = False


# --- Making images ---------------------------------------------------------------------------


def drawing(rng: random.Random, width: int, height: int, kind: str) -> Image.Image:
    """A grey-scale ('L') picture of `kind`: strokes of a digit, nothing, a dot, noise, ..."""
    paper, ink = (255, 0) if rng.random() < 0.7 else (0, 255)
    if kind == "blank":
        return Image.new("L", (width, height), rng.choice([0, 255, rng.randrange(256)]))
    if kind == "noise":
        return Image.fromarray(np.random.default_rng(rng.randrange(2**32)).integers(0, 256, (height, width), np.uint8))
    if kind == "gradient":
        ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
        return Image.fromarray(ramp.astype(np.uint8))
    image = Image.new("L", (width, height), paper)
    pen = ImageDraw.Draw(image)
    if kind == "dot":
        x, y, r = rng.randrange(width), rng.randrange(height), rng.choice([0, 1, 2])
        pen.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    elif kind == "speckles":
        for _ in range(rng.randint(2, 6)):
            pen.point((rng.randrange(width), rng.randrange(height)), fill=ink)
    else:  # a digit-like scribble: a few strokes, of a brush width relative to the canvas
        brush = max(1, round(min(width, height) / rng.uniform(4, 40)))
        for _ in range(rng.randint(1, 4)):
            points = [(rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height) for _ in range(rng.randint(2, 5))]
            pen.line(points, fill=ink, width=brush, joint="curve")
    return image


def transparent_canvas(gray: Image.Image) -> Image.Image:
    """A browser canvas: black ink whose alpha is the ink, on a fully transparent background."""
    plane = np.asarray(gray)
    alpha = plane if plane.mean() < 128 else 255 - plane
    rgba = np.zeros((*plane.shape, 4), np.uint8)
    rgba[..., 3] = alpha
    return Image.fromarray(rgba)


def in_mode(gray: Image.Image, mode: str, rng: random.Random) -> Image.Image:
    """The picture converted to `mode` (16-bit ones sometimes at full 16-bit range)."""
    if mode.startswith("I;16") and rng.random() < 0.5:
        wide = np.asarray(gray).astype(np.uint16) * 257
        return Image.fromarray(wide).convert(mode) if mode != "I;16" else Image.fromarray(wide)
    if mode in ("La", "RGBa", "PA", "LA"):
        return gray.convert("RGBA").convert(mode)
    return gray.convert(mode, dither=Image.Dither.NONE)  # dithering would turn a blank grey into a pattern


def encode(image: Image.Image, fmt: str) -> bytes | None:
    """The image saved as `fmt`, converting its mode if the format needs it; None if it cannot."""
    for mode in (None, "RGBA", "RGB"):
        buffer = io.BytesIO()
        try:
            (image if mode is None else image.convert(mode)).save(buffer, format=fmt)
            return buffer.getvalue()
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def animated(frames: list[Image.Image], fmt: str) -> bytes:
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels: a decompression bomb's first bytes."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def corrupt(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """A damaged copy of a file: truncated, bytes flipped, garbage appended, or header only."""
    how = rng.choice(["truncated", "flipped", "garbage-tail", "header-only", "shuffled-body"])
    if how == "truncated":
        return how, data[: rng.randrange(max(1, len(data)))]
    if how == "flipped":
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        return how, bytes(damaged)
    if how == "garbage-tail":
        return how, data + rng.randbytes(rng.randint(1, 500))
    if how == "header-only":
        return how, data[:16]
    body = bytearray(data[16:])
    rng.shuffle(body)
    return how, data[:16] + bytes(body)


# --- The cases -------------------------------------------------------------------------------


def special_cases(folder: Path) -> Iterator[Case]:
    """The cases the issue names, made explicitly: sizes, modes, files, bombs, NaN."""
    rng = random.Random(SEED)

    def file_case(name: str, data: bytes, kind: str = "any", large: bool = False) -> Case:
        path = folder / f"special-{name}"
        path.write_bytes(data)
        return Case(f"file {name}", str(path), kind, path, large)

    for mode in MODES:
        yield Case(f"0x0 {mode}", Image.new(mode, (0, 0)), "blank")
        yield Case(f"1x1 {mode}", Image.new(mode, (1, 1)), "blank")
        yield Case(f"1x1 {mode} white", in_mode(Image.new("L", (1, 1), 255), mode, rng), "blank")
        for kind in ("digit", "blank", "dot"):
            yield Case(f"{mode} 300x200 {kind}", in_mode(drawing(rng, 300, 200, kind), mode, rng), kind)
    for mode in ("I;16", "I;16B", "I", "F"):
        data = encode(in_mode(drawing(rng, 200, 200, "digit"), mode, rng), "TIFF")
        assert data is not None
        yield file_case(f"16-bit-{mode.replace(';', '')}.tif", data, "digit")
    sixteen = Image.fromarray(np.asarray(drawing(rng, 200, 200, "digit")).astype(np.uint16) * 257)
    yield file_case("16-bit.png", encode(sixteen, "PNG") or b"", "digit")
    palette = drawing(rng, 240, 240, "digit").convert("P")
    yield file_case("palette.png", encode(palette, "PNG") or b"", "digit")
    transparent_palette = transparent_canvas(drawing(rng, 240, 240, "digit")).convert("P")
    yield file_case("palette-transparent.gif", encode(transparent_palette, "GIF") or b"", "digit")
    for fmt in ("GIF", "PNG", "WEBP"):
        frames = [drawing(rng, 120, 120, kind).convert("RGB") for kind in ("blank", "digit", "digit")]
        yield file_case(f"animated-blank-first.{fmt.lower()}", animated(frames, fmt), "any")
        yield file_case(f"animated-digit-first.{fmt.lower()}", animated(frames[::-1], fmt), "any")
    for name, data in NON_IMAGES.items():
        yield file_case(name, data)
    yield Case("empty bytes", b"")
    yield Case("missing file", str(folder / "no-such-file.png"))
    yield Case("a folder", str(folder))
    for side in (1, 2, 3, 27, 28, 29):
        yield Case(f"all-white {side}x{side}", np.full((side, side), 255, np.uint8), "blank")
        yield Case(f"all-black {side}x{side}", np.zeros((side, side), np.uint8), "blank")
    for canvas in (64, 280, 400, 800):
        for r in (0, 1, 2):
            dot = Image.new("RGBA", (canvas, canvas))
            ImageDraw.Draw(dot).ellipse((canvas / 3 - r, canvas / 2 - r, canvas / 3 + r, canvas / 2 + r), fill="black")
            yield Case(f"dot r={r} on {canvas}x{canvas} canvas", dot, "dot")
    digit = np.asarray(drawing(rng, 200, 200, "digit"), np.float32) / 255
    with_nan = digit.copy()
    with_nan[::7, ::5] = np.nan
    yield Case("NaN-bearing float array", with_nan)
    yield Case("all-NaN float array", np.full((50, 50), np.nan, np.float32), "blank")
    yield Case("inf-bearing float array", np.where(digit > 0.5, np.inf, 0.0))
    yield Case("-inf/nan RGB array", np.dstack([with_nan, np.full_like(digit, -np.inf), digit]))
    yield Case("huge float values", digit.astype(np.float64) * 1e300)
    yield Case("negative int8", (np.asarray(drawing(rng, 80, 80, "digit"), np.int16) - 128).astype(np.int8))
    for shape in [(0,), (5,), (0, 0), (0, 7), (7, 0), (10, 10, 0), (10, 10, 5), (2, 10, 10, 3), (1, 1, 1, 1)]:
        yield Case(f"array of shape {shape}", np.zeros(shape, np.uint8))
    yield Case("transposed view", np.asarray(drawing(rng, 90, 60, "digit")).T, "digit")
    yield Case("strided view", np.asarray(drawing(rng, 300, 300, "digit"))[::3, ::2], "digit")
    yield Case("editor: nothing", {"background": None, "layers": [], "composite": None}, "blank")
    yield Case("editor: empty dict", {}, "blank")
    yield Case("editor: layers of other sizes", {"background": np.full((100, 100, 3), 255, np.uint8),
                                                "layers": [transparent_canvas(drawing(rng, 60, 80, "digit"))],
                                                "composite": None})
    yield Case("editor: composite is a missing file", {"composite": str(folder / "gone.png")})
    # Large: read within bounded memory, refused or downscaled before decoding in full.
    big = drawing(rng, LARGE_SIDE, LARGE_SIDE, "digit")
    yield Case(f"{LARGE_SIDE}x{LARGE_SIDE} L image", big, "digit", large=True)
    yield Case(f"{LARGE_SIDE}x{LARGE_SIDE} uint8 array", np.asarray(big), "digit", large=True)
    yield file_case(f"{LARGE_SIDE}x{LARGE_SIDE}.png", encode(big, "PNG") or b"", "digit", large=True)
    yield file_case(f"{LARGE_SIDE}x{LARGE_SIDE}.jpg", encode(big, "JPEG") or b"", "digit", large=True)
    yield file_case(f"{LARGE_SIDE}x{LARGE_SIDE}-rgba.png", encode(transparent_canvas(big), "PNG") or b"", "digit",
                    large=True)
    yield file_case(f"{LARGE_SIDE}x{LARGE_SIDE}-16bit.tif", encode(in_mode(big, "I;16", rng), "TIFF") or b"", "digit",
                    large=True)
    del big
    for width, height in [(8000, 8000), (30000, 30000), (2**31 - 1, 1), (1, 2**31 - 1)]:
        yield file_case(f"bomb-{width}x{height}.png", png_claiming(width, height), large=True)


def random_cases(folder: Path, count: int = RANDOM_CASES) -> Iterator[Case]:
    """`count` seeded cases: images in random modes, sizes and formats, arrays, damaged files."""
    for i in range(count):
        rng = random.Random(SEED * 7919 + i)
        kind = rng.choice(KINDS)
        width = rng.choice([1, 2, 5, 28, rng.randint(3, 80), rng.randint(80, 500), rng.randint(100, 900)])
        height = rng.choice([width, rng.randint(1, 600)])
        gray = drawing(rng, width, height, "digit" if kind == "transparent" else kind)
        image = transparent_canvas(gray) if kind == "transparent" else in_mode(gray, rng.choice(MODES), rng)
        label = f"#{i} {kind} {image.mode} {width}x{height}"
        if kind == "dot" and min(width, height) < 20:
            kind = "any"  # on a tiny canvas, a dot with its brush is a sizeable share of it
        form = rng.choices(["pil", "file", "corrupt", "array", "editor"], weights=[30, 30, 15, 20, 5])[0]
        if form == "pil":
            yield Case(f"{label} PIL", image, kind)
        elif form in ("file", "corrupt"):
            fmt = rng.choice(list(FORMATS))
            data = encode(image, fmt)
            if data is None:
                yield Case(f"{label} PIL (not savable as {fmt})", image, kind)
                continue
            if form == "corrupt":
                how, data = corrupt(data, rng)
                kind, label = "any", f"{label} {how}"
            path = folder / f"case-{i}{FORMATS[fmt]}"
            path.write_bytes(data)
            value: Any = rng.choice([str(path), path, data])
            yield Case(f"{label} {fmt} {type(value).__name__}", value, kind, path)
        elif form == "array":
            array, with_nan = array_of(gray, rng)
            yield Case(f"{label} array{' with NaN' if with_nan else ''}", array, "any" if with_nan else kind)
        else:
            yield Case(f"{label} editor", {"background": None, "layers": [transparent_canvas(gray)], "composite": None},
                       "digit" if kind == "transparent" else "any")


def array_of(gray: Image.Image, rng: random.Random) -> tuple[np.ndarray, bool]:
    """The picture as a numpy array of a random dtype and channel layout; sometimes a row of
    it is NaN (then True: a NaN row is a line, so a blank picture is blank no more)."""
    plane = np.asarray(gray).astype(np.float64) / 255.0
    dtype = rng.choice([np.uint8, np.uint16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_])
    with_nan = False
    if np.issubdtype(dtype, np.integer):
        top = 255 if dtype == np.uint8 or rng.random() < 0.5 else np.iinfo(np.uint16).max
        a = np.round(plane * top).astype(dtype)
    elif dtype == np.bool_:
        a = plane > 0.5
    else:
        a = (plane * rng.choice([1.0, 255.0, 1000.0]) + rng.choice([0.0, -0.5])).astype(dtype)
        with_nan = rng.random() < 0.3
        if with_nan:
            a[rng.randrange(a.shape[0]), :] = np.nan
    channels = rng.choice([0, 1, 2, 3, 4])
    if channels:
        a = np.stack([a] * channels, axis=-1)
    return a, with_nan


def cases(folder: Path) -> list[Case]:
    return [*special_cases(folder), *random_cases(folder)]


# --- Checking outcomes -----------------------------------------------------------------------


def for_a_person(message: str) -> bool:
    """A sentence a person can read: words, not a traceback, an exception name or a repr."""
    return (3 <= len(message.split()) and len(message) <= 300 and message[:1].isupper()
            and not any(s in message for s in ("Traceback", "Errno", "Exception", "Error:", "<PIL.", "object at 0x")))


def outcome(case: Case) -> str:
    """Run to_mnist on a case: "tensor", "nothing" or "message"; AssertionError for anything else."""
    try:
        result = to_mnist(case.value)
    except InvalidImage as error:
        assert for_a_person(str(error)), f"{case.name}: InvalidImage message not for a person: {error!r}"
        return "message"
    except Exception as error:  # noqa: BLE001 - exactly what this test looks for
        raise AssertionError(f"{case.name}: {type(error).__name__}: {error}") from error
    if result is None:
        return "nothing"
    assert isinstance(result, torch.Tensor), f"{case.name}: returned a {type(result).__name__}"
    assert result.shape == (1, 28, 28) and result.dtype == torch.float32, f"{case.name}: {result.shape} {result.dtype}"
    assert torch.isfinite(result).all() and 0.0 <= result.min() and result.max() <= 1.0, f"{case.name}: values"
    assert case.kind not in NO_INK, f"{case.name}: a {case.kind} came out as a digit"
    return "tensor"


def peak_extra_mib(action: Callable[[], object]) -> float:
    """How much the process's peak resident memory rose above its current size during `action`."""
    def status(field: str) -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field))
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed memory back, so that reusing it shows as a rise
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM (the peak) to the current resident size
    before = status("VmRSS:")
    action()
    return (status("VmHWM:") - before) / 1024


# --- In process: to_mnist ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_cases(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    return cases(tmp_path_factory.mktemp("fuzz"))


def test_there_are_over_a_thousand_cases_of_every_kind(all_cases: list[Case]) -> None:
    names = [case.name for case in all_cases]

    assert len(all_cases) >= 1000 and len(set(names)) == len(names)
    assert {mode for mode in MODES if any(f" {mode} " in f" {n} " for n in names)} == set(MODES)
    assert sum(case.large for case in all_cases) >= 6


def test_to_mnist_answers_every_case_with_a_tensor_nothing_or_a_message(all_cases: list[Case]) -> None:
    failures: list[str] = []
    outcomes: Counter[str] = Counter()
    seconds: list[tuple[float, str]] = []
    for case in all_cases:
        if case.large:
            continue  # measured one by one below
        start = time.perf_counter()
        try:
            outcomes[outcome(case)] += 1
        except AssertionError as error:
            failures.append(str(error))
        seconds.append((time.perf_counter() - start, case.name))
    print(f"\n{sum(outcomes.values())} cases: {dict(outcomes)}; slowest: "
          + ", ".join(f"{s * 1000:.0f} ms ({name})" for s, name in sorted(seconds)[-3:]))

    assert not failures, f"{len(failures)} failing case(s):\n" + "\n".join(failures[:30])
    assert min(outcomes["tensor"], outcomes["nothing"], outcomes["message"]) >= 50, \
        f"the cases should exercise every outcome often: {dict(outcomes)}"


def test_huge_inputs_are_refused_or_read_in_bounded_memory(all_cases: list[Case]) -> None:
    failures: list[str] = []
    report: list[str] = []
    for case in (c for c in all_cases if c.large):
        result: dict[str, Any] = {}

        def read() -> None:
            start = time.perf_counter()
            result["outcome"] = outcome(case)
            result["seconds"] = time.perf_counter() - start
        try:
            extra = peak_extra_mib(read)
        except AssertionError as error:
            failures.append(str(error))
            continue
        report.append(f"{case.name}: {result['outcome']}, +{extra:.0f} MiB, {result['seconds']:.2f} s")
        if extra > MAX_EXTRA_MEMORY_MIB:
            failures.append(f"{case.name}: peak memory rose by {extra:.0f} MiB (limit {MAX_EXTRA_MEMORY_MIB})")
        if case.name.startswith("file bomb"):
            assert result["outcome"] == "message", f"{case.name}: a decompression bomb must be refused"
    print("\n" + "\n".join(report))

    assert not failures, "\n".join(failures)


# --- Through the real server: /predict, /retrain, files ------------------------------------------


def server_cases(all_cases: list[Case]) -> list[Case]:
    """Every special file case (small ones) and a seeded sample of the random file cases."""
    files = [case for case in all_cases if case.file is not None and case.file.stat().st_size < 5_000_000]
    special = [case for case in files if case.name.startswith("file ")]
    others = [case for case in files if not case.name.startswith("file ")]
    return special + random.Random(SEED).sample(others, min(SERVER_RANDOM_CASES, len(others)))


@pytest.fixture(scope="module")
def client(app_url: str):
    from gradio_client import Client

    # ssl_verify=False: no TLS on the local http:// server, and otherwise gradio_client builds an
    # SSL context for every request (~150 ms of CPU each).
    return Client(app_url, verbose=False, ssl_verify=False)


def error_text(error: BaseException) -> str:
    return str(error) or repr(error)


def test_predict_answers_or_explains_every_file(client, all_cases: list[Case]) -> None:
    """/predict agrees with to_mnist on each file: a digit, "Nothing drawn" or its very message."""
    from gradio_client import handle_file

    model_id = mnist_core.list_models()[0]
    failures: list[str] = []
    chosen = server_cases(all_cases)
    assert len(chosen) >= 50
    for case in chosen:
        try:
            expected: str | None = None
            to_mnist(case.file)
        except InvalidImage as error:
            expected = str(error)
        try:
            answer = client.predict(handle_file(str(case.file)), model_id, api_name="/predict")
        except Exception as error:  # noqa: BLE001
            text = error_text(error)
            if HIDDEN_ERROR in text or "Traceback" in text or expected is None or expected not in text:
                failures.append(f"{case.name}: expected {expected!r}, got {type(error).__name__}: {text[:300]}")
            continue
        label = answer.get("label") if isinstance(answer, dict) else None
        if expected is not None or label not in [*map(str, range(10)), NOTHING_DRAWN, NOT_A_DIGIT]:
            failures.append(f"{case.name}: expected {expected!r}, got the answer {str(answer)[:200]}")

    assert not failures, f"{len(failures)} of {len(chosen)} files:\n" + "\n".join(failures[:30])


UNKNOWN_MODEL_IDS: list[Any] = ["", "no-such-net", "LENET5", "../weights/lenet5", "weights/lenet5.safetensors",
                                "/etc/passwd", "lenet5\n", "lenet5\x00", "x" * 5000, "lenet5; rm -rf /", None, 7]


@pytest.mark.parametrize("model_id", UNKNOWN_MODEL_IDS, ids=lambda m: repr(m)[:24])
def test_predict_explains_an_unknown_model(client, tmp_path: Path, model_id: Any) -> None:
    from gradio_client import handle_file

    image = tmp_path / "one.png"
    drawing(random.Random(1), 200, 200, "digit").save(image)
    with pytest.raises(Exception) as raised:
        client.predict(handle_file(str(image)), model_id, api_name="/predict")

    text = error_text(raised.value)
    assert HIDDEN_ERROR not in text and ("Unknown model" in text or "model id must be" in text), text[:300]
    assert len(text) < 1000, "the message should not echo a huge id back"


VALID_RETRAIN = dict(architecture="lenet5", epochs=1, train_size=100, time_budget_s=10)  # tiny, should one pass
BAD_RETRAIN: list[tuple[str, Any, str]] = [  # parameter, value, a word the message must contain
    ("architecture", "no-such-net", "Unknown network"), ("architecture", "", "Unknown network"),
    ("architecture", "../weights/lenet5", "Unknown network"), ("architecture", None, "Unknown network"),
    ("architecture", 5, "Unknown network"),
    ("epochs", 0, "Epochs"), ("epochs", -1, "Epochs"), ("epochs", MAX_EPOCHS + 1, "Epochs"), ("epochs", 1.5, "Epochs"),
    ("epochs", 10**9, "Epochs"), ("epochs", "3", "Epochs"),
    ("lr", 0, "learning rate"), ("lr", -0.1, "learning rate"), ("lr", 11, "learning rate"),
    ("lr", "fast", "learning rate"),
    ("batch_size", 0, "batch size"), ("batch_size", -5, "batch size"), ("batch_size", 1025, "batch size"),
    ("batch_size", 2.5, "batch size"), ("optimizer", "rmsprop", "optimizer"), ("optimizer", "", "optimizer"),
    ("schedule", "cosine", "schedule"), ("start", "pretrained", "Start"),
    ("train_size", -5, "training digits"), ("train_size", 55_001, "training digits"),
    ("train_size", 10**12, "training digits"), ("train_size", 0.5, "training digits"),
    ("time_budget_s", 0, "time limit"), ("time_budget_s", -1, "time limit"), ("time_budget_s", 601, "time limit"),
    ("seed", -1, "seed"), ("seed", 2**31, "seed"), ("seed", 1.5, "seed"),
]


@pytest.mark.parametrize(("parameter", "value", "word"), BAD_RETRAIN, ids=lambda v: repr(v)[:20])
def test_retrain_explains_a_setting_out_of_range(client, parameter: str, value: Any, word: str) -> None:
    job = client.submit(**{**VALID_RETRAIN, parameter: value}, api_name="/retrain")
    try:
        with pytest.raises(Exception) as raised:
            job.result(timeout=120)
    finally:
        job.cancel()

    text = error_text(raised.value)
    assert HIDDEN_ERROR not in text and word.lower() in text.lower(), text[:300]


def raw_call(app_url: str, api_name: str, payload: Any) -> tuple[int, str]:
    """POST a raw call through Gradio's HTTP API (/gradio_api/call/<api_name>), then read its
    event stream: the last HTTP status and everything the server sent."""
    import httpx

    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()  # NaN stays NaN
    with httpx.Client(base_url=app_url, timeout=120) as http:
        posted = http.post(f"gradio_api/call/{api_name}", content=body, headers={"Content-Type": "application/json"})
        if posted.status_code != 200:
            return posted.status_code, posted.text
        streamed = http.get(f"gradio_api/call/{api_name}/{posted.json()['event_id']}")
        return streamed.status_code, streamed.text


RETRAIN_PARAMETERS = ["architecture", "epochs", "lr", "batch_size", "optimizer", "augment", "schedule", "start",
                      "use_user_samples", "train_size", "time_budget_s", "seed", "name", "keep_if_worse"]


@pytest.mark.parametrize(("parameter", "value", "word"), [
    ("epochs", math.nan, "Epochs"), ("lr", math.inf, "learning rate"), ("lr", math.nan, "learning rate"),
    ("time_budget_s", math.inf, "time limit"), ("time_budget_s", -math.inf, "time limit"),
    ("batch_size", math.nan, "batch size"),
])
def test_retrain_explains_a_value_that_is_not_a_number(app_url: str, parameter: str, value: float, word: str) -> None:
    """NaN and infinity cannot be sent by gradio_client (strict JSON), but raw HTTP can send them."""
    settings: dict[str, Any] = {**dict.fromkeys(RETRAIN_PARAMETERS), "use_user_samples": True, "seed": 0, "name": "",
                                "keep_if_worse": False, **VALID_RETRAIN, parameter: value}
    status, body = raw_call(app_url, "retrain", {"data": [settings[name] for name in RETRAIN_PARAMETERS]})

    assert status < 500 and "event: error" in body, f"HTTP {status}: {body[:300]}"
    assert word.lower() in body.lower() and "Traceback" not in body, body[:300]


@pytest.mark.parametrize("payload", [
    {"data": [123, "lenet5"]},
    {"data": ["not a file record", "lenet5"]},
    {"data": [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, "lenet5"]},
    {"data": [{"path": "../../app.py", "meta": {"_type": "gradio.FileData"}}, "lenet5"]},
    {"data": [{"url": "file:///etc/passwd", "meta": {"_type": "gradio.FileData"}}, "lenet5"]},
    {"data": []},
    {"data": "x"},
    {},
    b"{not json",
], ids=lambda p: str(p)[:30])
def test_a_malformed_predict_call_gets_no_500_and_no_server_file(app_url: str, payload: Any) -> None:
    status, body = raw_call(app_url, "predict", payload)

    assert status != 500 and status < 500, f"HTTP {status}: {body[:300]}"
    assert "Traceback" not in body and "root:" not in body and "import gradio" not in body, body[:300]


@pytest.mark.parametrize("path", ["app.py", "weights/lenet5.safetensors", "/etc/passwd", "../../../../etc/passwd",
                                  "mnist_core/registry.py", "Spacefile", ".git/config"])
def test_the_server_does_not_serve_its_own_files(app_url: str, path: str) -> None:
    import httpx

    target = path if path.startswith(("/", "..")) else str(Path(__file__).resolve().parent.parent / path)
    response = httpx.get(f"{app_url}gradio_api/file={target}", timeout=30)

    assert response.status_code in (403, 404), f"HTTP {response.status_code} for {path}"
