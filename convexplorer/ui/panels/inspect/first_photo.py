"""The first minute: a photo opened while no model is loaded is classified by a pretrained network.

:class:`DefaultClassifier` loads ``zoo.DEFAULT_CLASSIFIER`` with its ImageNet weights when a photo
arrives and nothing else is inspected. Weights already on this machine (Keras's cache, or a
release's bundled ``weights/`` folder) are used at once; otherwise the panel asks once, inline
(:class:`DownloadOffer`, never a modal dialog), and remembers the answer in QSettings under
:data:`SETTING_KEY` ("ask", "yes" or "no"; Settings ▸ Inspect changes it).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from convexplorer.ui.style import set_role

#: QSettings key of the remembered answer.
SETTING_KEY = "inspect/default_classifier"
ASK, YES, NO = "ask", "yes", "no"
CHOICES = (ASK, YES, NO)


def default_classifier_choice(settings: Optional[QSettings] = None) -> str:
    """The remembered answer: "ask" (not asked yet), "yes" or "no"."""
    value = str((settings or QSettings()).value(SETTING_KEY, ASK) or ASK)
    return value if value in CHOICES else ASK


def set_default_classifier_choice(value: str, settings: Optional[QSettings] = None) -> None:
    """Remember ``value`` ("ask", "yes" or "no")."""
    if value not in CHOICES:
        raise ValueError(f"expected one of {CHOICES}, received {value!r}")
    (settings or QSettings()).setValue(SETTING_KEY, value)


def offer_text(name: str, megabytes: int) -> str:
    """What the offer says: the network, what it knows, the download's size and where it goes."""
    return (f"Classify photos with {name}? It was trained on ImageNet's 1000 classes. Its weights "
            f"({megabytes} MB) are downloaded once into Keras's cache and used offline after that.")


class DownloadOffer(QFrame):
    """An inline question above the prediction: download the default classifier's weights?"""

    #: The user's answer: True to download and classify, False for "not now".
    answered = Signal(bool)
    #: The question was put (the panel scrolls it into view).
    shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        set_role(self, "offer")
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.download_button = QPushButton("Download and classify")
        self.download_button.setDefault(True)
        self.not_now_button = QPushButton("Not now")
        self.not_now_button.setToolTip("Don't ask again; Settings ▸ Inspect changes this")
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.not_now_button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(self.text)
        lay.addLayout(buttons)
        self.setVisible(False)
        self.download_button.clicked.connect(lambda: self._answer(True))
        self.not_now_button.clicked.connect(lambda: self._answer(False))

    def ask(self, name: str, megabytes: int) -> None:
        """Show the question for network ``name`` and a ``megabytes`` download."""
        self.text.setText(offer_text(name, megabytes))
        self.setVisible(True)
        self.shown.emit()

    def _answer(self, yes: bool) -> None:
        self.setVisible(False)
        self.answered.emit(yes)


def prepare_standby(name: str, progress=None, cancel=None) -> dict:  # noqa: ANN001 - worker callbacks
    """Build ``name`` with its cached ImageNet weights and run it once on a blank image (which traces
    the prediction function), so that the first photo is classified without waiting for either."""
    from convexplorer.core import inspect as ins
    from convexplorer.ui.panels.inspect.jobs import load_application

    info = load_application(name, "imagenet", True, None, progress, cancel)
    shape = tuple(int(v) for v in info["model"].input_shape[1:])
    ins.predict(info["model"], np.zeros(shape, np.float32))
    return info


def warm_explanations(model: Any) -> None:
    """Run Grad-CAM and saliency once on a blank image, so that the first photo's are drawn without tracing."""
    from convexplorer.ui.panels.inspect.jobs import cam_and_saliency

    shape = tuple(int(v) for v in model.input_shape[1:])
    cam_and_saliency(model, np.zeros(shape, np.float32), None, None)


