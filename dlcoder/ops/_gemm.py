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
# bytes of B's panels the GEMM keeps in L2 (tests shrink it with the kernels' copy:
# simd_kernels.h, DLCODER_RT_GEMM_CHUNK_BYTES)
GEMM_CHUNK_BYTES = runtime_facts.constant("kGemmChunkBytes")


def panels(n: int) -> int:
    """Panels that hold n columns."""
    return -(-n // PANEL)


def deep_fits(m: int, k: int, half: bool) -> bool:
    """params.h's gemm_deep_fits with the widest tile: whether a float GEMM of m rows over
    depth k (B's panels float16 with `half`) may take gemm_deep (simd_kernels.h)."""
    return m > KMAX_MR and 2 * k * PANEL * (2 if half else 4) > GEMM_CHUNK_BYTES


def depth_arg(m: int, k: int, half: bool = False) -> str:
    """The template argument list of a float GEMM call (params.h: GemmDepth): kDeep where
    deep_fits, else none (the default, kShallow): gemm_deep, about 98 KB of code, is
    compiled only into the libraries with a GEMM that may take it."""
    return "<dlcoder_rt::GemmDepth::kDeep>" if deep_fits(m, k, half) else ""


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
