"""Small tfds builders for the catalog tests (registered with tfds when this module is imported)."""

from __future__ import annotations

import contextlib
import http.server
import io
import sys
import tarfile
import threading

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

TINY_CLASSES = ["red", "green", "blue"]


def tiny_image(split: str, i: int) -> np.ndarray:
    """The image a tiny set stores as sample ``i`` of ``split`` (varying sizes, a colour per class)."""
    rng = np.random.default_rng(1000 * ("train", "test", "extra").index(split) + i)
    img = rng.integers(0, 60, (18 + i % 5, 22 + i % 3, 3), dtype=np.uint8)
    img[..., i % 3] += 180
    return img


class TinyColours(tfds.core.GeneratorBasedBuilder):
    """Images whose dominant channel is their class; train 30, test 9, extra 4 (a split we leave out)."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3)),
                "label": tfds.features.ClassLabel(names=TINY_CLASSES),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples("train", 30), "test": self._generate_examples("test", 9),
                "extra": self._generate_examples("extra", 4)}

    def _generate_examples(self, split: str, n: int):
        for i in range(n):
            yield f"{split}-{i}", {"image": tiny_image(split, i), "label": i % 3}


class ManualOnly(tfds.core.GeneratorBasedBuilder):
    """A set whose files must be put in the manual folder by hand."""

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Register on the homepage and download data.zip."

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(8, 8, 3)),
                "label": tfds.features.ClassLabel(names=["a", "b"]),
            }),
        )

    def _split_generators(self, dl_manager):
        path = dl_manager.manual_dir / "data.zip"
        return {"train": self._generate_examples(path)}

    def _generate_examples(self, path):
        yield 0, {"image": np.zeros((8, 8, 3), np.uint8), "label": 0}


FLOWER_CLASSES = ["dandelion", "daisy", "tulips", "sunflowers", "roses"]


def flower_archive() -> tuple[bytes, dict[str, bytes]]:
    """A small flower_photos.tgz in the upstream layout (flower_photos/<class>/<n>.jpg) and its JPEG files."""
    files: dict[str, bytes] = {}
    buf = io.BytesIO()
    rng = np.random.default_rng(5)
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for c, name in enumerate(FLOWER_CLASSES):
            for k in range(2 + c % 2):
                img = np.clip(rng.normal(40 * c + 40, 20, (30 + 5 * k, 40, 3)), 0, 255).astype(np.uint8)
                jpg = io.BytesIO()
                Image.fromarray(img).save(jpg, format="JPEG", quality=90)
                data = jpg.getvalue()
                path = f"flower_photos/{name}/{k}.jpg"
                files[path] = data
                info = tarfile.TarInfo(path)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue(), files


@contextlib.contextmanager
def serve_flowers(monkeypatch, gate: threading.Event | None = None):
    """Serve :func:`flower_archive` on 127.0.0.1 and point tfds' real tf_flowers builder at it: (url, archive, files).

    With ``gate``, the first 1000 bytes go out at once and the rest only once ``gate`` is set."""
    archive, files = flower_archive()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            self.send_response(200)
            self.send_header("Content-Length", str(len(archive)))
            self.end_headers()
            if gate is None:
                self.wfile.write(archive)
                return
            self.wfile.write(archive[:1000])
            self.wfile.flush()
            gate.wait(60)
            self.wfile.write(archive[1000:])

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/flower_photos.tgz"
    module = sys.modules[tfds.builder_cls("tf_flowers").__module__]
    monkeypatch.setattr(module, "_URL", url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    try:
        yield url, archive, files
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def _png_variants(size: int, channels: int, n: int = 64) -> list[bytes]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        arr = rng.integers(0, 255, (size, size, channels), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr[..., 0] if channels == 1 else arr).save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


class ManyImages(tfds.core.GeneratorBasedBuilder):
    """Large sets of small stored PNGs for the benchmarks: configs "10k" and "100k" (28x28 grayscale, 10 classes)."""

    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = [tfds.core.BuilderConfig(name="10k"), tfds.core.BuilderConfig(name="100k")]

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(28, 28, 1)),
                "label": tfds.features.ClassLabel(num_classes=10),
            }),
        )

    def _split_generators(self, dl_manager):
        n = {"10k": 10_000, "100k": 100_000}[self.builder_config.name]
        return {"train": self._generate_examples(n - n // 10, 0), "test": self._generate_examples(n // 10, 1)}

    def _generate_examples(self, n: int, seed: int):
        variants = _png_variants(28, 1)
        for i in range(n):
            yield f"{seed}-{i}", {"image": io.BytesIO(variants[i % len(variants)]), "label": i % 10}


# --- detection and segmentation sets with the features of tfds' voc and oxford_iiit_pet ----------------------
TINY_VOC_CLASSES = ["cat", "dog", "person"]
#: (split, index) of the records the VOC-like set stores with no object at all, and with one box without area.
VOC_EMPTY = {("train", 5)}
VOC_FLAT_BOX = {("train", 3), ("test", 1)}


def voc_image(split: str, i: int) -> np.ndarray:
    """The image the VOC-like set stores as record ``i`` of ``split`` (sizes vary: 20-26 x 24-28)."""
    rng = np.random.default_rng(500 + 100 * ("train", "validation", "test").index(split) + i)
    return rng.integers(0, 255, (20 + i % 7, 24 + i % 5, 3), dtype=np.uint8)


def voc_objects(split: str, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Record ``i``'s objects as stored: boxes ``[ymin, xmin, ymax, xmax]`` (fractions, float32) and classes."""
    if (split, i) in VOC_EMPTY:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    rng = np.random.default_rng(900 + 100 * ("train", "validation", "test").index(split) + i)
    m = 1 + i % 3
    a = rng.uniform(0.0, 1.0, (m, 2))
    b = rng.uniform(0.0, 1.0, (m, 2))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    hi = np.maximum(hi, lo + 0.05).clip(0, 1)
    boxes = np.stack([lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]], axis=1).astype(np.float32)
    classes = rng.integers(0, len(TINY_VOC_CLASSES), m)
    if (split, i) in VOC_FLAT_BOX:  # tfds accepts a box without area (ymin == ymax); we skip it
        boxes = np.concatenate([boxes, np.array([[0.5, 0.2, 0.5, 0.6]], np.float32)])
        classes = np.concatenate([classes, [1]])
    return boxes, classes.astype(np.int64)


