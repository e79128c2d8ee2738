"""The exported script runs on its own, trains on given data and builds the same model."""

from __future__ import annotations

import ast
import json
import os
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from convexplorer.core.errors import SpecError
from convexplorer.core.export import export_script, script_text
from convexplorer.core.presets import PRESETS, preset
from convexplorer.core.spec import GroupSpec, HeadSpec, LayerSpec, ModelSpec, make_layer
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


# --- graphs: the functional API, the same model as build_model ---------------------------------------


def _graph(name, nodes, heads=None, groups=None, shape=(16, 16, 3), classes=3, description=""):
    """A design from (id, kind, params, [input ids], name) tuples; the input "input" is the image."""
    layers = [LayerSpec(kind, dict(params), node_name, node_id, [(src, 0) for src in ins])
              for node_id, kind, params, ins, node_name in nodes]
    spec = ModelSpec(name, shape, classes, layers, description=description)
    spec.heads = list(heads or [])
    spec.groups = list(groups or [])
    return spec


def _n(node_id, kind, ins, name="", **params):
    return (node_id, kind, params, list(ins), name)


def _residual_graph():
    return _graph("residual graph", [
        _n("c1", "Conv2D", ["input"], filters=4, padding="same"),
        _n("c2", "Conv2D", ["c1"], filters=4, padding="same"),
        _n("c3", "Conv2D", ["c2"], filters=4, padding="same", activation="linear"),
        _n("add", "Add", ["c1", "c3"]),
        _n("gap", "GlobalAveragePooling2D", ["add"]),
        _n("out", "Dense", ["gap"], units_from_classes=True, activation="softmax"),
    ])


def _inception_graph():
    return _graph("inception", [
        _n("stem", "Conv2D", ["input"], filters=6, padding="same"),
        _n("b1", "Conv2D", ["stem"], filters=4, kernel_size=[1, 1]),
        _n("b3", "Conv2D", ["stem"], filters=5, padding="same"),
        _n("b5", "SeparableConv2D", ["stem"], filters=3, kernel_size=[5, 5], padding="same"),
        _n("bp", "MaxPooling2D", ["stem"], pool_size=[3, 3], strides=[1, 1], padding="same"),
        _n("cat", "Concatenate", ["b1", "b3", "b5", "bp"]),
        _n("gap", "GlobalMaxPooling2D", ["cat"]),
        _n("out", "Dense", ["gap"], units_from_classes=True, activation="softmax"),
    ])


def _se_graph():
    return _graph("squeeze and excite", [
        _n("conv", "Conv2D", ["input"], filters=8, padding="same"),
        _n("squeeze", "GlobalAveragePooling2D", ["conv"], keepdims=True),
        _n("reduce", "Dense", ["squeeze"], units=2),
        _n("excite", "Dense", ["reduce"], units=8, activation="sigmoid"),
        _n("scale", "Multiply", ["conv", "excite"]),
        _n("gap", "GlobalAveragePooling2D", ["scale"]),
        _n("out", "Dense", ["gap"], units_from_classes=True, activation="softmax"),
    ])


def _two_heads():
    spec = _graph("class and box", [
        _n("conv", "Conv2D", ["input"], filters=4),
        _n("pool", "MaxPooling2D", ["conv"]),
        _n("gap", "GlobalAveragePooling2D", ["pool"]),
        _n("cls", "Dense", ["gap"], "classes", units_from_classes=True, activation="softmax"),
        _n("box", "Dense", ["gap"], "box", units=4, activation="sigmoid"),
    ], heads=[HeadSpec("labels", "cls", "sparse_categorical_crossentropy", 1.0, ["accuracy"]),
              HeadSpec("boxes", "box", "mean_squared_error", 0.5, ["mean_absolute_error"])])
    spec.compile.optimizer = "adam"
    return spec


