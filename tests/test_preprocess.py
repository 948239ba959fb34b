"""to_mnist on synthetic drawings: invariances, MNIST geometry, odd and broken inputs."""

from __future__ import annotations

import base64
import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from mnist_core import InvalidImage, to_mnist, to_pil
from mnist_core.preprocess import to_mnist_with_field

ROOT = Path(__file__).resolve().parent.parent

# Digits as pen strokes in a unit box: (x, y), y downwards.
FOUR = [[(0.72, 1.0), (0.72, 0.0), (0.0, 0.68), (0.95, 0.68)]]
SEVEN = [[(0.05, 0.05), (0.95, 0.05), (0.35, 1.0)]]
ONE = [[(0.5, 0.0), (0.5, 1.0)]]
ZERO = [[(0.5, 0.0), (0.9, 0.25), (0.9, 0.75), (0.5, 1.0), (0.1, 0.75), (0.1, 0.25), (0.5, 0.0)]]

STYLES = {  # name: (mode, background, ink)
    "black-on-transparent": ("RGBA", (0, 0, 0, 0), (0, 0, 0, 255)),
    "red-on-transparent": ("RGBA", (255, 255, 255, 0), (220, 30, 30, 255)),
    "black-on-white": ("RGB", (255, 255, 255), (0, 0, 0)),
    "white-on-black": ("L", 0, 255),
    "blue-on-cream": ("RGB", (250, 240, 200), (20, 40, 160)),
}


def draw(
    strokes: list[list[tuple[float, float]]],
    canvas: int | tuple[int, int] = 400,
    left: float = 50,
    top: float = 50,
    size: float = 300,
    brush: float = 20,
    style: str = "black-on-transparent",
) -> Image.Image:
    """Strokes scaled to a size x size box at (left, top), drawn with a round brush."""
    mode, background, ink = STYLES[style]
    width, height = (canvas, canvas) if isinstance(canvas, int) else canvas
    image = Image.new(mode, (width, height), background)
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(left + x * size, top + y * size) for x, y in stroke]
        pen.line(points, fill=ink, width=round(brush), joint="curve")
        for x, y in points:  # round caps and corners
            pen.ellipse((x - brush / 2, y - brush / 2, x + brush / 2, y + brush / 2), fill=ink)
    return image


def mnist(image) -> np.ndarray:
    t = to_mnist(image)
    assert t is not None, "expected a digit, got None"
    assert t.shape == (1, 28, 28) and t.dtype == torch.float32
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0
    return t[0].numpy()


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    rows, cols = np.mgrid[0:28, 0:28]
    return float((a * rows).sum() / a.sum()), float((a * cols).sum() / a.sum())


def box_sides(a: np.ndarray, level: float = 0.25) -> tuple[int, int]:
    """Height and width of the box around the pixels brighter than `level`."""
    rows, cols = np.nonzero(a > level)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@pytest.fixture(scope="module")
def reference_four() -> np.ndarray:
    return mnist(draw(FOUR))


def test_different_digits_do_not_correlate(reference_four):
    # The 0.9 bar in the invariance tests is meaningful only if other digits stay below it.
    for other in (SEVEN, ONE, ZERO):
        assert correlation(reference_four, mnist(draw(other))) < 0.7


@pytest.mark.parametrize(
    "variant",
    [
        dict(left=0, top=0),  # touching the top-left corner
        dict(left=90, top=95),  # touching the bottom-right corner
        dict(left=300, top=310, size=80, brush=8),  # small, in a corner
        dict(size=60, brush=8),  # small digit
        dict(left=2, top=2, size=380, brush=15),  # filling the canvas
        dict(brush=2),  # hairline
        dict(brush=3, size=380, left=10, top=10),  # hairline, large digit
        dict(brush=40),  # thick brush
        dict(canvas=280, left=30, top=30, size=200, brush=14),
        dict(canvas=800, left=100, top=60, size=600, brush=30),
        dict(canvas=1600, left=200, top=200, size=1000, brush=60),  # downscaled on load
        dict(canvas=(1200, 500), left=700, top=40, size=400, brush=25),  # not square
    ],
)
def test_same_digit_comes_out_alike(reference_four, variant):
    assert correlation(reference_four, mnist(draw(FOUR, **variant))) > 0.9


@pytest.mark.parametrize("style", list(STYLES))
def test_ink_polarity_and_colour_do_not_matter(reference_four, style):
    assert correlation(reference_four, mnist(draw(FOUR, style=style))) > 0.95


