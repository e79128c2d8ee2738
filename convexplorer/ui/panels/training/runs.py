"""The kept runs: a list of the runs folder, ticked to compare, selected to show, export, inspect or delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from convexplorer.core.errors import ConvExplorerError
from convexplorer.ui.panels.training.jobs import export_tensorboard_job
from convexplorer.ui.workers import StartWork, Worker


class RunsView(QGroupBox):
    """The runs list and its buttons: exports itself, asks the panel for the rest through signals."""

    #: Show the selected run's history and stored evaluation.
    show_requested = Signal(object)
    #: Compare the ticked runs (a list) on the charts.
    compare_requested = Signal(object)
    #: Send the selected run's final model to Inspect.
    inspect_requested = Signal(object)
    #: Delete the selected run.
    delete_requested = Signal(object)
    #: Something to tell the user: (text, kind).
    message = Signal(str, str)

    def __init__(self, start: StartWork, parent: QWidget | None = None) -> None:
        super().__init__("Runs (kept in your workspace)", parent)
        self._start = start  # the panel's run_in_thread: its shutdown joins the export workers
        self._busy = False
        rl = QVBoxLayout(self)
        rl.setContentsMargins(6, 4, 6, 4)
        self.runs_list = QListWidget()
        self.runs_list.setMinimumHeight(90)
        self.runs_list.setWordWrap(True)
        self.runs_list.setToolTip("Tick runs to compare them on the charts; select one to show, export or inspect it")
        rl.addWidget(self.runs_list, 1)
        rb1 = QHBoxLayout()
        self.show_run_button = QPushButton("Show")
        self.compare_button = QPushButton("Compare ticked")
        self.inspect_run_button = QPushButton("To Inspect")
        for b in (self.show_run_button, self.compare_button, self.inspect_run_button):
            rb1.addWidget(b)
        rl.addLayout(rb1)
        rb2 = QHBoxLayout()
        self.csv_button = QPushButton("CSV…")
        self.tensorboard_button = QPushButton("TensorBoard…")
        self.delete_run_button = QPushButton("Delete")
        for b in (self.csv_button, self.tensorboard_button, self.delete_run_button):
            rb2.addWidget(b)
        rl.addLayout(rb2)

        self.show_run_button.clicked.connect(lambda: self._request(self.show_requested))
        self.compare_button.clicked.connect(lambda: self.compare_requested.emit(self.ticked_runs()))
        self.inspect_run_button.clicked.connect(lambda: self._request(self.inspect_requested))
        self.delete_run_button.clicked.connect(lambda: self._request(self.delete_requested))
        self.csv_button.clicked.connect(self._on_export_csv)
        self.tensorboard_button.clicked.connect(self._on_export_tensorboard)
        self.runs_list.currentRowChanged.connect(lambda _r: self._update_buttons())
        self._update_buttons()

    def refresh(self, select: str | None = None) -> None:
        """Re-read the runs folder into the list, keeping the ticks; select run ``select`` if given."""
        from convexplorer.core.runs import list_runs

        ticked = {run.id for run in self.ticked_runs()}
        self.runs_list.clear()
        try:
            runs = list_runs()
        except ConvExplorerError as exc:
            self.message.emit(f"Cannot read the runs folder: {exc}", "warn")
            runs = []
        for run in runs:
            item = QListWidgetItem(run.title)
            item.setData(Qt.ItemDataRole.UserRole, run)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if run.id in ticked else Qt.CheckState.Unchecked)
            item.setToolTip(f"{run.path}\n{run.message}")
            self.runs_list.addItem(item)
            if run.id == select:
                self.runs_list.setCurrentItem(item)
        self._update_buttons()

    def selected_run(self) -> Any:
        """The run selected in the list, or None."""
        item = self.runs_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def ticked_runs(self) -> list[Any]:
        """The ticked runs, in list order (newest first)."""
        return [self.runs_list.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.runs_list.count())
                if self.runs_list.item(i).checkState() == Qt.CheckState.Checked]

    def tick_first(self, n: int) -> None:
        """Tick the ``n`` newest runs."""
        for i in range(min(self.runs_list.count(), n)):
            self.runs_list.item(i).setCheckState(Qt.CheckState.Checked)

    def set_busy(self, busy: bool) -> None:
        """While training, a run cannot be deleted."""
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_run = self.runs_list.currentItem() is not None
        for b in (self.show_run_button, self.inspect_run_button, self.csv_button, self.tensorboard_button):
            b.setEnabled(has_run)
        self.delete_run_button.setEnabled(has_run and not self._busy)
        self.compare_button.setEnabled(self.runs_list.count() > 0)

    def _request(self, signal: Any) -> None:
        run = self.selected_run()
        if run is not None:
            signal.emit(run)

    def export_csv(self, run: Any, path: str | Path, per: str = "epoch") -> Path:
        """Write a run's history as CSV."""
        from convexplorer.core.runs import export_csv, load_history

        return export_csv(load_history(run), path, per=per)

    def export_tensorboard(self, run: Any, folder: str | Path) -> Worker | None:
        """Write a run's history as TensorBoard logs (on a worker); returns the worker (None after shutdown)."""
        from convexplorer.core.runs import load_history

        h = load_history(run)
        worker = self._start(export_tensorboard_job, h, str(folder))
        if worker is None:
            return None
        worker.result.connect(lambda p: self.message.emit(f"TensorBoard logs in {p}: run `tensorboard --logdir {p}`", "ok"))
        worker.error.connect(lambda m, d: self.message.emit(m, "error"))
        return worker

    def _on_export_csv(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export history as CSV", str(Path.home() / f"{run.id}.csv"), "CSV (*.csv)")
        if path:
            try:
                self.export_csv(run, path)
                self.message.emit(f"Saved {path}", "ok")
            except ConvExplorerError as exc:
                self.message.emit(str(exc), "error")

    def _on_export_tensorboard(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Folder for the TensorBoard logs", str(run.path))
        if folder:
            try:
                self.export_tensorboard(run, Path(folder) / f"tensorboard-{run.id}")
            except ConvExplorerError as exc:
                self.message.emit(str(exc), "error")
