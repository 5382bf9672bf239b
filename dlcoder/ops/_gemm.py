"""The GEMM kernels' data as the generator prepares it (simd_kernels.h): constant B
matrices packed into panels of PANEL columns, biases padded to whole panels. Shared by
every op that runs on the GEMM kernels (conv.py, matmul.py, rnn.py, fused.py).

PANEL and KMAX_MR are read out of the runtime's params.h (codegen/runtime_facts.py), which
the kernels check them against: a change there reaches this module, not the numbers.
"""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import runtime_facts
from dlcoder.errors import UnsupportedError

PANEL = runtime_facts.constant("kPanel")     # columns per packed GEMM panel
KMAX_MR = runtime_facts.constant("kMaxMR")   # rows of the widest GEMM tile


def panels(n: int) -> int:
    """Panels that hold n columns."""
    return -(-n // PANEL)


def pack_panels(b_kn: np.ndarray) -> np.ndarray:
    """B[k][n] -> the GEMM kernels' layout: panels [ceil(n/PANEL)][k][PANEL], zero padded."""
    k, n = b_kn.shape
    padded = np.zeros((k, panels(n) * PANEL), np.float32)
    padded[:, :n] = b_kn
    return np.ascontiguousarray(padded.reshape(k, panels(n), PANEL).transpose(1, 0, 2))


class FromFloat16(np.ndarray):
    """float32 values that passes/fold_dequantize.py decoded from the model's float16
    constants. A view of them, so reshapes and transposes keep the mark; whether an op may
    then store its weights as float16 again is the node's attrs["weights_f16"]
    (passes/weight_layout.py)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """Values computed from these are plain arrays: only views keep the mark."""
        def plain(xs):
            return tuple(np.asarray(x) if isinstance(x, FromFloat16) else x for x in xs)
        if "out" in kwargs:
            kwargs["out"] = plain(kwargs["out"])
        return getattr(ufunc, method)(*plain(inputs), **kwargs)


def from_float16(values) -> bool:
    return isinstance(values, FromFloat16)


def packed_weights(e, b_kn: np.ndarray, half: bool) -> str:
    """B[k][n] packed into panels (pack_panels), as the kernels' pointer: with `half`
    (the node's attrs["weights_f16"], where its kernel takes float16 panels) as IEEE half,
    uint16_t, which the kernels widen exactly (simd_kernels.h: load_b): half the bytes,
    the same results."""
    packed = pack_panels(b_kn)
    if not half:
        return e.weights(packed)
    halves = packed.astype(np.float16)
    if not np.array_equal(halves.astype(np.float32), packed):
        # FromFloat16 marks only views of decoded halves; computed values lose the mark
        raise AssertionError("weights marked as float16 hold values that are not halves")
    return e.weights(halves)


def pad_to_panels(values) -> np.ndarray:
    """A vector zero padded to whole panels, as the GEMM kernels read a bias."""
    values = np.asarray(values, np.float32).ravel()
    out = np.zeros(panels(values.size) * PANEL, np.float32)
    out[:values.size] = values
    return out


def padded_bias(node, g, e, index: int, n: int) -> str:
    """A bias padded to whole panels, as the GEMM kernels read it (nullptr if absent)."""
    if len(node.inputs) <= index or node.inputs[index] < 0:
        return "nullptr"
    values = g.const(node.inputs[index]).ravel()
    if values.size != n:
        raise UnsupportedError(f"{node.op}: a bias of {values.size} values for {n} outputs")
    return e.weights(pad_to_panels(values))
