"""Screenshot state of the Data panel: Shapes loaded, thumbnails drawn, a sample shown, augmentation previewed."""

from __future__ import annotations

from typing import Callable

from convexplorer.core.datasets import AugmentationSpec, ShapesDataset, augment_preview
from convexplorer.ui.panels.data import DataPanel
from convexplorer.ui.panels.data.preview import PREVIEW_VARIANTS
from convexplorer.ui.widgets.thumbnail_grid import load_thumbnails


def prepare(panel: DataPanel) -> None:
    """Shapes loaded, thumbnails drawn, the first sample shown, textbook augmentation previewed."""
    panel.loader.abandon(10)
    if not isinstance(panel.source, ShapesDataset):
        panel.set_source(ShapesDataset(n=panel.shapes_n_spin.value(), size=64, seed=0))
    panel._apply_options()
    model = panel.grid.thumb_model
    shown = [int(i) for i in model.indices()[: min(model.rowCount(), 160)]]
    model._on_loaded(model._generation, load_thumbnails(panel.source, shown, model.size))
    panel.grid.select_sample(3)
    panel.sample_job.show_now(panel.source, 3)
    panel.set_augmentation(AugmentationSpec.textbook())
    panel._apply_options()
    if panel.state.tf_ready:
        panel.preview_job.settle(30)
        img = panel.preview_job.input_image()
        if img is not None:
            panel.preview.show_variants(augment_preview(img, panel.augmentation, PREVIEW_VARIANTS, seed=1),
                                        panel.augmentation.describe())


def variants(panel: DataPanel) -> list[tuple[str, Callable[[], None]]]:
    """The Data panel has no extra screenshot states."""
    return []
