"""The options of the attribution methods, each shown only for its method."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from convexplorer.ui.panels.inspect.combos import fill_combo

#: The methods in the picker: (name ``inspect.attribution`` takes, words shown).
METHODS: tuple[tuple[str, str], ...] = (
    ("saliency", "Gradient saliency"),
    ("smoothgrad", "SmoothGrad"),
    ("integrated_gradients", "Integrated Gradients"),
    ("gradcam", "Grad-CAM"),
    ("gradcam++", "Grad-CAM++"),
    ("scorecam", "Score-CAM"),
    ("occlusion", "Occlusion"),
)
#: IG baselines offered: (words, value of every pixel in [0, 1] image terms).
BASELINES: tuple[tuple[str, float], ...] = (("black", 0.0), ("grey", 0.5), ("white", 1.0))
#: Which option widgets each method shows.
SHOWN: dict[str, tuple[str, ...]] = {
    "saliency": (),
    "smoothgrad": ("samples", "noise"),
    "integrated_gradients": ("baseline", "steps"),
    "gradcam": ("layer",),
    "gradcam++": ("layer",),
    "scorecam": ("layer", "channels"),
    "occlusion": ("patch", "stride"),
}
#: One line on what each method computes.
ABOUT: dict[str, str] = {
    "saliency": "|d score / d pixel|, largest over colour channels: which pixels move the score most, one at a time.",
    "smoothgrad": "the saliency averaged over noisy copies of the image: less speckle than one gradient.",
    "integrated_gradients": "gradients summed along the straight path from the baseline to the image, times the "
                            "pixel change: the attributions add up to f(image) − f(baseline).",
    "gradcam": "the conv layer's channels weighted by the mean gradient of the score, summed, ReLU: where the "
               "class's evidence lies.",
    "gradcam++": "Grad-CAM with pixel-wise weights from second-order terms: better for several instances of a class.",
    "scorecam": "each channel used as a mask on the image, weighted by how much the masked image raises the score: "
                "no gradients.",
    "occlusion": "a grey patch slid over the image; the map is how much the score drops where the patch covers.",
}


class MethodOptions(QWidget):
    """SmoothGrad samples and noise, IG baseline and steps, the CAM layer, Score-CAM channels, occlusion patch and stride."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(1, 500)
        self.samples_spin.setValue(25)
        self.noise_spin = QDoubleSpinBox()
        self.noise_spin.setRange(0.0, 1.0)
        self.noise_spin.setSingleStep(0.05)
        self.noise_spin.setValue(0.15)
        self.noise_spin.setToolTip("Noise: its standard deviation as a fraction of the image's range")
        self.baseline_combo = QComboBox()
        self.baseline_combo.addItems([w for w, _v in BASELINES])
        self.baseline_combo.setToolTip("The image the path starts from")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 1024)
        self.steps_spin.setValue(32)
        self.steps_spin.setToolTip("Points on the path: more steps, a smaller completeness gap")
        self.layer_combo = QComboBox()
        self.layer_combo.setMinimumWidth(160)
        self.channels_spin = QSpinBox()
        self.channels_spin.setRange(0, 4096)
        self.channels_spin.setSpecialValueText("all")
        self.channels_spin.setToolTip("Score-CAM masks: the channels whose activations vary most (all: every channel)")
        self.patch_spin = QSpinBox()
        self.patch_spin.setRange(0, 512)
        self.patch_spin.setSpecialValueText("auto")
        self.patch_spin.setToolTip("Side of the grey patch in pixels (auto: an eighth of the image)")
        self.stride_spin = QSpinBox()
        self.stride_spin.setRange(0, 512)
        self.stride_spin.setSpecialValueText("auto")
        self.stride_spin.setToolTip("How far the patch moves each time (auto: half the patch)")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        #: Option name -> its label and widget (shown together).
        self.rows: dict[str, tuple[QLabel, QWidget]] = {}
        for key, text, w in (("samples", "Samples", self.samples_spin), ("noise", "Noise", self.noise_spin),
                             ("baseline", "Baseline", self.baseline_combo), ("steps", "Steps", self.steps_spin),
                             ("layer", "Conv layer", self.layer_combo), ("channels", "Channels", self.channels_spin),
                             ("patch", "Patch", self.patch_spin), ("stride", "Stride", self.stride_spin)):
            label = QLabel(text)
            lay.addWidget(label)
            lay.addWidget(w)
            self.rows[key] = (label, w)
        lay.addStretch(1)
        self.set_method("saliency")

    def set_method(self, method: str) -> None:
        """Show only ``method``'s options."""
        shown = SHOWN.get(method, ())
        for key, (label, w) in self.rows.items():
            label.setVisible(key in shown)
            w.setVisible(key in shown)

    def set_layers(self, names: list[str], current: str | None) -> None:
        """Offer these conv layers for the CAM methods (``current`` picked if none is yet)."""
        old = self.layer_combo.currentText()
        fill_combo(self.layer_combo, names, old if old in names else current)

    def options(self, method: str) -> dict[str, Any]:
        """The keyword options of ``inspect.attribution`` for ``method`` as set here."""
        if method == "smoothgrad":
            return {"samples": self.samples_spin.value(), "noise": self.noise_spin.value()}
        if method == "integrated_gradients":
            return {"baseline": BASELINES[self.baseline_combo.currentIndex()][1], "steps": self.steps_spin.value()}
        if method in ("gradcam", "gradcam++", "scorecam"):
            opts: dict[str, Any] = {"layer_name": self.layer_combo.currentText() or None}
            if method == "scorecam" and self.channels_spin.value() > 0:
                opts["channels"] = self.channels_spin.value()
            return opts
        if method == "occlusion":
            opts = {}
            if self.patch_spin.value() > 0:
                opts["patch"] = self.patch_spin.value()
            if self.stride_spin.value() > 0:
                opts["stride"] = self.stride_spin.value()
            return opts
        return {}