class DefaultClassifier(QObject):
    """Loads the default ImageNet classifier for a photo opened with no model (see the module doc).

    With its weights on this machine, the network is built in the background once TensorFlow is
    ready (the standby) and adopted when the first photo arrives.
    """

    def __init__(self, panel: Any, offer: DownloadOffer) -> None:
        super().__init__(panel)
        self.panel = panel
        self.offer = offer
        #: A photo arrived before TensorFlow was ready: decide when it is.
        self.pending = False
        #: The network built ahead of the first photo (``jobs.load_application``'s dict), or None.
        self.standby: dict | None = None
        self._standby_worker: Any = None
        #: Grad-CAM and saliency of the standby were traced too (everything a photo needs is ready).
        self.warm = False
        self._adopt_standby = False
        offer.answered.connect(self._on_answer)

    @property
    def settings(self) -> Optional[QSettings]:
        """The window's settings (the application's default store without a window)."""
        return getattr(self.panel.state, "settings", None)

    @property
    def name(self) -> str:
        from convexplorer.core import zoo

        return zoo.DEFAULT_CLASSIFIER

    def photo_opened(self) -> None:
        """A photo was dropped or opened: classify it with the default network if nothing else can."""
        p = self.panel
        if p.has_model() or self._loading():
            return
        if not p.state.tf_ready:
            self.pending = True
            p.topk_chart.clear("Loading TensorFlow… the photo is classified as soon as it is ready.")
            return
        self._decide()

    def tensorflow_ready(self) -> None:
        """TensorFlow is loaded: act on a photo that arrived before, or build the standby."""
        if self.pending:
            self.pending = False
            if self.panel.has_image() and not self.panel.has_model() and not self._loading():
                self._decide()
                return
        self.prepare()

    def prepare(self) -> None:
        """Build the default network in the background when its weights are here and nothing is inspected."""
        from convexplorer.core import zoo

        if (self.standby is not None or self._standby_worker is not None or self.panel.has_model()
                or not self.panel.state.tf_ready or zoo.cached_weights(self.name) is None):
            return
        worker = self.panel.run_in_thread(prepare_standby, self.name)
        if worker is None:
            return
        self._standby_worker = worker
        worker.result.connect(self._on_standby)
        worker.error.connect(self._on_standby_error)

    def _on_standby(self, info: dict) -> None:
        self._standby_worker = None
        self.standby = info
        if self._adopt_standby:
            self._adopt_standby = False
            self.load()
        else:  # nobody waits: trace Grad-CAM and saliency too (errors are of no consequence here)
            worker = self.panel.run_in_thread(warm_explanations, info["model"])
            if worker is not None:
                worker.finished.connect(self._on_warm)

    def _on_warm(self) -> None:
        self.warm = True

    def _on_standby_error(self, message: str, _details: str) -> None:
        self._standby_worker = None
        if self._adopt_standby:  # the photo is waiting: load it the ordinary way, errors shown
            self._adopt_standby = False
            self.panel.load_application(self.name, "imagenet", True)

    def _loading(self) -> bool:
        worker = self.panel.model_box.worker
        return worker is not None and worker.is_running()

    def _decide(self) -> None:
        from convexplorer.core import zoo

        if zoo.cached_weights(self.name) is not None:
            self.load()
            return
        choice = default_classifier_choice(self.settings)
        if choice == YES:
            self.load()
        elif choice == ASK:
            self.panel.topk_chart.clear("No model yet.")
            self.offer.ask(self.name, zoo.DEFAULT_CLASSIFIER_MB)
        else:
            self.panel.topk_chart.clear(
                f"No model yet: train one, open a .keras file, or load {self.name} with ImageNet weights "
                "above (Settings ▸ Inspect classifies photos at once).")

    def load(self) -> None:
        """Load the default network with its ImageNet weights (the standby, the cache or a download)."""
        self.offer.setVisible(False)
        self.panel.app_combo.setCurrentText(self.name)
        if self.standby is not None:
            info, self.standby = self.standby, None
            self.panel.adopt_application(info)
            return
        self.panel.topk_chart.clear(f"Loading {self.name} (ImageNet)…")
        if self._standby_worker is not None:  # nearly built: take it when it is
            self._adopt_standby = True
            return
        self.panel.load_application(self.name, "imagenet", True)

    def _on_answer(self, yes: bool) -> None:
        set_default_classifier_choice(YES if yes else NO, self.settings)
        if yes:
            if not self.panel.has_model():
                self.load()
        else:
            self._decide()
