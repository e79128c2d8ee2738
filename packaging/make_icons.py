"""Render the app icon from ``resources/convexplorer.svg`` to PNG, ICO and ICNS files.

    python packaging/make_icons.py [--check]

Writes ``resources/icons/hicolor/<N>x<N>/apps/convexplorer.png`` for every size in
``PNG_SIZES`` (the freedesktop icon-theme layout, so the tree can be copied into
``~/.local/share/icons/hicolor``), plus ``convexplorer.ico`` (Windows) and ``convexplorer.icns``
(macOS) next to them. The SVG is drawn with Qt's own SVG renderer (QtSvg, already a dependency);
Pillow packs the ICO and ICNS files. ``--check`` writes nothing and exits 1 when a committed file
differs from what the SVG gives now (run it after editing the SVG).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
SVG = RESOURCES / "convexplorer.svg"
ICONS = RESOURCES / "icons"
#: Sizes of the PNG icons (the hicolor theme sizes desktops ask for).
PNG_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64, 128, 256, 512)
#: Sizes packed into the Windows .ico (256 is the largest an .ico holds).
ICO_SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256)
#: Pixel sizes in the macOS .icns (Pillow's ICNS writer: 16@2x, 32, 32@2x, 128, 128@2x, 256, 256@2x, 512, 512@2x).
ICNS_SIZES: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)


def png_path(size: int) -> Path:
    """Where the PNG icon of ``size`` x ``size`` pixels lives."""
    return ICONS / "hicolor" / f"{size}x{size}" / "apps" / "convexplorer.png"


def render_png(size: int, svg: Path = SVG) -> bytes:
    """The SVG drawn at ``size`` x ``size`` pixels, as PNG bytes (transparent background)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"not a valid SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def _pillow(png: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGBA")


def build_ico(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico holding every size in ``ICO_SIZES``, each drawn at its own size."""
    images = [_pillow(pngs[s]) for s in sorted(ICO_SIZES, reverse=True)]
    out = io.BytesIO()
    images[0].save(out, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=images[1:])
    return out.getvalue()


def build_icns(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns holding every size in ``ICNS_SIZES``, each drawn at its own size."""
    images = [_pillow(pngs[s]) for s in sorted(ICNS_SIZES, reverse=True)]
    out = io.BytesIO()
    images[0].save(out, format="ICNS", append_images=images[1:])
    return out.getvalue()


def expected_files() -> dict[Path, bytes]:
    """Every icon file this script makes, with its contents."""
    sizes = sorted(set(PNG_SIZES) | set(ICO_SIZES) | set(ICNS_SIZES))
    pngs = {s: render_png(s) for s in sizes}
    files = {png_path(s): pngs[s] for s in PNG_SIZES}
    files[ICONS / "convexplorer.ico"] = build_ico(pngs)
    files[ICONS / "convexplorer.icns"] = build_icns(pngs)
    return files


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the icon files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed files")
    args = parser.parse_args(argv)
    stale = []
    for path, data in expected_files().items():
        current = path.read_bytes() if path.exists() else None
        if current == data:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for path in stale:
        print(("stale: " if args.check else "wrote: ") + str(path.relative_to(ROOT)))
    if args.check and stale:
        print("run: python packaging/make_icons.py")
        return 1
    if not stale:
        print("icons up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
