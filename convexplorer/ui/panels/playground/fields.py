"""Small widget makers shared by the Playground's control boxes."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from convexplorer.ui.style import set_role


def combo(min_chars: int = 14) -> QComboBox:
    """A combo box that keeps a fixed minimum width instead of growing with its longest item."""
    c = QComboBox()
    c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    c.setMinimumContentsLength(min_chars)
    return c


def spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    """An integer spin box between ``lo`` and ``hi``, set to ``value``, with a tool tip."""
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    return s


def pair(a: QWidget, b: QWidget) -> QWidget:
    """Two widgets side by side, left-aligned (a (y, x) pair of spin boxes)."""
    w = QWidget()
    row = QHBoxLayout(w)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(a)
    row.addWidget(b)
    row.addStretch(1)
    return w


def hint_label(text: str = "") -> QLabel:
    """A grey, word-wrapped line of explanation."""
    label = QLabel(text)
    label.setWordWrap(True)
    set_role(label, "hint")
    return label


def pick(combo_box: QComboBox, value: object) -> None:
    """Select the item whose data is ``value``; leave the combo box alone when there is none."""
    i = combo_box.findData(value)
    if i >= 0:
        combo_box.setCurrentIndex(i)