def test_inverted_drawings_agree():
    dark_on_light = mnist(draw(SEVEN, style="black-on-white"))
    light_on_dark = mnist(draw(SEVEN, style="white-on-black"))
    assert np.abs(dark_on_light - light_on_dark).max() < 0.05


@pytest.mark.parametrize("variant", [dict(), dict(left=0, top=90, size=120), dict(brush=3), dict(canvas=800, size=700)])
@pytest.mark.parametrize("strokes", [FOUR, SEVEN, ZERO])
def test_mnist_geometry(strokes, variant):
    out = mnist(draw(strokes, **variant))
    row, col = centre_of_mass(out)
    assert abs(row - 14) < 1 and abs(col - 14) < 1
    assert max(box_sides(out)) in (19, 20, 21)
    assert out.max() > 0.9  # stroke cores are full ink, as in MNIST


def test_one_keeps_its_aspect():
    out = mnist(draw(ONE, brush=6))
    height, width = box_sides(out)
    assert height in (19, 20, 21)
    assert width <= 5, "a vertical bar must not be stretched towards a square"


def test_wide_shape_is_scaled_by_its_width():
    dash = [[(0.0, 0.5), (1.0, 0.5)]]
    height, width = box_sides(mnist(draw(dash, brush=30)))
    assert width in (19, 20, 21) and height <= 6


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGBA", (400, 400), (0, 0, 0, 0)),
        Image.new("RGBA", (400, 400), (255, 255, 255, 0)),
        Image.new("RGB", (400, 400), "white"),
        Image.new("L", (400, 400), 0),
        Image.new("L", (1, 1), 255),
        np.zeros((400, 400, 4), np.uint8),
        np.full((400, 400, 3), 255, np.uint8),
        np.zeros((0, 0), np.uint8),
        None,
    ],
)
def test_blank_canvas_is_none(image):
    assert to_mnist(image) is None


