"""Filling the layer and class pickers from an analysis without firing their handlers."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from PySide6.QtWidgets import QComboBox


def fill_combo(combo: QComboBox, items: list[str], current: str | None) -> None:
    """Give ``combo`` these ``items`` (untouched if it has them) and select ``current`` if it is one."""
    if [combo.itemText(i) for i in range(combo.count())] != list(items):
        combo.clear()
        combo.addItems(items)
    if current and current in items:
        combo.setCurrentText(current)


class Filling:
    """A flag that is up while code (not the user) changes a tab's pickers."""

    def __init__(self) -> None:
        self.on = False

    def __bool__(self) -> bool:
        return self.on

    @contextmanager
    def __call__(self) -> Iterator[None]:
        """Raise the flag for the ``with`` block."""
        self.on = True
        try:
            yield
        finally:
            self.on = False