def _every_new_kind():
    """A graph using every editable kind the graph issue added (kept Keras layers: below)."""
    return _graph("every kind", [
        _n("norm", "Normalization", ["input"]),
        _n("pad", "ZeroPadding2D", ["norm"], padding=[1, 2, 0, 1]),
        _n("crop", "Cropping2D", ["pad"], cropping=[1, 2, 0, 1]),
        _n("dw", "DepthwiseConv2D", ["crop"], depth_multiplier=2, padding="same"),
        _n("bn", "BatchNormalization", ["dw"], center=False, scale=True, momentum=0.9),
        _n("relu6", "ReLU", ["bn"], max_value=6.0, negative_slope=0.1),
        _n("pw", "Conv2D", ["relu6"], filters=6, kernel_size=[1, 1], strides=[2, 2], padding="same"),
        _n("up", "Conv2DTranspose", ["pw"], filters=6, strides=[2, 2]),
        _n("ln", "LayerNormalization", ["up"], center=True, scale=False),
        _n("up2", "UpSampling2D", ["pw"], size=[2, 2], interpolation="bilinear"),
        _n("sub", "Subtract", ["ln", "up2"]),
        _n("avg", "Average", ["ln", "up2", "sub"]),
        _n("max", "Maximum", ["avg", "sub"]),
        _n("res", "ResidualBlock", ["max"], filters=4, pooling=True),
        _n("gmp", "GlobalMaxPooling2D", ["res"], keepdims=True),
        _n("shape", "Reshape", ["gmp"], target_shape=[2, -1]),
        _n("flat", "Flatten", ["shape"]),
        _n("drop", "Dropout", ["flat"], rate=0.25),
        _n("out", "Dense", ["drop"], units_from_classes=True, activation="softmax"),
    ], shape=(10, 10, 2))


def _exec_script(text):
    """The generated module, run in-process (not as __main__): its build_model and compile_model."""
    ns = {"__name__": "exported_script"}
    exec(compile(text, "exported_script.py", "exec"), ns)  # noqa: S102 - our own generated code
    return ns


def _same_model(spec):
    """The script's model and build_model's agree: parameters, layer names and classes, outputs, compile."""
    from convexplorer.core.builder import build_model

    text = script_text(spec)
    ast.parse(text)
    ns = _exec_script(text)
    ours = ns["compile_model"](ns["build_model"](None))
    ref = build_model(spec, load_weights=False)
    assert ours.count_params() == ref.count_params()
    assert f"({ref.count_params():,} parameters)" in text
    assert [(la.name, type(la).__name__) for la in ours.layers] == [(la.name, type(la).__name__) for la in ref.layers]
    assert ours.name == ref.name
    assert ours.output_names == ref.output_names
    assert ours.loss == ref.loss
    return text, ours, ref


@pytest.mark.parametrize("make", [_residual_graph, _inception_graph, _se_graph, _two_heads, _every_new_kind],
                         ids=["residual", "inception", "se", "two-heads", "every-new-kind"])
def test_graph_scripts_rebuild_the_same_model(make):
    spec = make()
    assert not spec.is_chain()
    text, _, _ = _same_model(spec)
    assert "\n    x = " not in text  # a graph names every tensor after its node


def test_a_graph_names_its_tensors_and_passes_lists_to_merges():
    text = script_text(_residual_graph())
    assert "    conv2d = layers.Conv2D(4, (3, 3)" in text and "(inputs)" in text
    assert "    add = layers.Add(name='add')([conv2d, conv2d_2])" in text
    assert "return keras.Model(inputs, dense, name='residual_graph')" in text


def test_several_heads_compile_as_build_model_does():
    text, ours, _ = _same_model(_two_heads())
    assert "outputs = {  # one output per head" in text
    assert "LOSS = {'labels': 'sparse_categorical_crossentropy', 'boxes': 'mean_squared_error'}" in text
    assert "loss_weights={'labels': 1.0, 'boxes': 0.5}," in text
    assert ours.loss == {"labels": "sparse_categorical_crossentropy", "boxes": "mean_squared_error"}
    x = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)
    y = {"labels": np.array([0, 1, 2, 0]), "boxes": np.random.default_rng(1).random((4, 4), dtype=np.float32)}
    logs = ours.train_on_batch(x, y, return_dict=True)
    assert {"labels_accuracy", "boxes_mae"} <= set(logs)


def test_one_named_head_in_a_chain_uses_its_own_loss():
    spec = _small_spec()
    spec.heads = [HeadSpec("scores", spec.layers[-1].id, "categorical_crossentropy", 1.0, ["auc"])]
    assert spec.is_chain()
    text = script_text(spec)
    assert "LOSS = 'categorical_crossentropy'" in text and 'metrics=[keras.metrics.AUC(name="auc")]' in text
    assert "    x = layers.Conv2D(4, (3, 3)" in text  # a chain stays a readable x = ...(x) sequence


