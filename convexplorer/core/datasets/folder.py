"""Image folders: one sub-folder per class, or train/validation/test folders of class folders.

:func:`scan_folder` only lists files (cheap: names and sizes, no pixels), so a
folder of 50,000 images is browsable at once and memory holds paths, not
images. Files that cannot be used (zero bytes, not an image type) are skipped
and listed, never stopping the scan. :meth:`FolderDataset.verify` then reads
each file's header (or decodes it fully for small folders) in the background
and returns a copy without the empty, unreadable, truncated, oversized or odd-mode
files, again with the list of what was skipped and why.
"""

from __future__ import annotations

import copy
import os
import threading
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import DatasetError, ImageError
from ..images import IMAGE_EXTENSIONS, MAX_PIXELS, to_mode
from ..progress import ProgressFn, check_cancel, report
from .base import TEST, TRAIN, UNASSIGNED, VALIDATION, Dataset, SplitSpec

#: Folder names recognised as split folders (case-insensitive).
SPLIT_FOLDERS = {
    "train": TRAIN, "training": TRAIN,
    "validation": VALIDATION, "val": VALIDATION, "valid": VALIDATION,
    "test": TEST, "testing": TEST,
}
#: Pillow modes we know how to convert to RGB or grayscale.
USABLE_MODES = {"1", "L", "P", "RGB", "RGBA", "RGBX", "LA", "PA", "CMYK", "YCbCr", "LAB", "HSV",
                "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
#: Folders up to this many files are verified by decoding every image (finds truncated files).
DEEP_VERIFY_LIMIT = 2000
DEFAULT_SIZE = (150, 150)


def display_name(name: str) -> str:
    """A file name safe to show: undecodable bytes (non-UTF-8 names) become U+FFFD."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Skipped:
    """A file left out of the data set, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{display_name(self.path)}: {self.reason}"


def _open_image(path: str, max_side: int | None = None):
    """Open and fully decode an image with Pillow, guarded; ``max_side`` lets JPEG decode smaller."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = display_name(os.path.basename(path))
    try:
        if os.path.getsize(path) == 0:
            raise ImageError(f"{name} is empty (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageError(f"{name} is too large ({w}x{h} pixels)")
            if img.mode not in USABLE_MODES:
                raise ImageError(f"{name} has an unsupported colour mode ({img.mode})")
            if max_side is not None and img.format == "JPEG":
                img.draft("RGB", (max_side, max_side))
            img.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name} looks like a decompression bomb") from None
    except PermissionError:
        raise ImageError(f"{name} cannot be read: you have no permission to read it") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name} is damaged or truncated ({exc})") from None
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a broken EXIF block is not worth refusing the image
        pass
    return img


def check_image_file(path: str, deep: bool = False) -> str | None:
    """None when ``path`` is a usable image; else the reason it is not (header check, or full decode if ``deep``)."""
    from PIL import Image, UnidentifiedImageError

    if deep:
        try:
            _open_image(path)
            return None
        except ImageError as exc:
            prefix = display_name(os.path.basename(path)) + " "
            text = str(exc)
            return text[len(prefix):] if text.startswith(prefix) else text
    try:
        if os.path.getsize(path) == 0:
            return "is empty (0 bytes)"
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    return f"is too large ({w}x{h} pixels)"
                if w < 1 or h < 1:
                    return "has no pixels"
                if img.mode not in USABLE_MODES:
                    return f"has an unsupported colour mode ({img.mode})"
    except UnidentifiedImageError:
        return "is not an image Pillow can read"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return "looks like a decompression bomb"
    except PermissionError:
        return "cannot be read: you have no permission to read it"
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return f"cannot be read ({exc})"
    return None


class _Walker:
    """Lists image files under a folder, following links once, noting what it skips."""

    def __init__(self, cancel: Optional[threading.Event], progress: Optional[ProgressFn]) -> None:
        self.cancel, self.progress = cancel, progress
        self.skipped: list[Skipped] = []
        self.notes: list[str] = []
        self.seen_dirs: set[tuple[int, int]] = set()
        self.count = 0
        self.bad_names = 0

    def images_under(self, folder: str) -> list[str]:
        out: list[str] = []
        stack = [folder]
        while stack:
            d = stack.pop()
            try:
                st = os.stat(d)
            except OSError as exc:
                self.notes.append(f"cannot open folder {display_name(d)}: {exc.strerror or exc}")
                continue
            key = (st.st_dev, st.st_ino)
            if key in self.seen_dirs:
                self.notes.append(f"skipped {display_name(d)}: a symbolic link loop or a folder linked twice")
                continue
            self.seen_dirs.add(key)
            try:
                with os.scandir(d) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                self.notes.append(f"cannot list folder {display_name(d)}: {exc.strerror or exc}")
                continue
            subdirs = []
            for e in entries:
                if e.name.startswith("."):
                    continue
                if display_name(e.name) != e.name:
                    self.bad_names += 1
                try:
                    if e.is_dir(follow_symlinks=True):
                        subdirs.append(e.path)
                        continue
                    if not e.is_file(follow_symlinks=True):
                        if e.is_symlink() and not os.path.exists(e.path):
                            self.skipped.append(Skipped(e.path, "is a broken link"))
                        continue  # pipes, sockets, devices: never opened (a pipe would block the scan)
                except OSError:
                    self.skipped.append(Skipped(e.path, "is a broken link"))
                    continue
                if not e.name.lower().endswith(IMAGE_EXTENSIONS):
                    ext = os.path.splitext(e.name)[1] or "no extension"
                    self.skipped.append(Skipped(e.path, f"is not an image file type ({display_name(ext)})"))
                    continue
                # No stat() here: it is the slowest part of a listing. Empty and
                # unreadable files are caught by verify() and by the loaders.
                out.append(e.path)
                self.count += 1
                if self.count % 500 == 0:
                    check_cancel(self.cancel)
                    report(self.progress, 0, 0, f"found {self.count} images")
            stack.extend(reversed(subdirs))
        return out


def _subdirs(folder: str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted(
                (e for e in it if not e.name.startswith(".") and e.is_dir(follow_symlinks=True)),
                key=lambda e: e.name.lower(),
            )
    except OSError as exc:
        raise DatasetError(f"cannot open the folder {display_name(folder)}: {exc.strerror or exc}") from None


def scan_folder(
    root: str | os.PathLike[str],
    image_size: tuple[int, int] = DEFAULT_SIZE,
    color_mode: str = "rgb",
    split: SplitSpec | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> "FolderDataset":
    """List an image folder (class sub-folders, or train/validation/test of class folders).

    Reads names and sizes only. Raises :class:`DatasetError` with a clear
    message for a missing or empty folder, no class folders, or fewer than two
    classes with images.
    """
    root_s = os.fspath(root)
    shown = display_name(root_s)
    if not os.path.exists(root_s):
        raise DatasetError(f"folder not found: {shown}")
    if not os.path.isdir(root_s):
        raise DatasetError(f"expected a folder of class sub-folders, received a file: {shown}")
    report(progress, 0, 0, f"scanning {shown}")
    top = _subdirs(root_s)
    walker = _Walker(cancel, progress)
    loose = [e for e in os.scandir(root_s) if not e.name.startswith(".") and e.is_file()]
    if not top:
        if not loose:
            raise DatasetError(
                f"the folder {shown} is empty: expected one sub-folder per class (for example cats/ and dogs/) holding images"
            )
        n_img = sum(1 for e in loose if e.name.lower().endswith(IMAGE_EXTENSIONS))
        raise DatasetError(
            f"{shown} holds {n_img} images but no class sub-folders: put each class's images in its own "
            f"sub-folder (for example {shown}/cats/ and {shown}/dogs/)"
        )
    split_layout = all(e.name.lower() in SPLIT_FOLDERS for e in top)
    groups: list[tuple[int, list[os.DirEntry]]] = []  # (split code, class folders)
    if split_layout:
        for e in top:
            # Training images form the pool that validation/test fractions are cut
            # from when the folder has no validation/ or test/ of its own.
            code = SPLIT_FOLDERS[e.name.lower()]
            groups.append((UNASSIGNED if code == TRAIN else code, _subdirs(e.path)))
            if not groups[-1][1]:
                walker.notes.append(f"the {e.name}/ folder has no class sub-folders and was left out")
    else:
        groups.append((UNASSIGNED, top))
    if loose:
        walker.notes.append(
            f"{len(loose)} files directly in {shown} were ignored: images belong inside a class sub-folder"
        )
    class_files: dict[str, list[tuple[str, int]]] = {}
    for code, class_dirs in groups:
        for e in class_dirs:
            check_cancel(cancel)
            files = walker.images_under(e.path)
            class_files.setdefault(e.name, []).extend((f, code) for f in files)
    empty = sorted(name for name, files in class_files.items() if not files)
    for name in empty:
        walker.notes.append(f"class folder '{display_name(name)}' has no images and was left out")
    classes = sorted((n for n in class_files if class_files[n]), key=str.lower)
    if walker.bad_names:
        walker.notes.append(
            f"{walker.bad_names} names are not valid UTF-8; they are shown with \N{REPLACEMENT CHARACTER} but still used"
        )
    if len(classes) == 0:
        raise DatasetError(
            f"no images found in the class folders of {shown} "
            f"({', '.join(display_name(n) for n in empty) or 'none'}); accepted types: {', '.join(IMAGE_EXTENSIONS)}"
        )
    if len(classes) == 1:
        extra = f"; empty class folders: {', '.join(display_name(n) for n in empty)}" if empty else ""
        raise DatasetError(
            f"only one class found in {shown} ({display_name(classes[0])}): a classifier needs at least two "
            f"class sub-folders with images{extra}"
        )
    paths: list[str] = []
    labels: list[int] = []
    codes: list[int] = []
    for k, name in enumerate(classes):
        for f, code in class_files[name]:
            paths.append(f)
            labels.append(k)
            codes.append(code)
    report(progress, 1, 1, f"found {len(paths)} images in {len(classes)} classes")
    ds = FolderDataset(
        root_s,
        [display_name(c) for c in classes],
        paths,
        np.array(labels, np.int32),
        np.array(codes, np.int8),
        image_size=image_size,
        color_mode=color_mode,
        split=split,
        skipped=walker.skipped,
        notes=walker.notes,
        layout="split folders" if split_layout else "class folders",
    )
    return ds


class FolderDataset(Dataset):
    """Images in class folders on disk, loaded one at a time (never all in memory)."""

    def __init__(
        self,
        root: str,
        class_names: list[str],
        paths: list[str],
        labels: np.ndarray,
        fixed_split: np.ndarray,
        image_size: tuple[int, int] = DEFAULT_SIZE,
        color_mode: str = "rgb",
        split: SplitSpec | None = None,
        skipped: list[Skipped] | None = None,
        notes: list[str] | None = None,
        layout: str = "class folders",
    ) -> None:
        channels = 3 if color_mode == "rgb" else 1
        super().__init__(
            display_name(os.path.basename(os.path.normpath(root)) or root),
            class_names,
            labels,
            (int(image_size[0]), int(image_size[1]), channels),
            fixed_split,
            split,
        )
        self.root = root
        self.paths = list(paths)
        self.skipped: list[Skipped] = list(skipped or [])
        self.notes: list[str] = list(notes or [])
        self.verified = False
        #: "split folders" (train/validation/test) or "class folders".
        self.layout = layout

    def with_options(self, image_size: tuple[int, int] | None = None, color_mode: str | None = None) -> "FolderDataset":
        """A copy delivering ``image_size`` (H, W) and ``color_mode`` (the files are untouched)."""
        return self._with_stored_size(image_size, color_mode)  # type: ignore[return-value]

    def path(self, i: int) -> str:
        """File of sample ``i``."""
        return self.paths[self._check_index(i)]

    def describe(self, i: int) -> str:
        """Relative path and stored pixel size."""
        p = self.path(i)
        rel = display_name(os.path.relpath(p, self.root))
        try:
            from PIL import Image

            with Image.open(p) as img:
                return f"{rel} · {img.size[0]}x{img.size[1]} {img.mode}"
        except Exception:  # noqa: BLE001
            return f"{rel} · unreadable"

    def _raw_image(self, i: int) -> np.ndarray:
        img = to_mode(_open_image(self.paths[i]), "rgb" if self._channels == 3 else "grayscale")
        arr = np.asarray(img, np.float32) / 255.0
        return arr[..., None] if arr.ndim == 2 else arr

    def image(self, i: int) -> np.ndarray:
        """Sample ``i`` decoded, resized (bilinear) to :attr:`image_shape`, float32 in [0, 1]."""
        from PIL import Image

        j = self._check_index(i)
        h, w, c = self.image_shape
        img = to_mode(_open_image(self.paths[j], max_side=2 * max(h, w)), "rgb" if c == 3 else "grayscale")
        if img.size != (w, h):
            img = img.resize((w, h), Image.BILINEAR)
        arr = np.asarray(img, np.float32) / 255.0
        return arr[..., None] if arr.ndim == 2 else arr

    def thumbnail(self, i: int, size: int = 64) -> np.ndarray:
        """A small uint8 RGB preview, decoded at reduced size where the format allows."""
        img = to_mode(_open_image(self.path(i), max_side=size), "rgb")
        img.thumbnail((size, size))
        return np.asarray(img, np.uint8)

    def verify(
        self,
        deep: bool | None = None,
        progress: Optional[ProgressFn] = None,
        cancel: Optional[threading.Event] = None,
    ) -> "FolderDataset":
        """A copy without the files that fail a header check (or a full decode when ``deep``).

        ``deep=None`` decodes fully for folders up to :data:`DEEP_VERIFY_LIMIT`
        files. What was removed is added to :attr:`skipped`.
        """
        n = len(self.paths)
        if deep is None:
            deep = n <= DEEP_VERIFY_LIMIT
        keep = np.ones(n, bool)
        skipped = list(self.skipped)
        for i, p in enumerate(self.paths):
            if i % 50 == 0:
                check_cancel(cancel)
                report(progress, i, n, f"checking images {i}/{n}")
            reason = check_image_file(p, deep=deep)
            if reason is not None:
                keep[i] = False
                skipped.append(Skipped(p, reason))
        report(progress, n, n, f"checked {n} images")
        other = copy.copy(self)
        other.paths = [p for p, k in zip(self.paths, keep) if k]
        other._labels = self._labels[keep]
        other._fixed = self._fixed[keep]
        other._split_cache = None
        other.skipped = skipped
        other.notes = list(self.notes)
        other.verified = True
        counts = np.bincount(other._labels, minlength=len(self.class_names))
        for k in np.flatnonzero(counts == 0):
            other.notes.append(f"class '{self.class_names[k]}' has no readable images left")
        if len(other.paths) == 0:
            raise DatasetError(f"none of the {n} images in {self.name} could be read; see the skipped list")
        return other
