"""The TensorFlow Datasets catalog: image-classification sets browsed offline, prepared with progress, read lazily.

:func:`catalog_entries` reads the metadata snapshot shipped in
``resources/tfds_catalog.json`` (made by ``scripts/make_tfds_catalog.py``;
tfds itself only knows split sizes after a download), so the list works
offline and never imports tfds. :func:`open_catalog_dataset` prepares a set with
tfds into ``TFDS_DATA_DIR`` (default ``~/tensorflow_datasets``) as ArrayRecord
files, which allow random access, and returns a :class:`CatalogDataset`: it
reads one record at a time (thumbnails decode JPEGs at reduced size with
Pillow) and streams training batches through ``tf.data`` without loading the set
into memory. A set already prepared is opened offline, without tfds'
download code.

tfds reports progress only through tqdm bars: :func:`_tfds_hooks` swaps its
tqdm for one that forwards to our ``progress`` and raises :class:`Cancelled`
at the next update once ``cancel`` is set; tfds builds into an
``incomplete.*`` folder and only renames it when done, and we remove what a
failed or cancelled build leaves, so nothing half-written is ever taken for a
prepared set.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ..errors import Cancelled, ConvExplorerError, DatasetError, DownloadError
from ..progress import ProgressFn, check_cancel, report
from ..resources import resources_dir
from .base import TEST, UNASSIGNED, VALIDATION, Dataset, SplitSpec

#: File name of the shipped metadata snapshot (in ``resources/``).
SNAPSHOT_NAME = "tfds_catalog.json"
#: Default delivered size of sets whose images vary in size (as for image folders).
VARIABLE_SIZE_DEFAULT = (150, 150)
#: tfds split names and what they become here; other splits (svhn's "extra") are left out.
SPLIT_CODES = {"train": UNASSIGNED, "validation": VALIDATION, "valid": VALIDATION, "val": VALIDATION, "test": TEST}
#: Room kept free beyond the download and the prepared files.
DISK_MARGIN = 1.1
#: Tasks whose catalog sets carry targets besides a label (read by :class:`CatalogTaskDataset`).
TARGET_TASKS = ("detection", "segmentation")
#: Retries of a failed connection while preparing (tfds' own default, 10, waits minutes when offline).
DOWNLOAD_RETRIES = 3
_LABELS_CACHE = "convexplorer-labels-{split}.npy"


@dataclass(frozen=True)
class CatalogEntry:
    """One data set of the catalog as the snapshot describes it (nothing downloaded)."""

    name: str
    title: str = ""
    description: str = ""
    task: str = "classification"
    config: str | None = None
    version: str = ""
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    #: (H, W, C); H and W are None when the images vary in size.
    image_shape: tuple[int | None, int | None, int | None] = (None, None, 3)
    #: Images per tfds split ({} when the snapshot does not know them).
    splits: dict[str, int] = field(default_factory=dict)
    #: Total number of images (None when unknown).
    num_examples: int | None = None
    #: Bytes to download (None when unknown).
    download_size: int | None = None
    #: Bytes of the prepared files (None when unknown).
    dataset_size: int | None = None
    licence: str = ""
    citation: str = ""
    homepage: str = ""
    #: The files must be downloaded by hand (the builder's manual instructions).
    manual_download: bool = False
    #: The builder runs Apache Beam pipelines.
    needs_beam: bool = False
    image_key: str = "image"
    label_key: str = "label"
    #: Detection sets: the Sequence feature of objects, and its BBoxFeature and ClassLabel keys.
    objects_key: str = ""
    bbox_key: str = "bbox"
    object_label_key: str = "label"
    #: Segmentation sets: the mask Image feature, and the stored value of each class (class k is stored as
    #: ``mask_values[k]``; any other value becomes void, 255).
    mask_key: str = ""
    mask_values: tuple[int, ...] = ()
    #: How the stored annotations become ours (shown in the details).
    target_note: str = ""

    @property
    def builder_name(self) -> str:
        """The name tfds.builder takes: ``name`` or ``name/config``."""
        return f"{self.name}/{self.config}" if self.config else self.name

    @property
    def key(self) -> str:
        """What names this entry in the catalog: ``name`` for a classification set, ``builder_name:task`` otherwise
        (one tfds set may be listed for several tasks: oxford_iiit_pet and oxford_iiit_pet:segmentation)."""
        return self.name if self.task == "classification" else f"{self.builder_name}:{self.task}"

    def size_text(self) -> str:
        """The image size in words: "32x32 RGB" or "varies (RGB)"."""
        h, w, c = self.image_shape
        colour = {1: "grayscale", 3: "RGB", 4: "RGBA"}.get(c or 3, f"{c} channels")
        return f"{w}x{h} {colour}" if h and w else f"varies ({colour})"

    def matches(self, text: str) -> bool:
        """True when every word of ``text`` is in the name, title, task, description or class names."""
        hay = " ".join((self.name, self.title, self.task, self.description, " ".join(self.class_names[:200]))).lower()
        return all(word in hay for word in text.lower().split())


@dataclass(frozen=True)
class CatalogSnapshot:
    """The shipped snapshot: when and from what it was made, and its entries."""

    generated: _dt.date
    tfds_version: str
    source: str
    entries: tuple[CatalogEntry, ...]

    def age_days(self, today: _dt.date | None = None) -> int:
        """Days since the snapshot was made."""
        return max(0, ((today or _dt.date.today()) - self.generated).days)

    def age_text(self, today: _dt.date | None = None) -> str:
        """"snapshot of 2026-12-02 (tfds 4.9.10), 3 days old"."""
        days = self.age_days(today)
        old = "made today" if days == 0 else f"{days} day{'s' if days != 1 else ''} old"
        return f"snapshot of {self.generated.isoformat()} (tfds {self.tfds_version}), {old}"


def _entry_from_json(d: dict[str, Any]) -> CatalogEntry:
    shape = tuple(d.get("image_shape") or (None, None, 3))
    return CatalogEntry(
        name=str(d["name"]), title=str(d.get("title") or d["name"]), description=str(d.get("description", "")),
        task=str(d.get("task", "classification")), config=d.get("config"), version=str(d.get("version", "")),
        num_classes=int(d.get("num_classes") or 0), class_names=tuple(str(c) for c in d.get("class_names") or ()),
        image_shape=shape,  # type: ignore[arg-type]
        splits={str(k): int(v) for k, v in (d.get("splits") or {}).items()},
        num_examples=d.get("num_examples"), download_size=d.get("download_size"),
        dataset_size=d.get("dataset_size"), licence=str(d.get("licence", "")), citation=str(d.get("citation", "")),
        homepage=str(d.get("homepage", "")), manual_download=bool(d.get("manual_download")),
        needs_beam=bool(d.get("needs_beam")), image_key=str(d.get("image_key", "image")),
        label_key=str(d.get("label_key", "label")), objects_key=str(d.get("objects_key") or ""),
        bbox_key=str(d.get("bbox_key") or "bbox"), object_label_key=str(d.get("object_label_key") or "label"),
        mask_key=str(d.get("mask_key") or ""), mask_values=tuple(int(v) for v in d.get("mask_values") or ()),
        target_note=str(d.get("target_note") or ""),
    )


@functools.lru_cache(maxsize=4)
def load_snapshot(path: str | None = None) -> CatalogSnapshot:
    """Read the metadata snapshot (the shipped one by default); no tfds import, no network."""
    p = Path(path) if path else resources_dir() / SNAPSHOT_NAME
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
        generated = _dt.date.fromisoformat(raw["generated"])
        entries = tuple(_entry_from_json(e) for e in raw["entries"])
    except FileNotFoundError:
        raise DatasetError(f"the catalog snapshot {p} is missing: run scripts/make_tfds_catalog.py") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"the catalog snapshot {p} cannot be read ({exc}): run scripts/make_tfds_catalog.py") from None
    return CatalogSnapshot(generated, str(raw.get("tfds_version", "?")), str(raw.get("source", "")), entries)


def catalog_entries() -> list[CatalogEntry]:
    """The image data sets of the catalog, from the shipped snapshot (offline; the course's sets first)."""
    return list(load_snapshot().entries)


def catalog_entry(name: str) -> CatalogEntry | None:
    """The snapshot's entry called ``name`` (its :attr:`CatalogEntry.key`, or ``name[/config]`` with an optional
    ``:task``; a plain name prefers the classification entry), or None."""
    entries = load_snapshot().entries
    builder, _, task = name.partition(":")
    base = builder.split("/")[0]
    tiers = (
        lambda e: e.key == name,
        lambda e: e.builder_name == builder and (e.task == task if task else e.task == "classification"),
        lambda e: e.name == base and (e.task == task if task else e.task == "classification"),
        lambda e: not task and e.builder_name == builder,
        lambda e: not task and e.name == base,
    )
    for match in tiers:
        for e in entries:
            if match(e):
                return e
    return None


def builder_part(name: str) -> str:
    """``name`` without a ``:task`` suffix: what tfds calls the set ("voc/2007:detection" -> "voc/2007")."""
    return name.partition(":")[0]


def search_catalog(text: str) -> list[CatalogEntry]:
    """The entries whose name, description or class names hold every word of ``text``."""
    return [e for e in load_snapshot().entries if e.matches(text)]


def tfds_data_dir() -> Path:
    """Where tfds keeps prepared sets: ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``."""
    env = os.environ.get("TFDS_DATA_DIR", "").strip()
    return Path(env).expanduser() if env else Path.home() / "tensorflow_datasets"


def _prepared_dirs(name: str, data_dir: Path) -> list[Path]:
    """Prepared version folders of ``name`` (``name/[config/]version`` with a dataset_info.json), newest first."""
    base, _, config = builder_part(name).partition("/")
    entry = catalog_entry(name)
    if not config and entry is not None and entry.config:
        config = entry.config
    root = data_dir / base / config if config else data_dir / base
    if not root.is_dir():
        return []
    found = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(("incomplete", "."))
             and ".incomplete" not in d.name and (d / "dataset_info.json").is_file()]

    def version_key(d: Path) -> tuple:
        try:
            return tuple(int(v) for v in d.name.split("."))
        except ValueError:
            return (-1,)

    return sorted(found, key=version_key, reverse=True)


