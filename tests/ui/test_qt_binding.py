"""The installed Qt binding keeps Python's reference counts right (PySide6 6.12.0 on 3.11 does not)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_void_qt_calls_do_not_leak_references_to_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
    # A small drift is other code; the broken binding loses exactly one per call.
    assert sys.getrefcount(None) > before - 100
