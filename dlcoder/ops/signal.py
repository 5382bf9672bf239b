"""Signal processing: RFFT2D (audio front ends: tf.signal.stft lowers to it) and the
complex64 helpers COMPLEX_ABS, REAL, IMAG."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import register
from dlcoder.ops._common import const_ints, require_const, shape
from dlcoder.ops import _shapes as S

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


def _rfft_shape(node, g):
    """TFLite's rfft2d Prepare: the two innermost dims become fft_h x (fft_w / 2 + 1), the
    input cropped or zero-padded to [fft_h, fft_w]. TFLite's FFT library takes only powers
    of two; our kernel takes any positive length. float32 in, int32 lengths, complex64 out
    (which TFLite gives the output)."""
    S.arity(node, 2)
    x = S.in_shape(g, node, 0)
    S.rank_at_least(x, 2)
    S.rank_between(S.in_shape(g, node, 1), 1, 1, "fft_length")
    lengths = S.const_ints(g, node, 1, "fft_length")
    if len(lengths) != 2 or min(lengths) < 1:
        S.fail(f"fft_length {lengths} is not two positive lengths")
    S.dtypes_in(g, node, {"float32"}, positions=(0,))
    S.index_input(g, node, 1, "fft_length", ("int32",))
    S.dtypes_in(g, node, {"complex64"}, positions=(), outputs=(0,))
    return [tuple(x[:-2]) + (lengths[0], lengths[1] // 2 + 1)]


@register("RFFT2D", header="fft.h", dtypes=_COMPLEX, check=require_const(1), scratch=_rfft_scratch,
          shape=_rfft_shape)
def rfft2d(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    in_shape = shape(g, x)
    fh, fw = _fft_lengths(node, g)
    in_h, in_w = in_shape[-2], in_shape[-1]
    batch = int(np.prod(in_shape[:-2], dtype=np.int64))
    params = e.param("dlcoder_rt::Rfft2dParams", cgen.struct_init("Rfft2dParams",
        {"batch": batch, "in_h": in_h, "in_w": in_w, "fft_h": fh, "fft_w": fw}))
    return (f"dlcoder_rt::rfft2d({params}, {e.src(x)}, {e.weights(_twiddles(fw))}, "
            f"{e.weights(_twiddles(fh))}, {e.dst(out)}, {e.scratch('double')});")


def _complex_part_shape(node, g):
    """Same shape, complex64 in, float32 out (TFLite's complex_support Prepare)."""
    S.arity(node, 1)
    S.dtypes_in(g, node, {"complex64"}, positions=(0,))
    S.dtypes_in(g, node, {"float32"}, positions=(), outputs=(0,))
    return [S.in_shape(g, node, 0)]


@register("COMPLEX_ABS", header="fft.h", dtypes=_COMPLEX, shape=_complex_part_shape)
def complex_abs(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    return f"dlcoder_rt::complex_abs({g.tensors[out].size}, {e.src(x)}, {e.dst(out)});"


@register("REAL", "IMAG", header="fft.h", dtypes=_COMPLEX, shape=_complex_part_shape)
def complex_part(node, g, e):
    x, out = node.inputs[0], node.outputs[0]
    imag = "true" if node.op == "IMAG" else "false"
    return f"dlcoder_rt::complex_part({g.tensors[out].size}, {e.src(x)}, {e.dst(out)}, {imag});"
