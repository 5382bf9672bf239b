"""Signal processing: RFFT2D (audio front ends: tf.signal.stft lowers to it) and the
complex64 helpers COMPLEX_ABS, REAL, IMAG."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import register
from dlcoder.ops._common import const_ints, require_const, shape

_COMPLEX = {"float32", "complex64", "int32"}


def _twiddles(n: int) -> np.ndarray:
    """exp(-2 pi i k / n), k < n/2, as interleaved doubles (at least one entry)."""
    k = np.arange(max(n // 2, 1), dtype=np.float64)
    w = np.exp(-2j * np.pi * k / max(n, 1))
    return np.stack([w.real, w.imag], axis=1).ravel()


def _fft_lengths(node, g):
    return const_ints(g, node.inputs[1], "fft_length", node)


def _rfft_scratch(node, g) -> int:
    fh, fw = _fft_lengths(node, g)
    return 8 * 2 * (fh * (fw // 2 + 1) + 2 * (fw + fh))


@register("RFFT2D", header="fft.h", dtypes=_COMPLEX, check=require_const(1), scratch=_rfft_scratch)
def rfft2d(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    in_shape = shape(g, x)
    fh, fw = _fft_lengths(node, g)
    in_h, in_w = in_shape[-2], in_shape[-1]
    batch = int(np.prod(in_shape[:-2], dtype=np.int64))
    params = e.param("dlcoder_rt::Rfft2dParams", cgen.struct_init(
        {"batch": batch, "in_h": in_h, "in_w": in_w, "fft_h": fh, "fft_w": fw}))
    return (f"dlcoder_rt::rfft2d({params}, {e.src(x)}, {e.weights(_twiddles(fw))}, "
            f"{e.weights(_twiddles(fh))}, {e.dst(out)}, {e.scratch('double')});")


@register("COMPLEX_ABS", header="fft.h", dtypes=_COMPLEX)
def complex_abs(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    return f"dlcoder_rt::complex_abs({g.tensors[out].size}, {e.src(x)}, {e.dst(out)});"


@register("REAL", "IMAG", header="fft.h", dtypes=_COMPLEX)
def complex_part(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    imag = "true" if node.op == "IMAG" else "false"
    return f"dlcoder_rt::complex_part({g.tensors[out].size}, {e.src(x)}, {e.dst(out)}, {imag});"
