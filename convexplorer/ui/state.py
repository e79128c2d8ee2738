"""The application's shared state: what the panels hand to each other.

One :class:`AppState` lives in the main window and is given to every panel.
Panels never call each other; they set a value here and the others react to
its signal (data set chosen -> builder input shape; model trained -> inspect).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal


class AppState(QObject):
    """Values shared between panels, each with a change signal."""

    #: TensorFlow and Keras are imported and ready.
    tensorflow_ready = Signal()
    #: The current data set (a ``convexplorer.core.datasets`` Dataset) changed.
    dataset_changed = Signal(object)
    #: The builder's current design (a ``ModelSpec``) changed.
    spec_changed = Signal(object)
    #: A keras.Model is ready to inspect (trained, opened or pretrained); payload: (model, label).
    model_changed = Signal(object, str)
    #: An image file the user opened or dropped: path.
    image_opened = Signal(str)
    #: An image array (H x W x C float in [0, 1]) and a label, e.g. picked in the Data panel.
    image_array_opened = Signal(object, str)
    #: A learning timeline to show: (Timeline, live) — live while training records it.
    timeline_changed = Signal(object, bool)
    #: Ask the main window to show a panel by its key ("data", "playground", ...).
    show_panel = Signal(str)
    #: A short message for the status bar.
    status = Signal(str)
    #: A failure to show the user: (message, details).
    error = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.tf_ready = False
        self.dataset: Any = None
        self.spec: Any = None
        self.model: Any = None
        self.model_label = ""
        #: Where the image sent with ``image_array_opened`` comes from, (data set, index), or None; Inspect reads it
        #: (for the ground truth) and clears it.
        self.image_origin: Any = None
        #: The window's QSettings (None: the application's default store), for answers panels remember.
        self.settings: Any = None

    def mark_tensorflow_ready(self) -> None:
        """Record that TensorFlow is importable now and tell the panels."""
        if not self.tf_ready:
            self.tf_ready = True
            self.tensorflow_ready.emit()

    def set_dataset(self, dataset: Any) -> None:
        """Make ``dataset`` the current data set."""
        self.dataset = dataset
        self.dataset_changed.emit(dataset)

    def set_spec(self, spec: Any) -> None:
        """Make ``spec`` the current model design."""
        self.spec = spec
        self.spec_changed.emit(spec)

    def set_model(self, model: Any, label: str) -> None:
        """Make ``model`` the current model for inspection."""
        self.model, self.model_label = model, label
        self.model_changed.emit(model, label)
