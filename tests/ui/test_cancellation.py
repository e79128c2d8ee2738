"""Cancelling and stopping long operations through the real main window, at random moments.

Each test starts work from a panel the way a user does (scan a folder, train,
filter patterns, load a pretrained network, export), stops or cancels it after
a random delay drawn by a seeded ``random.Random``, and checks that the window
answers at once, that no worker is left running, that what the user had (the
design, the runs already saved, the workspace file) is untouched, and that
the same operation then runs to the right end. The last test closes a window
in the middle of several operations at once.
"""

from __future__ import annotations

import io
import random
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

pytest.importorskip("keras")

from convexplorer.core.datasets.folder import FolderDataset  # noqa: E402
from convexplorer.core.errors import Cancelled  # noqa: E402
from convexplorer.core.runs import list_runs, read_run  # noqa: E402
from convexplorer.core.spec import LayerSpec, ModelSpec  # noqa: E402
from convexplorer.core.workspace import runs_dir  # noqa: E402
from convexplorer.ui import workers  # noqa: E402
from convexplorer.ui.main_window import MainWindow  # noqa: E402
from convexplorer.ui.tfloader import load_tensorflow_now  # noqa: E402
from tests.windows import visible_text  # noqa: E402

SEED = 7321
#: How long any operation may take to wind down after a cancel, stop or close (seconds).
WIND_DOWN_S = 15
#: The GUI thread must answer a zero-delay timer within this while work runs (ms).
RESPONSIVE_MS = 1000


# --------------------------------------------------------------------------- helpers
def assert_responsive(qtbot) -> None:
    """The event loop runs: a zero-delay timer fires promptly."""
    fired = []
    t0 = time.monotonic()
    QTimer.singleShot(0, lambda: fired.append(time.monotonic()))
    qtbot.waitUntil(lambda: bool(fired), timeout=RESPONSIVE_MS)
    assert fired[0] - t0 < RESPONSIVE_MS / 1000


def wait_idle(qtbot, what: str) -> None:
    """Every worker has ended (bounded), and the finished signals have been delivered."""
    deadline = time.monotonic() + WIND_DOWN_S
    while workers.active_workers() and time.monotonic() < deadline:
        qtbot.wait(20)
    left = workers.active_workers()
    assert not left, f"{what}: {len(left)} worker(s) still running {WIND_DOWN_S} s later"
    qtbot.wait(30)  # let queued finished signals reach the panels


def texts(window) -> str:
    """What the user can read, error details included."""
    return visible_text(window, details=True)


def no_traceback(window, what: str) -> None:
    assert "Traceback" not in texts(window), f"{what}: a traceback is shown"
    box = getattr(window, "_last_error_box", None)
    if isinstance(box, QMessageBox):
        try:
            visible = box.isVisible()
        except RuntimeError:
            visible = False
        assert not visible, f"{what}: an error dialog is open: {box.text()}"


def tiny_design() -> ModelSpec:
    return ModelSpec("cancel-test", (16, 16, 3), 4, [
        LayerSpec("Conv2D", {"filters": 8, "kernel_size": [3, 3], "padding": "same"}),
        LayerSpec("MaxPooling2D", {}),
        LayerSpec("Conv2D", {"filters": 8, "kernel_size": [3, 3], "padding": "same"}),
        LayerSpec("GlobalAveragePooling2D", {}),
        LayerSpec("Dense", {"units": 4, "activation": "softmax", "units_from_classes": True}),
    ])


def run_files(run) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(run.path).iterdir()) if p.is_file()}


def assert_no_temp_files(folder: Path, what: str) -> None:
    stray = [p.name for p in folder.rglob("*") if p.name.startswith(".") or p.name.endswith((".part", ".tmp"))]
    assert not stray, f"{what}: temporary files left in {folder}: {stray}"


def use_small_shapes(window, qtbot) -> None:
    """Shapes, 160 samples at 16x16, loaded through the Data panel as a user would."""
    data = window.panels["data"]
    data.native_size_check.setChecked(False)
    data.height_spin.setValue(16)
    data.width_spin.setValue(16)
    data.shapes_n_spin.setValue(160)
    data.load_source("shapes")
    qtbot.waitUntil(
        lambda: data._load_worker is None and window.state.dataset is not None
        and len(window.state.dataset) == 160 and tuple(window.state.dataset.image_shape) == (16, 16, 3),
        timeout=30_000,
    )