def test_invisible_ink_is_none():
    # 12 grey levels on white: no one can see it, so it is no drawing.
    assert to_mnist(draw(FOUR, style="black-on-white").point(lambda v: 243 + v * 12 // 255)) is None


def test_stray_dot_is_none():
    canvas = draw([[(0.5, 0.5)]], brush=10)
    assert to_mnist(canvas) is None
    assert to_mnist(draw([[(0.5, 0.5)]], brush=60)) is None  # a click with a big brush


def test_few_stray_pixels_are_none():
    image = np.zeros((400, 400), np.uint8)
    image[[10, 200, 390], [30, 300, 5]] = 255
    assert to_mnist(image) is None


def test_stray_speck_does_not_move_the_digit(reference_four):
    image = draw(FOUR, size=200, left=150, top=150)
    ImageDraw.Draw(image).point((3, 3), fill=(0, 0, 0, 255))  # one speck far away
    assert correlation(reference_four, mnist(image)) > 0.9


def test_numpy_arrays_of_any_layout_and_dtype(reference_four):
    rgba = np.asarray(draw(FOUR))
    gray = np.asarray(draw(FOUR, style="white-on-black"))
    cases = [
        rgba,
        rgba[..., 3],  # HxW
        rgba[..., 3:],  # HxWx1
        np.asarray(draw(FOUR, style="black-on-white")),  # HxWx3
        gray.astype(np.float32) / 255,  # float in [0, 1]
        gray.astype(np.float64),  # float in [0, 255]
        gray.astype(np.uint16) * 257,  # 16-bit
        gray > 127,  # bool
    ]
    for array in cases:
        assert correlation(reference_four, mnist(array)) > 0.9


def test_nan_does_not_crash(reference_four):
    assert to_mnist(np.full((50, 50), np.nan, np.float32)) is None
    drawn = np.asarray(draw(FOUR, style="white-on-black"), np.float32) / 255
    drawn[::7, ::5] = np.nan
    drawn[0, 0] = np.inf
    assert correlation(reference_four, mnist(drawn)) > 0.9


@pytest.mark.parametrize("mode", ["P", "PA", "LA", "I;16", "I", "F", "1", "CMYK", "YCbCr", "HSV", "RGBa"])
def test_pil_modes(reference_four, mode):
    source = draw(FOUR, style="black-on-white")
    if mode == "I;16":
        image = Image.fromarray(np.asarray(source.convert("L")).astype(np.uint16) * 257)
    else:
        image = source.convert(mode)
    assert correlation(reference_four, mnist(image)) > 0.9


def test_palette_with_transparency(reference_four, tmp_path):
    image = draw(FOUR, style="black-on-white").convert("P")
    image.info["transparency"] = int(np.asarray(image)[0, 0])  # the paper's index
    image.save(tmp_path / "transparent.png")
    reopened = Image.open(tmp_path / "transparent.png")
    assert reopened.mode == "P" and "transparency" in reopened.info
    assert correlation(reference_four, mnist(reopened)) > 0.9


def test_gradio_editor_values(reference_four, tmp_path):
    drawing = draw(FOUR)
    path = tmp_path / "composite.png"
    drawing.save(path)
    for composite in (drawing, np.asarray(drawing), str(path)):
        assert correlation(reference_four, mnist({"background": None, "layers": [], "composite": composite})) > 0.95
    assert to_mnist({"background": None, "layers": [], "composite": None}) is None


def test_canvas_data_urls(reference_four):
    buffer = io.BytesIO()
    draw(FOUR, canvas=112, left=14, top=14, size=84, brush=8, style="black-on-white").save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert correlation(reference_four, mnist(url)) > 0.9
    with pytest.raises(InvalidImage, match="could not be read"):
        to_mnist("data:image/png;base64,@@not base64@@")
    with pytest.raises(InvalidImage, match="could not be read"):
        to_mnist("data:image/png,rawbytes")  # not base64
    with pytest.raises(InvalidImage, match="not an image"):
        to_mnist("data:image/png;base64," + base64.b64encode(b"hello").decode())


def test_file_paths_and_bytes(reference_four, tmp_path):
    for name in ("digit.png", "digit.jpg", "digit.webp", "digit.bmp"):
        path = tmp_path / name
        draw(FOUR, style="black-on-white").save(path)
        assert correlation(reference_four, mnist(path)) > 0.9
        assert correlation(reference_four, mnist(str(path))) > 0.9
    buffer = io.BytesIO()
    draw(FOUR).save(buffer, format="PNG")
    assert correlation(reference_four, mnist(buffer.getvalue())) > 0.9


def test_corrupt_file_is_invalid(tmp_path):
    path = tmp_path / "digit.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20)
    with pytest.raises(InvalidImage, match="not an image"):
        to_mnist(path)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(InvalidImage):
        to_mnist(text)
    with pytest.raises(InvalidImage):
        to_mnist(tmp_path / "missing.png")


def test_truncated_file_is_invalid(tmp_path):
    buffer = io.BytesIO()
    draw(FOUR, style="black-on-white").save(buffer, format="PNG")
    path = tmp_path / "truncated.png"
    path.write_bytes(buffer.getvalue()[:300])
    with pytest.raises(InvalidImage):
        to_mnist(path)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds no pixels: only its header can be read."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_huge_images_are_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(10_000, 8_000))  # 80 megapixels
    with pytest.raises(InvalidImage, match="too large"):
        to_mnist(path)
    with pytest.raises(InvalidImage, match="too large"):
        to_mnist(_png_header_only(30_000, 30_000))  # beyond PIL's own decompression-bomb limit
    with pytest.raises(InvalidImage, match="too large"):
        to_mnist(np.broadcast_to(np.uint8(0), (9_000, 9_000)))  # no memory behind it


def test_bad_array_shapes_are_invalid():
    with pytest.raises(InvalidImage):
        to_mnist(np.zeros((4, 4, 7), np.uint8))
    with pytest.raises(InvalidImage):
        to_mnist(np.zeros((2, 3, 4, 5), np.uint8))
    with pytest.raises(InvalidImage, match="numbers"):
        to_mnist(np.array([["ink", "paper"]]))


def test_unsupported_type_is_a_type_error():
    with pytest.raises(TypeError):
        to_mnist(12345)


def _photo(
    strokes, seed: int = 0, blank: bool = False, inverted: bool = False, noise: float = 5.0
) -> Image.Image:
    """A JPEG photo of grey paper with a pen digit, sensor noise, texture and a soft shadow."""
    rng = np.random.default_rng(seed)
    size = 600
    rows, cols = np.mgrid[0:size, 0:size] / size
    paper = 210 - 25 * rows + rng.normal(0, noise, (size, size))
    texture = Image.fromarray(rng.normal(0, 8, (60, 60)).astype(np.float32)).resize((size, size), Image.BICUBIC)
    paper += np.asarray(texture)
    if not blank:
        ink = draw(strokes, canvas=size, left=150, top=120, size=330, brush=12, style="white-on-black")
        paper *= 1 - 0.65 * np.asarray(ink, np.float32) / 255  # pen: 65% darker than the paper
    shadow = 1 / (1 + np.exp(-(cols + 0.3 * rows - 0.75) / 0.04))  # a hand's shadow from the right
    paper *= 1 - 0.55 * shadow
    if inverted:  # chalk on a blackboard, with glare instead of a shadow
        paper = 255 - paper
    buffer = io.BytesIO()
    Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).convert("RGB").save(buffer, format="JPEG", quality=85)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_photo_of_paper_with_shadow(reference_four):
    assert correlation(reference_four, mnist(_photo(FOUR))) > 0.9
    assert correlation(mnist(draw(SEVEN)), mnist(_photo(SEVEN, seed=1))) > 0.9


def test_photo_of_light_ink_on_dark_board(reference_four):
    assert correlation(reference_four, mnist(_photo(FOUR, seed=2, inverted=True))) > 0.9


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("noise", [5.0, 15.0])
def test_photo_of_blank_paper_is_none(seed, noise):
    assert to_mnist(_photo(FOUR, seed=seed, blank=True, noise=noise)) is None
    assert to_mnist(_photo(FOUR, seed=seed, blank=True, inverted=True, noise=noise)) is None


def test_noisy_photo(reference_four):
    assert correlation(reference_four, mnist(_photo(FOUR, noise=15.0))) > 0.9


def test_real_mnist_digit_is_left_as_is():
    # A 28x28 image that already follows the procedure should barely change.
    digit = mnist(draw(SEVEN, canvas=28, left=5, top=4, size=18, brush=2.5, style="white-on-black"))
    again = mnist((digit * 255).astype(np.uint8))
    assert correlation(digit, again) > 0.95


def test_to_pil_round_trip():
    t = to_mnist(draw(FOUR))
    image = to_pil(t)
    assert image.mode == "L" and image.size == (28, 28)
    assert np.abs(np.asarray(image) / 255.0 - t[0].numpy()).max() <= 0.5 / 255 + 1e-6
    assert to_pil(t[0]).size == (28, 28)


def _bold_scan(strokes, width: int, height: int, pen: float, noise: float, inverted: bool = False,
               seed: int = 0) -> Image.Image:
    """A bold-pen digit on a scan cropped to its ink: the strokes run to every edge of the
    image and the ink covers much of it. JPEG, with sensor noise and a little blur."""
    rng = np.random.default_rng(seed)
    image = draw(strokes, canvas=height, left=pen / 2, top=pen / 2, size=height - pen, brush=pen, style="white-on-black")
    image = image.resize((width, height))  # the strokes' box is the whole frame: ink on every edge
    ink = np.asarray(image, np.float32) / 255
    paper = 225 - 190 * ink + rng.normal(0, noise, ink.shape)
    if inverted:
        paper = 255 - paper
    buffer = io.BytesIO()
    Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=85)
    return Image.open(io.BytesIO(buffer.getvalue()))


