"""Screenshot state of the Data panel: Shapes loaded, thumbnails drawn, a sample shown, augmentation previewed;
variants with the detection scenes (boxes) and the segmentation scenes (masks)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from convexplorer.core.datasets import (
    AugmentationSpec,
    Dataset,
    ShapesDataset,
    ShapesDetectionDataset,
    ShapesSegmentationDataset,
    augment_preview,
)
from convexplorer.core.overlays import has_annotations
from convexplorer.ui.panels.data import DataPanel
from convexplorer.ui.panels.data.jobs import preview_with_targets
from convexplorer.ui.panels.data.preview import PREVIEW_INPUT_MAX, PREVIEW_VARIANTS
from convexplorer.ui.widgets.thumbnail_grid import load_thumbnails


def _thumbnails(panel: DataPanel) -> None:
    model = panel.grid.thumb_model
    shown = [int(i) for i in model.indices()[: min(model.rowCount(), 160)]]
    model._on_loaded(model._generation, load_thumbnails(panel.source, shown, model.size, make=model.thumbnail_fn))


def prepare(panel: DataPanel) -> None:
    """Shapes loaded, thumbnails drawn, the first sample shown, textbook augmentation previewed."""
    panel.loader.abandon(10)
    if not isinstance(panel.source, ShapesDataset):
        panel.set_source(ShapesDataset(n=panel.shapes_n_spin.value(), size=64, seed=0))
    panel._apply_options()
    _thumbnails(panel)
    panel.grid.select_sample(3)
    panel.sample_job.show_now(panel.source, 3)
    panel.set_augmentation(AugmentationSpec.textbook())
    panel._apply_options()
    if panel.state.tf_ready:
        panel.preview_job.settle(30)
        panel.selection.current = 3
        if has_annotations(panel.dataset):  # as the preview job does: the box moves with the image
            panel.preview.show_variants(
                preview_with_targets(panel.dataset, 3, panel.augmentation, PREVIEW_VARIANTS, 3, PREVIEW_INPUT_MAX),
                panel.augmentation.describe())
        else:
            img = panel.preview_job.input_image()
            if img is not None:
                panel.preview.show_variants(augment_preview(img, panel.augmentation, PREVIEW_VARIANTS, seed=3),
                                            panel.augmentation.describe())


def _task_set(panel: DataPanel, ds: Dataset, key: str, spec: AugmentationSpec, sample: int = 3) -> None:
    """A task set loaded as from the sources, its annotated thumbnails, a sample and its augmentation with targets."""
    panel.loader.abandon(10)
    panel.sources.select(key)
    panel.shapes_n_spin.setValue(len(ds))
    panel.set_source(ds)
    panel._apply_options()
    _thumbnails(panel)
    panel.grid.select_sample(sample)
    panel.sample_job.show_now(panel.source, sample)
    panel.set_augmentation(spec)
    panel._apply_options()
    if panel.state.tf_ready:
        panel.preview_job.settle(30)
        panel.selection.current = sample
        panel.preview.show_variants(
            preview_with_targets(panel.dataset, sample, spec, PREVIEW_VARIANTS, sample, PREVIEW_INPUT_MAX),
            panel.augmentation_words())


def _catalog_flowers(panel: DataPanel) -> None:
    """The Catalog source chosen, "flowers" searched, tf_flowers selected with its details (offline: nothing opened)."""
    import tempfile

    from PySide6.QtCore import QSettings

    from convexplorer.ui.panels.data.sources import CATALOG

    panel.loader.abandon(10)
    # The search and the choice are remembered in a scratch file, never in the user's settings.
    scratch = Path(tempfile.mkdtemp(prefix="convexplorer-catalog-shot-")) / "catalog.ini"
    panel.catalog.settings = QSettings(str(scratch), QSettings.Format.IniFormat)
    panel.sources.select(CATALOG)
    panel.catalog.search_edit.setText("flowers")
    panel.catalog.select("tf_flowers")


def variants(panel: DataPanel) -> list[tuple[str, Callable[[], None]]]:
    """Detection scenes with their boxes (thumbnails, sample, flipped/shifted/zoomed preview), segmentation scenes
    with their masks (rotated preview), and the Catalog with tf_flowers found and described."""
    det_spec = AugmentationSpec(width_shift=0.15, height_shift=0.15, zoom=0.15, horizontal_flip=True,
                                fill_mode="constant")
    seg_spec = AugmentationSpec(rotation=30, horizontal_flip=True, fill_mode="constant")
    return [
        ("detection-boxes", lambda: _task_set(panel, ShapesDetectionDataset(n=500, size=64, seed=0),
                                              "shapes_detection", det_spec)),
        ("segmentation-masks", lambda: _task_set(panel, ShapesSegmentationDataset(n=500, size=64, seed=0),
                                                 "shapes_segmentation", seg_spec)),
        ("catalog-flowers", lambda: _catalog_flowers(panel)),
    ]


def finish(panel: DataPanel) -> None:
    """Back to what ``prepare`` left (Shapes, textbook augmentation) for the panels shot after this one."""
    panel.loader.abandon(10)
    panel.sources.select("shapes")
    panel.shapes_n_spin.setValue(2000)
    panel.set_augmentation(AugmentationSpec.textbook())
    panel.set_source(ShapesDataset(n=panel.shapes_n_spin.value(), size=64, seed=0))
    panel._apply_options()