def is_prepared(name: str, data_dir: str | os.PathLike[str] | None = None) -> bool:
    """True when ``name`` is already prepared in ``data_dir`` (opens offline, nothing to download)."""
    return bool(_prepared_dirs(name, Path(data_dir) if data_dir else tfds_data_dir()))


def human_bytes(n: int | None) -> str:
    """1_234_567 -> "1.2 MB"; None -> "unknown"."""
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"  # pragma: no cover


# --- progress and cancel through tfds' tqdm ------------------------------------------------------
_TQDM_LOCK = threading.Lock()


def _progress_tqdm(progress: Optional[ProgressFn], cancel: Optional[threading.Event], min_interval: float = 0.05,
                   live: Optional[threading.Event] = None):
    """A tqdm class whose bars report to ``progress`` and raise :class:`Cancelled` once ``cancel`` is set.

    Once ``live`` is cleared (the prepare is over) its bars do nothing: tfds may keep a bar of a
    cancelled prepare and refresh it during the next one, which must not see the old cancel."""
    from tqdm import tqdm as _base

    last = [0.0]

    class ProgressTqdm(_base):  # type: ignore[misc, valid-type]
        monitor_interval = 0  # no tqdm monitor thread: nothing draws, nothing to watch
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # draw nothing on the terminal; we report instead
            super().__init__(*args, **kwargs)
            self.n = 0
            self._label = str(kwargs.get("desc") or "").rstrip(".").strip() or "preparing"
            self._report(force=True)

        def _report(self, force: bool = False) -> None:
            if live is not None and not live.is_set():
                return  # a bar left over from an earlier prepare
            check_cancel(cancel)
            now = time.monotonic()
            if not force and now - last[0] < min_interval:
                return
            last[0] = now
            total = int(self.total or 0)
            if total and "Dl Size" in self._label:
                label = f"downloading: {self.n:.0f} of {total} MiB"
            elif total:
                label = f"{self._label}: {int(self.n)} of {total}"
            else:
                label = f"{self._label}: {int(self.n)}"
            report(progress, min(int(self.n), total) if total else 0, total, label)

        def update(self, n: float | None = 1) -> bool | None:
            self.n += n or 0
            self._report()
            return None

        def __iter__(self) -> Iterator[Any]:
            for item in self.iterable:
                yield item
                self.update(1)

        def refresh(self, *args: Any, **kwargs: Any) -> None:
            self._report()

        def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
            self._label = str(desc or self._label).rstrip(".").strip()

    return ProgressTqdm


