"""The keras.applications catalogue: list, build, fetch weights, preprocess, decode.

:data:`APPLICATIONS` describes every model in ``keras.applications`` (its
constructor, default and minimum input size, the module holding its
``preprocess_input``/``decode_predictions``, and the weights files and hashes
where Keras exposes them as constants). :func:`build_application` builds one
with random weights, ImageNet weights or weights from a file:

* ``weights=None``: random weights; :func:`weights_label` says "random weights".
* ``weights="imagenet"``: Keras's own constructor loads the weights, but the
  download goes through :func:`convexplorer.core.download.download_file` (with
  progress, cancel, resume and a checksum) into ``keras_home()/"models"``, the
  same cache Keras uses, so a file already there is used offline. Keras
  fetches through ``keras.src.utils.file_utils.get_file``; while a build runs,
  that call is answered by our downloader on the building thread only.
* a path to an ``.h5``/``.weights.h5`` file: loaded with ``model.load_weights``;
  a file made for another architecture gives a :class:`ModelFileError`.

Images here are float arrays in ``[0, 1]`` (the app's convention);
:func:`preprocess` scales them to ``0..255`` and applies the model's own
``preprocess_input``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from .errors import ConvExplorerError, DownloadError, ModelFileError, ShapeError
from .progress import ProgressFn, check_cancel, report
from .workspace import keras_home

#: When set (or with ``$CONVEXPLORER_WEIGHTS_URL``), weights and the class index
#: are fetched from ``<base>/<file name>`` instead of Keras's address (mirrors, tests).
WEIGHTS_BASE_URL: str | None = None
#: Expected hashes by file name that replace Keras's (tests serving generated files).
HASH_OVERRIDES: dict[str, str | None] = {}

CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"  # md5, as in keras.applications.imagenet_utils


@dataclass(frozen=True)
class AppInfo:
    """One keras.applications model: how to build it and feed it."""

    name: str
    #: Attribute of ``keras.applications`` that builds it.
    constructor: str
    #: Submodule of ``keras.applications`` with ``preprocess_input``/``decode_predictions``.
    module: str
    #: Input side length the ImageNet weights were trained at.
    default_size: int
    #: Smallest input side the architecture accepts.
    min_size: int
    family: str
    #: Weights file URLs (with / without the classifier) where Keras exposes them.
    weights_url: str | None = None
    weights_url_notop: str | None = None
    #: Their hashes (md5 or sha256, as Keras lists them) where Keras exposes them.
    weights_hash: str | None = None
    weights_hash_notop: str | None = None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Default input shape ``(size, size, 3)``."""
        return (self.default_size, self.default_size, 3)

    @property
    def keras_module(self) -> str:
        """Full dotted name of the module with preprocess_input/decode_predictions."""
        return f"keras.applications.{self.module}"


