"""User-facing errors. The CLI turns each into one line on stderr and exit code 2."""


class DlcoderError(Exception):
    """A problem with the user's model or arguments (never a bug in dlcoder)."""


class ModelFormatError(DlcoderError):
    """The file is unreadable, truncated or not a TFLite flatbuffer."""


class InvalidModelError(ModelFormatError):
    """The flatbuffer parses, but the model contradicts itself: an index out of range, a
    missing required input, a stored shape that differs from what its op computes, a
    nonsensical attribute, or a size past what the target can address."""


class UnsupportedError(DlcoderError):
    """The model uses an op, dtype or feature that dlcoder cannot compile."""


class DynamicShapeError(DlcoderError):
    """An input has a dynamic dimension that was not pinned with --input-shape."""
