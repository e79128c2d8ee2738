"""What the Data panel is showing: one plain object its parts read and the panel updates."""

from __future__ import annotations

from dataclasses import dataclass, field

from convexplorer.core.datasets import AugmentationSpec, Dataset

#: The three subsets of a split, in the order they are drawn and described.
SUBSETS: tuple[str, ...] = ("train", "validation", "test")


@dataclass
class DataSelection:
    """The loaded source, the configured data set handed to the other panels, the augmentation, the sample in view."""

    #: The data set as loaded (stored size and colour, no split).
    source: Dataset | None = None
    #: ``source`` with the panel's size, colour, split and augmentation applied.
    dataset: Dataset | None = None
    augmentation: AugmentationSpec = field(default_factory=AugmentationSpec)
    #: Index (into ``source``) of the sample shown large and previewed.
    current: int = 0

    def subset_of(self, i: int) -> str:
        """The subset sample ``i`` belongs to in ``dataset`` ("" when there is none)."""
        ds = self.dataset
        return next((s for s in SUBSETS if ds is not None and i in set(ds.subset_indices(s).tolist())), "")
