"""ThumbnailGrid: a QListView in icon mode whose thumbnails load lazily on a worker.

The model only knows sample indices; a thumbnail is requested the first time
the view asks for it (so only visible items are ever loaded), loaded in small
chunks by one worker at a time (the most recent requests first, so scrolling
fast does not queue up the whole folder), and kept in a bounded LRU cache. A
folder of 50,000 files therefore costs 50,000 integers, not 50,000 images::

    grid = ThumbnailGrid()
    grid.set_dataset(dataset)                 # any core.datasets.Dataset
    grid.set_indices(dataset.subset_indices("train"))   # or a class filter
    grid.sample_clicked.connect(lambda i: ...)   # dataset index
    grid.sample_activated.connect(lambda i: ...) # double-click / Enter
    grid.shutdown()                            # cancel and join the loader
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.progress import check_cancel
from convexplorer.ui.workers import StartWork, Worker, run_in_thread

#: Thumbnails kept in memory (each ~16 KB at 64 px): bounded whatever the folder size.
CACHE_LIMIT = 1500
#: Thumbnails loaded per worker run.
CHUNK = 32
#: Requests remembered while the loader is busy (older ones are dropped: they scrolled away).
PENDING_LIMIT = 256
#: Item data role carrying the dataset index.
INDEX_ROLE = int(Qt.ItemDataRole.UserRole) + 1


def load_thumbnails(dataset: Any, indices: list[int], size: int, cancel=None, make=None) -> list[tuple[int, Any]]:
    """Thumbnails for ``indices``: (index, uint8 array) or (index, error message) per sample.

    ``make(dataset, i, size)`` draws one (None: ``dataset.thumbnail``; the Data panel passes one that draws boxes and masks).
    """
    out: list[tuple[int, Any]] = []
    for i in indices:
        check_cancel(cancel)
        try:
            out.append((i, dataset.thumbnail(i, size) if make is None else make(dataset, i, size)))
        except ConvExplorerError as exc:
            out.append((i, str(exc)))
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the grid
            out.append((i, f"{type(exc).__name__}: {exc}"))
    return out


def array_to_qimage(arr: np.ndarray) -> QImage:
    """``H x W x 3`` (extra channels dropped) or ``H x W [x 1]`` uint8 -> a QImage that owns its pixels."""
    a = np.ascontiguousarray(arr)
    if a.ndim == 3 and a.shape[2] == 1:
        a = np.ascontiguousarray(a[..., 0])
    elif a.ndim == 3 and a.shape[2] > 3:
        a = np.ascontiguousarray(a[..., :3])
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def array_to_pixmap(image: np.ndarray, side: int, smooth: bool = False) -> QPixmap:
    """An image (uint8, or float in [0, 1]) as a pixmap fitting ``side`` x ``side``, aspect kept."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
    return QPixmap.fromImage(array_to_qimage(a)).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode)


def _placeholder(size: int, broken: bool) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(QColor("#eeeeee") if not broken else QColor("#f6d5d5"))
    if broken:
        p = QPainter(pix)
        p.setPen(QColor("#a33"))
        p.drawLine(8, 8, size - 8, size - 8)
        p.drawLine(size - 8, 8, 8, size - 8)
        p.end()
    return pix


