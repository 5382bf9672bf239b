"""The --input-shape NAME=1x224x224x3 argument. Pinning the shape, and propagating it
through the graph with the ops' own shape rules, is validate.py's."""
from __future__ import annotations

from dlcoder.errors import DlcoderError


def parse_shape_arg(text: str) -> tuple[str, tuple]:
    """NAME=D1xD2x...: a non-empty input name, dims from 1 to 2**31-1 (a TFLite
    dimension is an int32); NAME= pins a scalar.

    >>> parse_shape_arg("image=1x224x224x3")
    ('image', (1, 224, 224, 3))
    """
    name, sep, dims = text.rpartition("=")
    # without leading zeros, so that int() (which refuses over 4300 digits) runs on at most
    # 10; a 0 becomes "", which is not a digit
    digits = [d.lstrip("0") for d in dims.lower().split("x")] if dims else []
    arg = text if len(text) <= 80 else text[:80] + "..."
    if not sep or not all(d.isascii() and d.isdigit() for d in digits):
        raise DlcoderError(f"--input-shape '{arg}' is not NAME=D1xD2x... with positive dims")
    if not name.strip():
        raise DlcoderError(f"--input-shape '{arg}' has an empty input name (NAME=D1xD2x...)")
    big = [d for d in digits if len(d) > 10 or int(d) > 2**31 - 1]
    if big:
        raise DlcoderError(f"--input-shape '{arg}': dimension {big[0][:20]}"
                           f"{'...' if len(big[0]) > 20 else ''} is past 2**31-1, the largest "
                           f"a TFLite tensor has")
    return name, tuple(int(d) for d in digits)