@contextlib.contextmanager
def _tfds_hooks(progress: Optional[ProgressFn], cancel: Optional[threading.Event]) -> Iterator[None]:
    """For one prepare: route every tfds progress bar into ``progress`` (and ``cancel``), and give it a downloader
    of its own whose threads are stopped afterwards (tfds otherwise keeps one thread pool for the whole process)."""
    import types

    from tensorflow_datasets.core.download import download_manager, downloader
    from tensorflow_datasets.core.utils import tqdm_utils

    made: list[Any] = []

    def fresh_downloader(*args: Any, **kwargs: Any) -> Any:
        d = downloader._Downloader(*args, **kwargs)
        made.append(d)
        return d

    live = threading.Event()
    live.set()
    with _TQDM_LOCK:
        saved = tqdm_utils.tqdm_lib, tqdm_utils._active, download_manager.get_downloader, downloader.MAX_RETRIES
        tqdm_utils.tqdm_lib = types.SimpleNamespace(tqdm=_progress_tqdm(progress, cancel, live=live))
        tqdm_utils._active = True
        download_manager.get_downloader = fresh_downloader
        # tfds retries a refused connection 10 times with growing pauses (over 3 minutes offline); 3 take ~2 s.
        downloader.MAX_RETRIES = DOWNLOAD_RETRIES
        try:
            yield
        finally:
            live.clear()
            (tqdm_utils.tqdm_lib, tqdm_utils._active, download_manager.get_downloader,
             downloader.MAX_RETRIES) = saved
            for d in made:
                d._executor.shutdown(wait=True, cancel_futures=True)


# --- preparing ------------------------------------------------------------------------------------
def _free_bytes(folder: Path) -> int:
    """Free bytes on the disk that holds ``folder`` (or its nearest existing parent)."""
    p = folder
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def check_disk_space(entry: CatalogEntry | None, data_dir: Path) -> None:
    """Raise :class:`DatasetError` when ``data_dir``'s disk lacks room for the download and the prepared files."""
    if entry is None or entry.download_size is None:
        return
    prepared = entry.dataset_size if entry.dataset_size is not None else entry.download_size
    need = int((entry.download_size + prepared) * DISK_MARGIN)
    free = _free_bytes(data_dir)
    if free < need:
        raise DatasetError(
            f"not enough free disk space for {entry.name}: it needs about {human_bytes(need)} "
            f"(download {human_bytes(entry.download_size)} + prepared {human_bytes(prepared)}), and {data_dir} has "
            f"{human_bytes(free)} free. Free some space, or set TFDS_DATA_DIR to a folder on a larger disk."
        )


def _clean_leftovers(data_dir: Path, name: str) -> None:
    """Remove the unfinished build folders and partial downloads a failed or cancelled prepare left."""
    base = data_dir / builder_part(name).split("/")[0]
    if base.is_dir():
        for d in base.rglob("*"):
            if d.is_dir() and (d.name.startswith("incomplete.") or ".incomplete" in d.name):
                shutil.rmtree(d, ignore_errors=True)
        with contextlib.suppress(OSError):
            if not any(base.iterdir()):
                base.rmdir()
    downloads = data_dir / "downloads"
    if downloads.is_dir():
        for d in downloads.iterdir():
            if d.name.startswith("incomplete.") or ".tmp." in d.name or d.name.endswith((".incomplete", ".tmp")):
                (shutil.rmtree if d.is_dir() else os.unlink)(d)  # type: ignore[operator]


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:limit]


def _explain(exc: BaseException, name: str, data_dir: Path) -> ConvExplorerError:
    """A message the user can act on for a tfds failure (never a traceback)."""
    manual = data_dir / "downloads" / "manual"
    text = str(exc)
    kind = type(exc).__name__
    if kind == "NonMatchingChecksumError" or "checksum" in text.lower() and "match" in text.lower():
        return DownloadError(
            f"{name}: a downloaded file does not match the checksum tfds expects (the file changed upstream; known "
            f"for cats_vs_dogs, tensorflow/datasets#3925). The bad file was not kept. Update tensorflow-datasets "
            f"(pip install -U tensorflow-datasets), or put the right file in {manual} and try again."
        )
    if "manual" in text.lower() and ("manual_dir" in text or "Manual directory" in text or "manually" in text.lower()):
        return DatasetError(
            f"{name} must be downloaded by hand (its licence does not let tfds fetch it): follow the instructions on "
            f"its homepage, put the files in {manual}, then press Download and prepare again."
        )
    if "beam" in text.lower() or kind.lower().startswith("beam"):
        return DatasetError(
            f"{name} is built with Apache Beam, which ConvExplorer does not run. Prepare it once in a terminal "
            f"(pip install apache-beam; tfds build {name} --data_dir {data_dir}); the catalog then opens it offline."
        )
    network = ("ConnectionError", "Timeout", "SSLError", "URLError", "HTTPError", "DownloadError", "MaxRetryError",
               "gaierror", "NewConnectionError")
    if any(n in kind for n in network) or any(n in text for n in network) or "Name or service not known" in text:
        return DownloadError(
            f"could not download {name}: {_first_line(exc, 200)}. You may be offline, or the address moved upstream "
            f"(known for beans, tensorflow/datasets#5073). Check the connection and update tensorflow-datasets, or "
            f"put the files in {manual}."
        )
    if isinstance(exc, OSError) and exc.errno == 28:
        return DatasetError(f"the disk holding {data_dir} is full: free some space or set TFDS_DATA_DIR elsewhere")
    return DatasetError(f"preparing {name} failed ({kind}: {_first_line(exc)}); the data folder is {data_dir}")


