"""The model and the image under inspection, and the image as the model is fed it (no Qt here)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from convexplorer.core.errors import ConvExplorerError

#: Side of the image fed to models that accept any size.
FREE_SIZE = 224


class Subject:
    """What the Inspect panel looks at: a model (with its labels and preprocessing) and an image."""

    def __init__(self) -> None:
        self.model: Any = None
        self.model_label = ""
        #: The keras.applications network whose preprocessing the image gets (None: none).
        self.app_name: str | None = None
        self.labels: list[str] | None = None
        self.raw_image: np.ndarray | None = None
        self.image_name = ""
        #: The image fitted to the model, in [0, 1].
        self.image: np.ndarray | None = None
        #: What the model is fed (preprocessed).
        self.x: np.ndarray | None = None
        #: The last analysis drawn (``jobs.analyse``'s result).
        self.analysis: dict | None = None

    def set_model(self, model: Any, label: str, app_name: str | None = None, labels: list[str] | None = None,
                  dataset_names: Sequence[str] | None = None) -> None:
        """Inspect ``model``; without ``labels``, the data set's class names when they match its outputs."""
        self.model, self.model_label, self.app_name = model, label, app_name
        self.labels = labels
        if labels is None:
            try:  # any output (a model with several heads: its classifier head) with one unit a class
                n_outs = [int(t.shape[-1]) for t in model.outputs]
            except (AttributeError, IndexError, TypeError, ValueError):
                n_outs = []
            names = dataset_names
            self.labels = list(names) if names and len(names) in n_outs else None

    def set_image(self, image: np.ndarray, name: str) -> None:
        """Use ``image`` (H x W x C in [0, 1]) from now on; :meth:`fit` fits it to the model."""
        self.raw_image = np.asarray(image, np.float32)
        self.image_name = name

    def model_input_shape(self) -> tuple | None:
        """The model's input shape (H, W, C; None for a free size); raises ConvExplorerError if unknown."""
        from convexplorer.core import inspect as ins

        return ins.input_shape(self.model)

    def fit(self) -> tuple[int, int, int]:
        """Fit the image to the model (``image`` and ``x``); the shape fed, or ConvExplorerError."""
        from convexplorer.core import inspect as ins
        from convexplorer.core import zoo

        assert self.raw_image is not None
        shape: Any = None
        if self.model is not None:
            try:
                shape = ins.input_shape(self.model)
            except ConvExplorerError:
                shape = None
        if shape is None:
            shape = (FREE_SIZE, FREE_SIZE, self.raw_image.shape[-1] if self.raw_image.ndim == 3 else 1)
        shape = tuple(FREE_SIZE if v is None else v for v in shape[:2]) + (shape[2] or 3,)
        try:
            self.image = ins.prepare_image(self.raw_image, shape, keep_aspect=True)
            self.x = zoo.preprocess(self.app_name, self.image) if self.app_name else self.image
        except ConvExplorerError:
            self.image = self.x = None
            raise
        return shape

    def label(self, index: int) -> str | None:
        """The name of class ``index``, if the model's classes have names."""
        return self.labels[index] if self.labels and index < len(self.labels) else None

    def ready(self) -> bool:
        """Whether there is a model and an image fitted to it."""
        return self.model is not None and self.x is not None
