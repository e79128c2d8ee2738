"""Runs on disk: save, list, reopen, delete, CSV and TensorBoard export (read back with TensorFlow)."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from convexplorer.core.runs import (
    RunError,
    delete_run,
    export_csv,
    export_tensorboard,
    history_csv,
    list_runs,
    load_history,
    load_run_model,
    load_spec,
    new_run_dir,
    read_run,
    save_run,
    update_evaluation,
)
from convexplorer.core.training import History, TrainingResult, TrainingSettings


def sample_history() -> History:
    h = History()
    for step in range(1, 7):
        h.add_batch({"step": step, "epoch": (step - 1) // 3, "loss": 1.0 / step, "accuracy": step / 10, "learning_rate": 0.01})
    h.add_epoch({"epoch": 0, "loss": 0.6, "accuracy": 0.2, "val_loss": 0.7, "val_accuracy": 0.25, "learning_rate": 0.01, "time_s": 1.5, "batches": 3})
    h.add_epoch({"epoch": 1, "loss": 0.3, "accuracy": 0.5, "val_loss": float("nan"), "val_accuracy": 0.5, "learning_rate": 0.005, "time_s": 1.25, "batches": 3})
    return h


def result_for(h: History, reason: str = "completed") -> TrainingResult:
    return TrainingResult(reason=reason, message="finished 2 epoch(s)", epochs_done=2, steps_done=6, elapsed_s=2.75, history=h)


def test_save_list_reopen_round_trip(tmp_path):
    h = sample_history()
    folder = new_run_dir("Shapes / tiny net", root=tmp_path)
    assert folder.parent == tmp_path and folder.name.endswith("-shapes-tiny-net")
    info = save_run(
        folder, h, TrainingSettings(epochs=2, batch_size=16), result_for(h), spec={"name": "tiny", "layers": []},
        label="Shapes tiny", evaluation={"accuracy": 0.9}, extra={"dataset": "shapes"},
    )
    assert info.final == {"loss": 0.3, "accuracy": 0.5, "val_accuracy": 0.5, "learning_rate": 0.005}
    again = read_run(folder)
    assert again.label == "Shapes tiny" and again.reason == "completed" and again.epochs_done == 2
    assert again.settings["batch_size"] == 16 and again.evaluation == {"accuracy": 0.9}
    assert again.extra == {"dataset": "shapes"}
    assert "Shapes tiny" in again.title and "val_accuracy 0.500" in again.title
    back = load_history(again)
    assert back.epoch["loss"] == [0.6, 0.3] and math.isnan(back.epoch["val_loss"][1])
    assert back.batch["step"] == [1, 2, 3, 4, 5, 6]
    assert load_spec(again) == {"name": "tiny", "layers": []}
    # JSON on disk is valid JSON (no NaN tokens)
    json.loads((folder / "history.json").read_text())
    update_evaluation(again, {"accuracy": 0.95})
    assert read_run(folder).evaluation == {"accuracy": 0.95}


def test_list_runs_newest_first_and_skips_damaged(tmp_path):
    h = sample_history()
    a = save_run(new_run_dir("a", root=tmp_path), h, TrainingSettings(), label="a")
    b = save_run(new_run_dir("b", root=tmp_path), h, TrainingSettings(), label="b")
    # make a older than b regardless of clock resolution
    data = json.loads((a.path / "run.json").read_text())
    data["created"] = b.created - 10
    (a.path / "run.json").write_text(json.dumps(data))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    (tmp_path / "not-a-run").mkdir()
    assert [r.label for r in list_runs(tmp_path)] == ["b", "a"]
    with pytest.raises(RunError, match="damaged run broken"):
        read_run(broken)
    with pytest.raises(RunError, match="refusing to delete"):
        delete_run(type(a)(id="x", path=tmp_path / "not-a-run"))
    delete_run(a)
    assert [r.label for r in list_runs(tmp_path)] == ["b"]


def test_default_root_is_the_workspace_runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEXPLORER_HOME", str(tmp_path))
    folder = new_run_dir("x")
    assert folder.parent == tmp_path / "runs"
    save_run(folder, sample_history(), TrainingSettings())
    assert [r.id for r in list_runs()] == [folder.name]


def test_unique_names_for_runs_started_in_the_same_second(tmp_path):
    names = {new_run_dir("same", root=tmp_path).name for _ in range(3)}
    assert len(names) == 3


def test_model_is_saved_and_reopened_with_the_same_weights(tmp_path):
    keras = pytest.importorskip("keras")
    from convexplorer.core.training import tiny_convnet

    model = tiny_convnet((8, 8, 1), 3)
    folder = new_run_dir("m", root=tmp_path)
    info = save_run(folder, sample_history(), TrainingSettings(), model=model)
    assert info.has_model and not info.has_best
    loaded = load_run_model(info)
    x = np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)
    with pytest.raises(RunError, match="has no best checkpoint"):
        load_run_model(info, "best")
    assert not list(folder.glob(".*.keras"))  # no temporary file left behind
    assert isinstance(loaded, keras.Model)


def test_csv_export_per_epoch_and_batch(tmp_path):
    h = sample_history()
    text = history_csv(h)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["epoch"] for r in rows] == ["1", "2"]  # epochs counted from 1
    assert float(rows[0]["val_loss"]) == 0.7 and rows[1]["val_loss"] == ""
    assert float(rows[1]["learning_rate"]) == 0.005
    path = export_csv(h, tmp_path / "out" / "h.csv", per="batch")
    brows = list(csv.DictReader(path.open()))
    assert len(brows) == 6 and [float(r["loss"]) for r in brows] == pytest.approx([1 / s for s in range(1, 7)])
    with pytest.raises(RunError, match="expected 'epoch' or 'batch'"):
        history_csv(h, per="week")


def test_tensorboard_export_reads_back(tmp_path):
    tf = pytest.importorskip("tensorflow")
    h = sample_history()
    logdir = export_tensorboard(h, tmp_path / "tb")

    def scalars(sub):
        out: dict = {}
        for f in (logdir / sub).glob("events.out.tfevents.*"):
            for e in tf.compat.v1.train.summary_iterator(str(f)):
                for v in e.summary.value:
                    out.setdefault(v.tag, {})[e.step] = float(tf.make_ndarray(v.tensor))
        return out

    train, val = scalars("train"), scalars("validation")
    assert train["epoch_loss"] == pytest.approx({0: 0.6, 1: 0.3})
    assert train["epoch_learning_rate"] == pytest.approx({0: 0.01, 1: 0.005})
    assert val["epoch_loss"] == pytest.approx({0: 0.7})  # NaN is left out
    assert val["epoch_accuracy"] == pytest.approx({0: 0.25, 1: 0.5})
    assert train["batch_loss"] == pytest.approx({s: 1 / s for s in range(1, 7)})