def prepare_catalog_set(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> Path:
    """Download and prepare ``name`` with tfds (ArrayRecord files) unless already prepared; return its folder."""
    folder = Path(data_dir) if data_dir else tfds_data_dir()
    found = _prepared_dirs(name, folder)
    if found:
        return found[0]
    entry = catalog_entry(name)
    if entry is not None and entry.needs_beam:
        raise _explain(RuntimeError("Apache Beam"), name, folder)
    check_cancel(cancel)
    check_disk_space(entry, folder)
    report(progress, 0, 0, f"starting tfds for {name}")
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DatasetError("the catalog needs tensorflow-datasets: pip install tensorflow-datasets") from None
    try:
        builder = tfds.builder(entry.builder_name if entry else builder_part(name), data_dir=str(folder), file_format="array_record")
    except Exception as exc:  # noqa: BLE001 - unknown name, bad config: say which
        raise DatasetError(f"tfds does not know the data set {name!r} ({_first_line(exc, 200)})") from None
    if type(builder).__name__ == "BeamBasedBuilder" or any(c.__name__ == "BeamBasedBuilder" for c in type(builder).__mro__):
        raise _explain(RuntimeError("Apache Beam"), name, folder)
    config = tfds.download.DownloadConfig(manual_dir=str(folder / "downloads" / "manual"))
    try:
        with _tfds_hooks(progress, cancel):
            builder.download_and_prepare(download_config=config)
    except Cancelled:
        _clean_leftovers(folder, name)
        raise
    except ConvExplorerError:
        _clean_leftovers(folder, name)
        raise
    except Exception as exc:  # noqa: BLE001 - every tfds failure becomes a message, never a traceback
        if _cancelled_inside(exc):
            _clean_leftovers(folder, name)
            raise Cancelled() from None
        _clean_leftovers(folder, name)
        raise _explain(exc, name, folder) from None
    found = _prepared_dirs(name, folder) or ([Path(builder.data_dir)] if Path(builder.data_dir, "dataset_info.json").is_file() else [])
    if not found:
        raise DatasetError(f"tfds reported {name} prepared but {folder} holds no finished copy of it")
    return found[0]


def _cancelled_inside(exc: BaseException) -> bool:
    """True when ``exc`` wraps our Cancelled (tfds' download threads re-raise it inside their own errors)."""
    seen = 0
    e: BaseException | None = exc
    while e is not None and seen < 10:
        if isinstance(e, Cancelled) or "Cancelled" in type(e).__name__ and "cancelled" in str(e):
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


# --- reading ------------------------------------------------------------------------------------
def open_catalog_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
    split: SplitSpec | None = None,
    entry: CatalogEntry | None = None,
) -> "CatalogDataset":
    """The catalog set ``name`` (an entry's key: "mnist", "voc/2007:detection", "oxford_iiit_pet:segmentation") as a
    :class:`Dataset`, downloading and preparing it first when needed; ``entry`` replaces the snapshot's description."""
    entry = entry or catalog_entry(name)
    prepared = prepare_catalog_set(entry.builder_name if entry else name, data_dir, progress, cancel)
    return CatalogDataset.from_directory(prepared, progress=progress, cancel=cancel, split=split, entry=entry)


def _decode(data: bytes, max_side: int | None = None) -> np.ndarray:
    """Encoded image bytes -> float32 H x W x C in [0, 1] (C = 1 or 3); JPEGs decode at reduced size for ``max_side``."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if max_side is not None and img.format == "JPEG":
                img.draft("RGB", (max_side, max_side))
            img.load()
            if img.mode not in ("L", "RGB"):
                img = img.convert("RGB" if "A" not in img.mode or img.mode == "RGBA" else "L")
            arr = np.asarray(img, np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DatasetError(f"a stored image cannot be decoded ({exc})") from None
    return arr[..., None] if arr.ndim == 2 else arr


def _open_prepared(folder: Path) -> tuple[Any, Any]:
    """tfds' reader of a prepared folder and its DatasetInfo (DatasetError when it is not one)."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder_from_directory(str(folder))
        return builder, builder.info
    except Exception as exc:  # noqa: BLE001
        raise DatasetError(f"{folder} is not a prepared tfds data set ({_first_line(exc, 200)})") from None


def _check_array_record(info: Any, folder: Path) -> None:
    """Refuse a set stored in a format that cannot be read by index (TFRecord)."""
    if "array_record" not in str(info.file_format).lower():
        raise DatasetError(
            f"{info.name} in {folder} was prepared as {info.file_format}, which cannot be read by index: delete "
            f"{folder} and prepare it again from the catalog (it then uses ArrayRecord files)"
        )


def _native_shape(image_feature: Any) -> tuple[tuple[int, int, int], bool]:
    """(H, W, C) a set's images are delivered at before options, and whether the stored sizes vary."""
    shape = tuple(image_feature.shape)
    channels = int(shape[-1] or 3)
    if channels not in (1, 3):
        channels = 3
    variable = shape[0] is None or shape[1] is None
    if variable:
        return (VARIABLE_SIZE_DEFAULT[0], VARIABLE_SIZE_DEFAULT[1], channels), True
    return (int(shape[0]), int(shape[1]), channels), False


def _split_names(info: Any) -> tuple[list[str], list[str]]:
    """The tfds splits read (train, validation, test order) and those left out."""
    names = [s for s in info.splits.keys() if s in SPLIT_CODES]
    left_out = [s for s in info.splits.keys() if s not in SPLIT_CODES]
    if not names:
        raise DatasetError(f"{info.name} has no train, validation or test split (it has {', '.join(info.splits)})")
    names.sort(key=lambda s: ("train", "validation", "valid", "val", "test").index(s))
    return names, left_out


def _split_sources(builder: Any, info: Any, decoders: dict) -> tuple[list[str], list[str], list[Any], list[int], np.ndarray]:
    """The splits read and those left out (:func:`_split_names`), a random-access source a split, the sample
    offsets where each split starts (and the total at the end) and every sample's split code."""
    names, left_out = _split_names(info)
    sources = [builder.as_data_source(split=s, decoders=decoders) for s in names]
    offsets = [0]
    for src in sources:
        offsets.append(offsets[-1] + len(src))
    codes = np.concatenate([np.full(len(src), SPLIT_CODES[s], np.int8) for s, src in zip(names, sources)])
    return names, left_out, sources, offsets, codes


def _split_notes(left_out: Sequence[str], fixed: np.ndarray) -> list[str]:
    """What the user should know about the splits: those left out, and validation or test cut from train."""
    notes = []
    if left_out:
        notes.append(f"split{'s' if len(left_out) > 1 else ''} {', '.join(left_out)} left out")
    kinds = set(np.unique(fixed).tolist())
    if VALIDATION not in kinds:
        notes.append("no validation split of its own: validation is cut from train")
    if TEST not in kinds:
        notes.append("no test split of its own: test is cut from train")
    return notes


