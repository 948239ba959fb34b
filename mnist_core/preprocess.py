"""Turn a drawing (canvas, upload, photo) into an MNIST-style 28x28 tensor.

MNIST digits were made by LeCun's procedure: crop the ink, scale it so the longer
side is 20 px (aspect kept, anti-aliased), and paste it into a 28x28 field so the
centre of mass lands on pixel (14, 14). We do the same, plus two things a browser
canvas needs and scanned handwriting did not:

* finding the ink at all: a transparent canvas (ink = alpha), dark ink on light
  paper or light ink on dark, and photos with shadows and paper texture;
* stroke width: a 2 px pen on a 400 px canvas would shrink to a 0.1 px hairline,
  a 40 px brush on a small digit to a blob. Strokes are dilated or eroded so their
  width in the 28x28 output stays inside MNIST's range.

The steps: _load (anything -> PIL image) -> _ink_plane (-> uint8, 0 = background)
-> _crop_digit -> _normalise_stroke_width -> _centre_in_field (-> 28x28 float).
to_mnist_with_field also says where the 28x28 lies in the input (its Field: the crop, scale
and centring undone), to lay what a network found in it back over the drawing.
Only numpy and Pillow are used; a 400x400 canvas takes about a millisecond.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import os
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image, ImageFilter, ImageOps

MAX_INPUT_PIXELS = 50_000_000  # refuse larger inputs before decoding them
WORK_MAX_SIDE = 1024  # larger inputs are box-downscaled to this first
DIGIT_SIDE = 20  # longer side of the digit's bounding box in the output
OUTPUT_SIDE = 28
MNIST_CENTRE = 14.0  # mean centre of mass (row and column) of MNIST's training digits
FINE = 4  # strokes are processed at FINE x the output resolution
# Stroke width in output pixels, measured as 2 * mass / total variation: the 10th
# and 90th percentiles over MNIST's training digits. Narrower or wider strokes
# are dilated or eroded to the nearest bound.
STROKE_WIDTH_RANGE = (1.8, 3.2)
MIN_CONTRAST = 24  # on 0..255: weaker deviations from the background are not ink
MIN_INK_FRACTION = 3e-4  # less ink than this fraction of the canvas is "nothing drawn"
MIN_TWO_TONE = 0.9  # see _two_tone: below this an image is not just ink and paper
TRIM_FRACTION = 0.0025  # ink mass ignored on each side when cropping (stray specks)
MIN_DIGIT_SIDE = 4  # ink spanning fewer pixels than this (a dot, a speck) is "nothing drawn"

TOO_LARGE = f"The image is too large (at most {MAX_INPUT_PIXELS // 1_000_000} megapixels)."
UNREADABLE = "The file is not an image we can read. Please use a PNG, JPEG, WebP, GIF or BMP image."


class InvalidImage(ValueError):
    """The input cannot be used as a drawing; the message is meant for the user."""


def to_mnist(image: Any) -> torch.Tensor | None:
    """Convert a drawing to a float32 tensor [1, 28, 28] in [0, 1], white ink on black.

    `image` may be a PIL image (any mode), a numpy array (HxW, HxWx1..4, any numeric
    dtype), a file path, encoded image bytes, a data URL ("data:image/png;base64,...",
    what the app's canvas sends), or a Gradio ImageEditor/Sketchpad value
    ({"background", "layers", "composite"}). Returns None when nothing (or only a
    few stray pixels) is drawn. Raises InvalidImage for unreadable or huge input.
    """
    placed = to_mnist_with_field(image)
    return None if placed is None else placed[0]


def from_ink_plane(plane: np.ndarray) -> torch.Tensor | None:
    """to_mnist() of an image whose ink plane (see ink_plane) is already found."""
    placed = _place(plane)
    return None if placed is None else placed[0]


class Field(NamedTuple):
    """Where to_mnist's 28x28 lies in the image it was given, in that image's pixels: output pixel
    (u, v) covers x from left + u * width / 28 to left + (u + 1) * width / 28, and y likewise from
    top. A square (but for rounding) that may reach beyond the image."""

    left: float
    top: float
    width: float
    height: float
    size: tuple[int, int]  # the image's width and height


def to_mnist_with_field(image: Any) -> tuple[torch.Tensor, Field] | None:
    """to_mnist(image), the same tensor, and the Field where it lies in `image`: the crop, scale
    and centring undone, to lay what is found in the 28x28 back over the drawing."""
    loaded = _load(image)
    if loaded is None:
        return None
    img, size = loaded
    plane = _ink_plane(img)
    placed = None if plane is None else _place(plane)
    if placed is None:
        return None
    x, (left, top, width, height) = placed
    dx, dy = (plane.shape[1] - img.width) // 2, (plane.shape[0] - img.height) // 2  # the margin _ink_plane may add
    sx, sy = size[0] / img.width, size[1] / img.height  # _load may have reduced the image
    return x, Field((left - dx) * sx, (top - dy) * sy, width * sx, height * sy, size)


def _place(plane: np.ndarray) -> tuple[torch.Tensor, tuple[float, float, float, float]] | None:
    """from_ink_plane's tensor, and its field's left, top, width and height in the plane's pixels."""
    cropped = _crop_digit(plane)
    if cropped is None:
        return None
    digit, (x0, y0, sx, sy) = cropped
    grown = _normalise_stroke_width(digit)
    if grown is None:
        return None
    digit, pad = grown
    centred = _centre_in_field(digit)
    if centred is None:
        return None
    out, (left, top, span) = centred
    field = (x0 + (left - pad) * sx, y0 + (top - pad) * sy, span * sx, span * sy)
    return torch.from_numpy(out).unsqueeze(0), field


def to_pil(t: torch.Tensor) -> Image.Image:
    """The 28x28 grey-scale ('L') image of a [1, 28, 28] or [28, 28] tensor in [0, 1]."""
    a = t.detach().cpu().float().reshape(t.shape[-2], t.shape[-1]).clamp(0, 1)
    return Image.fromarray((a * 255).round().to(torch.uint8).numpy())


# --- Loading: anything -> PIL image in mode L, RGB or RGBA, at most WORK_MAX_SIDE ---


def load_image(image: Any) -> Image.Image | None:
    """Any input to_mnist() accepts as a PIL image in mode L, RGB or RGBA, at most
    WORK_MAX_SIDE a side; None when empty. InvalidImage for unreadable or huge input,
    TypeError for something that is no kind of image."""
    loaded = _load(image)
    return None if loaded is None else loaded[0]


def ink_plane(image: Any) -> tuple[np.ndarray, float, tuple[int, int]] | None:
    """The ink of any input to_mnist() accepts, as to_mnist finds it before cropping: uint8,
    0 where there is paper. Also how its pixels map back to the input's: input (x, y) =
    ((x - dx) * scale, (y - dy) * scale) for offset (dx, dy) (the margin added around a
    tight crop). None when empty."""
    loaded = _load(image)
    if loaded is None:
        return None
    img, (full_width, _) = loaded
    plane = _ink_plane(img)
    if plane is None:
        return None
    offset = ((plane.shape[1] - img.width) // 2, (plane.shape[0] - img.height) // 2)
    return plane, full_width / img.width, offset


def _load(image: Any) -> tuple[Image.Image, tuple[int, int]] | None:
    """The input in mode L, RGB or RGBA, at most WORK_MAX_SIDE a side, and its full size."""
    if image is None:
        return None
    if isinstance(image, dict):
        img = _from_editor(image)
    elif isinstance(image, str) and image.startswith("data:"):
        img = _open_file(io.BytesIO(_decode_data_url(image)))
    elif isinstance(image, (str, os.PathLike)):
        img = _open_file(image)
    elif isinstance(image, (bytes, bytearray)):
        img = _open_file(io.BytesIO(image))
    elif isinstance(image, np.ndarray):
        img = _from_array(image)
    elif isinstance(image, Image.Image):
        _check_size(*image.size)
        img = image
    else:
        raise TypeError(f"to_mnist() cannot read a {type(image).__name__}")
    if img is None or img.width == 0 or img.height == 0:
        return None
    return _reduce(_canonical_mode(_reduce(img))), img.size


def _reduce(img: Image.Image) -> Image.Image:
    """Box-downscale to at most WORK_MAX_SIDE a side. Done before converting the mode where it
    can be (a 6000x6000 16-bit scan converted at full size took 585 MiB), else after."""
    factor = math.ceil(max(img.size) / WORK_MAX_SIDE)
    if factor <= 1:
        return img
    if img.mode.startswith("I;16"):  # Pillow cannot reduce these: block means of the array, still 16-bit
        a = np.asarray(img)
        h, w = max(a.shape[0] // factor, 1) * factor, max(a.shape[1] // factor, 1) * factor
        a = np.pad(a, ((0, max(h - a.shape[0], 0)), (0, max(w - a.shape[1], 0))), mode="edge")[:h, :w]
        blocks = a.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
        return Image.fromarray(blocks.round().astype(np.uint16))
    try:
        return img.reduce(factor)
    except ValueError:  # a mode Pillow cannot reduce (1, P): reduced once converted
        return img


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_INPUT_PIXELS:
        raise InvalidImage(TOO_LARGE)


def _decode_data_url(url: str) -> bytes:
    """The bytes of a base64 data URL, as a canvas's toDataURL() makes it."""
    header, _, data = url.partition(",")
    if not header.endswith(";base64"):
        raise InvalidImage("The drawing could not be read (expected a base64 data URL).")
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        raise InvalidImage("The drawing could not be read (broken base64 data).") from None


def _open_file(source: str | os.PathLike | io.BytesIO) -> Image.Image:
    """Open and decode an image file; its size is checked from the header, before decoding."""
    try:
        img = Image.open(source)
    except Image.DecompressionBombError:
        raise InvalidImage(TOO_LARGE) from None
    except Exception:  # PIL raises many types on bad data (OSError, SyntaxError, ...)
        raise InvalidImage(UNREADABLE) from None
    _check_size(*img.size)
    img.draft(None, (WORK_MAX_SIDE, WORK_MAX_SIDE))  # JPEG: decode at a reduced scale
    try:
        img.load()
    except Exception:
        raise InvalidImage(UNREADABLE) from None
    return img


def _from_editor(value: dict) -> Image.Image | None:
    """A Gradio ImageEditor/Sketchpad value: its "composite" is the picture as shown."""
    return load_image(value.get("composite"))


def _from_array(a: np.ndarray) -> Image.Image | None:
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or np.iscomplexobj(a):
        raise InvalidImage(f"Expected an array of numbers, got {a.dtype}.")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        raise InvalidImage(f"Expected an image array of shape HxW or HxWxC, got {a.shape}.")
    if a.size == 0:
        return None
    _check_size(a.shape[1], a.shape[0])
    a = _to_uint8(a)
    if a.ndim == 3 and a.shape[2] == 2:  # grey + alpha
        a = np.dstack([a[..., 0], a[..., 0], a[..., 0], a[..., 1]])
    return Image.fromarray(np.ascontiguousarray(a))


def _to_uint8(a: np.ndarray) -> np.ndarray:
    """Scale any numeric array to uint8: by bit depth for integers, by range for floats."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    f = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(f.min()), float(f.max())
    if np.issubdtype(a.dtype, np.integer):  # 8-bit, 16-bit, or wider
        f = f * (255.0 / (255.0 if hi <= 255 else max(65535.0, hi)))
    elif lo >= 0.0 and hi <= 1.0:
        f = f * 255.0
    elif hi > lo:
        f = (f - lo) * (255.0 / (hi - lo))
    else:
        f = np.zeros_like(f)
    return np.clip(f + 0.5, 0, 255).astype(np.uint8)


def _canonical_mode(img: Image.Image) -> Image.Image:
    if img.mode in ("L", "RGB", "RGBA"):
        return img
    if img.mode.startswith("I") or img.mode == "F":  # 16/32-bit integer or float
        return Image.fromarray(_to_uint8(np.asarray(img)))
    if img.mode == "1":
        return img.convert("L")
    if img.mode == "La":  # premultiplied alpha: Pillow converts it to LA only
        img = img.convert("LA")
    if "A" in img.getbands() or "a" in img.getbands() or "transparency" in img.info:
        return img.convert("RGBA")
    return img.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV


# --- Ink: PIL image -> uint8 plane, 0 = background, larger = more ink ---


def _ink_plane(img: Image.Image) -> np.ndarray | None:
    """How far each pixel is from the background, with the ink's polarity decided.

    A canvas (flat background) gives raw deviations, stretched later on the crop; a
    photo gives deviations already cut from the paper's noise. None if blank.
    """
    if img.mode == "RGBA":
        alpha = np.asarray(img.getchannel("A"))
        if alpha[::8, ::8].mean() < 128:  # transparent canvas: whatever was painted is ink
            return alpha
        if alpha.min() < 255:  # mostly opaque: see it as shown, on white
            img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img)
    gray = _margin_for_tight_crop(img.convert("L") if img.mode != "L" else img)
    sample = np.asarray(gray.resize((64, 64), Image.NEAREST)).astype(np.int16)
    background = int(np.median(sample))
    if np.mean(np.abs(sample - background) <= 2) < 0.5:  # not a flat canvas: a photo
        return _photo_ink(gray, background)
    if background == 0:  # the common cases without a lookup table
        return np.asarray(gray)
    if background == 255:
        return np.invert(np.asarray(gray))
    deviation = np.abs(np.arange(256) - background).astype(np.uint8)
    return np.asarray(gray.point(deviation.tolist()))


def _margin_for_tight_crop(gray: Image.Image) -> Image.Image:
    """A tight crop of a bold digit, its paper added back around it.

    Everything below takes the most common grey for the paper. When a bold pen is cropped
    tightly, ink is the most common grey, and the digit would come out as hollow outlines. So
    split the image's greys in two (Otsu) and say which side is paper: the one that most of the
    image's border is (even a tight crop touches its ink only here and there). Where the border
    says nothing clear (a bold 1 filling its frame is ink along two sides) or the image is not
    two-toned, nothing changes. When the paper is the smaller side, or the ink touches the
    border, add a margin of paper around the image, as much again as the image: the paper is
    then the most common grey, as on any other page, and a photo's paper, estimated around
    each stroke (see _photo_ink), is found around bold strokes at the edges too.
    """
    sample = np.asarray(gray.resize((64, 64), Image.NEAREST))
    threshold = _otsu(np.bincount(sample.ravel(), minlength=256).astype(np.float64))
    dark = sample < threshold
    if not dark.any() or dark.all() or _two_tone(sample, dark) < MIN_TWO_TONE:
        return gray  # not ink and paper: one grey, or a gradient such as a shadow on blank paper
    border = np.concatenate([dark[0], dark[-1], dark[:, 0], dark[:, -1]]).mean()
    if 0.4 < border < 0.6:
        return gray  # the border says nothing clear (a bold 1 filling its frame, a shadow across the page)
    paper, ink = (sample[dark], sample[~dark]) if border >= 0.6 else (sample[~dark], sample[dark])
    touches = 0 < min(border, 1 - border)  # some of the border is ink
    if not (touches or paper.size < ink.size) or abs(int(np.median(paper)) - int(np.median(ink))) < MIN_CONTRAST:
        return gray
    return ImageOps.expand(gray, border=max(gray.size) // 2, fill=int(np.median(paper)))


def _two_tone(sample: np.ndarray, dark: np.ndarray) -> float:
    """How much of the greys' variance the split into dark and light explains (Otsu's eta):
    near 1 for ink on paper, at most about 0.75 for a smooth gradient."""
    values = sample.astype(np.float64)
    total = values.var()
    if total == 0:
        return 0.0
    share = dark.mean()
    between = share * (1 - share) * (values[dark].mean() - values[~dark].mean()) ** 2
    return float(between / total)


def _photo_ink(gray: Image.Image, background: int) -> np.ndarray | None:
    """Ink = contrast against a smooth local paper estimate, cut by Otsu.

    Paper brightness varies across a photo (shadows, vignetting), so a single
    background level would turn the darker side of the page into ink. Dark ink is
    measured relative to the local paper (1 - gray / paper): a shadow dims paper and
    ink alike.
    """
    cdf = np.cumsum(gray.histogram()) / (gray.width * gray.height)
    darkest, brightest = np.searchsorted(cdf, 0.002), np.searchsorted(cdf, 0.998)
    dark_ink = background - darkest >= brightest - background
    w, h = gray.size
    scale = 48 / min(w, h)
    small = gray.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BOX)
    # A closing (max then min filter) removes dark strokes narrower than its window
    # but keeps smooth slopes such as a shadow's edge in place; an opening, light ones.
    grow, shrink = ImageFilter.MaxFilter(7), ImageFilter.MinFilter(7)
    paper = small.filter(grow).filter(shrink) if dark_ink else small.filter(shrink).filter(grow)
    paper = paper.filter(ImageFilter.BoxBlur(1)).resize(gray.size, Image.BILINEAR)
    g, p = np.asarray(gray, np.float32), np.asarray(paper, np.float32)
    if dark_ink:
        contrast = (p - g) / np.maximum(p, 1.0)
    else:
        contrast = (g - p) / np.maximum(255.0 - p, 1.0)
    ink = (np.clip(contrast, 0.0, 1.0) * 255.0).astype(np.uint8)
    hist = np.bincount(ink.ravel(), minlength=256).astype(np.float64)
    # Most of a photo is paper, whose contrast is noise: its median is 0.674 sigma.
    noise = np.searchsorted(np.cumsum(hist), 0.5 * hist.sum()) / 0.674
    lut = _stretch_lut(hist, lo=_otsu(hist), noise=noise)
    return None if lut is None else lut[ink]


def _stretch_lut(hist: np.ndarray, lo: int | None = None, noise: float = 0.0) -> np.ndarray | None:
    """A LUT mapping deviations <= lo to 0 and >= hi, the stroke core, to 255.

    hist is the histogram of deviations. Without lo (a canvas), the core is the
    pixels at least half as strong as the strongest one, so a grey pen counts as
    full ink, and lo is a tenth of hi. With lo (a threshold), the core is what is
    above it. hi is the core's 90th percentile. None when there is no real
    contrast: hi below MIN_CONTRAST, or below 5x the noise's standard deviation.
    """
    levels = np.arange(256)
    strongest = int(levels[hist > 0].max()) if hist.any() else 0
    core = hist * (levels >= (strongest // 2 if lo is None else lo))
    hi = int(np.searchsorted(np.cumsum(core), 0.9 * core.sum()))
    lo = int(0.1 * hi) if lo is None else lo
    if hi - lo < MIN_CONTRAST or hi < 5.0 * noise:
        return None
    return np.clip((levels - lo) * (255.0 / (hi - lo)), 0, 255).round().astype(np.uint8)


def _otsu(hist: np.ndarray) -> int:
    """Otsu's threshold on a 256-bin histogram: the cut that best separates two classes."""
    levels = np.arange(256)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * levels)
    total, mean_total = w0[-1], m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_total * w0 - total * m0) ** 2 / (w0 * (total - w0))
    return int(np.nanargmax(between[:-1])) + 1 if np.isfinite(between[:-1]).any() else 128


