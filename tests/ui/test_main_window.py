"""The main window: panels, menus, shortcuts, drops, workspace, errors, clean shutdown."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QKeySequence
from PySide6.QtWidgets import QMessageBox

from convexplorer.core.images import save_image
from convexplorer.core.samples import checkerboard
from convexplorer.ui import main_window as mw
from convexplorer.ui.panels.base import Panel
from convexplorer.ui.workers import run_in_thread


class RecordingPanel(Panel):
    """A panel that records what it was asked to open."""

    accepts: tuple[str, ...] = ()

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        self.opened: list[Path] = []

    def open_path(self, path):
        if path.is_dir() and "dir" in self.accepts or path.suffix.lower() in self.accepts:
            self.opened.append(path)
            return True
        return False


class FakeData(RecordingPanel):
    key, title, accepts = "data", "Data", ("dir",)


class FakeInspect(RecordingPanel):
    key, title, accepts, needs_tensorflow = "inspect", "Inspect", (".png", ".keras"), True


class FakeBuilder(RecordingPanel):
    key, title, accepts = "builder", "Builder", (".json", ".keras")


class BrokenPanel(Panel):
    key, title = "training", "Training"

    def __init__(self, state, parent=None):
        raise RuntimeError("boom while building")


FAKE_PANELS = (
    ("data", __name__, "FakeData"),
    ("builder", __name__, "FakeBuilder"),
    ("training", __name__, "BrokenPanel"),
    ("inspect", __name__, "FakeInspect"),
)


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, monkeypatch, settings):
    monkeypatch.setattr(mw, "PANELS", FAKE_PANELS)
    w = mw.MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


def drop(window, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_all_panels_present_and_a_broken_one_is_explained(window):
    assert list(window.panels) == ["data", "builder", "training", "inspect"]
    broken = window.panels["training"]
    assert isinstance(broken, mw.UnavailablePanel)
    assert any("boom while building" in lbl.text() for lbl in broken.findChildren(type(window.tf_label)))


def test_tensorflow_banner_until_ready(window, qtbot):
    inspect = window.panels["inspect"]
    assert not inspect.loading_banner.isHidden()
    assert window.panels["data"].loading_banner.isHidden()
    assert "Loading TensorFlow" in window.tf_label.text()
    window.state.mark_tensorflow_ready()
    assert inspect.loading_banner.isHidden()
    assert "ready" in window.tf_label.text()


def test_panel_shortcuts_are_ctrl_numbers(window):
    assert [a.shortcut() for a in window.panel_actions.values()] == [QKeySequence(f"Ctrl+{i}") for i in range(1, 5)]
    window.panel_actions["inspect"].trigger()
    assert window.current_panel_key() == "inspect"
    text = window.shortcuts_text()
    assert "Ctrl+1" in text and "Open Image" in text


def test_dropped_files_go_to_the_right_panel(window, qtbot, tmp_path):
    image = tmp_path / "board.png"
    save_image(checkerboard(16), image)
    folder = tmp_path / "cats_vs_dogs"
    (folder / "cats").mkdir(parents=True)
    design = tmp_path / "design.json"
    design.write_text("{}")
    opened_images = []
    window.state.image_opened.connect(opened_images.append)
    drop(window, [image, folder, design])
    qtbot.waitUntil(lambda: bool(window.panels["builder"].opened), timeout=3000)
    assert window.panels["inspect"].opened == [image]
    assert window.panels["data"].opened == [folder]
    assert window.panels["builder"].opened == [design]
    assert opened_images == [str(image)]
    assert window.current_panel_key() == "builder"
    assert str(design.resolve()) == window.recent_files()[0]


def test_unsupported_drop_says_why(window, qtbot, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    drop(window, [notes])
    qtbot.waitUntil(lambda: "notes.txt" in window.statusBar().currentMessage(), timeout=3000)
    assert "expected an image" in window.statusBar().currentMessage()
    assert all(not p.opened for p in window.panels.values() if isinstance(p, RecordingPanel))


def test_double_clicked_model_and_workspace_open(window, qtbot, tmp_path):
    """A desktop's double-click runs `convexplorer %F` (the .deb registers .keras and .cxw): the
    arguments reach open_paths, a .keras model goes to Inspect and the Builder, a .cxw workspace is restored."""
    from convexplorer.app import parse_args

    model = tmp_path / "my model.keras"
    model.write_bytes(b"PK\x05\x06" + bytes(18))
    workspace = tmp_path / "lesson 3.cxw"
    window.save_workspace(workspace)
    files = parse_args([str(model), str(workspace)]).files
    assert files == [str(model), str(workspace)]
    assert window.open_paths(files) == []
    assert window.panels["inspect"].opened == [model] and window.panels["builder"].opened == [model]
    assert window.statusBar().currentMessage() == "Workspace lesson 3.cxw opened"
    assert window.recent_files()[:2] == [str(workspace.resolve()), str(model.resolve())]
    assert getattr(window, "_last_error_box", None) is None


def test_missing_file_on_command_line_is_reported(window):
    refused = window.open_paths(["/no/such/file.png"])
    assert refused == ["not found: /no/such/file.png"]


def test_layout_and_panel_are_remembered(qtbot, monkeypatch, settings):
    monkeypatch.setattr(mw, "PANELS", FAKE_PANELS)
    first = mw.MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.show()
    first.docks["inspect"].setFloating(True)
    first.show_panel("builder")
    first.close()
    second = mw.MainWindow(settings=settings)
    qtbot.addWidget(second)
    second.show()
    assert second.docks["inspect"].isFloating()
    second.reset_layout()
    assert not second.docks["inspect"].isFloating()
    second.close()


def test_workspace_round_trip_and_newer_version(window, qtbot, tmp_path):
    path = tmp_path / "work.cxw"
    window.save_workspace(path)
    data = json.loads(path.read_text())
    assert data["format_version"] == 2
    newer = tmp_path / "newer.cxw"
    newer.write_text(json.dumps({"format_version": 99}))
    window.open_workspace(newer)
    box = window._last_error_box
    assert "newer ConvExplorer" in box.text()
    box.close()
    garbage = tmp_path / "garbage.cxw"
    garbage.write_text("{not json")
    window.open_workspace(garbage)
    assert "not a valid JSON file" in window._last_error_box.text()
    window._last_error_box.close()


def test_an_older_workspace_is_upgraded_on_opening_and_left_as_it_was(window, tmp_path, monkeypatch):
    from convexplorer.core import workspace
    from convexplorer.core.presets import preset

    design = json.loads(preset("LeNet-5").to_json())
    # A made-up history: format 1 kept the design under "design"; today's format 2 calls it "spec".
    monkeypatch.setattr(workspace, "FORMAT_VERSION", 2)
    monkeypatch.setattr(workspace, "WORKSPACE_MIGRATIONS", {
        1: lambda d: {**{k: v for k, v in d.items() if k != "design"}, "spec": d.get("design")},
    })
    old = tmp_path / "old.cxw"
    old.write_text(json.dumps({"format_version": 1, "design": design, "panels": {}}))
    before = old.read_bytes()
    window.open_workspace(old)
    assert json.loads(window.state.spec.to_json()) == design
    assert old.read_bytes() == before  # rewritten only when the user saves
    window.save_workspace(tmp_path / "new.cxw")
    assert json.loads((tmp_path / "new.cxw").read_text())["format_version"] == 2


def test_a_workspace_saved_before_graphs_opens_with_its_design_unchanged(window, tmp_path):
    """The real format 1 file (written by the release before graphs) opens through the window."""
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "data" / "workspace-format1.cxw"
    old = json.loads(path.read_text())
    window.open_workspace(path)
    spec = window.state.spec
    assert spec is not None and spec.is_chain() and spec.name == old["spec"]["name"]
    assert [(layer.kind, layer.name) for layer in spec.layers] == [(d["kind"], d.get("name", "")) for d in old["spec"]["layers"]]
    from convexplorer.core.summary import summarize

    assert summarize(spec).total == 298_858  # the total that release showed (tests/data/presets-format1.json)
    window.save_workspace(tmp_path / "again.cxw")
    assert json.loads((tmp_path / "again.cxw").read_text())["format_version"] == 2


def test_error_dialog_has_details_and_app_goes_on(window):
    window.state.error.emit("could not do it", "Traceback: details here")
    box = window._last_error_box
    assert isinstance(box, QMessageBox)
    assert box.text() == "could not do it"
    assert "details here" in box.detailedText()
    box.close()
    assert window.isVisible()


def test_closing_during_work_cancels_and_joins(qtbot, monkeypatch, settings):
    monkeypatch.setattr(mw, "PANELS", FAKE_PANELS)
    w = mw.MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    started = threading.Event()

    def long_job(cancel=None):
        started.set()
        while not cancel.is_set():
            cancel.wait(0.01)
        return "stopped"

    worker = w.panels["data"].track(run_in_thread(long_job))
    assert started.wait(5)
    w.close()
    assert not worker.is_running()


def test_excepthook_relays_to_a_signal(qtbot):
    from convexplorer.ui.errors import ExceptionRelay

    relay = ExceptionRelay()
    with qtbot.waitSignal(relay.caught, timeout=2000) as blocker:
        try:
            raise KeyError("missing")
        except KeyError as exc:
            relay._hook(type(exc), exc, exc.__traceback__)
    assert blocker.args[0] == "KeyError: 'missing'"
    assert "Traceback" in blocker.args[1]


def test_errors_are_logged_to_the_user_log_dir(qtbot):
    import logging

    from convexplorer.ui.errors import setup_logging

    path = setup_logging()
    assert path is not None and str(path).startswith(os.environ["CONVEXPLORER_HOME"])
    logging.getLogger("convexplorer.test").error("a logged failure 1234")
    for h in logging.getLogger().handlers:
        h.flush()
    assert "a logged failure 1234" in path.read_text()


def test_lazy_panels_are_built_on_demand_and_in_the_background(qtbot, monkeypatch, settings):
    monkeypatch.setattr(mw, "PANELS", FAKE_PANELS)
    w = mw.MainWindow(settings=settings, lazy_panels=True)
    qtbot.addWidget(w)
    w.show()
    assert list(w.panels) == [w.current_panel_key()]  # only the visible one
    assert w.panel("builder") is w.panels["builder"]  # on demand
    w.construct_panels_in_background()
    qtbot.waitUntil(lambda: len(w.panels) == len(FAKE_PANELS), timeout=3000)
    assert isinstance(w.panels["training"], mw.UnavailablePanel)
    w.close()


def test_after_shutdown_panels_their_timers_and_the_status_bar_start_nothing(window, qtbot):
    """A timer or a queued signal that fires while the window closes cannot start a thread."""
    from PySide6.QtCore import QTimer

    from convexplorer.ui import workers

    panel = window.panels["data"]
    timer = QTimer(panel)
    timer.setInterval(5)
    timer.start()
    window.shutdown()
    assert panel.is_shut_down and not timer.isActive()
    ran = []
    assert panel.run_in_thread(lambda: ran.append(1)) is None
    assert window.device_label.refresh() is None
    late = window.panel("inspect")  # constructed only now, by something still queued
    assert late.is_shut_down and late.run_in_thread(lambda: ran.append(2)) is None
    qtbot.wait(30)
    assert ran == [] and not workers.active_workers()


def test_lazy_panels_are_not_built_after_the_window_closed(qtbot, monkeypatch, settings):
    monkeypatch.setattr(mw, "PANELS", FAKE_PANELS)
    w = mw.MainWindow(settings=settings, lazy_panels=True)
    qtbot.addWidget(w)
    before = set(w.panels)
    w.shutdown()
    w.construct_panels_in_background()
    assert set(w.panels) == before


def test_sample_images_menu_opens_each_shipped_sample_like_a_dropped_photo(window):
    from convexplorer.core.samples import SAMPLES

    actions = window.samples_menu.actions()
    assert len(actions) == len(SAMPLES) >= 4
    for action in actions:
        action.trigger()
    opened = window.panels["inspect"].opened
    assert [p.name for p in opened] == [Path(a.statusTip()).name for a in actions]
    assert all(p.is_file() and p.parent.name == "samples" for p in opened)
