"""The read-only weight blob: every constant the kernels read, 64-byte aligned.

Entries are deduplicated by content, and their order is the order in which the emitter
asks for them, so the blob is deterministic.
"""
from __future__ import annotations

import hashlib

import numpy as np

ALIGN = 64


class WeightBlob:
    def __init__(self):
        self._chunks = []
        self._size = 0
        self._by_digest = {}

    def add(self, array: np.ndarray) -> int:
        """Append an array (C order, native little-endian) and return its byte offset."""
        data = np.ascontiguousarray(array).tobytes()
        key = hashlib.sha256(str(np.asarray(array).dtype).encode() + data).digest()
        if key in self._by_digest:
            return self._by_digest[key]
        offset = self._size
        self._chunks.append(data)
        pad = (-len(data)) % ALIGN
        if pad:
            self._chunks.append(b"\0" * pad)
        self._size += len(data) + pad
        self._by_digest[key] = offset
        return offset

    @property
    def size(self) -> int:
        return self._size

    def tobytes(self) -> bytes:
        return b"".join(self._chunks)
