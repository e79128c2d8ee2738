"""TrainingSession: real short trainings on tiny synthetic data, checked against Keras's own numbers."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from convexplorer.core.training import (  # noqa: E402
    BatchEvent,
    DoneEvent,
    EpochEvent,
    ErrorEvent,
    History,
    TrainingError,
    TrainingSession,
    TrainingSettings,
    describe_training_error,
    tiny_convnet,
)


def bars(n: int = 192, size: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class 0: a horizontal bar, class 1: a vertical bar, at random places, with noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.1, 0.05, (n, size, size, 1)).astype(np.float32)
    y = np.arange(n) % 2
    for i in range(n):
        p = rng.integers(2, size - 2)
        if y[i] == 0:
            x[i, p - 1 : p + 1, 1:-1, 0] = 1.0
        else:
            x[i, 1:-1, p - 1 : p + 1, 0] = 1.0
    return np.clip(x, 0, 1), y.astype(np.int32)


def small_model(size: int = 12, lr: float = 1e-2, optimizer=None):
    model = tiny_convnet((size, size, 1), 2, learning_rate=lr)
    if optimizer is not None:
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_short_training_learns_and_reports_every_batch_and_epoch():
    x, y = bars(256)
    events: list = []
    model = small_model()
    s = TrainingSession(
        model, (x, y), settings=TrainingSettings(epochs=4, batch_size=32, validation_split=0.25), on_event=events.append
    )
    r = s.run()
    assert r.reason == "completed" and r.ok
    spe = math.ceil(192 / 32)
    batches = [e for e in events if isinstance(e, BatchEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert len(batches) == 4 * spe and len(epochs) == 4
    assert isinstance(events[-1], DoneEvent) and events[-1].result is not None
    assert [b.step for b in batches] == list(range(1, 4 * spe + 1))
    assert all(b.steps_per_epoch == spe and b.epochs == 4 for b in batches)
    # our per-epoch history equals Keras's own History callback
    keras_hist = model.history.history
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(r.history.epoch[key], keras_hist[key], rtol=1e-6)
    # the last batch's running loss is the epoch's training loss (Keras averages over the epoch)
    last_of_epoch = [b for b in batches if b.batch == spe]
    np.testing.assert_allclose([b.logs["loss"] for b in last_of_epoch], keras_hist["loss"], rtol=1e-6)
    # val_loss of the last epoch matches an independent model.evaluate on the held-out quarter
    ev = model.evaluate(x[192:], y[192:], batch_size=32, verbose=0, return_dict=True)
    assert r.history.epoch["val_loss"][-1] == pytest.approx(ev["loss"], rel=1e-4)
    # stated accuracy: the bars are learned
    assert ev["accuracy"] >= 0.9
    assert r.history.epoch["learning_rate"] == pytest.approx([1e-2] * 4)
    assert batches[-1].samples_per_s > 0 and batches[-1].eta_s is not None
    assert batches[-1].eta_s <= batches[0].eta_s
    assert r.history.epoch["batches"] == [spe] * 4


def test_continue_trains_more_epochs_with_consecutive_numbering():
    x, y = bars(64)
    s = TrainingSession(small_model(), (x, y), settings=TrainingSettings(epochs=2, batch_size=32))
    s.run()
    r = s.run(epochs=1)
    assert r.epochs_done == 3 and r.steps_done == 6
    assert r.history.epoch["epoch"] == [0, 1, 2]
    assert r.history.batch["step"] == [1, 2, 3, 4, 5, 6]
    assert r.history.batch["epoch"] == [0, 0, 1, 1, 2, 2]


def test_stop_finishes_the_current_batch_and_keeps_history():
    x, y = bars(128)
    holder: dict = {}

    def on_event(e):
        if isinstance(e, BatchEvent) and e.step == 3:
            holder["s"].stop()

    s = TrainingSession(
        small_model(), (x, y), settings=TrainingSettings(epochs=5, batch_size=16, validation_split=0.25), on_event=on_event
    )
    holder["s"] = s
    r = s.run()
    assert r.reason == "stopped"
    assert r.steps_done == 3 and r.history.num_batches == 3
    assert r.epochs_done == 1 and r.history.epoch["batches"] == [3]
    # the validation pass of a cut-short epoch is not reported as a result
    assert "val_loss" not in r.history.epoch or math.isnan(r.history.epoch["val_loss"][0])
    # continue after a stop goes on from there
    r2 = s.run(epochs=1)
    assert r2.reason == "completed" and r2.history.batch["step"][3] == 4


def test_pause_blocks_until_resume_and_stop_wakes_a_paused_run():
    x, y = bars(128)
    paused_at = threading.Event()
    steps: list[int] = []
    holder: dict = {}

    def on_event(e):
        if isinstance(e, BatchEvent):
            steps.append(e.step)
            if e.step == 2:
                holder["s"].pause()
                paused_at.set()

    s = TrainingSession(small_model(), (x, y), settings=TrainingSettings(epochs=2, batch_size=16), on_event=on_event)
    holder["s"] = s
    result: dict = {}
    t = threading.Thread(target=lambda: result.setdefault("r", s.run()))
    t.start()
    def wait_blocked(deadline_s: float = 60.0) -> bool:
        end, tick = time.monotonic() + deadline_s, threading.Event()
        while not s.waiting and time.monotonic() < end:
            tick.wait(0.01)  # poll with a deadline
        return s.waiting

    try:
        assert paused_at.wait(60)
        assert s.paused and wait_blocked()
        # while blocked in the callback, nothing moves
        assert t.is_alive() and steps == [1, 2] and s.steps_done == 2
        s.resume()
        t.join(60)
        assert not t.is_alive()
        assert result["r"].reason == "completed" and result["r"].steps_done == 16
        # pause before a run starts, then stop: one batch, blocked, and stop wakes it at once
        steps.clear()
        t2 = threading.Thread(target=lambda: result.__setitem__("r2", s.run(epochs=3)))
        s.pause()
        t2.start()
        assert wait_blocked() and t2.is_alive()
        assert len(steps) == 1
        s.stop()
        t2.join(30)
        assert not t2.is_alive()
        assert result["r2"].reason == "stopped" and result["r2"].steps_done == 17
    finally:
        s.stop()
        t.join(30)


def test_cancel_event_acts_as_stop():
    x, y = bars(64)
    cancel = threading.Event()

    def on_event(e):
        if isinstance(e, BatchEvent) and e.step == 2:
            cancel.set()

    s = TrainingSession(small_model(), (x, y), settings=TrainingSettings(epochs=3, batch_size=16), on_event=on_event)
    r = s.run(cancel=cancel)
    assert r.reason == "stopped" and r.steps_done == 2


def poison_loss(y_true, y_pred):
    """Cross-entropy that is NaN for a batch holding a label -1: a NaN loss at a known batch."""
    y = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
    base = keras.losses.sparse_categorical_crossentropy(keras.ops.maximum(y, 0), y_pred)
    return base + keras.ops.where(y < 0, float("nan"), 0.0)


def test_nan_loss_stops_with_a_clear_message_and_keeps_history():
    x, y = bars(96)
    y[40] = -1  # sample 40 is in batch 3 of 16 (no shuffling)
    model = small_model()
    model.compile(optimizer="adam", loss=poison_loss, metrics=["accuracy"])
    events: list = []
    s = TrainingSession(
        model, (x, y), settings=TrainingSettings(epochs=3, batch_size=16, shuffle=False), on_event=events.append
    )
    r = s.run()
    assert r.reason == "non_finite" and not r.ok
    assert "NaN" in r.message and "epoch 1, batch 3" in r.message
    assert r.steps_done == 3 and r.history.num_batches == 3
    assert all(math.isfinite(v) for v in r.history.batch["loss"][:2])
    assert math.isnan(r.history.batch["loss"][2])
    assert isinstance(events[-1], DoneEvent)


def test_an_exception_inside_fit_becomes_a_message_and_keeps_history():
    x, y = bars(64)
    y = y.copy()
    y[48:] = 7  # labels out of range for 2 classes, only in the last batch
    events: list = []
    s = TrainingSession(
        small_model(), (x, y), settings=TrainingSettings(epochs=2, batch_size=16, shuffle=False), on_event=events.append
    )
    r = s.run()
    assert r.reason == "error"
    assert "7" in r.message and "label" in r.message.lower()
    assert "Traceback" in r.error_details
    assert r.history.num_batches == 3
    kinds = [type(e) for e in events]
    assert kinds[-2:] == [ErrorEvent, DoneEvent]


def test_early_stopping_when_validation_loss_does_not_improve():
    x, y = bars(64)
    model = small_model(optimizer=keras.optimizers.SGD(0.0))  # nothing changes: val_loss is flat
    s = TrainingSession(
        model,
        (x, y),
        validation=(x[:32], y[:32]),
        settings=TrainingSettings(epochs=10, batch_size=32, early_stopping=True, early_stopping_patience=2),
    )
    r = s.run()
    assert r.reason == "early_stopping" and "val_loss" in r.message
    assert r.epochs_done == 3  # best at epoch 1, then 2 epochs without improvement


def test_reduce_lr_on_plateau_is_recorded_per_batch_and_epoch():
    x, y = bars(64)
    model = small_model(optimizer=keras.optimizers.SGD(1e-9))
    s = TrainingSession(
        model,
        (x, y),
        settings=TrainingSettings(epochs=3, batch_size=32, reduce_lr=True, reduce_lr_patience=1, reduce_lr_factor=0.5, min_lr=0.0),
    )
    r = s.run()
    lr_epoch = r.history.epoch["learning_rate"]
    # the epoch row holds the rate used during that epoch; Keras halves it after epoch 2 (patience 1)
    assert lr_epoch == pytest.approx([1e-9, 1e-9, 5e-10], rel=1e-6, abs=0)
    assert r.history.batch["learning_rate"] == pytest.approx([1e-9] * 4 + [5e-10] * 2, rel=1e-6, abs=0)
    # and halves it again after the third flat epoch
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(2.5e-10, rel=1e-6)


def test_best_checkpoint_holds_the_best_validation_epoch(tmp_path):
    x, y = bars(128)
    model = small_model(lr=3e-2)
    s = TrainingSession(
        model,
        (x, y),
        settings=TrainingSettings(epochs=3, batch_size=32, validation_split=0.25, checkpoint="best"),
        checkpoint_dir=tmp_path,
    )
    r = s.run()
    assert r.best_checkpoint == str(tmp_path / "best.keras")
    best = keras.models.load_model(r.best_checkpoint)
    ev = best.evaluate(x[96:], y[96:], verbose=0, return_dict=True)
    assert ev["loss"] == pytest.approx(min(r.history.epoch["val_loss"]), rel=1e-4)
    # continuing keeps the best over all epochs, not the best of the continuation
    model.optimizer.learning_rate.assign(0.5)  # a wild step: the next epoch is likely worse
    r = s.run(epochs=1)
    best = keras.models.load_model(r.best_checkpoint)
    ev = best.evaluate(x[96:], y[96:], verbose=0, return_dict=True)
    assert ev["loss"] == pytest.approx(min(r.history.epoch["val_loss"]), rel=1e-4)


def test_checkpoint_every_epoch(tmp_path):
    x, y = bars(32)
    s = TrainingSession(
        small_model(), (x, y), settings=TrainingSettings(epochs=2, batch_size=32, checkpoint="every_epoch"), checkpoint_dir=tmp_path
    )
    s.run()
    assert sorted(p.name for p in tmp_path.glob("*.keras")) == ["epoch_001.keras", "epoch_002.keras"]


def test_tf_data_input_with_exact_sample_counts():
    x, y = bars(100)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    val = tf.data.Dataset.from_tensor_slices((x[:20], y[:20])).batch(32)
    events: list = []
    s = TrainingSession(
        small_model(), ds, validation=val, settings=TrainingSettings(epochs=1, batch_size=32), on_event=events.append, num_samples=100
    )
    assert s.steps_per_epoch == 4 and s.has_validation
    r = s.run()
    assert r.reason == "completed" and "val_loss" in r.history.epoch
    ep = [e for e in events if isinstance(e, EpochEvent)][0]
    # 100 samples in the epoch (3 x 32 + 4), over the epoch's time
    assert ep.samples_per_s == pytest.approx(100 / r.history.epoch["time_s"][0], rel=1e-6)


def test_start_stop_cycles_leave_no_threads():
    x, y = bars(64)
    model = small_model()
    holder: dict = {}

    def on_event(e):
        if isinstance(e, BatchEvent) and e.batch == 1:
            holder["s"].stop()

    s = TrainingSession(model, (x, y), settings=TrainingSettings(epochs=2, batch_size=16), on_event=on_event)
    holder["s"] = s
    t = threading.Thread(target=s.run)
    t.start()
    t.join(60)
    before = threading.active_count()
    for _ in range(5):
        t = threading.Thread(target=s.run)
        t.start()
        t.join(60)
        assert not t.is_alive()
    assert threading.active_count() == before
    assert s.steps_done == 6


def test_settings_are_checked_with_readable_messages():
    with pytest.raises(TrainingError, match="epochs .* received 0"):
        TrainingSettings(epochs=0).validate()
    with pytest.raises(TrainingError, match="validation split .* received 1.5"):
        TrainingSettings(validation_split=1.5).validate()
    with pytest.raises(TrainingError, match="checkpoint must be one of"):
        TrainingSettings(checkpoint="sometimes").validate()
    x, y = bars(8)
    with pytest.raises(TrainingError, match="8 images and 5 labels"):
        TrainingSession(small_model(), (x, y[:5]))
    uncompiled = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(TrainingError, match="compiled"):
        TrainingSession(uncompiled, (x, y))
    with pytest.raises(TrainingError, match="checkpoint folder"):
        TrainingSession(small_model(), (x, y), settings=TrainingSettings(checkpoint="best"))
    assert TrainingSettings.from_dict({**TrainingSettings(epochs=7).to_dict(), "future": 1}).epochs == 7


def test_history_round_trip_keeps_nan_and_fills_missing_columns():
    h = History()
    h.add_epoch({"epoch": 0, "loss": 1.0})
    h.add_epoch({"epoch": 1, "loss": float("nan"), "val_loss": 0.5})
    assert h.epoch["val_loss"][0] != h.epoch["val_loss"][0]  # NaN filled in
    d = h.to_dict()
    assert d["epoch"]["loss"] == [1.0, None]
    back = History.from_dict(d)
    assert back.epoch["val_loss"][1] == 0.5 and math.isnan(back.epoch["loss"][1])
    assert back.metric_names() == ["loss"]


def test_describe_training_error_picks_the_useful_line():
    msg = (
        "Graph execution error:\n\nDetected at node foo defined at (most recent call last):\n"
        '  File "x.py", line 1\n\nReceived a label value of 7 which is outside the valid range of [0, 2).  '
        "Label values: 7 7\n\t [[{{node bar}}]] [Op:__inference_one_step_on_data_1]"
    )

    class InvalidArgumentError(Exception):
        pass

    text = describe_training_error(InvalidArgumentError(msg))
    assert text.startswith("training failed (InvalidArgumentError): Received a label value of 7")
    assert "out of memory" in describe_training_error(MemoryError())


def test_batch_positions_on_the_epoch_axis():
    from convexplorer.core.training import batch_positions

    h = History()
    for step, ep in enumerate([0, 0, 0, 0, 1, 1, 1, 1, 2, 2], start=1):
        h.add_batch({"step": step, "epoch": ep, "loss": 1.0})
    h.add_epoch({"epoch": 0, "batches": 4})
    h.add_epoch({"epoch": 1, "batches": 4})
    # epoch 2 is running: 2 of (presumably) 4 batches
    np.testing.assert_allclose(batch_positions(h), [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5])
    assert batch_positions(History()).size == 0


@pytest.mark.parametrize("fault", [
    OSError(28, "No space left on device"),  # a full disk
    PermissionError(13, "Permission denied"),  # a read-only folder (root ignores chmod, so it is injected)
])
def test_a_checkpoint_that_cannot_be_written_leaves_the_previous_one(tmp_path, monkeypatch, fault):
    x, y = bars(64)
    previous = tmp_path / "best.keras"
    previous.write_bytes(b"the previous checkpoint")
    real_save = keras.Model.save

    def failing_save(model, filepath, *args, **kwargs):
        with open(filepath, "wb") as fh:  # half a file, then the disk gives out
            fh.write(b"PK\x03\x04 partial")
        raise fault

    monkeypatch.setattr(keras.Model, "save", failing_save)
    s = TrainingSession(
        small_model(), (x, y),
        settings=TrainingSettings(epochs=2, batch_size=32, validation_split=0.25, checkpoint="best"),
        checkpoint_dir=tmp_path,
    )
    r = s.run()
    assert r.reason == "error"
    assert fault.strerror in r.message and "previous checkpoint is unchanged" in r.message
    assert previous.read_bytes() == b"the previous checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras"]  # no partial file left
    assert r.epochs_done == 1 and len(r.history.epoch["loss"]) == 1  # the epoch trained is kept
    monkeypatch.setattr(keras.Model, "save", real_save)
    r = s.run(epochs=1)  # once the disk has room again, training and saving go on
    assert r.ok and keras.models.load_model(r.best_checkpoint).count_params() == s.model.count_params()


def test_every_epoch_checkpoints_are_never_half_written(tmp_path, monkeypatch):
    x, y = bars(32)
    s = TrainingSession(
        small_model(), (x, y), settings=TrainingSettings(epochs=1, batch_size=32, checkpoint="every_epoch"),
        checkpoint_dir=tmp_path,
    )
    assert s.run().ok
    first = (tmp_path / "epoch_001.keras").read_bytes()

    def failing_save(model, filepath, *args, **kwargs):
        with open(filepath, "wb") as fh:
            fh.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", failing_save)
    assert s.run(epochs=1).reason == "error"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_001.keras"]
    assert (tmp_path / "epoch_001.keras").read_bytes() == first
