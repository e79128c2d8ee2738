"""Small fixed Keras models shared by tests (independent of the presets under test)."""

from __future__ import annotations


def small_convnet(input_shape, num_classes, learning_rate=3e-3, seed=0):
    """Our own fixed test model (conv1 8, conv2 16, conv3 16 filters, GAP, softmax), independent of presets."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(tuple(input_shape)),
            keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(16, 3, activation="relu", padding="same", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool2"),
            keras.layers.Conv2D(16, 3, activation="relu", padding="same", name="conv3"),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(num_classes, activation="softmax", name="classes"),
        ]
    )
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def tiny_spec(name: str = "tiny"):
    """A three-layer design on 8x8x1 inputs with 3 classes (conv 4, flatten, softmax)."""
    from convexplorer.core.spec import LayerSpec, ModelSpec

    return ModelSpec(
        name=name,
        input_shape=(8, 8, 1),
        num_classes=3,
        layers=[
            LayerSpec("Conv2D", {"filters": 4}),
            LayerSpec("Flatten"),
            LayerSpec("Dense", {"units_from_classes": True, "activation": "softmax"}),
        ],
    )


def residual_graph():
    """input -> conv a -> conv b; add(a, b) -> global pool -> dense: a residual unit by hand.

    Returns the design and its node ids by role ("a", "b", "add", "pool", "out").
    """
    from convexplorer.core.spec import INPUT_ID, ModelSpec, make_layer

    g = ModelSpec(input_shape=(32, 32, 3), num_classes=4)
    a = g.add_node(make_layer("Conv2D", padding="same"), [(INPUT_ID, 0)])
    b = g.add_node(make_layer("Conv2D", padding="same"), [(a.id, 0)])
    add = g.add_node(make_layer("Add"), [(a.id, 0), (b.id, 0)])
    pool = g.add_node(make_layer("GlobalAveragePooling2D"), [(add.id, 0)])
    out = g.add_node(make_layer("Dense", units_from_classes=True, activation="softmax"), [(pool.id, 0)])
    return g, {"a": a.id, "b": b.id, "add": add.id, "pool": pool.id, "out": out.id}