# --- Geometry: ink plane -> digit at FINE x output resolution -> 28x28 ---


def _crop_digit(plane: np.ndarray) -> tuple[np.ndarray, tuple[int, int, float, float]] | None:
    """Crop the ink, bring its longer side to FINE * DIGIT_SIDE (up to 2x that), stretch it.

    Downscaling uses max-pooling, not averaging, so thin strokes stay at full
    intensity (their width is fixed later); the stretch is monotonic, so it can run
    after pooling, on few pixels. The box ignores TRIM_FRACTION of the ink mass on
    each side, so a stray speck does not stretch it. Returns float32 in [0, 1], and
    where it lies in the plane: x = x0 + its x * sx, y = y0 + its y * sy.
    """
    rows = plane.sum(axis=1, dtype=np.uint32)  # no overflow: sides <= WORK_MAX_SIDE
    cols = plane.sum(axis=0, dtype=np.uint32)
    total = int(rows.sum(dtype=np.int64))
    if total < 255 * max(3.0, MIN_INK_FRACTION * plane.size):
        return None
    y0, y1 = _trimmed_span(rows, total)
    x0, x1 = _trimmed_span(cols, total)
    crop = plane[y0:y1, x0:x1]
    if max(crop.shape) < MIN_DIGIT_SIDE:
        return None
    target = FINE * DIGIT_SIDE
    factor = max(crop.shape) // target
    sx = sy = float(max(factor, 1))
    if factor > 1:
        crop = _max_pool(crop, factor)
    lut = _stretch_lut(np.bincount(crop.ravel(), minlength=256))
    if lut is None:
        return None
    digit = lut[crop].astype(np.float32) / 255.0
    if max(digit.shape) < target:  # small input (e.g. a 28x28 digit): upsample smoothly
        scale = target / max(digit.shape)
        size = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))
        sx, sy = digit.shape[1] / size[0], digit.shape[0] / size[1]
        digit = np.asarray(Image.fromarray(digit).resize(size, Image.BILINEAR))
    return digit, (x0, y0, sx, sy)


