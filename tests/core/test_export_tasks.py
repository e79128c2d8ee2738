"""The exported script of a task design (boxes, masks, YOLO-style grid): its formulas equal core's, it trains standalone."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from convexplorer.core import losses  # noqa: E402
from convexplorer.core.detection import decode_grid, encode_grid  # noqa: E402
from convexplorer.core.export import export_script, export_task_data, script_text, task_kinds  # noqa: E402
from convexplorer.core.metrics import mean_average_precision  # noqa: E402
from convexplorer.core.presets import PRESETS  # noqa: E402
from tests.core.test_task_training import detector_spec, segmenter_spec  # noqa: E402


@pytest.mark.parametrize("name, kinds", [
    ("Shapes: class + box", {"classes": "labels", "box": "boxes"}),
    ("Shapes: FCN segmenter", {"mask": "masks"}),
    ("Shapes: U-Net segmenter", {"mask": "masks"}),
    ("Shapes: YOLO-style detector", {"grid": "grid"}),
])
def test_task_presets_export_their_heads_losses_and_metrics(name, kinds):
    spec = PRESETS[name]
    assert task_kinds(spec) == kinds
    text = script_text(spec)
    tree = ast.parse(text)
    consts = {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)}
    assert consts["TASK_HEADS"] == kinds
    assert "import convexplorer" not in text and "load_task_data(args.data, args.batch_size, model)" in text
    if "grid" in kinds.values():
        assert "loss=YoloLoss()," in text
    if "masks" in kinds.values():
        assert 'keras.metrics.MeanIoU(5, sparse_y_pred=False, name="mean_iou")' in text
    if "boxes" in kinds.values():
        assert "'box': [keras.metrics.MeanAbsoluteError(name=\"mae\"), BoxIoU()]" in text
    assert "TASK_HEADS" not in script_text(PRESETS["MNIST convnet"])  # classifiers export as before


@pytest.fixture
def script_module(tmp_path):
    """The exported detector script imported as a module (its Keras registrations undone afterwards)."""
    registry = keras.saving.get_custom_objects()
    saved = dict(registry)
    path = export_script(detector_spec(), tmp_path / "det_script.py")
    spec = importlib.util.spec_from_file_location("det_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    registry.clear()
    registry.update(saved)


def _objects(rng, n_images=12, classes=3):
    out = []
    for _ in range(n_images):
        m = int(rng.integers(1, 5))
        xy = rng.uniform(0.0, 0.7, (m, 2))
        wh = rng.uniform(0.05, 0.3, (m, 2))
        out.append((np.concatenate([xy, xy + wh], 1), rng.integers(0, classes, m)))
    return out


def test_the_scripts_loss_grids_and_ap_equal_cores(script_module):
    s = script_module
    rng = np.random.default_rng(0)
    anchors = np.array([[0.1, 0.12], [0.25, 0.2]])
    objects = _objects(rng)
    grids = []
    for boxes, classes in objects:
        ours, _ = encode_grid(boxes, classes, 4, anchors, 3)
        padded = np.concatenate([classes[:, None], boxes], 1)
        np.testing.assert_allclose(s.encode_grid(padded, 4, anchors, 3), ours, atol=1e-6)
        grids.append(ours)
    grids = np.stack(grids)
    logits = (rng.normal(0, 2, grids.shape)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(s.yolo_loss(grids, keras.ops.convert_to_tensor(logits))),
                               keras.ops.convert_to_numpy(losses.yolo_loss(grids, keras.ops.convert_to_tensor(logits))),
                               rtol=1e-6)
    truth, preds = [], []
    for g, p in zip(grids, logits):
        b, sc, c = s.decode_grid(p, anchors, 0.05, True, 0.5)
        rb, _, rc = decode_grid(p, anchors, 0.05, from_logits=True, iou_threshold=0.5)
        np.testing.assert_allclose(b, rb, atol=1e-5)
        np.testing.assert_array_equal(c, rc)
        gb, _, gc = decode_grid(g, anchors, 0.5, max_outputs=10_000)
        truth.append((gb, gc))
        preds.append((b, c, sc))
    ap, classes = s.average_precision(truth, preds)
    ref = mean_average_precision(truth, preds)
    assert classes == ref["classes"]
    np.testing.assert_allclose(ap, ref["ap"], atol=1e-9)
    wh = np.concatenate([b[:, 2:] - b[:, :2] for b, _ in objects])
    assert s.kmeans_anchors(wh, 3).shape == (3, 2)


def _run(script, data, *extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, str(script), "--data", str(data), "--epochs", "2", "--batch-size", "8", *extra],
                          capture_output=True, text=True, timeout=300, env=env, cwd=str(Path(script).parent), check=False)


@pytest.mark.parametrize("task", ["detection", "segmentation"])
def test_a_task_script_trains_standalone_with_its_metrics_under_the_mirrored_strategy(tmp_path, task):
    from convexplorer.core.datasets.shapes import ShapesDetectionDataset, ShapesSegmentationDataset

    if task == "detection":
        spec, ds, key = detector_spec(), ShapesDetectionDataset(n=40, size=32, seed=0), "val_ap50"
    else:
        spec, ds, key = segmenter_spec(), ShapesSegmentationDataset(n=40, size=32, seed=0), "val_mean_iou"
    script = export_script(spec, tmp_path / "train.py")
    data = export_task_data(ds, spec, tmp_path / "data.npz")
    with np.load(data) as npz:
        head = spec.heads[0].name
        assert npz["x_train"].shape == (len(ds.subset_indices("train")), 32, 32, 3) and npz["x_train"].dtype == np.uint8
        if task == "detection":
            assert npz[f"y_train_{head}"].shape[2] == 5 and (npz[f"y_train_{head}"][..., 0] >= -1).all()
        else:
            assert npz[f"y_val_{head}"].shape == (len(ds.subset_indices("validation")), 32, 32)
    proc = _run(script, data, "--strategy", "mirrored", "--save", str(tmp_path / "m.keras"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    final = next(ln for ln in proc.stdout.splitlines() if ln.startswith("final: "))
    values = ast.literal_eval(final[len("final: "):])
    assert 0.0 <= values[key] <= 1.0 and np.isfinite(values["loss"])
    assert "strategy: mirrored" in proc.stdout
    # the model it saved opens in ConvExplorer with safe mode on (the loss and metrics are registered by name)
    back = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert back.count_params() > 0


def test_a_class_and_box_script_logs_the_box_iou(tmp_path):
    from convexplorer.core.blocks import insert_block
    from convexplorer.core.datasets.shapes import ShapesDataset
    from convexplorer.core.spec import INPUT_ID, CompileSpec, HeadSpec, LayerSpec, ModelSpec

    spec = ModelSpec("loc", (32, 32, 3), 4, [], CompileSpec("adam", 0.003))
    a = spec.add_node(LayerSpec("Conv2D", {"filters": 8, "kernel_size": [3, 3]}), [(INPUT_ID, 0)])
    b = spec.add_node(LayerSpec("MaxPooling2D", {"pool_size": [4, 4]}), [(a.id, 0)])
    c = spec.add_node(LayerSpec("GlobalAveragePooling2D", {}), [(b.id, 0)])
    d = spec.add_node(LayerSpec("Dense", {"units": 4, "units_from_classes": True, "activation": "softmax"}, "classes"),
                      [(c.id, 0)])
    spec.heads = [HeadSpec("classes", d.id)]
    insert_block(spec, "Localization head", (b.id, 0), pooling="flatten", loss="huber")
    ds = ShapesDataset(n=40, size=32, seed=0)
    script = export_script(spec, tmp_path / "loc.py")
    data = export_task_data(ds, spec, tmp_path / "loc.npz")
    proc = _run(script, data)
    assert proc.returncode == 0, proc.stderr[-3000:]
    values = ast.literal_eval(next(ln for ln in proc.stdout.splitlines() if ln.startswith("final: "))[7:])
    assert 0.0 <= values["val_iou"] <= 1.0 and values["val_iou"] == pytest.approx(values["val_box_iou"], abs=2e-4)
    assert "val_classes_accuracy" in values