# name: (module, default size, min size, family, key in the module's WEIGHTS_HASHES)
_TABLE: dict[str, tuple[str, int, int, str, str | None]] = {
    "VGG16": ("vgg16", 224, 32, "VGG", None),
    "VGG19": ("vgg19", 224, 32, "VGG", None),
    "ResNet50": ("resnet", 224, 32, "ResNet", "resnet50"),
    "ResNet101": ("resnet", 224, 32, "ResNet", "resnet101"),
    "ResNet152": ("resnet", 224, 32, "ResNet", "resnet152"),
    "ResNet50V2": ("resnet_v2", 224, 32, "ResNet", "resnet50v2"),
    "ResNet101V2": ("resnet_v2", 224, 32, "ResNet", "resnet101v2"),
    "ResNet152V2": ("resnet_v2", 224, 32, "ResNet", "resnet152v2"),
    "InceptionV3": ("inception_v3", 299, 75, "Inception", None),
    "InceptionResNetV2": ("inception_resnet_v2", 299, 75, "Inception", None),
    "Xception": ("xception", 299, 71, "Inception", None),
    "MobileNet": ("mobilenet", 224, 32, "MobileNet", None),
    "MobileNetV2": ("mobilenet_v2", 224, 32, "MobileNet", None),
    "MobileNetV3Small": ("mobilenet_v3", 224, 32, "MobileNet", "small_224_1.0_float"),
    "MobileNetV3Large": ("mobilenet_v3", 224, 32, "MobileNet", "large_224_1.0_float"),
    "DenseNet121": ("densenet", 224, 32, "DenseNet", None),
    "DenseNet169": ("densenet", 224, 32, "DenseNet", None),
    "DenseNet201": ("densenet", 224, 32, "DenseNet", None),
    "NASNetMobile": ("nasnet", 224, 32, "NASNet", None),
    "NASNetLarge": ("nasnet", 331, 32, "NASNet", None),
    "EfficientNetB0": ("efficientnet", 224, 32, "EfficientNet", "b0"),
    "EfficientNetB1": ("efficientnet", 240, 32, "EfficientNet", "b1"),
    "EfficientNetB2": ("efficientnet", 260, 32, "EfficientNet", "b2"),
    "EfficientNetB3": ("efficientnet", 300, 32, "EfficientNet", "b3"),
    "EfficientNetB4": ("efficientnet", 380, 32, "EfficientNet", "b4"),
    "EfficientNetB5": ("efficientnet", 456, 32, "EfficientNet", "b5"),
    "EfficientNetB6": ("efficientnet", 528, 32, "EfficientNet", "b6"),
    "EfficientNetB7": ("efficientnet", 600, 32, "EfficientNet", "b7"),
    "EfficientNetV2B0": ("efficientnet_v2", 224, 32, "EfficientNet", "b0"),
    "EfficientNetV2B1": ("efficientnet_v2", 240, 32, "EfficientNet", "b1"),
    "EfficientNetV2B2": ("efficientnet_v2", 260, 32, "EfficientNet", "b2"),
    "EfficientNetV2B3": ("efficientnet_v2", 300, 32, "EfficientNet", "b3"),
    "EfficientNetV2S": ("efficientnet_v2", 384, 32, "EfficientNet", "s"),
    "EfficientNetV2M": ("efficientnet_v2", 480, 32, "EfficientNet", "m"),
    "EfficientNetV2L": ("efficientnet_v2", 480, 32, "EfficientNet", "l"),
    "ConvNeXtTiny": ("convnext", 224, 32, "ConvNeXt", "convnext_tiny"),
    "ConvNeXtSmall": ("convnext", 224, 32, "ConvNeXt", "convnext_small"),
    "ConvNeXtBase": ("convnext", 224, 32, "ConvNeXt", "convnext_base"),
    "ConvNeXtLarge": ("convnext", 224, 32, "ConvNeXt", "convnext_large"),
    "ConvNeXtXLarge": ("convnext", 224, 32, "ConvNeXt", "convnext_xlarge"),
}

# Weights URLs that keras exposes as module constants: name -> (attr with top, attr without top).
_URL_CONSTANTS: dict[str, tuple[str, str]] = {
    "VGG16": ("WEIGHTS_PATH", "WEIGHTS_PATH_NO_TOP"),
    "VGG19": ("WEIGHTS_PATH", "WEIGHTS_PATH_NO_TOP"),
    "InceptionV3": ("WEIGHTS_PATH", "WEIGHTS_PATH_NO_TOP"),
    "Xception": ("WEIGHTS_PATH", "WEIGHTS_PATH_NO_TOP"),
    "DenseNet121": ("DENSENET121_WEIGHT_PATH", "DENSENET121_WEIGHT_PATH_NO_TOP"),
    "DenseNet169": ("DENSENET169_WEIGHT_PATH", "DENSENET169_WEIGHT_PATH_NO_TOP"),
    "DenseNet201": ("DENSENET201_WEIGHT_PATH", "DENSENET201_WEIGHT_PATH_NO_TOP"),
    "NASNetMobile": ("NASNET_MOBILE_WEIGHT_PATH", "NASNET_MOBILE_WEIGHT_PATH_NO_TOP"),
    "NASNetLarge": ("NASNET_LARGE_WEIGHT_PATH", "NASNET_LARGE_WEIGHT_PATH_NO_TOP"),
}


def _keras_source_module(module: str) -> Any:
    """The ``keras.src.applications`` module that holds the weights constants (None if absent)."""
    import importlib

    try:
        return importlib.import_module(f"keras.src.applications.{module}")
    except ImportError:  # pragma: no cover - keras moved its sources
        return None