#: The size of the module's window (tests/ui/conftest.py: module_window).
WINDOW_SIZE = (1280, 860)


# --------------------------------------------------------------------------- thumbnails (the loader function)
def test_thumbnail_loading_cancelled_at_random_items_then_complete():
    from convexplorer.core.datasets.shapes import ShapesDataset
    from convexplorer.ui.widgets.thumbnail_grid import load_thumbnails

    from tests.core.test_cancellation import CancelFlag, moments, run_bounded

    ds = ShapesDataset(n=40, size=32, seed=2)
    indices = list(range(0, 40, 3))
    for k in moments(len(indices), random.Random(SEED)):
        flag = CancelFlag(at_check=k)
        out = run_bounded(lambda: load_thumbnails(ds, indices, 24, cancel=flag), f"thumbnails k={k}")
        assert isinstance(out.exc, Cancelled), f"thumbnails cancelled at item {k}: {out.exc!r}"
    done = load_thumbnails(ds, indices, 24)
    assert [i for i, _ in done] == indices
    for i, thumb in done:
        np.testing.assert_array_equal(thumb, ds.thumbnail(i, 24))


# --------------------------------------------------------------------------- Data: folder scan and check
def _png(seed: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.allow_leaks  # the module's window lives across these tests
def test_folder_scan_and_check_cancelled_at_random_moments(window, qtbot, tmp_path):
    data = window.panels["data"]
    window.show_panel("data")
    use_small_shapes(window, qtbot)
    wait_idle(qtbot, "before the folder")
    previous = window.state.dataset
    root = tmp_path / "many"
    counts = {"ants": 1400, "bees": 1300}
    for c, n in counts.items():
        (root / c).mkdir(parents=True)
        for i in range(n):
            (root / c / f"{i:05d}.png").write_bytes(_png(i % 7))
    before = sorted(p.name for p in root.rglob("*"))

    # the whole load (scan, then the background check), timed
    t0 = time.monotonic()
    data.load_folder(root)
    qtbot.waitUntil(lambda: isinstance(data.source, FolderDataset) and data.source.verified and data._load_worker is None,
                    timeout=60_000)
    full_s = time.monotonic() - t0
    wait_idle(qtbot, "first folder load")
    # back to the shapes: the cancelled loads below must leave them in place
    use_small_shapes(window, qtbot)
    wait_idle(qtbot, "shapes again")
    previous = window.state.dataset

    rng = random.Random(SEED + 1)
    for i in range(3):
        # at once (while listing), then at random moments of the listing and the check
        delay_ms = 0 if i == 0 else int(rng.uniform(0.0, 0.9) * full_s * 1000)
        what = f"folder load cancelled after {delay_ms} ms of ~{full_s * 1000:.0f} (seed {SEED + 1}, #{i})"
        data.load_folder(root)
        qtbot.wait(delay_ms)
        assert_responsive(qtbot)
        assert data.cancel_button.isVisible() or data._load_worker is None, what
        if data.cancel_button.isVisible():
            data.cancel_button.click()
        qtbot.waitUntil(lambda: data._load_worker is None, timeout=WIND_DOWN_S * 1000)
        wait_idle(qtbot, what)
        assert not data.cancel_button.isVisible() and data.load_button.isEnabled(), what
        src, message = data.source, data.message_label.text()
        if isinstance(src, FolderDataset):
            # the listing arrived before the cancel: it is shown whole, checked or (cancelled while checking) not
            assert len(src) == sum(counts.values()) and src.class_names == ["ants", "bees"], what
            assert src.verified or message.startswith("Check of the files cancelled"), f"{what}: {message}"
        else:
            assert window.state.dataset is previous, f"{what}: the previous data set was replaced"
            assert "was not opened" in message and "download" not in message, f"{what}: {message}"
        no_traceback(window, what)
        assert sorted(p.name for p in root.rglob("*")) == before, f"{what}: the folder was changed"
        use_small_shapes(window, qtbot)
        wait_idle(qtbot, what)
    # and a load to the end gives the whole, checked folder
    data.load_folder(root)
    qtbot.waitUntil(lambda: isinstance(data.source, FolderDataset) and data.source.verified and data._load_worker is None,
                    timeout=60_000)
    assert len(data.source) == sum(counts.values())
    assert np.bincount(data.source.labels()).tolist() == list(counts.values())
    wait_idle(qtbot, "last folder load")
    use_small_shapes(window, qtbot)
    wait_idle(qtbot, "shapes at the end")


# --------------------------------------------------------------------------- Training: stop, pause
@pytest.mark.slow
@pytest.mark.allow_leaks
def test_training_stopped_at_random_batches_keeps_design_runs_and_workspace(window, qtbot, tmp_path):
    training, builder = window.panels["training"], window.panels["builder"]
    use_small_shapes(window, qtbot)
    window.show_panel("training")
    builder.set_spec(tiny_design())
    qtbot.waitUntil(lambda: window.state.spec is not None and window.state.spec.name == "cancel-test", timeout=5000)
    training.epochs_spin.setValue(20)  # far more than the stops below reach: a slow GUI cannot let a run end first
    training.batch_spin.setValue(8)
    design = builder.spec.to_json()
    workspace = tmp_path / "mine.cxw"
    window.save_workspace(workspace)
    saved_workspace = workspace.read_bytes()
    runs_before = {r.id: run_files(r) for r in list_runs()}
    spe = int(np.ceil(len(window.state.dataset.subset_indices("train")) / 8))
    total = 20 * spe
    rng = random.Random(SEED + 2)
    for i, k in enumerate(sorted(rng.sample(range(1, 3 * spe), 3))):  # a stop within the first three epochs
        what = f"training stopped at batch >= {k} of {total} (seed {SEED + 2})"
        with qtbot.waitSignal(training.training_finished, timeout=120_000) as done:
            assert training.start_training(), what
            qtbot.waitUntil(lambda: training.live_session is not None and training.live_session.steps_done >= k,
                            timeout=60_000)
            assert_responsive(qtbot)
            if i == 1:  # pause first, then stop the paused run
                training.pause()
                qtbot.waitUntil(lambda: training.live_session.waiting, timeout=10_000)
                assert_responsive(qtbot)
            training.stop_button.click()
        wait_idle(qtbot, what)
        result = done.args[0]
        assert result is not None and result.reason == "stopped", f"{what}: {result}"
        assert k <= result.steps_done < total, what
        assert len(result.history.batch["loss"]) == result.steps_done
        assert training.start_button.isEnabled() and not training.stop_button.isEnabled(), what
        # the run was saved whole, then evaluated (the stopped model is still a model)
        qtbot.waitUntil(lambda: read_run(training.run_info.path).evaluation is not None, timeout=60_000)
        wait_idle(qtbot, what)
        run = read_run(training.run_info.path)
        assert run.reason == "stopped" and run.steps_done == result.steps_done, what
        assert_no_temp_files(Path(run.path), what)
        from convexplorer.core.runs import load_history, load_run_model

        assert load_history(run).num_batches == result.steps_done
        load_run_model(run)
        # what the user had is untouched
        assert builder.spec.to_json() == design, f"{what}: the design changed"
        assert window.state.spec.to_json() == design
        assert workspace.read_bytes() == saved_workspace
        for rid, files in runs_before.items():
            assert run_files(read_run(runs_dir() / rid)) == files, f"{what}: run {rid} changed"
        runs_before = {r.id: run_files(r) for r in list_runs()}
        no_traceback(window, what)
    # a run to the end afterwards
    with qtbot.waitSignal(training.training_finished, timeout=120_000) as done:
        assert training.start_training(epochs=1)
    wait_idle(qtbot, "the last run")
    assert done.args[0].reason == "completed" and done.args[0].steps_done == spe
    assert window.workspace_dict()["spec"] == ModelSpec.from_json(design).to_dict()


# --------------------------------------------------------------------------- Inspect: filter patterns, pretrained model
@pytest.mark.allow_leaks
def test_filter_patterns_cancelled_at_random_moments_keep_the_shown_patterns(window, qtbot):
    from convexplorer.core.training import tiny_convnet

    inspect = window.panels["inspect"]
    window.show_panel("inspect")
    model = tiny_convnet((16, 16, 3), 4, width=4)
    with qtbot.waitSignal(inspect.updated, timeout=60_000, check_params_cb=lambda k: k == "analysis"):
        window.state.set_model(model, "tiny")
        window.state.image_array_opened.emit(np.random.default_rng(0).random((16, 16, 3), dtype=np.float32), "noise")
    inspect.pattern_layer_combo.setCurrentText("conv2")
    inspect.pattern_count.setValue(4)
    inspect.pattern_steps.setValue(5)
    with qtbot.waitSignal(inspect.updated, timeout=60_000, check_params_cb=lambda k: k == "patterns"):
        inspect.patterns_button.click()
    wait_idle(qtbot, "first patterns")
    shown = inspect.pattern_grid.count
    assert shown == 4
    # long runs, cancelled after a random delay
    inspect.pattern_count.setValue(8)
    inspect.pattern_steps.setValue(2000)
    rng = random.Random(SEED + 3)
    for i in range(3):
        delay_ms = rng.randrange(0, 600)
        what = f"filter patterns cancelled after {delay_ms} ms (seed {SEED + 3}, #{i})"
        inspect.patterns_button.click()
        worker = inspect._pattern_worker
        qtbot.wait(delay_ms)
        assert_responsive(qtbot)
        assert worker.is_running() and inspect.pattern_cancel_button.isEnabled(), what
        t0 = time.monotonic()
        with qtbot.waitSignal(worker.finished, timeout=WIND_DOWN_S * 1000):
            inspect.pattern_cancel_button.click()
        assert time.monotonic() - t0 < 5, f"{what}: the cancel took {time.monotonic() - t0:.1f} s"
        wait_idle(qtbot, what)
        assert inspect.pattern_grid.caption.text() == "Cancelled.", what
        assert inspect.patterns_button.isEnabled() and not inspect.pattern_cancel_button.isEnabled(), what
        assert inspect.pattern_grid.count == shown, f"{what}: the patterns on screen were replaced"
        no_traceback(window, what)
    inspect.pattern_steps.setValue(3)
    with qtbot.waitSignal(inspect.updated, timeout=60_000, check_params_cb=lambda k: k == "patterns"):
        inspect.patterns_button.click()
    wait_idle(qtbot, "last patterns")
    assert inspect.pattern_grid.count == 8


@pytest.mark.slow
@pytest.mark.allow_leaks
def test_model_loads_cancelled_keep_the_current_model(window, qtbot, tmp_path):
    """A pretrained network (MobileNetV2) cancelled while it builds; then a model file opened to the end."""
    from convexplorer.core.modelio import save_keras_model
    from convexplorer.core.training import tiny_convnet

    inspect = window.panels["inspect"]
    window.show_panel("inspect")
    if inspect._model is None:  # run alone: a model to keep
        with qtbot.waitSignal(inspect.updated, timeout=60_000, check_params_cb=lambda k: k == "model"):
            window.state.set_model(tiny_convnet((16, 16, 3), 4, width=4), "tiny")
    rng = random.Random(SEED + 4)
    for i in range(2):
        before = inspect._model
        assert before is not None
        delay_ms = rng.randrange(0, 250)
        what = f"MobileNetV2 load cancelled after {delay_ms} ms (seed {SEED + 4}, #{i})"
        inspect.load_application("MobileNetV2", None, include_top=False, input_shape=(32, 32, 3))
        worker = inspect._model_worker
        outcome = []
        worker.result.connect(lambda _v: outcome.append("result"))
        worker.cancelled.connect(lambda: outcome.append("cancelled"))
        qtbot.wait(delay_ms)
        assert_responsive(qtbot)
        assert inspect.model_cancel_button.isVisible() or not worker.is_running(), what
        if inspect.model_cancel_button.isVisible():
            inspect.model_cancel_button.click()
        qtbot.waitUntil(lambda: not worker.is_running(), timeout=WIND_DOWN_S * 1000)
        wait_idle(qtbot, what)
        assert len(outcome) == 1, f"{what}: {outcome}"
        assert not inspect.model_cancel_button.isVisible() and inspect.load_app_button.isEnabled(), what
        if outcome == ["cancelled"]:
            assert inspect._model is before, f"{what}: a cancelled load replaced the model"
        else:  # it ended before the cancel: the new network is in
            assert inspect._model is not before and inspect._model.name.startswith("mobilenetv2"), what
        no_traceback(window, what)
    # and a load to the end
    path = tmp_path / "small.keras"
    save_keras_model(tiny_convnet((16, 16, 3), 4, width=2, seed=3), path)
    with qtbot.waitSignal(inspect.updated, timeout=60_000, check_params_cb=lambda k: k == "model"):
        inspect.load_model_file(str(path))
    wait_idle(qtbot, "model file")
    assert inspect._model.name == "tiny_convnet" and inspect._model.count_params() == tiny_convnet(
        (16, 16, 3), 4, width=2).count_params()


# --------------------------------------------------------------------------- closing the window in the middle
@pytest.mark.slow
def test_closing_the_window_in_the_middle_of_everything(qtbot, tmp_path):
    """Export, train, filter patterns and a folder scan at once; the window closes at a random moment."""
    from convexplorer.core.modelio import load_keras_model
    from convexplorer.core.training import tiny_convnet

    rng = random.Random(SEED + 5)
    folder = tmp_path / "pics"
    for c in ("a", "b"):
        (folder / c).mkdir(parents=True)
        for i in range(1200):
            (folder / c / f"{i}.png").write_bytes(_png(i % 5))
    export = tmp_path / "out" / "design.keras"
    export.parent.mkdir()
    export.write_bytes(b"the previous export")
    script = export.with_name("train.py")
    script.write_text("# the previous script\n")
    for attempt in range(2):
        settings = QSettings(str(tmp_path / f"s{attempt}.ini"), QSettings.Format.IniFormat)
        w = MainWindow(settings=settings)
        w.show()
        load_tensorflow_now(w.state)
        use_small_shapes(w, qtbot)
        w.panels["builder"].set_spec(tiny_design())
        w.panels["training"].epochs_spin.setValue(50)
        w.panels["training"].batch_spin.setValue(8)
        inspect = w.panels["inspect"]
        with qtbot.waitSignal(inspect.updated, timeout=60_000, check_params_cb=lambda k: k == "analysis"):
            w.state.set_model(tiny_convnet((16, 16, 3), 4, width=4), "tiny")
            w.state.image_array_opened.emit(np.random.default_rng(1).random((16, 16, 3), dtype=np.float32), "noise")
        runs_before = {r.id for r in list_runs()}

        assert w.panels["builder"].export_keras(export) is not None
        assert w.panels["builder"].export_script(script) is not None
        assert w.panels["training"].start_training()
        inspect.pattern_layer_combo.setCurrentText("conv2")
        inspect.pattern_count.setValue(8)
        inspect.pattern_steps.setValue(5000)
        inspect.patterns_button.click()
        w.panels["data"].load_folder(folder)
        delay_ms = rng.randrange(0, 1500)
        what = f"window closed after {delay_ms} ms (seed {SEED + 5}, #{attempt})"
        qtbot.wait(delay_ms)
        assert_responsive(qtbot)
        t0 = time.monotonic()
        w.close()
        closing_s = time.monotonic() - t0
        assert not w.isVisible()
        assert not workers.active_workers(), f"{what}: workers outlived the window"
        assert closing_s < WIND_DOWN_S, f"{what}: closing took {closing_s:.1f} s"
        QApplication.processEvents()
        workers.shutdown_all(timeout_s=WIND_DOWN_S)  # timers of the closed window may have started late work
        assert not workers.active_workers()
        # the export is the previous file or a whole model; nothing half-written
        assert_no_temp_files(export.parent, what)
        if export.read_bytes() != b"the previous export":
            load_keras_model(export)
        text = script.read_text()
        if text != "# the previous script\n":
            compile(text, str(script), "exec")  # whole Python, not a cut-off file
            assert "def build_model" in text and text.rstrip().endswith("main()")
        # a run saved while closing is whole
        for r in list_runs():
            if r.id not in runs_before:
                assert r.reason == "stopped", f"{what}: {r.reason}"
                assert_no_temp_files(Path(r.path), what)
                from convexplorer.core.runs import load_history

                assert load_history(r).num_batches == r.steps_done
        w.deleteLater()
        QApplication.processEvents()