def _kept_layers_graph():
    import keras

    return _graph("kept layers", [
        _n("gap", "GlobalAveragePooling2D", ["input"]),
        _n("kept", "KerasLayer", ["gap"], "kept", class_name="Dense", config=keras.layers.Dense(5).get_config()),
        _n("leaky", "KerasLayer", ["kept"], "leaky", class_name="LeakyReLU",
           config=keras.layers.LeakyReLU(negative_slope=0.2).get_config()),
        _n("out", "Dense", ["gap"], "out", units_from_classes=True, activation="softmax"),
        _n("sum", "KerasLayer", ["leaky", "out"], "joined", class_name="Concatenate",
           config=keras.layers.Concatenate().get_config()),
        _n("final", "Dense", ["sum"], units_from_classes=True, activation="softmax"),
    ], shape=(8, 8, 2))


def test_kept_keras_layers_are_rebuilt_by_the_keras_deserializer(monkeypatch):
    """A kept layer is keras.layers.deserialize of its config as a literal (named as the design names it)."""
    from convexplorer.core import export

    monkeypatch.setattr(export, "_parameter_count", lambda spec: 0)  # build_model cannot build kept layers yet
    text = script_text(_kept_layers_graph())
    assert "kept = keras.layers.deserialize({'module': 'keras.layers', 'class_name': 'Dense', 'config': {" in text
    assert "joined = keras.layers.deserialize({" in text
    assert ")([_pick(leaky, 0), _pick(out, 0)])" not in text  # out is an ordinary layer: no _pick
    assert ")([_pick(leaky, 0), out])" in text  # several inputs: a list
    model = _exec_script(text)["build_model"](None)
    assert model.get_layer("kept").units == 5 and model.get_layer("leaky").negative_slope == pytest.approx(0.2)
    assert model.count_params() == 2 * 5 + 5 + 2 * 3 + 3 + 8 * 3 + 3


def test_kept_keras_layers_rebuild_the_same_model_as_build_model():
    _same_model(_kept_layers_graph())


def test_a_lambda_is_never_written_into_a_script():
    lam = {"class_name": "__lambda__", "config": {"code": "abc", "defaults": None, "closure": None}}
    nested = {"layer": {"class_name": "Lambda", "config": {"function": lam}}}
    for class_name, config in (("Lambda", {"function": lam}), ("TimeDistributed", nested)):
        spec = _graph("lam", [_n("gap", "GlobalAveragePooling2D", ["input"]),
                              _n("k", "KerasLayer", ["gap"], class_name=class_name, config=config),
                              _n("out", "Dense", ["gap"]), _n("cat", "Concatenate", ["k", "out"])])
        with pytest.raises(SpecError, match="Lambda"):
            script_text(spec)


@pytest.mark.slow
def test_a_two_head_script_trains_standalone(tmp_path):
    """A separate process trains both heads on an .npz (a per-head label array and a shared one), one epoch."""
    from convexplorer.core.builder import build_model

    spec = _two_heads()
    script = export_script(spec, tmp_path / "heads.py", epochs=1)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x_train=rng.random((8, 16, 16, 3), dtype=np.float32), y_train=rng.integers(0, 3, 8),
             y_train_boxes=rng.random((8, 4), dtype=np.float32))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, str(script), "--data", str(tmp_path / "d.npz"), "--batch-size", "4",
                           "--strategy", "mirrored"], capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _params_printed(proc.stdout) == build_model(spec, load_weights=False).count_params()
    assert "strategy: mirrored (1 replica(s))" in proc.stdout
    assert "'labels_accuracy'" in proc.stdout and "'boxes_mae'" in proc.stdout


# --- designs made by someone else cannot add code --------------------------------------------------

PWNED_NAME = '"""\nimport os; os.system("echo PWNED")\n"""'

HOSTILE = [
    "'''", '"""', "\\", "\\'", "\n", "\r", "\r\n", "\u2028", "\u2029", "\x00", "\x0c", "\x0b", "\x85", "'\"", "#",
    "# not a comment\nprint('PWNED')", "{}", "{weights!r}", "{0}{{", "%(prog)s %(oops)s", "café 漢字 🙂", "\u202e",
    "\ud800", "\x1b[31m", "\\N{BULLET}", PWNED_NAME, "'); import os; os.system('echo PWNED'); ('",
]

