"""The one error family of ``lpr``: callers catch ``LprError`` or a subclass by what they can do."""

from __future__ import annotations


class LprError(Exception):
    """Base class of every error raised by the plate-recognition package."""


class ModelError(LprError):
    """A recognition model is missing or cannot be loaded: reinstall the package."""


class UnknownRegionError(LprError):
    """The region name is not one of ``lpr.regions.REGIONS``: a configuration mistake."""


class ImageError(LprError):
    """An image could not be read or decoded: skip it and report the path."""


class CaptureError(LprError):
    """A camera or stream cannot be opened or has dropped for good: call a technician."""


class LabelError(LprError):
    """A label file of an evaluation set cannot be parsed: fix or remove that file."""