def _ring(width: int, height: int, pen: float, noise: float, inverted: bool = False) -> Image.Image:
    rng = np.random.default_rng(1)
    image = Image.new("L", (width, height), 0)
    ImageDraw.Draw(image).ellipse([0, 0, width - 1, height - 1], outline=255, width=round(pen))
    a = 225 - 190 * np.asarray(image, np.float32) / 255 + rng.normal(0, noise, (height, width))
    return Image.fromarray(np.clip(255 - a if inverted else a, 0, 255).astype(np.uint8))


def _is_filled_ring(a: np.ndarray) -> bool:
    """One ring of ink around a dark hole, not hollow outlines: along the middle row, ink then
    background then ink, with no background inside either stroke."""
    row = a[14] > 0.3
    runs = np.flatnonzero(np.diff(row.astype(int)))  # where ink starts and stops
    return len(runs) == 4 and not a[13:16, 13:16].max() > 0.3


@pytest.mark.parametrize("inverted", [False, True])
@pytest.mark.parametrize("size,pen,noise", [((60, 80), 22, 0), ((60, 80), 22, 8), ((90, 120), 30, 5), ((40, 52), 14, 3)])
def test_a_bold_ring_cropped_to_its_ink_stays_a_ring(size, pen, noise, inverted):
    """A bold 0 cropped tightly: the ink is the most common grey and touches every edge."""
    ring = _ring(*size, pen, noise, inverted)
    assert (np.asarray(ring) < 128).mean() > 0.5 if not inverted else (np.asarray(ring) > 128).mean() > 0.5
    assert _is_filled_ring(mnist(ring))