#: What the generator binds at module level, in order (``_pick`` only with kept Keras layers).
MODULE_LEVEL = ["argparse", "json", "os", "os.environ.setdefault", "np", "tf", "keras", "layers", "MODEL_NAME",
                "DESCRIPTION", "INPUT_SHAPE", "NUM_CLASSES", "LOSS", "_pick", "build_model", "compile_model",
                "make_strategy", "_labels", "load_data", "main", "__name__ == '__main__'"]


def _module_level(tree):
    """(statement type, what it binds) for every module-level statement after the docstring."""
    out = []
    for node in tree.body[1:]:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out += [(type(node).__name__, a.asname or a.name) for a in node.names]
        elif isinstance(node, ast.Assign):
            assert len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            ast.literal_eval(node.value)  # constants are plain literals: nothing runs
            out.append(("Assign", node.targets[0].id))
        elif isinstance(node, ast.FunctionDef):
            out.append(("FunctionDef", node.name))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            out.append(("Expr", ast.unparse(node.value.func)))
        elif isinstance(node, ast.If):
            out.append(("If", ast.unparse(node.test)))
        else:
            out.append((type(node).__name__, ast.unparse(node)))
    return out


def _skeleton(text, known):
    """The script's AST with every text constant blanked and the other variable names numbered."""
    import builtins

    rename: dict[str, str] = {}

    class Blank(ast.NodeTransformer):
        def visit_Constant(self, node):
            return ast.Constant("S") if isinstance(node.value, str) else node

        def visit_Name(self, node):
            if node.id not in known and node.id not in dir(builtins):
                node.id = rename.setdefault(node.id, f"v{len(rename)}")
            return node

    return ast.dump(Blank().visit(ast.parse(text)))


def _comments(text):
    import io
    import tokenize

    return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]


#: Local names the generator writes itself (tensor variables named after nodes are the only others).
_LOCALS = {"inputs", "outputs", "x", "residual", "base", "first", "layer", "pretrained_weights", "model", "name",
           "parent", "one", "v", "about", "c", "local", "reduce_op", "value", "axis", "self", "Strategy", "y", "loss",
           "path", "batch_size", "heads", "label_mode", "common", "train", "val", "per_head", "head", "data", "arrays", "xk",
           "yk", "ds", "key", "argv", "parser", "args", "strategy", "history", "last", "k", "fh", "tensor", "port"}


def _assert_only_constants_differ(hostile_text, clean_text, spec):
    """The same statements as a clean export of the same design: only text constants (and tensor names) differ."""
    tree, clean = ast.parse(hostile_text), ast.parse(clean_text)
    assert ast.get_docstring(tree) == ast.get_docstring(clean)
    assert _module_level(tree) == _module_level(clean)
    assert [b for _, b in _module_level(tree)] == [b for b in MODULE_LEVEL if b != "_pick" or "def _pick" in clean_text]
    known = {b for _, b in _module_level(clean)} | _LOCALS
    assert _skeleton(hostile_text, known) == _skeleton(clean_text, known)
    assert len(_comments(hostile_text)) == len(_comments(clean_text))
    consts = {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)}
    assert consts["MODEL_NAME"] == spec.name and consts["DESCRIPTION"] == spec.description  # the text, exactly


def _echoed(output):
    """True when ``echo PWNED`` ran: a line that is only PWNED (the name itself may be shown, wrapped)."""
    return any(line.strip() == "PWNED" for line in output.splitlines())


def test_the_pwned_design_from_the_issue_exports_a_harmless_script(tmp_path):
    """The exact design of the issue: the script parses, and --help prints no PWNED and exits 0."""
    data = json.loads(_small_spec().to_json())
    data["name"] = PWNED_NAME
    spec = ModelSpec.from_json(json.dumps(data))  # through a design file, as a new user would get it
    script = export_script(spec, tmp_path / "train.py")
    text = script.read_text(encoding="utf-8")
    _assert_only_constants_differ(text, script_text(_small_spec(), "train.py"), spec)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120,
                          env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not _echoed(proc.stdout + proc.stderr)
    assert "usage:" in proc.stdout and "import os; os.system" in proc.stdout  # the name is shown, as text


