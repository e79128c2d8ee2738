"""The "Catalog" box: search the TensorFlow Datasets image sets, read about one, and open (or download) it.

It draws the offline snapshot (``core.datasets.catalog``); opening runs in the
panel's loader, with the Source box's progress bar and Cancel.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from convexplorer.core.datasets.catalog import (
    CatalogEntry,
    human_bytes,
    is_prepared,
    load_snapshot,
    tfds_data_dir,
)
from convexplorer.core.errors import ConvExplorerError

_SETTINGS_SEARCH = "data/catalog_search"
_SETTINGS_NAME = "data/catalog_name"
#: The task filter's choices: (data, words); None shows every task.
TASK_CHOICES: tuple[tuple[str | None, str], ...] = (
    (None, "All tasks"), ("classification", "Classification"), ("detection", "Detection (boxes)"),
    ("segmentation", "Segmentation (masks)"),
)
_TASK_WORDS = {
    "classification": "classification: a class an image",
    "detection": "detection: boxes with a class each, several an image",
    "segmentation": "segmentation: a class a pixel (mask)",
}


def entry_details(entry: CatalogEntry, prepared: bool) -> str:
    """The entry described as rich text: size, classes, splits, download, licence, citation."""
    e = html.escape
    n = f"{entry.num_examples:,}" if entry.num_examples is not None else "unknown"
    splits = ", ".join(f"{k} {v:,}" for k, v in entry.splits.items()) or "not in the snapshot"
    classes = ", ".join(entry.class_names[:12]) + (" …" if len(entry.class_names) > 12 else "")
    where = "prepared in the cache: opens offline" if prepared else f"download {human_bytes(entry.download_size)}"
    rows = [
        f"<b>{e(entry.name)}</b>" + (f" ({e(entry.config)})" if entry.config else "") + f" · v{e(entry.version)}",
        f"Task: <b>{e(_TASK_WORDS.get(entry.task, entry.task))}</b>",
        f"{n} images · {entry.num_classes} classes · {e(entry.size_text())}",
        f"Splits: {e(splits)}",
        f"<i>{e(where)}</i>" + ("" if prepared or entry.dataset_size is None
                                else f", {human_bytes(entry.dataset_size)} once prepared"),
    ]
    if entry.manual_download:
        rows.append("<b>Files must be downloaded by hand</b> (see the homepage).")
    if entry.needs_beam:
        rows.append("<b>Built with Apache Beam</b>: prepare it with <code>tfds build</code> first.")
    if classes:
        rows.append(f"Classes: {e(classes)}")
    if entry.target_note:
        rows.append(e(entry.target_note[:300]))
    desc = entry.description.strip()
    if desc:
        rows.append(e(desc[:600] + ("…" if len(desc) > 600 else "")))
    rows.append(f"Licence: {e(entry.licence) if entry.licence else 'see the homepage'}")
    if entry.homepage:
        rows.append(f"<a href='{e(entry.homepage)}'>{e(entry.homepage)}</a>")
    text = "<br>".join(rows)
    if entry.citation:  # a block of its own: no <br> before it, or an empty line opens above it
        text += (f"<small><pre style='white-space: pre-wrap; margin-top: 4px; margin-bottom: 0'>"
                 f"{e(entry.citation[:800])}</pre></small>")
    return text


class CatalogBox(QGroupBox):
    """Search the catalog, show the chosen set's facts, and say what opening it will cost."""

    #: The chosen entry changed (its name; "" for none).
    chosen = Signal(str)
    #: Open this set (Enter or a double click on it).
    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None, settings: QSettings | None = None) -> None:
        super().__init__("Catalog: TensorFlow Datasets", parent)
        #: Where the search and the chosen set are remembered (screenshots swap in a scratch file).
        self.settings = settings or QSettings()
        self._entries: list[CatalogEntry] = []
        self._snapshot_text = ""
        layout = QVBoxLayout(self)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search: flowers, digits, satellite…")
        self.search_edit.setClearButtonEnabled(True)
        self.task_combo = QComboBox()
        for data, words in TASK_CHOICES:
            self.task_combo.addItem(words, data)
        self.task_combo.setToolTip("Show the sets of one task: classification, detection (boxes) or segmentation "
                                   "(masks)")
        search_row = QHBoxLayout()
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.task_combo)
        layout.addLayout(search_row)
        self.entry_list = QListWidget()
        self.entry_list.setMinimumHeight(150)
        self.entry_list.setToolTip("Enter or double click: open (downloading first if it is not prepared)")
        layout.addWidget(self.entry_list, 1)
        self.details_label = QLabel()
        self.details_label.setWordWrap(True)
        self.details_label.setTextFormat(Qt.TextFormat.RichText)
        self.details_label.setOpenExternalLinks(True)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.details_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.details_label)
        self.snapshot_label = QLabel()
        self.snapshot_label.setWordWrap(True)
        layout.addWidget(self.snapshot_label)
        self.cache_label = QLabel()
        self.cache_label.setWordWrap(True)
        layout.addWidget(self.cache_label)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Download and prepare with tfds (once), then browse it like any data set")
        layout.addWidget(self.open_button)

        self.search_edit.textChanged.connect(self._on_search)
        self.task_combo.currentIndexChanged.connect(lambda _i: self._fill(self.selected_name()))
        self.entry_list.currentItemChanged.connect(self._on_current)
        self.entry_list.itemActivated.connect(lambda item: self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.open_button.clicked.connect(lambda: self.open_requested.emit(self.selected_name()) if self.selected_name() else None)
        self._load()

    def _load(self) -> None:
        try:
            snap = load_snapshot()
        except ConvExplorerError as exc:
            self.snapshot_label.setText(str(exc))
            return
        self._entries = list(snap.entries)
        self._snapshot_text = snap.age_text()
        self.search_edit.setText(str(self.settings.value(_SETTINGS_SEARCH, "") or ""))
        self._fill(str(self.settings.value(_SETTINGS_NAME, "") or ""))

    def _fill(self, keep: str = "") -> None:
        text = self.search_edit.text().strip()
        task = self.task_combo.currentData()
        shown = [e for e in self._entries if (not text or e.matches(text)) and (task is None or e.task == task)]
        self.entry_list.blockSignals(True)
        self.entry_list.clear()
        for e in shown:
            mark = "  ✓ prepared" if is_prepared(e.builder_name) else ""
            n = f"{e.num_examples:,} images" if e.num_examples is not None else "size unknown"
            label = e.name if e.task == "classification" else f"{e.builder_name}  [{e.task}]"
            item = QListWidgetItem(f"{label}  ·  {n}{mark}")
            item.setData(Qt.ItemDataRole.UserRole, e.key)
            item.setToolTip(e.description[:300])
            self.entry_list.addItem(item)
        self.entry_list.blockSignals(False)
        names = [e.key for e in shown]
        row = names.index(keep) if keep in names else (0 if names else -1)
        self.entry_list.setCurrentRow(row)
        self.snapshot_label.setText(f"{len(shown)} of {len(self._entries)} image sets · {self._snapshot_text}")
        self.cache_label.setText(f"Cache: {tfds_data_dir()} (set TFDS_DATA_DIR to move it)")
        if row < 0:
            self._show(None)

    def _on_search(self, text: str) -> None:
        self.settings.setValue(_SETTINGS_SEARCH, text)
        self._fill(self.selected_name())

    def _on_current(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None = None) -> None:
        name = current.data(Qt.ItemDataRole.UserRole) if current is not None else ""
        if name:
            self.settings.setValue(_SETTINGS_NAME, name)
        self._show(self.entry(name))

    def _show(self, entry: CatalogEntry | None) -> None:
        if entry is None:
            self.details_label.setText("No image set matches the search.")
            self.open_button.setEnabled(False)
            self.chosen.emit("")
            return
        prepared = is_prepared(entry.builder_name)
        self.details_label.setText(entry_details(entry, prepared))
        self.open_button.setEnabled(True)
        self.open_button.setText(self.action_text())
        self.chosen.emit(entry.key)

    def refresh(self) -> None:
        """Look again at which sets are prepared (after a download)."""
        self._fill(self.selected_name())

    def entry(self, name: str) -> CatalogEntry | None:
        """The listed entry whose key is ``name`` ("mnist", "voc/2007:detection")."""
        return next((e for e in self._entries if e.key == name), None)

    def selected_name(self) -> str:
        """The chosen set's name ("" when none)."""
        item = self.entry_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else ""

    def select(self, name: str) -> None:
        """Choose the set whose key is ``name`` (clearing a search or task filter that hides it)."""
        names = [self.entry_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.entry_list.count())]
        if name not in names:
            self.search_edit.setText("")
            self.task_combo.setCurrentIndex(0)
            names = [self.entry_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.entry_list.count())]
        if name in names:
            self.entry_list.setCurrentRow(names.index(name))

    def action_text(self) -> str:
        """"Open" for a prepared set, "Download and prepare (229 MB)" otherwise."""
        entry = self.entry(self.selected_name())
        if entry is None:
            return "Open"
        if is_prepared(entry.builder_name):
            return "Open (prepared)"
        return f"Download and prepare ({human_bytes(entry.download_size)})"
