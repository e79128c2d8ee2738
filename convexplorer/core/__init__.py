"""The science of ConvExplorer: plain functions and dataclasses, numpy in and out.

Nothing under ``convexplorer.core`` may import Qt (enforced by import-linter).
TensorFlow/Keras are imported lazily inside the functions that need them.
"""
