"""The thumbnail browser: a class and subset filter, the lazy thumbnail grid, and the files skipped."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from convexplorer.core.datasets import Dataset, FolderDataset
from convexplorer.core.datasets.folder import display_name
from convexplorer.core.overlays import annotated_thumbnail, has_annotations
from convexplorer.ui.panels.data.selection import DataSelection
from convexplorer.ui.widgets.thumbnail_grid import ThumbnailGrid
from convexplorer.ui.workers import StartWork


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class ThumbnailBrowser(QWidget):
    """Thumbnails of the source's samples, filtered by class and subset, with a list of what was skipped."""

    def __init__(self, selection: DataSelection, start: StartWork,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.selection = selection
        #: Dataset index -> why its thumbnail could not be made.
        self.thumb_failures: dict[int, str] = {}
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.class_combo = QComboBox()
        self.class_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.subset_combo = QComboBox()
        for label, key in (("All subsets", "all"), ("Train", "train"), ("Validation", "validation"), ("Test", "test")):
            self.subset_combo.addItem(label, key)
        self.count_label = QLabel("")
        self.skipped_button = QPushButton("")
        self.skipped_button.setCheckable(True)
        self.skipped_button.setFlat(True)
        self.skipped_button.setStyleSheet("color:#8a4b00;text-decoration:underline;")
        self.skipped_button.hide()
        #: Draw each sample's boxes or mask on its thumbnail (shown for data sets that have them).
        self.annotations_check = QCheckBox("Boxes/masks")
        self.annotations_check.setChecked(True)
        self.annotations_check.setToolTip("Draw each image's boxes (class colours) or class mask on its thumbnail")
        self.annotations_check.hide()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.class_combo)
        bar.addWidget(self.subset_combo)
        bar.addWidget(self.annotations_check)
        bar.addWidget(self.count_label, 1)
        bar.addWidget(self.skipped_button)
        col.addLayout(bar)
        self.grid = ThumbnailGrid(64)
        self.grid.thumb_model.start_work = start
        col.addWidget(self.grid, 1)
        self.skipped_list = QListWidget()
        self.skipped_list.setMaximumHeight(140)
        self.skipped_list.hide()
        col.addWidget(self.skipped_list)

        self.class_combo.currentIndexChanged.connect(self.update_filter)
        self.subset_combo.currentIndexChanged.connect(self.update_filter)
        self.skipped_button.toggled.connect(self.skipped_list.setVisible)
        self.annotations_check.toggled.connect(self._on_annotations_toggled)
        self.grid.thumb_model.thumbnail_failed.connect(self._on_thumbnail_failed)

    def set_source(self, ds: Dataset) -> None:
        """Browse a newly loaded source: all its thumbnails, its classes in the filter."""
        self.thumb_failures.clear()
        annotated = has_annotations(ds)
        self.annotations_check.setVisible(annotated)
        self.grid.thumb_model.thumbnail_fn = annotated_thumbnail if annotated and self.annotations_check.isChecked() else None
        self.grid.set_dataset(ds)
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem(f"All classes ({len(ds)})", -1)
        for k, (name, n) in enumerate(zip(ds.class_names, ds.class_counts())):
            self.class_combo.addItem(f"{name} ({n})", k)
        self.class_combo.blockSignals(False)

    def _on_annotations_toggled(self, on: bool) -> None:
        src = self.selection.source
        if src is None or not has_annotations(src):
            return
        self.grid.thumb_model.thumbnail_fn = annotated_thumbnail if on else None
        indices = self.grid.thumb_model.indices()
        self.grid.set_dataset(src, indices)

    def update_filter(self, *_args: Any) -> None:
        """Show the thumbnails of the chosen class and subset."""
        src, ds = self.selection.source, self.selection.dataset
        if src is None:
            return
        cls = self.class_combo.currentData()
        subset = self.subset_combo.currentData()
        idx = np.arange(len(src), dtype=np.int64)
        if subset not in (None, "all") and ds is not None:
            idx = ds.subset_indices(subset)
        if cls is not None and cls >= 0:
            idx = idx[src.labels()[idx] == cls]
        self.grid.set_indices(idx)
        self.count_label.setText(f"{len(idx)} shown")

    def update_skipped(self) -> None:
        """List the files a folder scan or a thumbnail skipped, and the folder's notes."""
        self.skipped_list.clear()
        entries: list[str] = []
        src = self.selection.source
        if isinstance(src, FolderDataset):
            entries += [f"{display_name(os.path.relpath(s.path, src.root))}: {s.reason}" for s in src.skipped]
            notes = list(src.notes)
        else:
            notes = []
        known = {s.path for s in getattr(src, "skipped", [])}
        for i, reason in self.thumb_failures.items():
            if isinstance(src, FolderDataset) and src.paths[i] in known:
                continue
            entries.append(reason)
        self.skipped_list.addItems(entries + notes)
        n = len(entries)
        if n or notes:
            text = f"{_plural(n, 'file')} skipped" if n else ""
            if notes:
                text += (" · " if text else "") + _plural(len(notes), "note")
            self.skipped_button.setText(text + " (show)")
            self.skipped_button.show()
        else:
            self.skipped_button.hide()
            self.skipped_button.setChecked(False)

    def shutdown(self) -> None:
        """Stop the thumbnail loader."""
        self.grid.shutdown()

    def _on_thumbnail_failed(self, i: int, reason: str) -> None:
        self.thumb_failures[i] = reason
        self.update_skipped()