def _with_free_text(spec, s):
    """``s`` in every string that validation lets through: the name, description, group names, a kept layer's reason."""
    spec.name = f"model {s}"
    spec.description = f"about {s}\nsecond line {s}"
    spec.groups = [GroupSpec(f"group {s}", [spec.layers[0].id, spec.layers[1].id]), GroupSpec(s, [spec.layers[-1].id])]
    for layer in spec.layers:
        if layer.kind == "KerasLayer":
            layer.params["reason"] = f"reason {s}"
    return spec


def _kept_graph():
    import keras

    return _graph("kept", [
        _n("c", "Conv2D", ["input"], filters=3, padding="same"),
        _n("k", "KerasLayer", ["c"], class_name="ReLU", config=keras.layers.ReLU().get_config(), reason="x"),
        _n("a", "Add", ["c", "k"]),
        _n("g", "GlobalAveragePooling2D", ["a"]),
        _n("out", "Dense", ["g"], units_from_classes=True, activation="softmax"),
    ], shape=(8, 8, 1))


_IDS = [ascii(h)[1:-1][:20] or "empty" for h in HOSTILE]


@pytest.mark.parametrize("hostile", HOSTILE, ids=_IDS)
@pytest.mark.parametrize("make", [_small_spec, _kept_graph, _two_heads], ids=["stack", "graph", "heads"])
def test_hostile_text_stays_text(make, hostile, monkeypatch):
    """Free text of a design (name, description, group names, a kept layer's reason) reaches the script as data."""
    if make is _kept_graph:
        from convexplorer.core import export

        monkeypatch.setattr(export, "_parameter_count", lambda spec: 0)  # build_model cannot build kept layers yet
    spec = _with_free_text(make(), hostile)
    _assert_only_constants_differ(script_text(spec), script_text(_with_free_text(make(), "harmless")), spec)


@pytest.mark.parametrize("hostile", [PWNED_NAME, "\u2028", "a'b", "x\ny", "{weights}", "é", "1abc", ""])
def test_hostile_node_and_head_names_are_refused(hostile):
    """Node and head names must be plain names: the generator validates the design itself."""
    spec = _two_heads()
    spec.layers[1].name = hostile + "\0"
    with pytest.raises(SpecError):
        script_text(spec)
    spec = _two_heads()
    spec.heads[0].name = hostile
    with pytest.raises(SpecError):
        script_text(spec)


def _everywhere(spec, s):
    """``s`` in every string of the design, node and head names and parameters included."""
    spec = _with_free_text(spec, s)
    for i, layer in enumerate(spec.layers):
        layer.name = f"{s}{i}"
        if layer.kind == "KerasLayer":
            layer.params["class_name"] = f"class {s}"
            layer.params["config"] = {f"key {s}": [f"value {s}", {s: s}], "n": 1}
        if layer.kind == "Pretrained":
            layer.params["fine_tune_from"] = f"from {s}"
    for h in spec.heads:
        h.name = f"head {s} {h.node}"
    return spec


def _bypassed_graph():
    return _graph("bypass", [
        _n("c", "Conv2D", ["input"], filters=3, padding="same"),
        _n("k", "KerasLayer", ["c"], class_name="ReLU", config={}, reason="x"),
        _n("a", "Add", ["c", "k"]),
        _n("p", "Pretrained", ["a"], application="VGG16", trainable="fine_tune", fine_tune_from="block5_conv1"),
        _n("r", "ResidualBlock", ["p"], filters=3),
        _n("g", "GlobalAveragePooling2D", ["r"]),
        _n("out", "Dense", ["g"], units_from_classes=True, activation="softmax"),
        _n("box", "Dense", ["g"], units=4),
    ], heads=[HeadSpec("a", "out"), HeadSpec("b", "box", "huber", 2.0, [])], shape=(32, 32, 3))


def _bypassed_stack():
    return ModelSpec("s", (32, 32, 3), 2, [
        make_layer("Conv2D", filters=3), make_layer("KerasLayer", class_name="ReLU", config={}),
        make_layer("ResidualBlock", filters=3),
        make_layer("Pretrained", application="VGG16", trainable="fine_tune", fine_tune_from="block5_conv1"),
        make_layer("GlobalAveragePooling2D"), make_layer("Dense", units_from_classes=True, activation="softmax")])