class TinyVoc(tfds.core.GeneratorBasedBuilder):
    """tfds' voc features (objects: Sequence of bbox, label, pose, flags); config "2007": train 12, validation 4,
    test 6."""

    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = [tfds.core.BuilderConfig(name="2007")]

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(),
                "image/filename": tfds.features.Text(),
                "objects": tfds.features.Sequence({
                    "label": tfds.features.ClassLabel(names=TINY_VOC_CLASSES),
                    "bbox": tfds.features.BBoxFeature(),
                    "pose": tfds.features.ClassLabel(names=["frontal", "left"]),
                    "is_truncated": np.bool_,
                    "is_difficult": np.bool_,
                }),
                "labels": tfds.features.Sequence(tfds.features.ClassLabel(names=TINY_VOC_CLASSES)),
            }),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples("train", 12), "validation": self._generate_examples("validation", 4),
                "test": self._generate_examples("test", 6)}

    def _generate_examples(self, split: str, n: int):
        for i in range(n):
            boxes, classes = voc_objects(split, i)
            objects = [{"label": int(c), "bbox": tfds.features.BBox(*(float(v) for v in b)), "pose": 0,
                        "is_truncated": False, "is_difficult": False} for b, c in zip(boxes, classes)]
            yield f"{split}-{i}", {"image": voc_image(split, i), "image/filename": f"{split}-{i}.jpg",
                                   "objects": objects, "labels": sorted({int(c) for c in classes})}


#: The record of the pet-like set whose mask is smaller than its image (skipped).
PET_BAD_MASK = ("train", 4)


def pet_image(split: str, i: int) -> np.ndarray:
    """The image the pet-like set stores as record ``i`` of ``split`` (sizes vary)."""
    rng = np.random.default_rng(700 + 100 * ("train", "test").index(split) + i)
    return rng.integers(0, 255, (16 + 3 * (i % 4), 20 + 2 * (i % 3), 3), dtype=np.uint8)


def pet_trimap(split: str, i: int) -> np.ndarray:
    """Record ``i``'s trimap as stored (H x W x 1 uint8): 2 background, 1 pet (an ellipse), 3 its border."""
    h, w = pet_image(split, i).shape[:2]
    if (split, i) == PET_BAD_MASK:
        h -= 2
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = h * (0.4 + 0.05 * (i % 3)), w * (0.5 - 0.04 * (i % 2))
    r = ((yy - cy) / (0.3 * h)) ** 2 + ((xx - cx) / (0.35 * w)) ** 2
    out = np.full((h, w), 2, np.uint8)
    out[r <= 1.3] = 3
    out[r <= 1.0] = 1
    return out[..., None]


class TinyPets(tfds.core.GeneratorBasedBuilder):
    """tfds' oxford_iiit_pet features (label, species, file_name, segmentation_mask trimap); train 8, test 3."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(),
                "label": tfds.features.ClassLabel(names=["Abyssinian", "beagle"]),
                "species": tfds.features.ClassLabel(names=["Cat", "Dog"]),
                "file_name": tfds.features.Text(),
                "segmentation_mask": tfds.features.Image(shape=(None, None, 1), use_colormap=True),
                "head_bbox": tfds.features.BBoxFeature(),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples("train", 8), "test": self._generate_examples("test", 3)}

    def _generate_examples(self, split: str, n: int):
        for i in range(n):
            yield f"{split}-{i}", {"image": pet_image(split, i), "label": i % 2, "species": i % 2,
                                   "file_name": f"{split}-{i}.jpg", "segmentation_mask": pet_trimap(split, i),
                                   "head_bbox": tfds.features.BBox(0.1, 0.1, 0.5, 0.5)}


#: How the snapshot script describes the tiny sets (as scripts/make_tfds_catalog.py's TASK_SETS does voc and the pets).
TINY_TASK_SETS = (
    {"name": "tiny_voc", "config": "2007", "task": "detection",
     "objects_key": "objects", "bbox_key": "bbox", "object_label_key": "label"},
    {"name": "tiny_pets", "config": None, "task": "segmentation", "mask_key": "segmentation_mask",
     "class_names": ["background", "pet", "border"], "mask_values": [2, 1, 3]},
)
