"""core.distribute against TensorFlow's own strategies.

Logical CPU devices must be configured before TensorFlow starts its devices,
and MultiWorkerMirroredStrategy must be made before any other op, once per
process: those runs happen in subprocesses (with timeouts).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from convexplorer.core import distribute as ds
from convexplorer.core.errors import ConvExplorerError

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT), **extra)
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


# --------------------------------------------------------------------------- mirrored over two logical CPUs
MIRRORED_RUN = textwrap.dedent(
    """
    import json
    from convexplorer.core import distribute as ds

    names = ds.configure_logical_cpus(2)   # before any TensorFlow op
    import numpy as np
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.random((96, 8, 8, 1)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2, 3)) * 3 > 1.5).astype("int32") + (x[:, :, :4].mean(axis=(1, 2, 3)) > 0.5)
    PER_DEVICE = 8

    def build():
        return keras.Sequential([
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ])

    def compile_(model):
        model.compile(optimizer=keras.optimizers.SGD(0.2), loss="sparse_categorical_crossentropy")

    def train(strategy, global_batch):
        keras.utils.set_random_seed(1)
        model = ds.build_in_scope(strategy, build, compile=compile_)
        start = [w.copy() for w in model.get_weights()]
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch)
        hist = model.fit(data, epochs=3, verbose=0, shuffle=False)
        return start, model.get_weights(), hist.history["loss"]

    mirrored = ds.make_strategy("mirrored")
    global_batch = ds.scaled_batch_size(PER_DEVICE, mirrored)
    single = ds.make_strategy("default")
    s0, s1, sloss = train(single, global_batch)
    m0, m1, mloss = train(mirrored, global_batch)
    print("RESULT" + json.dumps({
        "logical": names,
        "replicas": mirrored.num_replicas_in_sync,
        "single_replicas": single.num_replicas_in_sync,
        "global_batch": global_batch,
        "described": ds.describe_strategy(mirrored),
        "start_diff": max(float(np.abs(a - b).max()) for a, b in zip(s0, m0)),
        "moved": max(float(np.abs(a - b).max()) for a, b in zip(s0, s1)),
        "weight_diff": max(float(np.abs(a - b).max()) for a, b in zip(s1, m1)),
        "single_loss": sloss,
        "mirrored_loss": mloss,
    }))
    """
)


def _result(proc: subprocess.CompletedProcess) -> dict:
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    assert proc.returncode == 0 and lines, f"run failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT"):])


@pytest.fixture(scope="module")
def mirrored_run():
    """The mirrored run, started when the module starts so that it overlaps the multi-worker run (2 cores)."""
    proc = subprocess.Popen([sys.executable, "-c", MIRRORED_RUN], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env())
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.fixture(autouse=True)
def _start_mirrored_early(request):
    """When the mirrored test is selected, the module's first test starts its run; the check comes last."""
    if any(item.name == "test_mirrored_over_two_logical_cpus_matches_one_device" for item in request.session.items):
        request.getfixturevalue("mirrored_run")
    yield


# --------------------------------------------------------------------------- two workers on 127.0.0.1
def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _run_workers(tmp_path: Path, argv_for, timeout: float = 240) -> list[str]:
    """Start two workers on 127.0.0.1 (free ports), wait for both; returns their outputs."""
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = [
        subprocess.Popen(argv_for(i), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=_env(TF_CONFIG=ds.tf_config(workers, i)))
        for i in range(2)
    ]
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=timeout)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for i, (p, out) in enumerate(zip(procs, outputs)):
        assert p.returncode == 0, f"worker {i} failed:\n{out[-4000:]}"
    return outputs


