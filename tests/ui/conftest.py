"""Fixtures of the UI tests: one main window for a whole test module, shown for each test."""

from __future__ import annotations

import pytest

from tests.windows import scratch_window


@pytest.fixture(scope="module")
def module_window(request, qapp, tmp_path_factory):
    """A :class:`MainWindow` for the module (its ``WINDOW_SIZE`` and ``KEEP_SETTINGS`` constants tune it)."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    size = getattr(request.module, "WINDOW_SIZE", None)
    keep = getattr(request.module, "KEEP_SETTINGS", True)
    with scratch_window(qapp, tmp_path_factory.mktemp(name), size=size, keep_settings=keep) as w:
        yield w


@pytest.fixture
def window(module_window):
    """The module's window, shown for the test and hidden after it (closing it would shut its panels down)."""
    module_window.show()
    yield module_window
    module_window.hide()
