"""Every preset validates, round-trips and builds; the presets of the release before graphs keep their names and models.

The block presets are compared layer by layer with hand-written Keras models in
``test_blocks.py`` (which also builds ResNet-34, once); here every other preset is built.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convexplorer.core.presets import PRESETS, preset
from convexplorer.core.spec import LAYER_KINDS, ModelSpec
from convexplorer.core.summary import summarize

DATA = Path(__file__).resolve().parents[1] / "data"
#: Names and parameter counts as the release before graphs wrote them (tests/data/presets-format1.json).
BEFORE = {name: entry["summary"]["total"]
          for name, entry in json.loads((DATA / "presets-format1.json").read_text())["presets"].items()}
NEW = ["ResNet-34", "Small inception net", "Small SE-ResNet", "Mini Xception", "U-Net (masks)", "Shapes: class + box",
       "Shapes: U-Net segmenter"]
#: Built in test_blocks.py against hand-written models (ResNet-34 there, once: ~21 M parameters).
BUILT_IN_TEST_BLOCKS = set(NEW) | {"Small residual net", "Shapes: FCN segmenter", "Shapes: YOLO-style detector"}


def test_every_preset_of_the_release_before_graphs_is_still_there():
    assert len(BEFORE) >= 14
    assert set(BEFORE) <= set(PRESETS)
    assert set(NEW) <= set(PRESETS)


@pytest.mark.parametrize("name", [n for n in BEFORE if n != "Small residual net"])
def test_the_stacks_build_what_they_built(name):
    """Chains as before (the summary is checked against Keras in test_summary.py)."""
    spec = PRESETS[name]
    assert spec.is_chain() and not spec.groups
    s = summarize(spec)
    if s.pending:  # a keras.applications base: measured by the builder's tests, not here
        pytest.skip("base not measured in this process")
    assert s.total == BEFORE[name]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_validates_round_trips_and_describes_itself(name):
    spec = PRESETS[name]
    spec.validate()
    assert spec.description
    back = ModelSpec.from_json(spec.to_json())
    assert back.to_dict() == spec.to_dict()
    assert [g.to_dict() for g in back.groups] == [g.to_dict() for g in spec.groups]
    assert [h.to_dict() for h in back.heads] == [h.to_dict() for h in spec.heads]
    ids = {layer.id for layer in spec.layers}
    grouped = [n for g in spec.groups for n in g.nodes]
    assert set(grouped) <= ids and len(grouped) == len(set(grouped))
    assert all(layer.kind in LAYER_KINDS and layer.editable for layer in spec.layers)
    assert all(layer.kind != "ResidualBlock" for layer in spec.layers)  # blocks are real nodes now


@pytest.mark.parametrize("name", list(NEW) + ["Small residual net"])
def test_graph_presets_are_graphs_with_groups(name):
    spec = PRESETS[name]
    assert not spec.is_chain()
    assert spec.groups and all(g.nodes for g in spec.groups)


def test_preset_copies_are_independent_graphs():
    a = preset("Shapes: class + box")
    a.heads[0].loss_weight = 0.1
    a.groups[0].nodes.clear()
    a.layers[-1].inputs.clear()
    fresh = PRESETS["Shapes: class + box"]
    assert fresh.heads[0].loss_weight == 1.0 and fresh.groups[0].nodes and fresh.layers[-1].inputs
    assert PRESETS["ResNet-34"].input_shape == (224, 224, 3) and PRESETS["ResNet-34"].num_classes == 10


@pytest.mark.parametrize("name", [n for n in PRESETS if n not in BUILT_IN_TEST_BLOCKS
                                  and not any(layer.kind == "Pretrained" for layer in PRESETS[n].layers)])
def test_every_stack_preset_builds(name):
    keras = pytest.importorskip("keras")
    from convexplorer.core.builder import build_model

    model = build_model(preset(name), load_weights=False)
    assert isinstance(model, keras.Model)
    assert model.count_params() == BEFORE[name]


@pytest.mark.parametrize("app", ["VGG16", "Xception", "ResNet50"])
def test_transfer_presets_build(app):
    """One build per base, without weights, at the base's smallest input (the classifier is what the preset adds)."""
    pytest.importorskip("keras")
    from convexplorer.core.builder import build_model
    from convexplorer.core.summary import base_info

    for name in [n for n in PRESETS if n.startswith(f"{app} transfer")][:1]:
        spec = preset(name)
        spec.input_shape = (base_info(app).min_size,) * 2 + (3,)
        model = build_model(spec, load_weights=False)
        x = np.zeros((1,) + spec.input_shape, np.float32)
        assert tuple(model(x, training=False).shape) == (1, 1)
