"""Export any data set as a folder the user owns: ``<subset>/<class>/<number>.<ext>``.

The layout is the one :func:`~convexplorer.core.datasets.folder.scan_folder`
reads back (train/validation/test folders of class folders), so an exported
set reopens as a folder with the same split. Images are written at their stored
size: a catalog set's own encoded bytes (JPEG or PNG, untouched), other sets as
PNG. The export is built in a hidden folder beside the target and renamed into
place at the end, so a cancelled or failed export leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path
from typing import Optional

from ..errors import Cancelled, DatasetError
from ..images import to_uint8
from ..progress import ProgressFn, check_cancel, report
from .base import SUBSETS, Dataset, convert_channels

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def safe_folder_name(name: str, taken: set[str]) -> str:
    """A class name made safe as a folder name on every system, and unique among ``taken`` (case-insensitive)."""
    base = _UNSAFE.sub("_", name).strip(" .") or "class"
    out, k = base, 2
    while out.lower() in taken:
        out = f"{base}_{k}"
        k += 1
    taken.add(out.lower())
    return out


def _image_bytes(dataset: Dataset, i: int) -> tuple[bytes, str]:
    """Sample ``i`` encoded: the stored bytes when the set keeps them, else a PNG of the stored pixels."""
    encoded = getattr(dataset, "encoded_image", None)
    if encoded is not None:
        data = encoded(i)
        ext = ".jpg" if data[:3] == b"\xff\xd8\xff" else ".png" if data[:8] == b"\x89PNG\r\n\x1a\n" else ".img"
        if ext != ".img":
            return data, ext
    import io

    from PIL import Image

    img = dataset.native_image(i)
    arr = to_uint8(img if img.shape[-1] == 3 else convert_channels(img, 1))
    pil = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue(), ".png"


def export_class_folders(
    dataset: Dataset,
    folder: str | os.PathLike[str],
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> Path:
    """Write every sample of ``dataset`` to ``folder/<subset>/<class>/<index>.<ext>``; return ``folder``.

    ``folder`` must not exist or be empty. Subsets without samples get no folder.
    """
    target = Path(folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise DatasetError(f"{target} is not empty: choose a new or empty folder for the export")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create {target.parent}: {exc.strerror or exc}") from None
    work = target.parent / f".{target.name}.exporting"
    shutil.rmtree(work, ignore_errors=True)
    taken: set[str] = set()
    class_dirs = [safe_folder_name(c, taken) for c in dataset.class_names]
    plan = [(s, dataset.subset_indices(s)) for s in SUBSETS]
    total = int(sum(len(idx) for _s, idx in plan))
    width = max(6, len(str(len(dataset))))
    done = 0
    try:
        for subset, idx in plan:
            made: set[int] = set()
            for i in idx:
                if done % 20 == 0:
                    check_cancel(cancel)
                    report(progress, done, total, f"exporting {subset}: {done} of {total} images")
                label = dataset.label(int(i))
                d = work / subset / class_dirs[label]
                if label not in made:
                    d.mkdir(parents=True, exist_ok=True)
                    made.add(label)
                data, ext = _image_bytes(dataset, int(i))
                (d / f"{int(i):0{width}d}{ext}").write_bytes(data)
                done += 1
        check_cancel(cancel)
        if target.exists():
            target.rmdir()
        os.replace(work, target)
    except Cancelled:
        shutil.rmtree(work, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise DatasetError(f"the export to {target} failed: {exc.strerror or exc}; nothing was left behind") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report(progress, total, total, f"exported {total} images to {target}")
    return target
