"""MNIST, Fashion-MNIST and CIFAR-10, downloaded from the keras.datasets addresses.

Files go to ``keras_home()/datasets`` (``$KERAS_HOME`` is respected), the same
names Keras uses, so a set fetched once (by us or by ``keras.datasets``) is
used offline afterwards. Every download is checked: SHA-256 where Keras
publishes one (MNIST, CIFAR-10), the official MD5 for Fashion-MNIST. The
files are parsed without Keras and without unpickling anything but numpy
arrays.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..download import download_file
from ..errors import DatasetError, DownloadError
from ..progress import ProgressFn, check_cancel, report
from ..workspace import keras_home
from .base import TEST, UNASSIGNED, ArrayDataset, SplitSpec

_KERAS_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a standard set: where it comes from and how to check it."""

    name: str
    url: str
    sha256: str | None = None
    md5: str | None = None
    #: Approximate size in bytes, shown before downloading.
    size: int = 0


@dataclass(frozen=True)
class StandardSet:
    """A downloadable data set: its files, cache folder, classes and parser."""

    key: str
    title: str
    files: tuple[RemoteFile, ...]
    subdir: str
    class_names: tuple[str, ...]
    parse: Callable[[list[Path]], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(repr=False)

    @property
    def download_size(self) -> int:
        """Total bytes to download."""
        return sum(f.size for f in self.files)


# --- parsers ---------------------------------------------------------------------------
def _parse_mnist_npz(paths: list[Path]):
    try:
        with np.load(paths[0], allow_pickle=False) as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{paths[0].name} is not a valid MNIST file ({exc}); delete it to download again") from None


def _read_idx(path: Path, offset: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as fh:
            return np.frombuffer(fh.read(), np.uint8, offset=offset)
    except (OSError, EOFError, ValueError) as exc:
        raise DatasetError(f"{path.name} is not a valid gzip IDX file ({exc}); delete it to download again") from None


def _parse_fashion(paths: list[Path]):
    y_train = _read_idx(paths[0], 8)
    x_train = _read_idx(paths[1], 16).reshape(len(y_train), 28, 28)
    y_test = _read_idx(paths[2], 8)
    x_test = _read_idx(paths[3], 16).reshape(len(y_test), 28, 28)
    return x_train, y_train, x_test, y_test


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, lists, dicts and bytes, and refuses everything else."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data set file")


def _cifar_batch(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    d = _NumpyOnlyUnpickler(io.BytesIO(data), encoding="bytes").load()
    d = {k.decode("utf-8") if isinstance(k, bytes) else k: v for k, v in d.items()}
    x = np.asarray(d["data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    y = np.asarray(d["labels"], np.uint8)
    return x, y


def _parse_cifar10(paths: list[Path]):
    try:
        with tarfile.open(paths[0], "r:gz") as tar:
            members = {m.name.split("/")[-1]: m for m in tar.getmembers() if m.isfile()}

            def read(name: str) -> bytes:
                if name not in members:
                    raise DatasetError(f"{paths[0].name} has no {name}; delete it to download again")
                fh = tar.extractfile(members[name])
                assert fh is not None
                return fh.read()

            parts = [_cifar_batch(read(f"data_batch_{i}")) for i in range(1, 6)]
            x_test, y_test = _cifar_batch(read("test_batch"))
    except (tarfile.TarError, OSError, EOFError, pickle.UnpicklingError, KeyError, ValueError) as exc:
        raise DatasetError(f"{paths[0].name} is not a valid CIFAR-10 archive ({exc}); delete it to download again") from None
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return x_train, y_train, x_test, y_test


STANDARD_SETS: dict[str, StandardSet] = {
    "mnist": StandardSet(
        "mnist",
        "MNIST",
        (RemoteFile("mnist.npz", _KERAS_BASE + "mnist.npz",
                    sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", size=11_490_434),),
        "datasets",
        tuple(str(d) for d in range(10)),
        _parse_mnist_npz,
    ),
    "fashion_mnist": StandardSet(
        "fashion_mnist",
        "Fashion-MNIST",
        (
            RemoteFile("train-labels-idx1-ubyte.gz", _KERAS_BASE + "train-labels-idx1-ubyte.gz",
                       md5="25c81989df183df01b3e8a0aad5dffbe", size=29_515),
            RemoteFile("train-images-idx3-ubyte.gz", _KERAS_BASE + "train-images-idx3-ubyte.gz",
                       md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d", size=26_421_880),
            RemoteFile("t10k-labels-idx1-ubyte.gz", _KERAS_BASE + "t10k-labels-idx1-ubyte.gz",
                       md5="bb300cfdad3c16e7a12a480ee83cd310", size=5_148),
            RemoteFile("t10k-images-idx3-ubyte.gz", _KERAS_BASE + "t10k-images-idx3-ubyte.gz",
                       md5="bef4ecab320f06d8554ea6380940ec79", size=4_422_102),
        ),
        "datasets/fashion-mnist",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        _parse_fashion,
    ),
    "cifar10": StandardSet(
        "cifar10",
        "CIFAR-10",
        (RemoteFile("cifar-10-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce", size=170_498_071),),
        "datasets",
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        _parse_cifar10,
    ),
}


def cache_dir(key: str) -> Path:
    """Folder where the files of standard set ``key`` are cached."""
    return keras_home() / STANDARD_SETS[_check_key(key)].subdir


def _check_key(key: str) -> str:
    if key not in STANDARD_SETS:
        raise DatasetError(f"unknown data set {key!r}; available: {', '.join(STANDARD_SETS)}")
    return key


def is_cached(key: str) -> bool:
    """True when every file of ``key`` is already in the cache (no download needed)."""
    folder = cache_dir(key)
    return all((folder / f.name).is_file() for f in STANDARD_SETS[key].files)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_files(
    key: str, progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None
) -> list[Path]:
    """Download (or find in the cache) every file of standard set ``key``; return their paths."""
    spec = STANDARD_SETS[_check_key(key)]
    folder = cache_dir(key)
    paths: list[Path] = []
    n = len(spec.files)
    for k, f in enumerate(spec.files):
        check_cancel(cancel)
        prefix = f"{spec.title} file {k + 1}/{n}: " if n > 1 else f"{spec.title}: "

        def sub(done: int, total: int, message: str, _p=prefix) -> None:
            report(progress, done, total, _p + message)

        dest = folder / f.name
        if f.md5 and dest.is_file() and _md5(dest) != f.md5:
            dest.unlink()  # a damaged cached copy: fetch it again
        path = download_file(f.url, dest, sha256=f.sha256, progress=sub, cancel=cancel)
        if f.md5 and _md5(path) != f.md5:
            actual = _md5(path)
            path.unlink(missing_ok=True)
            raise DownloadError(
                f"checksum mismatch for {f.name}: expected MD5 {f.md5}, received {actual}; "
                "the damaged download was deleted, try again"
            )
        paths.append(path)
    return paths


def load_standard(
    key: str,
    split: SplitSpec | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> ArrayDataset:
    """MNIST / Fashion-MNIST / CIFAR-10 as a data set (downloading on first use).

    The official test images form the "test" subset; "validation" is cut from
    the official training images by ``split.validation`` (stratified, by seed).
    """
    spec = STANDARD_SETS[_check_key(key)]
    paths = fetch_files(key, progress, cancel)
    check_cancel(cancel)
    report(progress, 0, 0, f"reading {spec.title}")
    x_train, y_train, x_test, y_test = spec.parse(paths)
    x = np.concatenate([x_train, x_test])
    y = np.concatenate([np.asarray(y_train).reshape(-1), np.asarray(y_test).reshape(-1)]).astype(np.int32)
    if y.size and (y.min() < 0 or y.max() >= len(spec.class_names)):
        raise DatasetError(f"{spec.title} labels out of range 0..{len(spec.class_names) - 1}; delete the cache to retry")
    fixed = np.full(len(y), UNASSIGNED, np.int8)
    fixed[len(y_train):] = TEST
    report(progress, 1, 1, f"{spec.title}: {len(y)} images")
    return ArrayDataset(spec.title, spec.class_names, x, y, fixed_split=fixed, split=split)