def _make_info(name: str, row: tuple[str, int, int, str, str | None]) -> AppInfo:
    module, size, min_size, family, key = row
    return AppInfo(name=name, constructor=name, module=module, default_size=size, min_size=min_size, family=family)


#: Every model in keras.applications, by constructor name (weights metadata filled in on first use).
APPLICATIONS: dict[str, AppInfo] = {name: _make_info(name, row) for name, row in _TABLE.items()}
_metadata_done = False
_metadata_lock = threading.Lock()


def _fill_weights_metadata() -> None:
    """Add the weights URLs/hashes that Keras exposes as constants (imports keras)."""
    global _metadata_done
    with _metadata_lock:
        if _metadata_done:
            return
        from dataclasses import replace

        for name, (module, _size, _min, _family, key) in _TABLE.items():
            src = _keras_source_module(module)
            if src is None:
                continue
            fields: dict[str, Any] = {}
            consts = _URL_CONSTANTS.get(name)
            if consts:
                fields["weights_url"] = getattr(src, consts[0], None)
                fields["weights_url_notop"] = getattr(src, consts[1], None)
            hashes = getattr(src, "WEIGHTS_HASHES", None)
            if key and isinstance(hashes, dict) and key in hashes:
                fields["weights_hash"], fields["weights_hash_notop"] = hashes[key][:2]
            if fields:
                APPLICATIONS[name] = replace(APPLICATIONS[name], **fields)
        _metadata_done = True


def application_info(name: str) -> AppInfo:
    """The :class:`AppInfo` of ``name`` (with weights metadata); clear error for an unknown name."""
    if name not in APPLICATIONS:
        known = ", ".join(sorted(APPLICATIONS))
        raise ConvExplorerError(f"unknown pretrained model {name!r}; expected one of: {known}")
    _fill_weights_metadata()
    return APPLICATIONS[name]


def names(family: str | None = None) -> list[str]:
    """Application names in catalogue order, optionally of one family."""
    return [n for n, info in APPLICATIONS.items() if family is None or info.family == family]


# --- downloads through Keras's own constructors ----------------------------------------------

_capture = threading.local()
_install_lock = threading.Lock()
_original_get_file: Any = None


def _base_url() -> str | None:
    return WEIGHTS_BASE_URL or os.environ.get("CONVEXPLORER_WEIGHTS_URL") or None


def _source_url(origin: str, fname: str) -> str:
    base = _base_url()
    if base:
        return base.rstrip("/") + "/" + urllib.parse.quote(fname)
    return origin




# --- the default classifier: what classifies a photo opened with no model loaded ---------------

#: ImageNet top-1 accuracy as Keras documents it (keras.io/api/applications; MobileNetV3 from the
#: table in keras.applications.mobilenet_v3's docstring), for the candidates README compares.
DOCUMENTED_TOP1 = {"MobileNetV2": 0.713, "EfficientNetB0": 0.771, "MobileNetV3Large": 0.756, "MobileNetV3Small": 0.681}

#: The network behind "drop a photo, see what it is": the fastest of the candidates on a CPU
#: and the smallest download (benchmarks/first_minute.py measures them; README says why).
DEFAULT_CLASSIFIER = "MobileNetV2"

#: The size of the default classifier's weights file with its classifier (Keras's table: 14 MB).
DEFAULT_CLASSIFIER_MB = 14


# --- ImageNet weights on disk: Keras's cache, weights bundled with a release --------------------

#: Environment variable naming extra folders (``os.pathsep``-separated) that hold weights files
#: under Keras's names; a release built with ``packaging/build.sh --with-weights DIR`` carries a
#: ``weights/`` folder beside its executable, which is searched too.
WEIGHTS_DIR_ENV = "CONVEXPLORER_WEIGHTS_DIR"


def bundled_weights_dirs() -> list[Path]:
    """Folders searched for weights files before downloading: ``$CONVEXPLORER_WEIGHTS_DIR``, then
    ``weights/`` beside a frozen build's executable."""
    dirs = [Path(p) for p in os.environ.get(WEIGHTS_DIR_ENV, "").split(os.pathsep) if p.strip()]
    if getattr(sys, "frozen", False):
        dirs.append(Path(sys.executable).resolve().parent / "weights")
    return [d for d in dirs if d.is_dir()]


