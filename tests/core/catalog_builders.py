"""Small tfds builders for the catalog tests (registered with tfds when this module is imported)."""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

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
