"""The bad-input corpus through the app's real entry points: a clear message each time, the app still usable."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from convexplorer.core.images import save_image
from convexplorer.core.spec import ModelSpec
from convexplorer.core.samples import scene
from convexplorer.ui import workers
from tests.corpus import awkward_images, bad_images
from tests.windows import visible_text

pytest.importorskip("keras")


def bad_model_files(folder):
    """Model files that must be refused: (path, words the message must contain)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "empty.keras": (b"", ""),
        "notes.keras": (b"not a zip at all\n", ""),
        "half.keras": (b"PK\x03\x04" + os.urandom(300), ""),
    }
    out = {}
    for name, (data, words) in files.items():
        (folder / name).write_bytes(data)
        out[name] = folder / name
    import keras

    inputs = keras.Input((8, 8, 1))
    keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs)).save(folder / "lambda.keras")
    out["lambda.keras"] = folder / "lambda.keras"
    keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)]).save_weights(folder / "other.weights.h5")
    out["other.weights.h5"] = folder / "other.weights.h5"  # weights only, of another architecture
    return out


def bad_designs(folder):
    """ModelSpec JSON files with missing keys, wrong types and absurd sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    designs = {
        "missing_keys.json": {"format_version": 1, "name": "x"},
        "wrong_types.json": {"format_version": 1, "name": "x", "input_shape": "big", "num_classes": "ten", "layers": 3},
        "absurd.json": {
            "format_version": 1, "name": "huge", "input_shape": [28, 28, 1], "num_classes": 10,
            "layers": [{"kind": "Conv2D", "params": {"filters": 10**9, "kernel_size": [3, 3]}}],
        },
        "not_json.json": None,
    }
    out = {}
    for name, content in designs.items():
        p = folder / name
        p.write_text("{this is not json" if content is None else json.dumps(content))
        out[name] = p
    return out


def messages(window) -> str:
    """Everything the user can read right now: labels, status bar, open message boxes."""
    return visible_text(window)




def _close_boxes(window):
    for box in window.findChildren(QMessageBox):
        box.close()


@pytest.mark.allow_leaks  # the module's window lives across these tests
def test_bad_images_dropped_on_the_window(window, qtbot, tmp_path):
    files = bad_images(tmp_path / "bad")
    for name, path in files.items():
        window.open_paths([path])
        qtbot.wait(20)
        text = messages(window)
        assert name in text or "not an image" in text or "too large" in text, f"{name}: no message\n{text[:500]}"
        assert "Traceback" not in text
        _close_boxes(window)
    # still usable: a good image opens in the Playground and in Inspect
    good = tmp_path / "good.png"
    save_image(scene(64), good)
    window.open_paths([good])
    qtbot.waitUntil(lambda: window.panels["inspect"].has_image(), timeout=10_000)
    qtbot.waitUntil(lambda: window.panels["playground"].sample_combo.currentText() == "good.png", timeout=10_000)


@pytest.mark.allow_leaks
def test_awkward_images_are_converted_not_refused(window, qtbot, tmp_path):
    for name, path in awkward_images(tmp_path / "awkward").items():
        assert window.panels["inspect"].load_image_file(str(path)), name
        image = window.panels["inspect"]._image
        assert image is not None and image.ndim == 3 and np.isfinite(image).all(), name


@pytest.mark.allow_leaks
def test_bad_model_files_are_refused_with_a_message(window, qtbot, tmp_path):
    asked = []
    window.panel("builder").confirm_unsafe = lambda text: asked.append(text) or False  # the user says no
    for name, path in bad_model_files(tmp_path / "models").items():
        window.open_paths([path])
        qtbot.waitUntil(lambda n=name: n in messages(window), timeout=15_000)
        qtbot.waitUntil(lambda: not workers.active_workers(), timeout=15_000)
        assert "Traceback" not in messages(window)
        _close_boxes(window)
    qtbot.waitUntil(lambda: len(asked) >= 1, timeout=15_000)  # the question comes with the builder's answer
    qtbot.wait(50)
    assert len(asked) == 1 and "Lambda" in asked[0]  # asked once, for the Lambda model, and nothing opened
    assert window.state.model is None


@pytest.mark.allow_leaks
def test_bad_designs_are_refused_and_the_design_is_kept(window, qtbot, tmp_path):
    builder = window.panels["builder"]
    builder.load_preset("MNIST convnet")
    before = builder.spec.to_json()
    for name, path in bad_designs(tmp_path / "designs").items():
        window.open_paths([path])
        qtbot.wait(20)
        text = messages(window)
        if name == "absurd.json":
            # Well-formed but absurd: it opens like any design, with the offending row flagged and no build possible.
            assert "Filters must be at most 100000, got 1000000000" in text
            assert not builder.summary.valid
            builder.set_spec(ModelSpec.from_json(before))
        else:
            assert name in text or "design" in text.lower(), f"{name}: no message\n{text[:500]}"
            assert builder.spec.to_json() == before, f"{name} replaced the user's design"
        _close_boxes(window)


@pytest.mark.allow_leaks
def test_bad_data_folder_is_scanned_with_skips_reported(window, qtbot, tmp_path):
    root = tmp_path / "pets"
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            save_image(scene(16, seed=i), root / cls / f"{i}.png")
    for name, path in bad_images(tmp_path / "junk").items():
        if path.is_file():
            (root / "cats" / name).write_bytes(path.read_bytes())
    (root / "dogs" / "loop").symlink_to(root, target_is_directory=True)
    odd = os.fsencode(str(root / "dogs")) + b"/caf\xe9.png"  # not valid UTF-8
    with open(odd, "wb") as fh:
        fh.write((root / "dogs" / "0.png").read_bytes())
    data = window.panels["data"]
    window.open_paths([root])
    qtbot.waitUntil(lambda: getattr(window.state.dataset, "name", "").find("pets") >= 0, timeout=60_000)
    ds = window.state.dataset
    assert ds.class_names == ["cats", "dogs"]
    assert len(ds) >= 6
    qtbot.waitUntil(lambda: "skipped" in data.skipped_button.text(), timeout=60_000)