@pytest.mark.parametrize("hostile", HOSTILE, ids=_IDS)
@pytest.mark.parametrize("make", [_bypassed_stack, _bypassed_graph], ids=["stack", "graph"])
def test_the_generator_escapes_even_what_validation_would_refuse(make, hostile, monkeypatch):
    """Second line of defence: with name checks switched off, hostile names and parameters are still data."""
    import convexplorer.core.spec as spec_module
    from convexplorer.core import export

    monkeypatch.setattr(spec_module, "NAME_RE", re.compile(r".*", re.DOTALL))
    monkeypatch.setattr(export, "_parameter_count", lambda spec: 0)
    spec = _everywhere(make(), hostile)
    text = script_text(spec)
    _assert_only_constants_differ(text, script_text(_everywhere(make(), "harmless")), spec)
    build = next(f for f in ast.parse(text).body if isinstance(f, ast.FunctionDef) and f.name == "build_model")
    layer_names = [kw.value.value for node in ast.walk(build) if isinstance(node, ast.Call)
                   for kw in node.keywords if kw.arg == "name" and isinstance(kw.value, ast.Constant)]
    assert f"{hostile}0" in layer_names  # the node's name, exactly, as a keyword argument


def test_hostile_help_runs_in_process(tmp_path, monkeypatch, capsys):
    """--help works when the name and description hold argparse % fields, escapes, quotes and braces."""
    spec = _with_free_text(_small_spec(), "%(prog)s %(oops)s " + PWNED_NAME + " \x1b[31m \u2028 {weights}")
    path = tmp_path / "hostile.py"
    path.write_text(script_text(spec), encoding="utf-8")
    monkeypatch.setattr(sys, "argv", [str(path), "--help"])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(path), run_name="__main__")
    assert stop.value.code == 0
    out = capsys.readouterr()
    assert "usage:" in out.out and "%(oops)s" in out.out and "\x1b" not in out.out + out.err
    assert not _echoed(out.out + out.err)


def test_values_are_written_as_plain_literals():
    from convexplorer.core.export import _lit

    class Evil(str):
        def __repr__(self):
            return "__import__('os').system('echo PWNED')"

    class EvilInt(int):
        def __repr__(self):
            return "__import__('os')"

    assert _lit(Evil("x")) == "'x'" and _lit(EvilInt(3)) == "3"
    assert _lit([Evil("a"), (1,), {"k": None}]) == "['a', (1,), {'k': None}]"
    assert _lit(float("nan")) == "float('nan')" and _lit(float("-inf")) == "-float('inf')"
    assert _lit(np.float32(0.5)) == "0.5" and _lit(np.int64(7)) == "7" and _lit(True) == "True"
    deep: list = [1]
    for _ in range(60):
        deep = [deep]
    for bad in (object(), {1: 2}, b"bytes", 10 ** 500, deep, {"f": print}):
        with pytest.raises(SpecError):
            _lit(bad)


def test_odd_file_names_do_not_reach_the_docstring():
    text = script_text(_small_spec(), 'x"""\nimport os.py')
    assert "THIS_SCRIPT.py" in ast.get_docstring(ast.parse(text))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(max_size=30), description=st.text(max_size=60))
def test_any_name_and_description_stay_text(name, description):
    spec = _small_spec()
    spec.name, spec.description = name, description
    _assert_only_constants_differ(script_text(spec), script_text(_small_spec()), spec)


def test_several_heads_train_in_process_on_an_image_folder(tmp_path, capsys, monkeypatch):
    """With a folder, every head learns the folder's class, in the form its loss expects (here one-hot for one)."""
    spec = _graph("two classifiers", [
        _n("conv", "Conv2D", ["input"], filters=2),
        _n("gap", "GlobalAveragePooling2D", ["conv"]),
        _n("a", "Dense", ["gap"], "a", units_from_classes=True, activation="softmax"),
        _n("b", "Dense", ["gap"], "b", units_from_classes=True, activation="softmax"),
    ], heads=[HeadSpec("sparse", "a"), HeadSpec("onehot", "b", "categorical_crossentropy", 0.3, ["accuracy"])],
        shape=(8, 8, 1))
    script = export_script(spec, tmp_path / "two.py", epochs=1)
    rng = np.random.default_rng(0)
    for c in ("a", "b", "c"):
        (tmp_path / "data" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(tmp_path / "data" / c / f"{i}.png")
    monkeypatch.setattr(sys, "argv", ["two.py", "--data", str(tmp_path / "data"), "--batch-size", "4"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "'sparse_accuracy'" in out and "'val_onehot_accuracy'" in out