class CatalogDataset(Dataset):
    """A prepared tfds set read one record at a time (ArrayRecord random access); never held in memory."""

    task = "classification"

    def __init__(
        self,
        name: str,
        class_names: Sequence[str],
        labels: np.ndarray,
        fixed_split: np.ndarray,
        native_shape: tuple[int, int, int],
        sources: Sequence[Any],
        offsets: np.ndarray,
        image_key: str,
        split_names: Sequence[str],
        folder: Path,
        variable_size: bool,
        split: SplitSpec | None = None,
        notes: Sequence[str] = (),
    ) -> None:
        super().__init__(name, class_names, labels, native_shape, fixed_split, split)
        self._sources = list(sources)
        self._offsets = np.asarray(offsets, np.int64)
        self._image_key = image_key
        #: The tfds splits read, in the order their samples are numbered.
        self.split_names = list(split_names)
        #: The prepared folder the records come from.
        self.folder = folder
        #: True when the stored images vary in size (delivered at the chosen size).
        self.variable_size = variable_size
        #: What the user should know (carved validation split, left-out splits).
        self.notes = list(notes)

    @classmethod
    def from_directory(
        cls,
        folder: str | os.PathLike[str],
        progress: Optional[ProgressFn] = None,
        cancel: Optional[threading.Event] = None,
        split: SplitSpec | None = None,
        entry: CatalogEntry | None = None,
    ) -> "CatalogDataset":
        """Open a prepared tfds folder (``data_dir/name/[config/]version``) without its builder code; an entry of
        another task than classification opens as a :class:`CatalogTaskDataset`."""
        if entry is not None and entry.task in TARGET_TASKS and not issubclass(cls, CatalogTaskDataset):
            return CatalogTaskDataset.from_directory(folder, progress, cancel, split, entry)
        import tensorflow_datasets as tfds

        folder = Path(folder)
        builder, info = _open_prepared(folder)
        features = info.features
        image_key = entry.image_key if entry else "image"
        label_key = entry.label_key if entry else "label"
        if image_key not in features or label_key not in features:
            keys = ", ".join(features.keys())
            raise DatasetError(f"{info.name} has no {image_key!r} and {label_key!r} features (it has {keys}): "
                               "it does not open as an image classification set")
        label_feature = features[label_key]
        try:
            class_names = list(label_feature.names)
        except AttributeError:
            raise DatasetError(f"{info.name}'s {label_key!r} is not a class label") from None
        _check_array_record(info, folder)
        native, variable = _native_shape(features[image_key])
        decoders = {image_key: tfds.decode.SkipDecoding()}
        names, left_out, sources, offsets, fixed = _split_sources(builder, info, decoders)
        labels = [_read_labels(src, folder, s, label_key, progress, cancel) for s, src in zip(names, sources)]
        ds = cls(
            entry.title if entry else info.name, class_names, np.concatenate(labels), fixed,
            native, sources, np.asarray(offsets), image_key, names, folder, variable, split,
            _split_notes(left_out, fixed),
        )
        report(progress, 1, 1, f"{ds.name}: {len(ds)} images")
        return ds

    # --- records ---------------------------------------------------------------------------
    def _locate(self, i: int) -> tuple[int, int]:
        k = int(np.searchsorted(self._offsets, i, side="right") - 1)
        return k, int(i - self._offsets[k])

    def record(self, i: int) -> tuple[str, int]:
        """The tfds split sample ``i`` comes from and its index within that split."""
        k, j = self._locate(self._check_index(i))
        return self.split_names[k], j

    def encoded_image(self, i: int) -> bytes:
        """The stored (encoded: PNG or JPEG) bytes of sample ``i``."""
        k, j = self._locate(self._check_index(i))
        return bytes(self._sources[k][j][self._image_key])

    def _raw_image(self, i: int) -> np.ndarray:
        return self._channels_of(_decode(self.encoded_image(i)))

    def _channels_of(self, img: np.ndarray) -> np.ndarray:
        from .base import convert_channels

        return convert_channels(img, self._native_shape[2])

    def native_image(self, i: int) -> np.ndarray:
        """Sample ``i`` at its stored size."""
        return self._raw_image(self._check_index(i))

    def thumbnail(self, i: int, size: int = 64) -> np.ndarray:
        """A small uint8 RGB preview, decoded at reduced size where the format allows (JPEG)."""
        from PIL import Image

        from ..images import to_uint8
        from .base import convert_channels

        img = _decode(self.encoded_image(i), max_side=size)
        h, w = img.shape[:2]
        if max(h, w) > size:
            pil = Image.fromarray(to_uint8(convert_channels(img, 3)))
            pil.thumbnail((size, size))
            return np.asarray(pil, np.uint8)
        return to_uint8(convert_channels(img, 3))

    def describe(self, i: int) -> str:
        """Split, number within it and stored size."""
        j = self._check_index(i)
        k, local = self._locate(j)
        h, w, c = self.native_image(j).shape
        return f"{self.split_names[k]} #{local} · {w}x{h} {'RGB' if c == 3 else 'grayscale'}"

    def with_options(self, image_size: tuple[int, int] | None = None, color_mode: str | None = None) -> "CatalogDataset":
        """A copy delivering ``image_size`` (H, W) and ``color_mode``; sets of varying size take it as their size."""
        if not self.variable_size or image_size is None:
            return super().with_options(image_size, color_mode)  # type: ignore[return-value]
        return self._with_stored_size(image_size, color_mode)  # type: ignore[return-value]

    def _tf_source(self, idx: np.ndarray, shuffle: bool, seed: int):
        """Records read in Python (bytes only), decoded and resized by TensorFlow ops in parallel."""
        import tensorflow as tf

        labels = self._source_labels()
        stored_c = self._native_shape[2]
        out_h, out_w = self.image_shape[:2]
        channels = self._channels

        def read_many(batch):
            rows = [int(i) for i in batch]
            return (np.array([self.encoded_image(i) for i in rows], dtype=object),
                    np.asarray(labels[rows], np.int32))

        def decode(data, y):
            x = tf.io.decode_image(data, channels=stored_c, expand_animations=False)
            x = tf.cast(x, tf.float32) / 255.0
            if stored_c == 1 and channels == 3:
                x = tf.image.grayscale_to_rgb(x)
            elif stored_c == 3 and channels == 1:
                x = tf.image.rgb_to_grayscale(x)
            x = tf.image.resize(x, (out_h, out_w), method="bilinear")
            return tf.ensure_shape(tf.clip_by_value(x, 0.0, 1.0), (out_h, out_w, channels)), tf.ensure_shape(y, ())

        ds = tf.data.Dataset.from_tensor_slices(idx.astype(np.int64))
        if shuffle:
            ds = ds.shuffle(len(idx), seed=seed, reshuffle_each_iteration=True)
        # Records are read in groups (one Python call per 64, not per image), then decoded one by one in parallel.
        ds = ds.batch(64).map(lambda i: tf.numpy_function(read_many, [i], (tf.string, tf.int32), stateful=False),
                              num_parallel_calls=tf.data.AUTOTUNE).unbatch()
        return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)