def _bundled_file(fname: str) -> Path | None:
    for folder in bundled_weights_dirs():
        candidate = folder / fname
        if candidate.is_file():
            return candidate
    return None


# Keras's file names for the ImageNet weights, at each model's default width (alpha 1) and size.
_NAMED_BY_MODEL = {  # name -> (with classifier, without)
    "ResNet50": ("resnet50_weights_tf_dim_ordering_tf_kernels.h5", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "InceptionResNetV2": ("inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
                          "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "MobileNet": ("mobilenet_1_0_224_tf.h5", "mobilenet_1_0_224_tf_no_top.h5"),
    "MobileNetV2": ("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
                    "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
}


def weights_file_name(name: str, include_top: bool = True) -> str | None:
    """The file name Keras gives ``name``'s ImageNet weights at its default width and input size.

    None where Keras offers no ImageNet weights. Names for other widths (``alpha``) or sizes
    (MobileNet, MobileNetV2) differ; :func:`cached_weights` only answers for the defaults.
    """
    info = application_info(name)
    if name in _NAMED_BY_MODEL:
        return _NAMED_BY_MODEL[name][0 if include_top else 1]
    url = info.weights_url if include_top else info.weights_url_notop
    if url:
        return os.path.basename(urllib.parse.urlsplit(url).path)
    lower = name.lower()
    if info.module in ("resnet", "resnet_v2"):
        return f"{lower}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    if info.module == "mobilenet_v3":
        kind = "large" if name.endswith("Large") else "small"
        return f"weights_mobilenet_v3_{kind}_224_1.0_float{'' if include_top else '_no_top_v2'}.h5"
    if info.module == "efficientnet":
        stem = lower  # efficientnetb0
    elif info.module == "efficientnet_v2":
        stem = "efficientnetv2-" + lower.removeprefix("efficientnetv2")  # efficientnetv2-b0
    elif info.module == "convnext":
        stem = "convnext_" + lower.removeprefix("convnext")  # convnext_tiny
    else:
        return None
    return stem + (".h5" if include_top else "_notop.h5")


def cached_weights(name: str, include_top: bool = True) -> Path | None:
    """The ImageNet weights of ``name`` (default width and size) already on this machine, or None.

    Looks in Keras's cache (``keras_home()/models``) and in the bundled folders
    (:func:`bundled_weights_dirs`); nothing is downloaded.
    """
    fname = weights_file_name(name, include_top)
    if not fname:
        return None
    cached = keras_home() / "models" / fname
    if cached.is_file():
        return cached
    return _bundled_file(fname)


def fetch_cached(
    fname: str,
    origin: str,
    file_hash: str | None = None,
    cache_subdir: str = "models",
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> Path:
    """Return ``keras_home()/cache_subdir/fname``, downloading it from ``origin`` if needed.

    ``file_hash`` is an md5 (32 hex digits) or sha256 (64) as Keras lists them;
    :data:`HASH_OVERRIDES` and :data:`WEIGHTS_BASE_URL` apply. Raises
    :class:`DownloadError` (offline, bad checksum) or ``Cancelled``.
    """
    from .download import download_file, file_digest

    if fname in HASH_OVERRIDES:
        file_hash = HASH_OVERRIDES[fname]
    dest = keras_home() / cache_subdir / fname
    bundled = _bundled_file(fname) if not dest.is_file() else None
    if bundled is not None:
        return bundled
    url = _source_url(origin, fname)
    expected = file_hash.lower().strip() if file_hash else None
    sha256 = expected if expected and len(expected) == 64 else None
    md5 = expected if expected and len(expected) == 32 else None
    for attempt in range(2):
        try:
            path = download_file(url, dest, sha256=sha256, progress=progress, cancel=cancel)
        except DownloadError as exc:
            raise DownloadError(f"could not get {fname}: {exc}") from None
        if md5 is None:
            return path
        report(progress, 0, 0, f"verifying {fname}")
        actual = file_digest(path, "md5", cancel)  # the checksum Keras publishes, not security
        if actual == md5:
            return path
        path.unlink(missing_ok=True)
        if attempt == 1:
            raise DownloadError(
                f"checksum mismatch for {fname}: expected MD5 {md5}, received {actual}; "
                "the damaged file was deleted, try again"
            )
    raise AssertionError("unreachable")  # pragma: no cover


def _patched_get_file(*args: Any, **kwargs: Any) -> Any:
    active = getattr(_capture, "active", None)
    if active is None:
        return _original_get_file(*args, **kwargs)
    names_ = ["fname", "origin", "untar", "md5_hash", "file_hash", "cache_subdir"]
    params = dict(zip(names_, args))
    params.update(kwargs)
    origin = params.get("origin")
    fname = params.get("fname") or os.path.basename(urllib.parse.urlsplit(origin or "").path)
    file_hash = params.get("file_hash") or params.get("md5_hash")
    progress, cancel = active
    path = fetch_cached(fname, origin, file_hash, params.get("cache_subdir") or "datasets", progress, cancel)
    return str(path)


def _install_hook() -> None:
    global _original_get_file
    with _install_lock:
        if _original_get_file is not None:
            return
        from keras.src.utils import file_utils

        _original_get_file = file_utils.get_file
        file_utils.get_file = _patched_get_file


@contextlib.contextmanager
def _downloads_through_us(progress: Optional[ProgressFn], cancel: Optional[threading.Event]) -> Iterator[None]:
    """While active, Keras downloads on this thread go through :func:`fetch_cached`."""
    _install_hook()
    previous = getattr(_capture, "active", None)
    _capture.active = (progress, cancel)
    try:
        yield
    finally:
        _capture.active = previous


# --- building --------------------------------------------------------------------------------


def _check_input_shape(info: AppInfo, input_shape: Sequence[int] | None, fixed_size: bool) -> tuple[int, int, int]:
    if input_shape is None:
        return info.input_shape
    try:
        shape = tuple(int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ShapeError(f"input shape must be (height, width, channels), received {input_shape!r}") from None
    if len(shape) != 3:
        raise ShapeError(f"input shape must be (height, width, channels), received {shape}")
    h, w, c = shape
    if c != 3:
        raise ShapeError(f"{info.name} takes colour images with 3 channels, received {c} channel(s)")
    if h < info.min_size or w < info.min_size:
        raise ShapeError(f"{info.name} needs inputs of at least {info.min_size}x{info.min_size}, received {h}x{w}")
    if fixed_size and (h, w) != (info.default_size, info.default_size):
        raise ShapeError(
            f"{info.name} with its ImageNet classifier (include_top) needs {info.default_size}x{info.default_size} "
            f"inputs, received {h}x{w}; turn the classifier off to use another size"
        )
    return shape


def _set_label(model: Any, label: str) -> None:
    try:
        object.__setattr__(model, "_convexplorer_weights", label)
    except Exception:  # noqa: BLE001 - labelling is cosmetic
        pass


def weights_label(model: Any) -> str:
    """How the model's weights were made: "random weights", "ImageNet weights", "weights from X" or ""."""
    return getattr(model, "_convexplorer_weights", "")


def load_weights_file(model: Any, path: str | os.PathLike[str], what: str = "this model") -> None:
    """Load an ``.h5``/``.weights.h5`` file into ``model``; a clear error when it does not fit."""
    import warnings

    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"weights file not found: {p}")
    if not p.name.lower().endswith((".h5", ".hdf5")):
        raise ModelFileError(f"weights files end in .h5 or .weights.h5, received {p.name}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.load_weights(str(p))
    except (ValueError, KeyError, TypeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(
            f"{p.name} does not fit {what}: the file was made for another architecture, "
            f"input size or classifier setting ({first})"
        ) from None


def build_application(
    name: str,
    weights: str | os.PathLike[str] | None = None,
    include_top: bool = False,
    input_shape: Sequence[int] | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
    **options: Any,
) -> Any:
    """Build ``keras.applications.<name>`` with random (None), ``"imagenet"`` or file weights.

    ``input_shape`` defaults to the model's ImageNet size. ImageNet weights are
    downloaded with progress/cancel into ``keras_home()/"models"`` (used offline
    when already there); a :class:`DownloadError` says when that fails.
    ``options`` go to the Keras constructor as they are (``alpha=0.35``, ``pooling="avg"``...).
    """
    info = application_info(name)
    imagenet = isinstance(weights, str) and weights.lower() == "imagenet"
    shape = _check_input_shape(info, input_shape, include_top and imagenet)
    check_cancel(cancel)
    import keras

    ctor = getattr(keras.applications, info.constructor)
    kwargs: dict[str, Any] = {**options, "include_top": include_top, "input_shape": shape}
    desc = f"{name} ({'with' if include_top else 'without'} classifier, input {shape[0]}x{shape[1]}x{shape[2]})"
    report(progress, 0, 0, f"building {name}")
    if weights is None or (isinstance(weights, str) and weights.lower() in ("", "none", "random")):
        model = ctor(weights=None, **kwargs)
        _set_label(model, "random weights")
    elif imagenet:
        try:
            with _downloads_through_us(progress, cancel):
                model = ctor(weights="imagenet", **kwargs)
        except ConvExplorerError as exc:
            if isinstance(exc, DownloadError):
                raise DownloadError(f"ImageNet weights for {name} are not available: {exc}") from None
            raise
        except ValueError as exc:
            raise ShapeError(f"ImageNet weights do not fit {desc}: {str(exc).strip().splitlines()[0]}") from None
        _set_label(model, "ImageNet weights")
    else:
        model = ctor(weights=None, **kwargs)
        check_cancel(cancel)
        report(progress, 0, 0, f"loading {Path(weights).name}")
        load_weights_file(model, weights, desc)
        _set_label(model, f"weights from {Path(weights).name}")
    report(progress, 1, 1, f"{name} ready")
    return model


# --- preprocessing and decoding --------------------------------------------------------------


def preprocess(name: str, images: np.ndarray) -> np.ndarray:
    """Images in ``[0, 1]`` (``H x W x 3`` or ``N x H x W x 3``) through the model's own ``preprocess_input``."""
    import importlib

    info = application_info(name)
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim not in (3, 4) or arr.shape[-1] != 3:
        raise ShapeError(f"{name} expects colour images H x W x 3 (or a batch of them), received shape {arr.shape}")
    module = importlib.import_module(info.keras_module)
    out = module.preprocess_input(np.array(arr * 255.0, dtype=np.float32))  # a copy: caffe mode works in place
    return np.asarray(out, dtype=np.float32)


def shipped_class_index() -> Path:
    """The ImageNet class index that ships with the app (Keras's ``imagenet_class_index.json``)."""
    from .resources import resources_dir

    return resources_dir() / CLASS_INDEX_FILE


def imagenet_class_names(progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> list[str]:
    """The 1000 ImageNet class names.

    They ship with the app (``resources/imagenet_class_index.json``, the mapping Keras downloads);
    without that file they are downloaded once into the Keras cache, then used offline.
    """
    path = shipped_class_index()
    if not path.is_file():
        path = fetch_cached(CLASS_INDEX_FILE, CLASS_INDEX_URL, CLASS_INDEX_HASH, "models", progress, cancel)
    try:
        index = json.loads(Path(path).read_text(encoding="utf-8"))
        names_ = [str(index[str(i)][1]).replace("_", " ") for i in range(len(index))]
    except (ValueError, KeyError, IndexError, TypeError, OSError) as exc:
        raise DownloadError(f"{CLASS_INDEX_FILE} is damaged ({exc}); delete {path} and try again") from None
    return names_


def decode(
    name: str,
    preds: np.ndarray,
    top: int = 5,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> list[list[tuple[int, str, float]]]:
    """Top ``top`` ImageNet classes per row of ``preds`` (N x 1000) as (index, name, probability)."""
    application_info(name)
    p = np.asarray(preds, dtype=np.float64)
    if p.ndim == 1:
        p = p[None]
    if p.ndim != 2 or p.shape[1] != 1000:
        raise ShapeError(f"ImageNet predictions have 1000 classes per row, received shape {np.shape(preds)}")
    labels = imagenet_class_names(progress, cancel)
    k = max(1, min(int(top), 1000))
    out = []
    for row in p:
        idx = np.argsort(-row, kind="stable")[:k]
        out.append([(int(i), labels[int(i)], float(row[i])) for i in idx])
    return out
