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

    @property
    def builder_name(self) -> str:
        """The name tfds.builder takes: ``name`` or ``name/config``."""
        return f"{self.name}/{self.config}" if self.config else self.name

    def size_text(self) -> str:
        """The image size in words: "32x32 RGB" or "varies (RGB)"."""
        h, w, c = self.image_shape
        colour = {1: "grayscale", 3: "RGB", 4: "RGBA"}.get(c or 3, f"{c} channels")
        return f"{w}x{h} {colour}" if h and w else f"varies ({colour})"

    def matches(self, text: str) -> bool:
        """True when every word of ``text`` is in the name, title, description or class names."""
        hay = " ".join((self.name, self.title, self.description, " ".join(self.class_names[:200]))).lower()
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
        label_key=str(d.get("label_key", "label")),
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
    """The snapshot's entry called ``name`` (builder name, optionally ``name/config``), or None."""
    base = name.split("/")[0]
    for e in load_snapshot().entries:
        if e.name == base or e.builder_name == name:
            return e
    return None


def search_catalog(text: str) -> list[CatalogEntry]:
    """The entries whose name, description or class names hold every word of ``text``."""
    return [e for e in load_snapshot().entries if e.matches(text)]


def tfds_data_dir() -> Path:
    """Where tfds keeps prepared sets: ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``."""
    env = os.environ.get("TFDS_DATA_DIR", "").strip()
    return Path(env).expanduser() if env else Path.home() / "tensorflow_datasets"


def _prepared_dirs(name: str, data_dir: Path) -> list[Path]:
    """Prepared version folders of ``name`` (``name/[config/]version`` with a dataset_info.json), newest first."""
    base, _, config = name.partition("/")
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


def _progress_tqdm(progress: Optional[ProgressFn], cancel: Optional[threading.Event], min_interval: float = 0.05):
    """A tqdm class whose bars report to ``progress`` and raise :class:`Cancelled` once ``cancel`` is set."""
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

    with _TQDM_LOCK:
        saved = tqdm_utils.tqdm_lib, tqdm_utils._active, download_manager.get_downloader, downloader.MAX_RETRIES
        tqdm_utils.tqdm_lib = types.SimpleNamespace(tqdm=_progress_tqdm(progress, cancel))
        tqdm_utils._active = True
        download_manager.get_downloader = fresh_downloader
        # tfds retries a refused connection 10 times with growing pauses (over 3 minutes offline); 3 take ~2 s.
        downloader.MAX_RETRIES = DOWNLOAD_RETRIES
        try:
            yield
        finally:
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
    base = data_dir / name.split("/")[0]
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
        builder = tfds.builder(entry.builder_name if entry else name, data_dir=str(folder), file_format="array_record")
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
) -> "CatalogDataset":
    """The catalog set ``name`` as a :class:`Dataset`, downloading and preparing it first when needed."""
    prepared = prepare_catalog_set(name, data_dir, progress, cancel)
    return CatalogDataset.from_directory(prepared, progress=progress, cancel=cancel, split=split,
                                         entry=catalog_entry(name))


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
        """Open a prepared tfds folder (``data_dir/name/[config/]version``) without its builder code."""
        import tensorflow_datasets as tfds

        folder = Path(folder)
        try:
            builder = tfds.builder_from_directory(str(folder))
            info = builder.info
        except Exception as exc:  # noqa: BLE001
            raise DatasetError(f"{folder} is not a prepared tfds data set ({_first_line(exc, 200)})") from None
        features = info.features
        image_key = entry.image_key if entry else "image"
        label_key = entry.label_key if entry else "label"
        if image_key not in features or label_key not in features:
            keys = ", ".join(features.keys())
            raise DatasetError(f"{info.name} has no {image_key!r} and {label_key!r} features (it has {keys}): "
                               "only image classification sets open here for now")
        image_feature, label_feature = features[image_key], features[label_key]
        try:
            class_names = list(label_feature.names)
        except AttributeError:
            raise DatasetError(f"{info.name}'s {label_key!r} is not a class label") from None
        if "array_record" not in str(info.file_format).lower():
            raise DatasetError(
                f"{info.name} in {folder} was prepared as {info.file_format}, which cannot be read by index: delete "
                f"{folder} and prepare it again from the catalog (it then uses ArrayRecord files)"
            )
        shape = tuple(image_feature.shape)
        channels = int(shape[-1] or 3)
        if channels not in (1, 3):
            channels = 3
        variable = shape[0] is None or shape[1] is None
        native = (VARIABLE_SIZE_DEFAULT[0], VARIABLE_SIZE_DEFAULT[1], channels) if variable else (int(shape[0]), int(shape[1]), channels)
        names = [s for s in info.splits.keys() if s in SPLIT_CODES]
        left_out = [s for s in info.splits.keys() if s not in SPLIT_CODES]
        if not names:
            raise DatasetError(f"{info.name} has no train, validation or test split (it has {', '.join(info.splits)})")
        names.sort(key=lambda s: ("train", "validation", "valid", "val", "test").index(s))
        sources, labels, codes, offsets = [], [], [], [0]
        decoders = {image_key: tfds.decode.SkipDecoding()}
        for s in names:
            src = builder.as_data_source(split=s, decoders=decoders)
            sources.append(src)
            labels.append(_read_labels(src, folder, s, label_key, progress, cancel))
            codes.append(np.full(len(src), SPLIT_CODES[s], np.int8))
            offsets.append(offsets[-1] + len(src))
        notes = []
        if left_out:
            notes.append(f"split{'s' if len(left_out) > 1 else ''} {', '.join(left_out)} left out")
        kinds = {SPLIT_CODES[s] for s in names}
        if VALIDATION not in kinds:
            notes.append("no validation split of its own: validation is cut from train")
        if TEST not in kinds:
            notes.append("no test split of its own: test is cut from train")
        ds = cls(
            entry.title if entry else info.name, class_names, np.concatenate(labels), np.concatenate(codes),
            native, sources, np.asarray(offsets), image_key, names, folder, variable, split, notes,
        )
        report(progress, 1, 1, f"{ds.name}: {len(ds)} images")
        return ds

    # --- records ---------------------------------------------------------------------------
    def _locate(self, i: int) -> tuple[int, int]:
        k = int(np.searchsorted(self._offsets, i, side="right") - 1)
        return k, int(i - self._offsets[k])

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
        other = super().with_options(None, color_mode)
        h, w = int(image_size[0]), int(image_size[1])
        if not (4 <= h <= 2048 and 4 <= w <= 2048):
            raise DatasetError(f"image size must be between 4 and 2048 pixels a side, received {h}x{w}")
        other._native_shape = (h, w, other._native_shape[2])
        other._target_size = None
        return other  # type: ignore[return-value]

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