def _read_labels(source: Any, folder: Path, split: str, label_key: str, progress: Optional[ProgressFn],
                 cancel: Optional[threading.Event]) -> np.ndarray:
    """Every label of one split, read once (record by record, images left encoded) and cached beside the records."""
    cache = folder / _LABELS_CACHE.format(split=split)
    n = len(source)
    if cache.is_file():
        try:
            labels = np.load(cache, allow_pickle=False)
            if labels.shape == (n,):
                return labels.astype(np.int32)
        except (OSError, ValueError):
            pass
    labels = np.empty(n, np.int32)
    chunk = 1024
    for start in range(0, n, chunk):
        check_cancel(cancel)
        report(progress, start, n, f"reading the labels of {split}: {start} of {n}")
        stop = min(n, start + chunk)
        for k, example in enumerate(source.__getitems__(list(range(start, stop)))):
            labels[start + k] = int(example[label_key])
    try:
        tmp = cache.with_name(cache.name + ".tmp.npy")
        np.save(tmp, labels, allow_pickle=False)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only data folder: the labels are read again next time
    return labels


# --- detection and segmentation sets --------------------------------------------------------------
_OBJECTS_CACHE = "convexplorer-objects-{split}.npz"
_MASKS_CACHE = "convexplorer-masks-{split}.npz"
#: The mask value meaning "not labelled" (as in core.datasets.annotations); never a class.
VOID = 255