@pytest.mark.parametrize("inverted", [False, True])
@pytest.mark.parametrize("strokes,size,pen", [(ZERO, (70, 90), 20), (FOUR, (80, 100), 18), (SEVEN, (70, 90), 16),
                                              (ONE, (26, 100), 24)])
def test_a_bold_tight_crop_reads_as_the_same_digit_drawn_with_a_margin(strokes, size, pen, inverted):
    scan = _bold_scan(strokes, *size, pen=pen, noise=6, inverted=inverted)
    margin = Image.new("L", (size[0] * 2, size[1] * 2), 30 if inverted else 225)  # the paper
    margin.paste(scan, (size[0] // 2, size[1] // 2))
    assert correlation(mnist(scan), mnist(margin)) > 0.9


BIG_SCAN = """
import resource, sys
import numpy as np
from PIL import Image, ImageDraw
sketch = Image.new("L", (600, 600), 255)
ImageDraw.Draw(sketch).line([(150, 120), (450, 120), (260, 500)], fill=0, width=40)
scan = (np.asarray(sketch.resize((6000, 6000)), dtype=np.uint16) * 257)  # white paper, 16 bits
Image.fromarray(scan).save(sys.argv[1])
del scan, sketch
from mnist_core import to_mnist
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
x = to_mnist(sys.argv[1])
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024, x is not None)
"""


def test_a_huge_16_bit_scan_is_reduced_before_it_is_converted(tmp_path: Path) -> None:
    """A 6000x6000 16-bit TIFF (72 MB decoded) took 585 MiB of memory when converted at full
    size; reduced first, it takes about the decoded image twice. Measured in a process of its own."""
    out = subprocess.run([sys.executable, "-c", BIG_SCAN, str(tmp_path / "scan.tif")], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    peak_mib, found = float(out[0]), out[1] == "True"
    assert found, "the 7 on the scan should be found"
    assert peak_mib < 300, f"reading the scan took {peak_mib:.0f} MiB more memory"


@pytest.mark.parametrize("image", [
    draw(SEVEN, canvas=(168, 112), left=100, top=10, size=60, brush=8, style="black-on-white"),  # the app's canvas
    draw(FOUR, canvas=(3000, 2000), left=300, top=900, size=900, brush=60, style="black-on-white"),  # reduced first
    draw(ONE, canvas=(36, 24), left=20, top=2, size=18, brush=2, style="black-on-white"),  # upsampled
    _bold_scan(SEVEN, 70, 90, pen=16, noise=0, inverted=False),  # a tight crop: paper is added around it
], ids=["canvas", "large", "small", "tight crop"])
def test_the_field_says_where_the_28x28_lies_in_the_image(image: Image.Image) -> None:
    """The ink's centre of mass, mapped into the field, lands where to_mnist put it (about 14, 14),
    and its longer side spans DIGIT_SIDE field pixels, less what stroke widening added."""
    x, field = to_mnist_with_field(image)
    assert torch.equal(x, to_mnist(image)) and field.size == image.size
    grey = np.asarray(image.convert("L"), np.float64)
    ink = np.percentile(grey, 99) - grey  # dark ink on light paper
    ink[ink < 24] = 0
    rows, cols = np.nonzero(ink)
    mass = ink.sum()
    centre_x = ((ink.sum(axis=0) * (np.arange(ink.shape[1]) + 0.5)).sum() / mass - field.left) * 28 / field.width
    centre_y = ((ink.sum(axis=1) * (np.arange(ink.shape[0]) + 0.5)).sum() / mass - field.top) * 28 / field.height
    seen_y, seen_x = centre_of_mass(x[0].numpy())
    assert abs(centre_x - (seen_x + 0.5)) < 0.6 and abs(centre_y - (seen_y + 0.5)) < 0.6
    side = max((cols.max() + 1 - cols.min()) * 28 / field.width, (rows.max() + 1 - rows.min()) * 28 / field.height)
    assert 17 < side <= 20.5
    assert abs(field.width - field.height) <= 0.05 * field.width
