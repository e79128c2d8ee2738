"""Generators of bad and awkward input files, shared by the hardening tests.

Nothing here is a checked-in binary: every file is made by code in a
temporary folder, so the corpus documents itself.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def png_with_header_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR claims ``width x height`` (a decompression-bomb header)."""
    data = bytearray(_png_bytes(Image.new("L", (4, 4), 0)))
    # IHDR payload starts after the 8-byte signature, 4-byte length and 4-byte type.
    data[16:24] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF
    data[29:33] = struct.pack(">I", crc)
    return bytes(data)


def photo(size: int = 48) -> Image.Image:
    """A small colourful RGB picture."""
    y, x = np.mgrid[0:size, 0:size]
    arr = np.stack([x * 255 // size, y * 255 // size, (x + y) * 127 // size], -1).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def bad_images(folder: Path) -> dict[str, Path]:
    """Files that must be refused with a clear message. Name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    good_png = _png_bytes(photo())
    buf = io.BytesIO()
    photo().save(buf, format="JPEG", quality=90)
    good_jpeg = buf.getvalue()
    files: dict[str, bytes] = {
        "zero_bytes.png": b"",
        "truncated.png": good_png[: len(good_png) // 2],
        "truncated.jpg": good_jpeg[: len(good_jpeg) // 3],
        "corrupted.png": good_png[:40] + bytes(reversed(good_png[40:200])) + good_png[200:],
        "text_named.png": b"these are my notes, not a picture\n",
        "bomb.png": png_with_header_size(30000, 30000),
        "garbage.jpg": bytes(range(256)) * 10,
    }
    paths = {}
    for name, data in files.items():
        p = folder / name
        p.write_bytes(data)
        paths[name] = p
    d = folder / "folder_named.jpg"
    d.mkdir(exist_ok=True)
    paths["folder_named.jpg"] = d
    return paths


def awkward_images(folder: Path) -> dict[str, Path]:
    """Files that are valid but unusual and must be converted correctly. Name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    base = photo()
    out: dict[str, Path] = {}

    def save(name: str, img: Image.Image, **kw) -> None:
        p = folder / name
        img.save(p, **kw)
        out[name] = p

    arr16 = (np.linspace(0, 65535, 48 * 48).reshape(48, 48)).astype(np.uint16)
    save("sixteen_bit.png", Image.fromarray(arr16))
    save("palette.png", base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16))
    save("cmyk.jpg", base.convert("CMYK"), quality=95)
    rgba = base.convert("RGBA")
    alpha = np.zeros((48, 48), np.uint8)
    alpha[:, 24:] = 255
    rgba.putalpha(Image.fromarray(alpha))
    save("alpha.png", rgba)
    save("one_pixel.png", Image.new("RGB", (1, 1), (255, 0, 0)))
    save("grey.png", base.convert("L"))
    save("la.png", base.convert("LA"))
    return out