class ThumbnailModel(QAbstractListModel):
    """Rows are dataset indices; decorations load lazily and are LRU-cached."""

    #: Emitted after a chunk of thumbnails arrived (number now cached).
    thumbnails_loaded = Signal(int)
    #: A thumbnail failed to load: (dataset index, reason).
    thumbnail_failed = Signal(int, str)

    def __init__(self, size: int = 64, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.size = int(size)
        self._dataset: Any = None
        self._indices = np.zeros(0, np.int64)
        self._row_of: dict[int, int] | None = None
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._failed: dict[int, str] = {}
        self._pending: OrderedDict[int, None] = OrderedDict()
        self._worker: Worker | None = None
        self._generation = 0
        self._loading = _placeholder(self.size, False)
        self._broken = _placeholder(self.size, True)
        #: How thumbnails are loaded off the GUI thread: a panel sets its run_in_thread, which
        #: tracks the worker and starts nothing once the panel has shut down.
        self.start_work: StartWork = run_in_thread
        #: How one thumbnail is drawn, ``make(dataset, i, size)`` (None: ``dataset.thumbnail``); set before set_dataset.
        self.thumbnail_fn: Any = None

    # --- content ---------------------------------------------------------------------
    def set_dataset(self, dataset: Any, indices: np.ndarray | None = None) -> None:
        """Show ``dataset`` (all samples, or ``indices``); the cache is cleared."""
        self.beginResetModel()
        self._generation += 1
        self._dataset = dataset
        self._cache.clear()
        self._failed.clear()
        self._pending.clear()
        self._indices = np.arange(len(dataset), dtype=np.int64) if indices is None else np.asarray(indices, np.int64)
        self._row_of = None
        self.endResetModel()

    def set_indices(self, indices: np.ndarray) -> None:
        """Show only these dataset indices (a class filter); cached thumbnails are kept."""
        self.beginResetModel()
        self._indices = np.asarray(indices, np.int64)
        self._row_of = None
        self._pending.clear()
        self.endResetModel()

    def dataset(self) -> Any:
        """The data set shown."""
        return self._dataset

    def indices(self) -> np.ndarray:
        """Dataset indices of the rows."""
        return self._indices

    def cached_count(self) -> int:
        """Thumbnails currently in memory."""
        return len(self._cache)

    def failures(self) -> dict[int, str]:
        """Samples whose thumbnail could not be made, with the reason."""
        return dict(self._failed)

    # --- Qt model API ----------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        """Number of samples shown."""
        return 0 if parent.isValid() else int(len(self._indices))

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Icon (lazily loaded), tooltip with the class, and the dataset index."""
        if not index.isValid() or self._dataset is None or index.row() >= len(self._indices):
            return None
        i = int(self._indices[index.row()])
        if role == Qt.ItemDataRole.DecorationRole:
            pix = self._cache.get(i)
            if pix is not None:
                self._cache.move_to_end(i)
                return pix
            if i in self._failed:
                return self._broken
            self._request(i)
            return self._loading
        if role == Qt.ItemDataRole.ToolTipRole:
            name = self._dataset.class_names[self._dataset.label(i)]
            extra = f"\n{self._failed[i]}" if i in self._failed else ""
            return f"#{i} · {name}{extra}"
        if role == INDEX_ROLE:
            return i
        return None

    # --- loading -----------------------------------------------------------------------
    def request_rows(self, first: int, last: int) -> None:
        """Queue the thumbnails of rows ``first..last`` (what is on screen), first row first."""
        n = len(self._indices)
        first, last = max(0, first), min(n - 1, last)
        for row in range(last, first - 1, -1):  # newest-first queue: the top row loads first
            i = int(self._indices[row])
            if i not in self._cache and i not in self._failed:
                self._request(i)

    def _request(self, i: int) -> None:
        self._pending[i] = None
        self._pending.move_to_end(i)
        while len(self._pending) > PENDING_LIMIT:
            self._pending.popitem(last=False)
        if self._worker is None:
            self._start_next()

    def _start_next(self) -> None:
        if not self._pending or self._dataset is None:
            return
        batch: list[int] = []
        while self._pending and len(batch) < CHUNK:
            i, _ = self._pending.popitem(last=True)  # newest first: what is on screen now
            if i not in self._cache and i not in self._failed:
                batch.append(i)
        if not batch:
            return
        generation = self._generation
        if self.thumbnail_fn is None:
            worker = self.start_work(load_thumbnails, self._dataset, batch, self.size)
        else:
            worker = self.start_work(load_thumbnails, self._dataset, batch, self.size, make=self.thumbnail_fn)
        if worker is None:
            return
        worker.result.connect(lambda res, g=generation: self._on_loaded(g, res))
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker

    def _on_loaded(self, generation: int, results: list[tuple[int, Any]]) -> None:
        if generation != self._generation:
            return
        for i, value in results:
            if isinstance(value, str):
                self._failed[i] = value
                self.thumbnail_failed.emit(i, value)
            else:
                self._cache[i] = QPixmap.fromImage(array_to_qimage(value))
                self._cache.move_to_end(i)
        while len(self._cache) > CACHE_LIMIT:
            self._cache.popitem(last=False)
        rows = self._rows_for([i for i, _ in results])
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)), [Qt.ItemDataRole.DecorationRole])
        self.thumbnails_loaded.emit(len(self._cache))

    def _rows_for(self, idx: list[int]) -> list[int]:
        if self._row_of is None:
            self._row_of = {int(v): r for r, v in enumerate(self._indices.tolist())}
        return [self._row_of[i] for i in idx if i in self._row_of]

    def _on_worker_finished(self) -> None:
        self._worker = None
        self._start_next()

    def shutdown(self) -> None:
        """Stop loading (cancel and join the current worker)."""
        self._pending.clear()
        self._generation += 1
        w = self._worker
        if w is not None:
            w.cancel()
            w.wait(10.0)


class ThumbnailGrid(QListView):
    """Icon-mode list of a data set's samples with lazily loaded, cached thumbnails."""

    #: A thumbnail was clicked (or selected with the keyboard): dataset index.
    sample_clicked = Signal(int)
    #: Double-click or Enter on a thumbnail: dataset index.
    sample_activated = Signal(int)

    def __init__(self, thumb_size: int = 64, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.thumb_model = ThumbnailModel(thumb_size, self)
        self.setModel(self.thumb_model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setIconSize(QSize(thumb_size, thumb_size))
        self.setGridSize(QSize(thumb_size + 10, thumb_size + 10))
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWrapping(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._prefetch_timer = QTimer(self, singleShot=True, interval=0)
        self._prefetch_timer.timeout.connect(self.prefetch_visible)
        self.verticalScrollBar().valueChanged.connect(lambda _v: self._prefetch_timer.start())
        self.clicked.connect(self._on_clicked)
        # Not ``activated``: some styles activate on a single click.
        self.doubleClicked.connect(self._on_activated)

    def set_dataset(self, dataset: Any, indices: np.ndarray | None = None) -> None:
        """Show ``dataset`` (optionally only ``indices``)."""
        self.thumb_model.set_dataset(dataset, indices)
        self._prefetch_timer.start()

    def set_indices(self, indices: np.ndarray) -> None:
        """Show only these dataset indices."""
        self.thumb_model.set_indices(indices)
        self.scrollToTop()
        self._prefetch_timer.start()

    def visible_rows(self) -> tuple[int, int]:
        """First and last row on screen (estimated from the grid when the layout is not done yet)."""
        n = self.thumb_model.rowCount()
        if n == 0:
            return 0, -1
        vp = self.viewport().rect()
        grid = self.gridSize()
        cols = max(1, vp.width() // max(1, grid.width()))
        rows = max(1, vp.height() // max(1, grid.height()) + 1)
        top = self.indexAt(vp.topLeft() + QPoint(grid.width() // 2, grid.height() // 2))
        first = top.row() if top.isValid() else 0
        return first, min(n - 1, first + cols * rows - 1)

    def prefetch_visible(self) -> None:
        """Load the thumbnails on screen now (painting also requests them; this does not wait for it)."""
        first, last = self.visible_rows()
        if last >= first:
            self.thumb_model.request_rows(first, last)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """More room shows more thumbnails: fetch them."""
        super().resizeEvent(event)
        self._prefetch_timer.start()

    def select_sample(self, i: int) -> None:
        """Select the row showing dataset index ``i`` (if shown)."""
        rows = self.thumb_model._rows_for([int(i)])
        if rows:
            idx = self.thumb_model.index(rows[0])
            self.setCurrentIndex(idx)
            self.scrollTo(idx)

    def _on_clicked(self, index: QModelIndex) -> None:
        i = index.data(INDEX_ROLE)
        if i is not None:
            self.sample_clicked.emit(int(i))

    def _on_activated(self, index: QModelIndex) -> None:
        i = index.data(INDEX_ROLE)
        if i is not None:
            self.sample_activated.emit(int(i))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Enter/Return sends the current sample like a double-click."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self._on_activated(self.currentIndex())
            return
        super().keyPressEvent(event)

    def currentChanged(self, current: QModelIndex, previous: QModelIndex) -> None:  # noqa: N802 - Qt override
        """Keyboard navigation shows the sample too."""
        super().currentChanged(current, previous)
        if current.isValid():
            i = current.data(INDEX_ROLE)
            if i is not None:
                self.sample_clicked.emit(int(i))

    def shutdown(self) -> None:
        """Stop the thumbnail loader."""
        self.thumb_model.shutdown()
