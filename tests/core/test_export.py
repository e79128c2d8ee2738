"""The exported script runs on its own, trains on given data and builds the same model."""

from __future__ import annotations

import ast
import os
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from convexplorer.core.errors import SpecError
from convexplorer.core.export import export_script, script_text
from convexplorer.core.presets import PRESETS, preset
from convexplorer.core.spec import ModelSpec, make_layer
from convexplorer.core.summary import summarize

pytest.importorskip("keras")


def _small_spec(loss="sparse_categorical_crossentropy"):
    spec = ModelSpec("tiny net", (12, 12, 1), 3, [
        make_layer("Rescaling", scale=1 / 255),
        make_layer("Conv2D", filters=4, padding="same"), make_layer("MaxPooling2D"),
        make_layer("ResidualBlock", filters=6, pooling=True),
        make_layer("SeparableConv2D", filters=5, depth_multiplier=2, kernel_size=[2, 2]),
        make_layer("BatchNormalization"), make_layer("GlobalAveragePooling2D"), make_layer("Dropout", rate=0.2),
        make_layer("Dense", units_from_classes=True, activation="softmax")])
    spec.compile.loss = loss
    spec.compile.optimizer = "sgd"
    spec.compile.momentum = 0.8
    return spec


def _npz(path, n=12, classes=3, shape=(12, 12)):
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 255, (n,) + shape, dtype=np.uint8), y_train=rng.integers(0, classes, n),
             x_val=rng.integers(0, 255, (4,) + shape, dtype=np.uint8), y_val=rng.integers(0, classes, 4))
    return path


def _params_printed(out: str) -> int:
    return int(re.search(r"^parameters: (\d+)$", out, re.M).group(1))


def test_every_preset_exports_valid_python():
    for name, spec in PRESETS.items():
        text = script_text(spec)
        ast.parse(text)
        assert "import convexplorer" not in text, name
        assert f"({summarize(spec).total:,} parameters)" in text


def test_invalid_design_is_not_exported(tmp_path):
    spec = ModelSpec("bad", (28, 28, 1), 10, [make_layer("Conv2D", kernel_size=[40, 40])])
    with pytest.raises(SpecError, match="kernel larger than padded input"):
        export_script(spec, tmp_path / "x.py")
    assert not (tmp_path / "x.py").exists()


def test_script_trains_in_process_on_an_image_folder(tmp_path, capsys, monkeypatch):
    spec = _small_spec(loss="categorical_crossentropy")
    script = export_script(spec, tmp_path / "train.py", epochs=1)
    rng = np.random.default_rng(0)
    for c in ("a", "b", "c"):
        (tmp_path / "data" / c).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (12, 12), dtype=np.uint8)).save(tmp_path / "data" / c / f"{i}.png")
    monkeypatch.setattr(sys, "argv", ["train.py", "--data", str(tmp_path / "data"), "--batch-size", "4",
                                      "--save", str(tmp_path / "out.keras")])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert _params_printed(out) == summarize(spec).total
    assert "final: {" in out and "'loss'" in out and "val_accuracy" in out
    assert (tmp_path / "out.keras").is_file()


def test_pretrained_design_exports_with_the_same_parameters(tmp_path, capsys, monkeypatch):
    spec = preset("VGG16 transfer: fine-tune block 5")
    spec.input_shape = (32, 32, 3)
    script = export_script(spec, tmp_path / "vgg.py")
    monkeypatch.setattr(sys, "argv", ["vgg.py", "--random-weights"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    s = summarize(spec)
    assert _params_printed(out) == s.total
    assert f"Trainable params: {s.trainable:,}" in out


def test_script_trains_in_process_with_the_mirrored_strategy(tmp_path, capsys, monkeypatch):
    spec = _small_spec()
    script = export_script(spec, tmp_path / "train.py", epochs=1)
    data = _npz(tmp_path / "data.npz")
    monkeypatch.setattr(sys, "argv", ["train.py", "--data", str(data), "--strategy", "mirrored", "--batch-size", "4"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert _params_printed(out) == summarize(spec).total
    assert "strategy: mirrored (1 replica(s))" in out and "final: {" in out


@pytest.mark.slow
def test_script_runs_standalone_with_the_multiworker_strategy(tmp_path):
    """A separate Python process: the script depends on nothing of ours (no TF_CONFIG: one worker)."""
    spec = _small_spec()
    script = export_script(spec, tmp_path / "train.py", epochs=1)
    data = _npz(tmp_path / "data.npz")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    proc = subprocess.run([sys.executable, str(script), "--data", str(data), "--strategy", "multiworker",
                           "--batch-size", "4"], capture_output=True, text=True, timeout=240, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _params_printed(proc.stdout) == summarize(spec).total
    assert "strategy: multiworker (1 replica(s))" in proc.stdout
    assert "final: {" in proc.stdout


def test_script_writes_its_history(tmp_path):
    """--history writes Keras's History.history as JSON, which the app can import as a run."""
    import json

    from convexplorer.core.distribute import read_keras_history

    script = export_script(_small_spec(), tmp_path / "train.py", epochs=2)
    data = _npz(tmp_path / "d.npz")
    proc = subprocess.run([sys.executable, str(script), "--data", str(data), "--epochs", "2", "--history",
                           str(tmp_path / "h.json")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    history = json.loads((tmp_path / "h.json").read_text())
    assert len(history["loss"]) == 2 and len(history["val_loss"]) == 2
    assert read_keras_history(tmp_path / "h.json")["loss"] == history["loss"]