def _check_worker_models(tmp_path: Path, n_params: int) -> None:
    import keras

    models = [keras.models.load_model(tmp_path / f"worker{i}.keras") for i in range(2)]  # safe_mode on
    assert models[0].count_params() == n_params
    x = np.random.default_rng(1).random((4, 8, 8, 1)).astype("float32")
    assert tuple(models[0](x).shape) == (4, 3)
    # synchronous training: both workers end with the same weights
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys
    from convexplorer.core import distribute as ds

    strategy = ds.make_strategy("multiworker")   # first, before any other TensorFlow op
    import numpy as np
    import keras

    def build():
        keras.utils.set_random_seed(3)
        return keras.Sequential([
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ])

    model = ds.build_in_scope(strategy, build, compile=lambda m: m.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]))
    print("described:", ds.describe_strategy(strategy))
    import tensorflow as tf
    data = np.load(sys.argv[1])
    train = tf.data.Dataset.from_tensor_slices((data["x_train"], data["y_train"])).batch(ds.scaled_batch_size(8, strategy))
    history = model.fit(train, epochs=2, verbose=0)
    print("losses:", history.history["loss"])
    model.save(sys.argv[2])
    """
)


def _tiny_data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(path, x_train=rng.random((64, 8, 8, 1)).astype("float32"), y_train=rng.integers(0, 3, 64))
    return path


@pytest.mark.slow
def test_multiworker_strategy_trains_on_two_local_workers(tmp_path):
    """Two processes, one TF_CONFIG each, on 127.0.0.1: both finish and save the same loadable model."""
    data = _tiny_data(tmp_path)
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    outputs = _run_workers(tmp_path, lambda i: [sys.executable, str(script), str(data), str(tmp_path / f"worker{i}.keras")])
    for out in outputs:
        assert "described: MultiWorkerMirroredStrategy · 2 replicas" in out
    _check_worker_models(tmp_path, 4 * 9 + 4 + 144 * 3 + 3)


def _spec():
    from tests.models import tiny_spec

    return tiny_spec("tiny cluster")


def _export_handles_keras_multiworker_bug() -> bool:
    """Whether the exported script works around keras-team/keras#20585 (its strategy overrides reduce)."""
    from convexplorer.core.export import script_text

    return "def reduce(" in script_text(_spec())


@pytest.mark.xfail(
    not _export_handles_keras_multiworker_bug(),
    reason="the exported script uses the plain MultiWorkerMirroredStrategy, whose reduce() Keras 3 fit() "
    "calls with a nest / axis=0 on scalars (keras-team/keras#20585): fit fails with 'Attempt to convert a "
    "value (PerReplica...)'. Fix: the exported make_strategy must use a subclass as in core.distribute.",
    run=False,
    strict=True,
)
@pytest.mark.slow
def test_exported_script_runs_on_two_workers(tmp_path):
    from convexplorer.core.export import export_script
    from convexplorer.core.summary import summarize

    spec = _spec()
    script = export_script(spec, tmp_path / "train.py", epochs=2)
    data = _tiny_data(tmp_path)
    outputs = _run_workers(tmp_path, lambda i: [
        sys.executable, str(script), "--data", str(data), "--epochs", "2", "--batch-size", "16",
        "--strategy", "multiworker", "--save", str(tmp_path / f"worker{i}.keras")])
    for out in outputs:
        assert "strategy: multiworker (2 replica(s))" in out
    _check_worker_models(tmp_path, summarize(spec).total)


# --------------------------------------------------------------------------- in-process checks
def test_tf_config_round_trip_and_errors():
    text = ds.tf_config(["10.0.0.1:12345", "10.0.0.2:12345"], 1)
    assert json.loads(text) == {"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
                                "task": {"type": "worker", "index": 1}}
    assert ds.check_tf_config(text)["task"]["index"] == 1
    with pytest.raises(ds.DistributeError, match="needs TF_CONFIG.*received nothing"):
        ds.check_tf_config("")
    with pytest.raises(ds.DistributeError, match="not valid JSON"):
        ds.check_tf_config("{cluster")
    with pytest.raises(ds.DistributeError, match='expected "host:port", received \'nohost\''):
        ds.check_tf_config('{"cluster": {"worker": ["nohost"]}, "task": {"type": "worker", "index": 0}}')
    with pytest.raises(ds.DistributeError, match="index must be 0..1 .* received 2"):
        ds.tf_config(["a:1", "b:2"], 2)
    with pytest.raises(ds.DistributeError, match='"task" object'):
        ds.check_tf_config('{"cluster": {"worker": ["a:1"]}}')
    assert issubclass(ds.DistributeError, ConvExplorerError)


