"""Write the sample images of ``convexplorer.core.samples`` to ``resources/samples/`` as PNG files.

    python packaging/make_samples.py [--check]

The samples are made by code (``core.samples``); these files let a new user open or drag a
real image file (File ▸ Open Sample Image) without looking for one. ``--check`` writes
nothing and exits 1 when a committed file's pixels differ from what the code makes now
(pixels, not bytes: another zlib compresses the same pixels differently).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = ROOT / "resources" / "samples"
#: Pixel size of each written sample (larger than the Playground's defaults, to be worth a look).
SIZES = {"Bright square": 64, "Checkerboard": 64, "Digit 7": 28, "Scene (colour)": 256}


def file_name(title: str) -> str:
    """'Scene (colour)' -> 'scene-colour.png'."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") + ".png"


def render() -> dict[str, bytes]:
    """Every sample as PNG bytes, by file name."""
    sys.path.insert(0, str(ROOT))
    from convexplorer.core.images import to_uint8
    from convexplorer.core.samples import SAMPLES
    from PIL import Image

    out = {}
    for title, make in SAMPLES.items():
        arr = to_uint8(make(SIZES.get(title, 64)))
        img = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
        buf = io.BytesIO()
        img.save(buf, format="PNG", optimize=True)
        out[file_name(title)] = buf.getvalue()
    return out


def pixels(png: bytes) -> tuple:
    """The decoded mode, size and pixel bytes of a PNG."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        return img.mode, img.size, img.tobytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files; write nothing")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = [n for n, data in files.items() if not (SAMPLES_DIR / n).is_file() or pixels((SAMPLES_DIR / n).read_bytes()) != pixels(data)]
        for n in stale:
            print(f"differs: resources/samples/{n}")
        return 1 if stale else 0
    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    for n, data in files.items():
        (SAMPLES_DIR / n).write_bytes(data)
        print(f"wrote resources/samples/{n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
