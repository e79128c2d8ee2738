"""Open and validate image files, and convert them to float arrays.

Everything an image passes through before the science sees it: Pillow decodes
it, we guard against decompression bombs and truncated files, apply the EXIF
orientation, convert odd modes (16-bit, palette, CMYK, alpha) and return
``float32`` arrays in ``[0, 1]`` of shape ``H x W x C`` (C = 1 or 3).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np

from .errors import ImageError

#: Largest image we decode, in pixels (about 8k x 8k). Larger files are refused
#: before decoding, so a decompression bomb costs nothing.
MAX_PIXELS = 64_000_000
#: File extensions offered in open dialogs and accepted by folder scans.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

ColorMode = Literal["rgb", "grayscale"]


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when the path's extension is one of :data:`IMAGE_EXTENSIONS`."""
    return str(path).lower().endswith(IMAGE_EXTENSIONS)


def _open_checked(path: Path):
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = path.name
    if path.is_dir():
        raise ImageError(f"not an image: {name} is a folder")
    if not path.exists():
        raise ImageError(f"file not found: {path}")
    if path.stat().st_size == 0:
        raise ImageError(f"not an image: {name} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageError(
                    f"image too large: {name} is {w}x{h} pixels; the limit is "
                    f"{MAX_PIXELS // 1_000_000} megapixels"
                )
            img.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"not an image: {name} is not in a format Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"image too large: {name} looks like a decompression bomb") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"cannot read {name}: the file is damaged or truncated ({exc})") from None
    if w < 1 or h < 1:
        raise ImageError(f"not an image: {name} has no pixels")
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a broken EXIF block is not worth refusing the image
        pass
    return img


def to_mode(img, mode: ColorMode):
    """Convert a Pillow image of any mode to 8-bit RGB or L.

    16-bit and float images are rescaled to their own range; alpha is
    composited on white; palette and CMYK images are converted.
    """
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) / (hi - lo) * 255.0
        img = Image.fromarray(scaled.round().astype(np.uint8), mode="L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    target = "RGB" if mode == "rgb" else "L"
    return img.convert(target)


def load_image(path: str | os.PathLike[str], mode: ColorMode = "rgb") -> np.ndarray:
    """Open an image file as ``float32`` ``H x W x C`` in ``[0, 1]``.

    ``mode`` is ``"rgb"`` (C = 3) or ``"grayscale"`` (C = 1). Raises
    :class:`ImageError` with a message a user can act on.
    """
    img = to_mode(_open_checked(Path(path)), mode)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[..., None]
    return arr


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Width and height from the file header, without decoding the pixels."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with Image.open(p) as img:
            return img.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageError(f"not an image: {p.name} ({exc})") from None


def resize(image: np.ndarray, size: tuple[int, int], keep_aspect: bool = False) -> np.ndarray:
    """Resize ``H x W x C`` float image to ``size = (height, width)``.

    With ``keep_aspect`` the image is scaled to fit and padded with its edge
    mean (letterboxing) instead of being stretched.
    """
    from PIL import Image

    th, tw = int(size[0]), int(size[1])
    if th < 1 or tw < 1:
        raise ImageError(f"target size must be at least 1x1, got {th}x{tw}")
    h, w, c = image.shape
    if keep_aspect:
        scale = min(th / h, tw / w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    else:
        nh, nw = th, tw
    channels = [
        np.asarray(Image.fromarray(image[..., i].astype(np.float32), mode="F").resize((nw, nh), Image.BILINEAR))
        for i in range(c)
    ]
    out = np.stack(channels, axis=-1).astype(np.float32)
    if keep_aspect and (nh, nw) != (th, tw):
        fill = out.reshape(-1, c).mean(axis=0)
        canvas = np.empty((th, tw, c), np.float32)
        canvas[...] = fill
        top, left = (th - nh) // 2, (tw - nw) // 2
        canvas[top : top + nh, left : left + nw] = out
        out = canvas
    return out


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] (any range is clipped) to uint8 for display or saving."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_image(image: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Save a float ``H x W x C`` or ``H x W`` image in [0, 1] atomically."""
    from PIL import Image

    arr = to_uint8(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    p = Path(path)
    tmp = p.with_name(p.name + ".part")
    fmt = Image.registered_extensions().get(p.suffix.lower(), "PNG")
    Image.fromarray(arr).save(tmp, format=fmt)
    os.replace(tmp, p)
