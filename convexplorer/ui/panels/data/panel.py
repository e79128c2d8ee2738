"""The Data panel: builds its parts, lays them out, and wires their signals to each other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QVBoxLayout, QWidget

from convexplorer.core.datasets import AugmentationSpec, CatalogDataset, Dataset, FolderDataset, scan_folder
from convexplorer.core.datasets.catalog import open_catalog_dataset
from convexplorer.core.datasets.export import export_class_folders, safe_folder_name
from convexplorer.core.datasets.folder import display_name
from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.overlays import has_annotations
from convexplorer.ui.panels.base import Panel, control_column
from convexplorer.ui.panels.data.augmentation import AugmentationControls
from convexplorer.ui.panels.data.browser import ThumbnailBrowser
from convexplorer.ui.panels.data.catalog import CatalogBox
from convexplorer.ui.panels.data.counts import ClassCountsChart
from convexplorer.ui.panels.data.jobs import LoadJob, PreviewJob, SampleJob
from convexplorer.ui.panels.data.preparation import PreparationBox
from convexplorer.ui.panels.data.preview import AugmentationPreview
from convexplorer.ui.panels.data.sample import SampleView
from convexplorer.ui.panels.data.selection import SUBSETS, DataSelection
from convexplorer.ui.panels.data.sources import (
    CATALOG,
    SourceBox,
    cancel_note,
    load_annotations,
    load_source,
    source_label,
)
from convexplorer.ui.state import AppState
from convexplorer.ui.workers import Worker


class DataPanel(Panel):
    """Load, browse, split and augment the data set the other panels use."""

    title = "Data"
    key = "data"
    needs_tensorflow = False

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.selection = DataSelection()
        # Left: the controls.
        self.sources = SourceBox()
        self.catalog = CatalogBox()
        self.catalog.setVisible(False)
        self.preparation = PreparationBox()
        self.augmentation_controls = AugmentationControls()
        # Middle: the thumbnails and the class counts.
        self.browser = ThumbnailBrowser(self.selection, self.run_in_thread)
        self.counts = ClassCountsChart()
        # Right: the chosen sample and its augmentation.
        self.sample = SampleView()
        self.preview = AugmentationPreview()
        # Background work.
        self.loader = LoadJob(self.run_in_thread, self)
        self.sample_job = SampleJob(self.run_in_thread, self)
        self.preview_job = PreviewJob(self.selection, lambda: self.state.tf_ready, self.run_in_thread, self)
        #: The running export, None when idle.
        self.export_worker: Worker | None = None
        self._options_timer = QTimer(self, singleShot=True, interval=250)
        self._lay_out()
        self._expose_widgets()
        self._wire()
        self.preview.set_tf_ready(state.tf_ready)
        QTimer.singleShot(0, self._load_default)

    def _lay_out(self) -> None:
        outer = QHBoxLayout(self.body)
        outer.setContentsMargins(6, 6, 6, 6)
        controls = QWidget()
        col = QVBoxLayout(controls)
        col.setContentsMargins(0, 0, 0, 0)
        for box in (self.sources, self.catalog, self.preparation, self.augmentation_controls):
            col.addWidget(box)
        col.addStretch(1)
        outer.addWidget(control_column(controls, 310, 360))

        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.browser)
        middle.addWidget(self.counts)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 1)
        middle.setSizes([560, 220])
        outer.addWidget(middle, 1)

        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(0, 0, 0, 0)
        rcol.addWidget(self.sample, 1)
        rcol.addWidget(self.preview)
        right.setMinimumWidth(320)
        right.setMaximumWidth(420)
        outer.addWidget(right)

    def _expose_widgets(self) -> None:
        """The parts' widgets under the names tests and lessons reach on the panel."""
        self.source_combo = self.sources.source_combo
        self.shapes_n_spin = self.sources.shapes_n_spin
        self.load_button = self.sources.load_button
        self.open_folder_button = self.sources.open_folder_button
        self.progress_bar = self.sources.progress_bar
        self.cancel_button = self.sources.cancel_button
        self.message_label = self.sources.message_label
        self.native_size_check = self.preparation.native_size_check
        self.height_spin = self.preparation.height_spin
        self.width_spin = self.preparation.width_spin
        self.color_combo = self.preparation.color_combo
        self.val_spin = self.preparation.val_spin
        self.test_spin = self.preparation.test_spin
        self.seed_spin = self.preparation.seed_spin
        self.split_label = self.preparation.split_label
        self.rotation_spin = self.augmentation_controls.rotation_spin
        self.width_shift_spin = self.augmentation_controls.width_shift_spin
        self.height_shift_spin = self.augmentation_controls.height_shift_spin
        self.shear_spin = self.augmentation_controls.shear_spin
        self.zoom_spin = self.augmentation_controls.zoom_spin
        self.brightness_spin = self.augmentation_controls.brightness_spin
        self.hflip_check = self.augmentation_controls.hflip_check
        self.vflip_check = self.augmentation_controls.vflip_check
        self.fill_combo = self.augmentation_controls.fill_combo
        self.textbook_button = self.augmentation_controls.textbook_button
        self.no_aug_button = self.augmentation_controls.no_aug_button
        self.class_combo = self.browser.class_combo
        self.subset_combo = self.browser.subset_combo
        self.count_label = self.browser.count_label
        self.skipped_button = self.browser.skipped_button
        self.skipped_list = self.browser.skipped_list
        self.grid = self.browser.grid
        self.count_bars = self.counts.count_bars
        self.counts_plot = self.counts
        self.image_label = self.sample.image_label
        self.image_info = self.sample.image_info
        self.send_button = self.sample.send_button
        self.aug_banner = self.preview.aug_banner
        self.aug_preview = self.preview.aug_preview
        self.aug_caption = self.preview.aug_caption

    def _wire(self) -> None:
        self.sources.load_requested.connect(self.load_source)
        self.sources.folder_requested.connect(self.load_folder)
        self.sources.annotations_requested.connect(self.load_annotations)
        self.sources.cancel_button.clicked.connect(self.cancel_work)
        self.sources.export_requested.connect(self.export_to)
        self.sources.source_combo.currentIndexChanged.connect(self._on_source_chosen)
        self.catalog.open_requested.connect(self.load_catalog)
        self.loader.busy_changed.connect(lambda busy: self.catalog.open_button.setEnabled(not busy))
        self.loader.finished.connect(self.catalog.refresh)
        self.loader.message.connect(self.sources.set_message)
        self.loader.busy_changed.connect(self.sources.set_busy)
        self.loader.progress.connect(self.sources.show_progress)
        self.loader.finished.connect(self.sources.refresh)
        self.loader.loaded.connect(self.set_source)
        self.loader.checked.connect(self._on_checked)
        self.preparation.changed.connect(self._options_timer.start)
        self._options_timer.timeout.connect(self._apply_options)
        self.augmentation_controls.changed.connect(self._on_augmentation_changed)
        self.browser.grid.sample_clicked.connect(self.show_sample)
        self.browser.grid.sample_activated.connect(self.send_to_inspect)
        self.sample.send_button.clicked.connect(lambda: self.send_to_inspect(self.selection.current))
        self.sample_job.shown.connect(self._on_sample)
        self.sample_job.failed.connect(self.sample.show_error)
        self.preview_job.ready.connect(lambda v: self.preview.show_variants(v, self.augmentation_words()))
        self.preview_job.failed.connect(self.preview.show_caption)
        self.state.tensorflow_ready.connect(self._on_tf_ready)

    # --- what the panel shows (kept in ``selection``) ---------------------------------------
    @property
    def source(self) -> Dataset | None:
        """The data set as loaded."""
        return self.selection.source

    @property
    def dataset(self) -> Dataset | None:
        """The configured data set handed to the other panels."""
        return self.selection.dataset

    @property
    def augmentation(self) -> AugmentationSpec:
        """The augmentation set in the controls."""
        return self.selection.augmentation

    @property
    def _load_worker(self) -> Worker | None:
        """The running load or folder check, None when idle."""
        return self.loader.worker

    # --- loading ----------------------------------------------------------------------------
    def _load_default(self) -> None:
        if self.source is None and self.loader.worker is None:
            self.load_source("shapes")

    def _on_source_chosen(self, *_args: object) -> None:
        self.catalog.setVisible(self.sources.key() == CATALOG)

    def load_catalog(self, name: str) -> Worker | None:
        """Open catalog set ``name`` in a worker, downloading and preparing it with tfds first when needed."""
        if not name:
            return None
        self.sources.select(CATALOG)
        self.catalog.select(name)
        return self.loader.start(open_catalog_dataset, name, label=name, cancel_note=cancel_note(CATALOG, name))

    def cancel_work(self) -> None:
        """Cancel the running load or export (the Cancel button)."""
        self.loader.cancel()
        if self.export_worker is not None:
            self.export_worker.cancel()

    def export_to(self, folder: str | Path) -> Worker | None:
        """Export the data set in use (its split included) into ``folder`` as class folders, in a worker.

        An empty ``folder`` receives the export; otherwise a sub-folder named after the data set is made in it."""
        ds = self.dataset or self.source
        if ds is None or self.export_worker is not None:
            return None
        target = Path(folder)
        if target.exists() and any(target.iterdir()):
            target = target / safe_folder_name(f"{ds.name} export", set())
        worker = self.run_in_thread(export_class_folders, ds, str(target))
        if worker is None:
            return None
        self.export_worker = worker
        self.sources.set_busy(True)
        self.sources.set_message(f"Exporting {ds.name} to {target}…")
        worker.progress.connect(self.sources.show_progress)
        worker.result.connect(lambda path, n=len(ds), name=ds.name: self.sources.set_message(
            f"Exported {n} images of {name} to {path}: train/validation/test folders of class folders."))
        worker.error.connect(lambda msg, _det: self.sources.set_message(msg, error=True))
        worker.cancelled.connect(lambda: self.sources.set_message("Export cancelled: nothing was left behind."))
        worker.finished.connect(self._on_export_finished)
        return worker

    def _on_export_finished(self) -> None:
        self.export_worker = None
        self.sources.set_busy(self.loader.worker is not None)

    def load_source(self, key: str) -> Worker | None:
        """Load the built-in shapes or a standard set (downloading it if needed) in a worker."""
        if key == CATALOG:
            return self.load_catalog(self.catalog.selected_name())
        self.sources.select(key)
        label = source_label(key)
        return self.loader.start(load_source, key, self.shapes_n_spin.value(), label=label,
                                 cancel_note=cancel_note(key, label))

    def open_path(self, path: Path) -> bool:
        """Folders are opened as image data sets."""
        if Path(path).is_dir():
            self.load_folder(path)
            return True
        return False

    def load_folder(self, path: str | Path) -> Worker | None:
        """Scan a folder in a worker, show it, then check every file in the background."""
        self.sources.show_folder(path)
        size = (self.height_spin.value(), self.width_spin.value())
        label = display_name(Path(path).name)
        return self.loader.start(scan_folder, str(path), size, self.color_combo.currentData() or "rgb",
                                 label=label, cancel_note=cancel_note("folder", label))

    def load_annotations(self, kind: str, path: str | Path) -> Worker | None:
        """Read annotated data (``kind``: "masks", "voc", "coco_boxes", "coco_masks") in a worker, show it, then
        check its image files; skipped annotations are listed as skipped files are."""
        self.sources.show_annotations(kind, path)
        size = (self.height_spin.value(), self.width_spin.value())
        label = display_name(Path(path).name)
        return self.loader.start(load_annotations, kind, str(path), size, self.color_combo.currentData() or "rgb",
                                 label=label, cancel_note=cancel_note("folder", label))

    def set_source(self, ds: Dataset) -> None:
        """Show a loaded data set and hand the configured version to the other panels."""
        self.selection.source = ds
        is_folder = isinstance(ds, FolderDataset) or bool(getattr(ds, "variable_size", False))
        self.preparation.adopt_source(ds, is_folder)
        self.browser.set_source(ds)
        self.preview.set_targets(ds.task, ds.class_names if has_annotations(ds) else None)
        h, w, c = ds.native_shape
        if isinstance(ds, CatalogDataset):
            size = "sizes vary, images resized" if ds.variable_size else f"{w}x{h} {'RGB' if c == 3 else 'grayscale'}"
            kind = "; ".join([f"tfds splits {', '.join(ds.split_names)}", size, *ds.notes])
        elif is_folder:
            kind = f"{ds.layout}, images resized"
        else:
            kind = f"{w}x{h} {'RGB' if c == 3 else 'grayscale'}"
        what = {"detection": f", {self._object_total(ds)} boxes", "segmentation": ", a class mask each"}.get(ds.task, "")
        self.sources.set_message(f"{ds.name}: {len(ds)} images in {len(ds.class_names)} classes{what} ({kind}).")
        self.browser.update_skipped()
        self._apply_options()
        self.selection.current = 0
        self.show_sample(0)

    @staticmethod
    def _object_total(ds: Dataset) -> int:
        counts = ds.object_counts()
        return int(counts.sum()) if counts is not None else 0

    def _on_checked(self, checked: FolderDataset) -> None:
        if len(checked) == len(self.source or ()):
            # Nothing removed: keep the grid (scroll position, loaded thumbnails) as it is.
            self.selection.source = checked
            self.browser.update_skipped()
            self._apply_options()
        else:
            self.set_source(checked)

    # --- size, colour, split and augmentation -----------------------------------------------
    def options_dataset(self) -> Dataset | None:
        """The source configured with the panel's size, colour, split and augmentation (may raise)."""
        if self.source is None:
            return None
        return self.preparation.configure(self.source, self.augmentation)

    def _apply_options(self) -> None:
        self._options_timer.stop()
        try:
            ds = self.options_dataset()
        except ConvExplorerError as exc:
            self.preparation.show_error(str(exc))
            return
        if ds is None:
            return
        self.selection.dataset = ds
        self.preparation.show_split(ds, {s: len(ds.subset_indices(s)) for s in SUBSETS})
        self.counts.show_counts(ds)
        self.browser.update_filter()
        self.state.set_dataset(ds)
        h, w, c = ds.image_shape
        self.state.status.emit(f"Data: {ds.name}, {len(ds)} images, {h}x{w}x{c}")
        self.preview_job.schedule()

    def augmentation_words(self) -> str:
        """The augmentation described (the preview's caption)."""
        return self.augmentation.describe()

    def current_augmentation(self) -> AugmentationSpec:
        """The augmentation set in the controls."""
        return self.augmentation_controls.spec()

    def set_augmentation(self, spec: AugmentationSpec) -> None:
        """Put ``spec`` into the controls (and apply it)."""
        self.augmentation_controls.set_spec(spec)

    def _on_augmentation_changed(self) -> None:
        self.selection.augmentation = self.augmentation_controls.spec()
        self.preview.show_caption(self.augmentation.describe())
        self._options_timer.start()
        self.preview_job.schedule()

    def _on_tf_ready(self) -> None:
        self.preview.set_tf_ready(True)
        self.preview_job.schedule()

    # --- one sample ------------------------------------------------------------------------
    def show_sample(self, i: int) -> None:
        """Show sample ``i`` full size with its label and size (and preview its augmentation)."""
        src = self.source
        if src is None or not 0 <= i < len(src):
            return
        self.selection.current = int(i)
        self.sample_job.request(src, int(i))
        self.preview_job.schedule()

    def _on_sample(self, i: int, img: np.ndarray, description: str, annotations: dict | None = None) -> None:
        src = self.source
        if src is None:
            return
        # Targets are in pixels of the source's image_shape; the sample view scales them to the image shown.
        self.sample.show_sample(img, src.class_names[src.label(i)], description, self.selection.subset_of(i),
                                annotations=annotations, shape=src.image_shape[:2], class_names=src.class_names)

    def send_to_inspect(self, i: int) -> None:
        """Send sample ``i`` (as models see it) to the Inspect panel."""
        ds = self.dataset or self.source
        if ds is None or not 0 <= i < len(ds):
            return
        try:
            image = ds.image(i)
        except ConvExplorerError as exc:
            self.sources.set_message(str(exc), error=True)
            return
        label = f"{ds.class_names[ds.label(i)]} #{i} ({ds.name})"
        self.state.image_origin = (ds, int(i))  # Inspect draws this sample's boxes or mask beside the prediction
        self.state.image_array_opened.emit(image, label)
        self.state.status.emit(f"Sent {label} to Inspect")

    def shutdown(self) -> None:
        """Stop loaders, previews and the thumbnail worker."""
        self._options_timer.stop()
        self.preview_job.timer.stop()
        self.browser.shutdown()
        super().shutdown()
