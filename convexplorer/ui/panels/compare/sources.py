"""Model sources: the "A [...] B [...] Add .keras file…" row, the list it offers, and the loaded models kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

#: keras.applications networks offered for comparison: (name, weights).
APPLICATION_CHOICES: tuple[tuple[str, Optional[str]], ...] = (
    ("MobileNetV2", None),
    ("MobileNetV2", "imagenet"),
    ("MobileNet", None),
    ("ResNet50", None),
    ("VGG16", None),
    ("EfficientNetB0", None),
)


def source_key(source: Any) -> tuple:
    """What identifies a model source (two entries for the same file share their loaded model)."""
    return (source.kind, source.path, source.name, source.weights, id(source.model) if source.model is not None else None)


class LoadedModels:
    """The loaded models of the last comparison (two at most), by :func:`source_key`, so that Compare again is quick."""

    def __init__(self) -> None:
        self._loaded: dict[tuple, Any] = {}  # source_key -> core.compare.LoadedModel

    def get(self, source: Any) -> Any:
        """The loaded model of ``source``, or None."""
        return self._loaded.get(source_key(source))

    def keep(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        """Keep these (source, loaded model) pairs and forget every other model."""
        keys = [source_key(source) for source, _loaded in pairs]
        self._loaded = {k: v for k, v in self._loaded.items() if k in keys}
        for key, (_source, loaded) in zip(keys, pairs):
            self._loaded[key] = loaded


class ModelSourcePicker(QWidget):
    """The models offered (current model, kept runs' models and checkpoints, files, applications) and A and B chosen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sources: list[Any] = []  # core.compare.ModelSource per combo entry
        self.source_a_combo = QComboBox()
        self.source_b_combo = QComboBox()
        for combo, name in ((self.source_a_combo, "A"), (self.source_b_combo, "B")):
            combo.setMinimumWidth(260)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setToolTip(f"Model {name}: the current model, a kept run's model or checkpoint, a file, or a pretrained network")
        self.open_file_button = QPushButton("Add .keras file…")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("A"))
        row.addWidget(self.source_a_combo, 1)
        row.addWidget(QLabel("B"))
        row.addWidget(self.source_b_combo, 1)
        row.addWidget(self.open_file_button)
        self.open_file_button.clicked.connect(self._on_add_file)

    def refresh(self, model: Any, model_label: str, class_names: Optional[Sequence[str]], runs: Sequence[Any]) -> None:
        """Rebuild the list: ``model`` (the current one, or None), the ``runs``' checkpoints, added files, applications."""
        from convexplorer.core.compare import ModelSource, list_checkpoints

        keep_a, keep_b = self.source_a_combo.currentIndex(), self.source_b_combo.currentIndex()
        files = [s for s in self.sources if s.kind == "file" and getattr(s, "_added", False)]
        sources: list[Any] = []
        if model is not None:
            sources.append(ModelSource("model", label=f"current: {model_label or model.name}",
                                       model=model, class_names=None if class_names is None else list(class_names)))
        for run in runs:
            try:
                for label, path in list_checkpoints(run.path):
                    names = (run.evaluation or {}).get("class_names")
                    sources.append(ModelSource("file", label=f"{run.label or run.id} · {label}", path=str(path),
                                               class_names=list(names) if names else None))
            except Exception:  # noqa: BLE001
                continue
        sources.extend(files)
        for name, weights in APPLICATION_CHOICES:
            sources.append(ModelSource("application", label=f"{name} ({'ImageNet' if weights else 'random'} weights)",
                                       name=name, weights=weights))
        self.sources = sources
        for combo, keep, default in ((self.source_a_combo, keep_a, 0), (self.source_b_combo, keep_b, 1)):
            combo.blockSignals(True)
            combo.clear()
            for s in sources:
                combo.addItem(s.label)
            combo.setCurrentIndex(keep if 0 <= keep < len(sources) else min(default, len(sources) - 1))
            combo.blockSignals(False)

    def add_source(self, source: Any) -> int:
        """Add a model source (a core.compare.ModelSource) to both lists; returns its index."""
        self.sources.insert(0, source)
        for combo in (self.source_a_combo, self.source_b_combo):
            i = combo.currentIndex()
            combo.insertItem(0, source.label)
            combo.setCurrentIndex(i + 1 if i >= 0 else 0)
        return 0

    def add_source_file(self, path: str) -> int:
        """Add a .keras file as a model source (also made model B)."""
        from convexplorer.core.compare import ModelSource

        src = ModelSource("file", label=Path(path).name, path=str(path))
        src._added = True  # type: ignore[attr-defined] - kept when the lists are rebuilt
        i = self.add_source(src)
        self.source_b_combo.setCurrentIndex(i)
        return i

    def set_sources(self, a: int, b: int) -> None:
        """Choose models A and B by their index in the lists."""
        self.source_a_combo.setCurrentIndex(a)
        self.source_b_combo.setCurrentIndex(b)

    def labels(self) -> list[str]:
        """The labels of the model sources offered."""
        return [s.label for s in self.sources]

    def chosen(self) -> Optional[tuple[Any, Any]]:
        """The sources chosen as A and B, or None while either list has no choice."""
        ia, ib = self.source_a_combo.currentIndex(), self.source_b_combo.currentIndex()
        if not (0 <= ia < len(self.sources) and 0 <= ib < len(self.sources)):
            return None
        return self.sources[ia], self.sources[ib]

    def _on_add_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a Keras model", "", "Keras models (*.keras *.h5)")
        if path:
            self.add_source_file(path)
