"""Errors a user can act on.

Every error that core code raises on purpose is a ``ConvExplorerError``; its
message is shown to the user as it is, so it says what was expected and what
was received, in plain words.
"""

from __future__ import annotations


class ConvExplorerError(Exception):
    """Base class for errors whose message is meant for the user."""


class ImageError(ConvExplorerError):
    """An image file could not be opened or is not acceptable."""


class ShapeError(ConvExplorerError):
    """Shapes do not fit together (kernel larger than input, bad stride...)."""


class SpecError(ConvExplorerError):
    """A model design (ModelSpec) is invalid."""


class DatasetError(ConvExplorerError):
    """A data set could not be found, read or downloaded."""


class DownloadError(DatasetError):
    """A download failed (offline, bad checksum, cut connection)."""


class ModelFileError(ConvExplorerError):
    """A model file could not be opened safely."""


class Cancelled(ConvExplorerError):
    """A long operation was cancelled by the user."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