def test_make_strategy_names_and_batch_scaling(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    default = ds.make_strategy("default")
    assert default is tf.distribute.get_strategy()
    assert ds.scaled_batch_size(32, default) == 32
    mirrored = ds.make_strategy("mirrored", devices=["/cpu:0"])
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert ds.scaled_batch_size(32, mirrored) == 32 * mirrored.num_replicas_in_sync == 32
    with pytest.raises(ds.DistributeError, match='unknown strategy "ring": expected one of default, mirrored, multiworker'):
        ds.make_strategy("ring")
    with pytest.raises(ds.DistributeError, match="at least 1, received 0"):
        ds.scaled_batch_size(0, default)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ds.DistributeError, match="needs TF_CONFIG"):
        ds.make_strategy("multiworker")


def test_logical_cpus_cannot_change_after_start():
    tf = pytest.importorskip("tensorflow")
    tf.config.list_logical_devices()  # devices started
    with pytest.raises(ds.DistributeError, match="already started"):
        ds.configure_logical_cpus(len(tf.config.list_logical_devices("CPU")) + 2)


def test_build_in_scope_builds_compiled_models_under_the_strategy():
    keras = pytest.importorskip("keras")
    strategy = ds.make_strategy("mirrored", devices=["/cpu:0"])

    def build():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])

    model = ds.build_in_scope(strategy, build, compile=lambda m: m.compile(optimizer="sgd", loss="mse"))
    assert model.optimizer is not None
    assert type(model.layers[0].kernel.value).__name__ == "MirroredVariable"  # created in the scope
    with pytest.raises(ds.DistributeError, match="not compiled"):
        ds.build_in_scope(strategy, build)


def test_import_run_from_keras_csvlogger_and_history_json(tmp_path):
    keras = pytest.importorskip("keras")
    from convexplorer.core import runs

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((20, 3)).astype("float32")
    y = (x[:, 0] > 0.5).astype("int32")
    hist = model.fit(x, y, epochs=3, batch_size=10, verbose=0, validation_split=0.2,
                     callbacks=[keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))])
    model.save(tmp_path / "trained.keras")
    (tmp_path / "history.json").write_text(json.dumps(hist.history))

    from_csv = ds.read_keras_history(tmp_path / "log.csv")
    from_json = ds.read_keras_history(tmp_path / "history.json")
    for key, values in hist.history.items():
        np.testing.assert_allclose(from_csv[key], values, rtol=1e-6)
        np.testing.assert_allclose(from_json[key], values, rtol=1e-12)

    info = ds.import_run(tmp_path / "trained.keras", tmp_path / "history.json", "cluster run", root=tmp_path / "runs")
    assert [r.id for r in runs.list_runs(tmp_path / "runs")] == [info.id]
    assert info.has_model and info.label == "cluster run"
    loaded = runs.load_history(info)
    np.testing.assert_allclose(loaded.epoch["val_loss"], hist.history["val_loss"], rtol=1e-12)
    assert loaded.epoch["epoch"] == [0.0, 1.0, 2.0]
    back = runs.load_run_model(info)
    np.testing.assert_allclose(back(x[:2]), model(x[:2]), rtol=1e-6)

    with pytest.raises(ds.DistributeError, match="expected a .keras model file"):
        ds.import_run(tmp_path / "log.csv", None, root=tmp_path / "runs")
    (tmp_path / "bad.json").write_text('{"loss": [1, 2], "accuracy": [0.5]}')
    with pytest.raises(ds.DistributeError, match="equal length"):
        ds.read_keras_history(tmp_path / "bad.json")


# --------------------------------------------------------------------------- last: collect the mirrored run
@pytest.mark.slow
def test_mirrored_over_two_logical_cpus_matches_one_device(mirrored_run):
    try:
        out, err = mirrored_run.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail("the mirrored run took more than 4 minutes")
    r = _result(subprocess.CompletedProcess(mirrored_run.args, mirrored_run.returncode, out, err))
    assert r["logical"] == ["/device:CPU:0", "/device:CPU:1"]
    assert r["replicas"] == 2 and r["single_replicas"] == 1
    assert r["global_batch"] == 16
    assert r["described"] == "MirroredStrategy · 2 replicas (CPU:0, CPU:1)"
    assert r["start_diff"] == 0.0  # same seed, same initial weights
    assert r["moved"] > 1e-2  # training really changed the weights...
    assert r["weight_diff"] < 1e-4  # ...and both ways the same (gradients averaged over the global batch)
    np.testing.assert_allclose(r["mirrored_loss"], r["single_loss"], rtol=1e-4)
    assert r["single_loss"][-1] < r["single_loss"][0]