def _trimmed_span(profile: np.ndarray, total: int) -> tuple[int, int]:
    """[start, stop) of a row or column ink profile, TRIM_FRACTION of the mass cut off each end."""
    cum = np.cumsum(profile)
    trim = TRIM_FRACTION * total
    start = int(np.searchsorted(cum, trim, side="right"))
    stop = int(np.searchsorted(cum, total - trim, side="left")) + 1
    return start, max(stop, start + 1)


def _max_pool(a: np.ndarray, k: int) -> np.ndarray:
    """Each k x k block's maximum (the array is zero-padded to a multiple of k)."""
    h, w = a.shape
    padded = np.zeros((-(-h // k) * k, -(-w // k) * k), dtype=a.dtype)
    padded[:h, :w] = a
    return padded.reshape(padded.shape[0] // k, k, padded.shape[1] // k, k).max(axis=(1, 3))


def _stroke_width(digit: np.ndarray) -> float:
    """Mean stroke width in pixels: 2 * area / perimeter, perimeter = total variation."""
    padded = np.pad(digit, 1)
    dx = np.diff(padded, axis=1)[:-1, :]
    dy = np.diff(padded, axis=0)[:, :-1]
    perimeter = float(np.hypot(dx, dy).sum())
    return 2.0 * float(digit.sum()) / max(perimeter, 1e-6)


def _normalise_stroke_width(digit: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Dilate or erode so the stroke width in the output lands in STROKE_WIDTH_RANGE; also
    the margin added on each side for that (0 if none).

    Returns None for a round blob (a click, a dot): not a digit. Growing a stroke by
    d pixels also grows the bounding box by d, which is later scaled back to 20 px,
    so d solves (width + d) * 20 / (side + d) = target.
    """
    side = max(digit.shape)
    width = _stroke_width(digit)
    height, breadth = sorted(digit.shape, reverse=True)
    if side < 2.6 * width and breadth > 0.75 * height:
        return None
    out_width = width * DIGIT_SIDE / side
    target = min(max(out_width, STROKE_WIDTH_RANGE[0]), STROKE_WIDTH_RANGE[1])
    if target == out_width:
        return digit, 0
    grow = (target * side / DIGIT_SIDE - width) / (1.0 - target / DIGIT_SIDE)
    radius = round(abs(grow) / 2)
    if radius == 0:
        return digit, 0
    return _morph(np.pad(digit, radius + 1), radius, np.maximum if grow > 0 else np.minimum), radius + 1


def _morph(a: np.ndarray, radius: int, op: np.ufunc) -> np.ndarray:
    """Grey dilation (op=np.maximum) or erosion (np.minimum) by an octagon of `radius`.

    Alternating 3x3 squares and 3x3 crosses approximates a disc, so diagonal
    strokes change as much as straight ones.
    """
    for step in range(radius):
        across = _neighbours(a, op, axis=1)
        if step % 2 == 0:
            a = _neighbours(across, op, axis=0)  # square
        else:
            a = op(across, _neighbours(a, op, axis=0))  # cross
    return a


def _neighbours(a: np.ndarray, op: np.ufunc, axis: int) -> np.ndarray:
    """op of each pixel with its two neighbours along `axis`."""
    out = a.copy()
    head = (slice(None), slice(1, None)) if axis == 1 else (slice(1, None), slice(None))
    tail = (slice(None), slice(None, -1)) if axis == 1 else (slice(None, -1), slice(None))
    op(out[head], a[tail], out=out[head])
    op(out[tail], a[head], out=out[tail])
    return out


def _centre_in_field(digit: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float]] | None:
    """Scale the digit's box to DIGIT_SIDE and put its centre of mass at MNIST_CENTRE; also the
    field's left, top and side in `digit`'s pixels.

    One area-averaging resize does both: its source box is placed with subpixel
    precision around the centre of mass.
    """
    ys = np.flatnonzero(digit.max(axis=1) > 1 / 255)
    xs = np.flatnonzero(digit.max(axis=0) > 1 / 255)
    if ys.size == 0:
        return None
    digit = digit[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1]
    scale = DIGIT_SIDE / max(digit.shape)  # output pixels per digit pixel
    mass = digit.sum()
    cy = float((digit.sum(axis=1) * (np.arange(digit.shape[0]) + 0.5)).sum() / mass)
    cx = float((digit.sum(axis=0) * (np.arange(digit.shape[1]) + 0.5)).sum() / mass)
    # Pixel index MNIST_CENTRE has its centre at MNIST_CENTRE + 0.5 in continuous coordinates.
    left = cx - (MNIST_CENTRE + 0.5) / scale
    top = cy - (MNIST_CENTRE + 0.5) / scale
    span = OUTPUT_SIDE / scale
    # The field reaches beyond the digit: pad it with background just enough.
    pad_left, pad_top = math.ceil(max(0.0, -left)), math.ceil(max(0.0, -top))
    pad_right = math.ceil(max(0.0, left + span - digit.shape[1]))
    pad_bottom = math.ceil(max(0.0, top + span - digit.shape[0]))
    padded = np.pad(digit, ((pad_top, pad_bottom), (pad_left, pad_right)))
    box = (left + pad_left, top + pad_top, left + pad_left + span, top + pad_top + span)
    field = Image.fromarray(padded).resize((OUTPUT_SIDE, OUTPUT_SIDE), Image.BOX, box=box)
    return np.clip(np.asarray(field, dtype=np.float32), 0.0, 1.0), (float(xs[0] + left), float(ys[0] + top), span)