def fit_fraction_boxes(yxyx: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """tfds boxes ``[ymin, xmin, ymax, xmax]`` (fractions) as our ``[x0, y0, x1, y1]`` fractions: boxes partly outside
    the image are clipped to it, boxes with reversed corners, entirely outside or without area are dropped.

    Returns (kept boxes K x 4 float32, kept mask M bool, number clipped), as ``annotations._fit_box`` does in pixels.
    """
    b = np.asarray(yxyx, np.float64).reshape(-1, 4)
    x0, y0, x1, y1 = b[:, 1], b[:, 0], b[:, 3], b[:, 2]
    finite = np.isfinite(b).all(axis=1)
    ordered = (x1 >= x0) & (y1 >= y0)
    inside = (x1 > 0) & (y1 > 0) & (x0 < 1) & (y0 < 1)
    xyxy = np.stack([x0, y0, x1, y1], axis=1)
    clipped = np.clip(np.nan_to_num(xyxy), 0.0, 1.0)
    area = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    keep = finite & ordered & inside & area
    n_clipped = int(np.sum(keep & np.any(clipped != np.nan_to_num(xyxy), axis=1)))
    return clipped[keep].astype(np.float32), keep, n_clipped


def _read_object_split(source: Any, folder: Path, split: str, entry: CatalogEntry, progress: Optional[ProgressFn],
                       cancel: Optional[threading.Event]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every record's objects of one split as stored (counts N, boxes yxyx sum(counts) x 4, classes), read once
    (images left encoded) and cached beside the records."""
    cache = folder / _OBJECTS_CACHE.format(split=split)
    n = len(source)
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                counts, boxes, classes = z["counts"], z["boxes"], z["classes"]
            if counts.shape == (n,) and len(boxes) == len(classes) == int(counts.sum()):
                return counts.astype(np.int64), boxes.astype(np.float32), classes.astype(np.int64)
        except (OSError, ValueError, KeyError):
            pass
    counts = np.zeros(n, np.int64)
    boxes: list[np.ndarray] = []
    classes: list[np.ndarray] = []
    chunk = 256
    for start in range(0, n, chunk):
        check_cancel(cancel)
        report(progress, start, n, f"reading the boxes of {split}: {start} of {n}")
        stop = min(n, start + chunk)
        for k, example in enumerate(source.__getitems__(list(range(start, stop)))):
            objs = example[entry.objects_key]
            b = np.asarray(objs[entry.bbox_key], np.float32).reshape(-1, 4)
            c = np.asarray(objs[entry.object_label_key], np.int64).reshape(-1)
            if len(b) != len(c):  # a malformed record: no usable objects
                b, c = np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
            counts[start + k] = len(c)
            boxes.append(b)
            classes.append(c)
    all_boxes = np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32)
    all_classes = np.concatenate(classes) if classes else np.zeros(0, np.int64)
    _save_cache(cache, counts=counts, boxes=all_boxes, classes=all_classes)
    return counts, all_boxes, all_classes


def _save_cache(cache: Path, **arrays: np.ndarray) -> None:
    """Write ``arrays`` to ``cache`` atomically; a read-only data folder only means reading again next time."""
    try:
        tmp = cache.with_name(cache.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, cache)
    except OSError:
        pass


def _mask_lut(values: Sequence[int]) -> np.ndarray:
    """The table from stored mask values (0..65535) to classes: class k where ``values[k]`` is stored, else void;
    identity (values are classes) when ``values`` is empty."""
    if not values:
        lut = np.full(65536, VOID, np.uint8)
        lut[:256] = np.arange(256, dtype=np.uint8)
        return lut
    lut = np.full(65536, VOID, np.uint8)
    for k, v in enumerate(values):
        lut[int(v)] = k
    return lut


def decode_mask(data: bytes, lut: np.ndarray) -> np.ndarray:
    """A stored mask PNG as an H x W uint8 class mask, through ``lut`` (stored value -> class, 255 void)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if img.mode in ("RGB", "RGBA", "LA"):
                img = img.getchannel(0)
            arr = np.asarray(img)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DatasetError(f"a stored mask cannot be decoded ({exc})") from None
    arr = np.asarray(arr)
    if arr.ndim == 3:
        arr = arr[..., 0]
    return lut[np.clip(arr.astype(np.int64), 0, len(lut) - 1)]


def resize_mask_nearest(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A class mask resized to ``shape`` (H, W) by nearest neighbour: output pixel centre ``(i + 0.5) * h0 / h``
    falls in source pixel ``floor`` of it, in exact integer arithmetic (Pillow's floats pick the pixel before
    when a centre lands on a boundary)."""
    h0, w0 = mask.shape[:2]
    h, w = int(shape[0]), int(shape[1])
    if (h0, w0) == (h, w):
        return mask
    rows = (2 * np.arange(h, dtype=np.int64) + 1) * h0 // (2 * h)
    cols = (2 * np.arange(w, dtype=np.int64) + 1) * w0 // (2 * w)
    return mask[rows[:, None], cols[None, :]]


def _image_size(data: bytes) -> tuple[int, int]:
    """(height, width) of encoded image bytes, from the header only."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return int(img.size[1]), int(img.size[0])


def _read_mask_split(source: Any, folder: Path, split: str, entry: CatalogEntry, num_classes: int,
                     progress: Optional[ProgressFn],
                     cancel: Optional[threading.Event]) -> tuple[np.ndarray, np.ndarray]:
    """Every record's label (the class covering most pixels besides background and void; 0 when none) and whether
    its mask is usable (decodes, same size as its image), read once and cached beside the records."""
    cache = folder / _MASKS_CACHE.format(split=split)
    n = len(source)
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                labels, usable, key = z["labels"], z["usable"], str(z["values"].tolist())
            if labels.shape == usable.shape == (n,) and key == str(list(entry.mask_values)):
                return labels.astype(np.int32), usable.astype(bool)
        except (OSError, ValueError, KeyError):
            pass
    lut = _mask_lut(entry.mask_values)
    labels = np.zeros(n, np.int32)
    usable = np.zeros(n, bool)
    chunk = 64
    for start in range(0, n, chunk):
        check_cancel(cancel)
        report(progress, start, n, f"reading the masks of {split}: {start} of {n}")
        stop = min(n, start + chunk)
        for k, example in enumerate(source.__getitems__(list(range(start, stop)))):
            try:
                m = decode_mask(bytes(example[entry.mask_key]), lut)
                if m.shape != _image_size(bytes(example[entry.image_key])):
                    continue
            except (DatasetError, OSError, ValueError):
                continue
            hist = np.bincount(m.ravel(), minlength=256)[1:num_classes]
            labels[start + k] = int(np.argmax(hist)) + 1 if hist.any() else 0
            usable[start + k] = True
    _save_cache(cache, labels=labels, usable=usable, values=np.asarray(list(entry.mask_values), np.int64))
    return labels, usable


class CatalogTaskDataset(CatalogDataset):
    """A prepared tfds detection or segmentation set: images read lazily as in :class:`CatalogDataset`, with
    objects (boxes and classes) or class masks.

    Detection: tfds' ``BBoxFeature`` boxes (``[ymin, xmin, ymax, xmax]``, fractions of the image) are read
    once at opening with the labels (images stay encoded; cached beside the records) and kept in memory as
    ``[x0, y0, x1, y1]`` fractions, so ``objects(i)`` is in pixels of whatever :attr:`image_shape` the set
    delivers. Segmentation: each mask is decoded when asked for (``mask(i)``, nearest-neighbour resized to
    :attr:`image_shape`); opening decodes every mask once to label the images (the class covering most
    pixels), cached too. ``all_masks`` reads every mask (training asks for it).

    What cannot be used is skipped and counted in :attr:`notes`, as ``core.datasets.annotations`` does:
    boxes with reversed corners, outside the image or without area; objects of an unknown class; images
    left without objects (VOC 2012's test split has no public annotations); masks that do not decode or
    whose size differs from their image's.
    """

    def __init__(
        self,
        *args: Any,
        task: str,
        records: np.ndarray,
        objects: list[tuple[np.ndarray, np.ndarray]] | None = None,
        mask_key: str = "",
        mask_values: Sequence[int] = (),
        skipped_objects: int = 0,
        skipped_images: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.task = task
        self._records = np.asarray(records, np.int64)
        self._objects = objects
        self._mask_key = mask_key
        self._lut = _mask_lut(mask_values)
        #: Objects left out (bad boxes, unknown classes), and images left out (no usable objects, bad masks).
        self.skipped_objects = int(skipped_objects)
        self.skipped_images = int(skipped_images)

    @classmethod
    def from_directory(
        cls,
        folder: str | os.PathLike[str],
        progress: Optional[ProgressFn] = None,
        cancel: Optional[threading.Event] = None,
        split: SplitSpec | None = None,
        entry: CatalogEntry | None = None,
    ) -> "CatalogTaskDataset":
        """Open a prepared detection or segmentation set as ``entry`` describes it (which features hold what)."""
        import tensorflow_datasets as tfds

        if entry is None or entry.task not in TARGET_TASKS:
            raise DatasetError("a detection or segmentation set opens from its catalog entry, which says where its "
                               "boxes or masks are")
        folder = Path(folder)
        builder, info = _open_prepared(folder)
        features = info.features
        detection = entry.task == "detection"
        target_key = entry.objects_key if detection else entry.mask_key
        missing = [k for k in (entry.image_key, target_key) if not k or k not in features]
        if missing:
            raise DatasetError(f"{info.name} has no {' or '.join(repr(k) for k in missing)} feature (it has "
                               f"{', '.join(features.keys())}): it cannot be read as a {entry.task} set")
        if detection:
            inner = features[entry.objects_key].feature
            try:
                class_names = list(inner[entry.object_label_key].names)
            except (AttributeError, KeyError):
                raise DatasetError(f"{info.name}'s {entry.objects_key!r} has no class label "
                                   f"{entry.object_label_key!r}") from None
        else:
            class_names = list(entry.class_names)
            if not class_names:
                raise DatasetError(f"the catalog entry of {info.name} names no mask classes")
        _check_array_record(info, folder)
        native, variable = _native_shape(features[entry.image_key])
        decoders = {entry.image_key: tfds.decode.SkipDecoding()}
        if not detection:
            decoders[entry.mask_key] = tfds.decode.SkipDecoding()
        names, left_out, sources, offsets, codes = _split_sources(builder, info, decoders)
        labels_all, keep_all = [], []
        objects: list[tuple[np.ndarray, np.ndarray]] = []
        bad_objects = clipped = no_objects = bad_masks = 0
        k_classes = len(class_names)
        for s, src in zip(names, sources):
            n = len(src)
            if detection:
                counts, boxes, classes = _read_object_split(src, folder, s, entry, progress, cancel)
                # one fit for the whole split, then each record's share of it
                fitted, ok, clipped_split = fit_fraction_boxes(boxes)
                clipped += clipped_split
                known = (classes >= 0) & (classes < k_classes)
                good = ok & known
                bad_objects += int(np.sum(~good))
                xyxy_all = np.zeros((len(boxes), 4), np.float32)
                xyxy_all[ok] = fitted
                starts = np.concatenate([[0], np.cumsum(counts)])
                keep = np.zeros(n, bool)
                labels = np.zeros(n, np.int32)
                for r in range(n):
                    sl = slice(starts[r], starts[r + 1])
                    g = good[sl]
                    xyxy, c = xyxy_all[sl][g], classes[sl][g].astype(np.int32)
                    if len(c) == 0:
                        no_objects += 1
                        continue
                    keep[r] = True
                    area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
                    labels[r] = int(c[int(np.argmax(area))])
                    objects.append((xyxy, c))
            else:
                labels, keep = _read_mask_split(src, folder, s, entry, k_classes, progress, cancel)
                bad_masks += int(np.sum(~keep))
            labels_all.append(labels)
            keep_all.append(keep)
        keep = np.concatenate(keep_all)
        records = np.flatnonzero(keep)
        if len(records) == 0:
            raise DatasetError(f"{info.name} has no image with usable {'objects' if detection else 'masks'}")
        fixed = codes[keep]
        notes = _split_notes(left_out, fixed)
        if bad_objects:
            notes.append(f"{bad_objects} object{'s' if bad_objects != 1 else ''} skipped (boxes outside the image, without area or reversed, or of an "
                         "unknown class)")
        if clipped:
            notes.append(f"{clipped} boxes reached outside their image and were clipped to its edges")
        if no_objects:
            notes.append(f"{no_objects} image{'s' if no_objects != 1 else ''} without usable objects skipped"
                         + (" (a split without public annotations)" if any(
                             not keep_all[k].any() for k in range(len(names))) else ""))
        if bad_masks:
            notes.append(f"{bad_masks} image{'s' if bad_masks != 1 else ''} skipped: the mask does not decode or "
                         "differs in size from the image")
        if entry.target_note:
            notes.append(entry.target_note)
        ds = cls(
            entry.title, class_names, np.concatenate(labels_all)[keep], fixed, native, sources, np.asarray(offsets),
            entry.image_key, names, folder, variable, split, notes,
            task=entry.task, records=records, objects=objects if detection else None,
            mask_key="" if detection else entry.mask_key, mask_values=entry.mask_values,
            skipped_objects=bad_objects, skipped_images=no_objects + bad_masks,
        )
        report(progress, 1, 1, f"{ds.name}: {len(ds)} images")
        return ds

    def _locate(self, i: int) -> tuple[int, int]:
        return super()._locate(int(self._records[i]))

    # --- objects -------------------------------------------------------------------------------
    def has_objects(self) -> bool:
        """True for a detection set."""
        return self._objects is not None

    def objects(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample ``i``'s boxes ``[x0, y0, x1, y1]`` (M x 4 float32, pixels of :attr:`image_shape`), classes (M int32)."""
        if self._objects is None:
            return super().objects(i)
        boxes, classes = self._objects[self._check_index(i)]
        h, w = self.image_shape[:2]
        return (boxes * np.array([w, h, w, h], np.float32)).astype(np.float32), classes.copy()

    def object_fractions(self) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Every sample's (boxes as fractions of the image, classes), from memory; None for a segmentation set."""
        if self._objects is None:
            return None
        return [(b.copy(), c.copy()) for b, c in self._objects]

    def object_counts(self) -> np.ndarray | None:
        """Number of objects per class over all samples; None for a segmentation set."""
        if self._objects is None:
            return None
        flat = np.concatenate([c for _b, c in self._objects]) if self._objects else np.zeros(0, np.int32)
        return np.bincount(flat, minlength=len(self.class_names)).astype(np.int64)

    # --- masks -----------------------------------------------------------------------------------
    def has_masks(self) -> bool:
        """True for a segmentation set."""
        return bool(self._mask_key)

    def native_mask(self, i: int) -> np.ndarray:
        """Sample ``i``'s class mask at the image's stored size (uint8; 0 background, 255 void)."""
        if not self._mask_key:
            return super().mask(i)
        k, j = self._locate(self._check_index(i))
        return decode_mask(bytes(self._sources[k][j][self._mask_key]), self._lut)

    def mask(self, i: int) -> np.ndarray:
        """Sample ``i``'s class mask (H x W uint8 at :attr:`image_shape`, nearest-neighbour resized)."""
        return resize_mask_nearest(self.native_mask(i), self.image_shape[:2])

    def all_masks(self, progress: Optional[ProgressFn] = None,
                  cancel: Optional[threading.Event] = None) -> np.ndarray | None:
        """Every sample's class mask (N x H x W uint8), read and decoded from the records; None for a detection set."""
        if not self._mask_key:
            return None
        h, w = self.image_shape[:2]
        n = len(self)
        out = np.empty((n, h, w), np.uint8)
        for i in range(n):
            if i % 64 == 0:
                check_cancel(cancel)
                report(progress, i, n, f"reading the masks: {i} of {n}")
            out[i] = self.mask(i)
        report(progress, n, n, f"read {n} masks")
        return out

    def describe(self, i: int) -> str:
        """Split, number within it, stored size, and the number of objects."""
        text = super().describe(i)
        if self._objects is not None:
            return f"{text} · {len(self._objects[self._check_index(i)][1])} objects"
        return text