def test_import_run_command_line(tmp_path):
    """``python -m convexplorer.core.distribute import-run`` adds a run; a bad file is an error, not a traceback."""
    from convexplorer.core import runs

    (tmp_path / "history.json").write_text(json.dumps({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]}))
    cmd = [sys.executable, "-m", "convexplorer.core.distribute", "import-run", "--history",
           str(tmp_path / "history.json"), "--label", "from the cluster", "--root", str(tmp_path / "runs")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_env())
    assert proc.returncode == 0, proc.stderr
    (info,) = runs.list_runs(tmp_path / "runs")
    assert proc.stdout.strip() == f"imported into {info.path}"
    assert info.label == "from the cluster" and info.final == {"loss": 0.5, "val_loss": 0.7}
    assert not info.has_model
    bad = subprocess.run(cmd[:4] + ["--model", str(tmp_path / "missing.keras")], capture_output=True, text=True,
                         timeout=120, env=_env())
    assert bad.returncode == 2 and bad.stdout.startswith("error: expected a .keras model file")
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_build_spec_in_scope_compiles_and_keeps_output_float32(policy):
    keras = pytest.importorskip("keras")
    from convexplorer.core.spec import LayerSpec, ModelSpec
    from convexplorer.core.summary import summarize

    spec = ModelSpec(name="tiny", input_shape=(8, 8, 1), num_classes=3, layers=[
        LayerSpec("Conv2D", {"filters": 4}), LayerSpec("Flatten"),
        LayerSpec("Dense", {"units_from_classes": True, "activation": "softmax"})])
    strategy = ds.make_strategy("mirrored", devices=["/cpu:0"])
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = ds.build_spec_in_scope(spec, strategy)
        assert model.count_params() == summarize(spec).total
        assert [layer.name for layer in model.layers[1:]] == spec.layer_names()  # the design's names, unchanged
        assert model.output.dtype == "float32"
        assert model.layers[1].compute_dtype == ("float16" if policy == "mixed_float16" else "float32")
        assert type(model.layers[-1].kernel.value).__name__ == "MirroredVariable"
        x = np.random.default_rng(0).random((8, 8, 8, 1)).astype("float32")
        history = model.fit(x, np.arange(8) % 3, epochs=1, batch_size=4, verbose=0)
        assert np.isfinite(history.history["loss"][0])
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_rebuild_in_scope_copies_weights_and_compile():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    strategy = ds.make_strategy("mirrored", devices=["/cpu:0"])
    new = ds.rebuild_in_scope(model, strategy)
    assert new is not model
    assert type(new.layers[0].kernel.value).__name__ == "MirroredVariable"
    x = np.random.default_rng(0).random((6, 5)).astype("float32")
    np.testing.assert_allclose(new(x), model(x), rtol=1e-6)
    assert new.get_compile_config() == model.get_compile_config()
    # it trains like the original would: one SGD step from the same weights gives the same weights
    y = np.zeros((6, 2), "float32")
    model.fit(x, y, batch_size=6, epochs=1, verbose=0, shuffle=False)
    new.fit(x, y, batch_size=6, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(new.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_an_opened_models_weights_come_back_when_it_trains_under_a_strategy():
    """The Builder hands training the design of an opened model with its weights: the distributed build keeps them."""
    import keras

    from convexplorer.core.modelio import import_model

    keras.utils.set_random_seed(3)
    inp = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, name="c")(inp)
    out = keras.layers.Dense(3, activation="softmax", name="d")(keras.layers.Flatten()(x))
    original = keras.Model(inp, out)
    opened = import_model(original)
    spec = opened.spec
    spec.initial_weights = opened.weights  # what the Builder's Design attaches
    rebuilt = ds.build_spec_in_scope(spec, ds.make_strategy("mirrored"))
    images = np.random.default_rng(0).random((2, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(rebuilt(images)), np.asarray(original(images)), rtol=1e-5, atol=1e-6)
