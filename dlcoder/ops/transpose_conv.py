"""TRANSPOSE_CONV (float32, NHWC): the op's entry, whose shape rule the quantized variants
(qtransposeconv.py) share, and the float kernel's data.

The kernel (dlcoder_rt/transpose_conv.h) runs the op as s_h * s_w stride-1 convolutions,
one per output phase, on the GEMM tiles. Here each phase's sub-kernel is cut out of the
filter and packed as GEMM panels, with its taps' offsets in the map the windows read: the
input, or a zero-padded copy when some window crosses the input's border.

Why phases rather than a GEMM over the weights followed by a scatter-add (col2im): both do
the same multiply-adds, but the scatter-add reads and writes each output k_h * k_w /
(s_h * s_w) times, through a [pixels][k_h * k_w * out_c] buffer. Measured on one core (issue 19; thread CPU time, medians of 41 interleaved
runs, the col2im on the same GEMM tiles), the phases took 0.56 ms against 1.32 for
64x64x32 -> 128x128x16 3x3 stride 2 SAME; 0.19 / 0.38 for 2x2, 0.86 / 1.90 for 4x4,
0.41 / 0.73 for 3x3 stride 1; 1.53 / 2.01 for 32x32x128 -> 64x64x64 3x3 and 2.33 / 3.11
for 4x4. They won on every decoder shape, by 1.3x to 2.4x, so there is one path.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.ops import FLOAT, Fusion, register
from dlcoder.ops._common import check_activation, clamp_init, post_init, shape
from dlcoder.ops._gemm import pack_panels, padded_bias
from dlcoder.ops._shapes import (OUT, activation, arity, bias_size, const_ints, dtypes_by, dtypes_in,
                                 fail, in_shape, rank_between, window)

# Inputs: output_shape, filter [out_c, k_h, k_w, in_c], input, optional bias (version >= 3).
FILTER, INPUT, BIAS = 1, 2, 3

# By the dtype of the data (input 2): the filter's, the bias's and the output's dtypes.
_DTYPES = {
    "float32": {1: {"float32", "int8"}, 3: {"float32"}, OUT: {"float32"}},
    "int8": {1: {"int8"}, 3: {"int32"}, OUT: {"int8"}},
    "uint8": {1: {"uint8"}, 3: {"int32"}, OUT: {"uint8"}},
    "int16": {1: {"int8"}, 3: {"int32", "int64"}, OUT: {"int16"}},
}

# The in_c up to which the kernel gets it as a template constant (simd_kernels.h: WindowAK),
# as conv2d_implicit gets its pixel stride (ops/conv.py: IMPLICIT_MAX_CONST_STRIDE).
MAX_CONST_IN_C = 64


def _check(node, g):
    if g.const(node.inputs[FILTER]) is None:
        return "the filter must be a constant"
    if len(node.inputs) > BIAS and node.inputs[BIAS] >= 0 and g.const(node.inputs[BIAS]) is None:
        return "the bias must be a constant"
    return check_activation(node, g)


def _shape(node, g):
    """The output_shape input (TFLite's transpose_conv Prepare), which must be NHWC with the
    input's batch and the filter's [out_c, h, w, in_c] output channels, and whose forward
    conv gives back the input's H and W (as TensorFlow requires; TFLite does not check).
    output_shape is int32, the other dtypes those of _DTYPES."""
    arity(node, (3, 4))
    activation(node)
    w, x = in_shape(g, node, FILTER), in_shape(g, node, INPUT)
    rank_between(in_shape(g, node, 0), 1, 1, "output_shape")
    rank_between(w, 4, 4, "filter")
    rank_between(x, 4, 4)
    if w[3] != x[3]:
        fail(f"the filter has {w[3]} input channels, the input has {x[3]}")
    bias_size(g, node, BIAS, w[0])
    out = const_ints(g, node, 0, "output_shape")
    if len(out) != 4 or min(out) < 0:
        fail(f"output_shape {out} is not 4 sizes of an NHWC tensor")
    if (out[0], out[3]) != (x[0], w[0]):
        fail(f"output_shape {out} does not have the input's batch {x[0]} and the filter's "
             f"{w[0]} output channels")
    back = window(node, out[1:3], w[1:3])
    if back != tuple(x[1:3]):
        fail(f"an output of {out[1]}x{out[2]} comes from a {back[0]}x{back[1]} input, not "
             f"{x[1]}x{x[2]}")
    dtypes_in(g, node, {"int32"}, positions=(0,))
    dtypes_by(g, node, _DTYPES, k=INPUT)
    return [tuple(out)]


def padding(out: int, k: int, s: int, same: bool) -> int:
    """Rows (or columns) of padding before the output: TFLite computes them as for a conv
    from the output back to the input."""
    return max(((out + s - 1) // s - 1) * s + k - out, 0) // 2 if same else 0


@dataclass(frozen=True)
class Axis:
    """The phases along one axis (rows or columns): phase p's taps are k = first[p] +
    s * j for j < taps[p], and its output q reads input q + base[p] - j."""
    first: tuple
    taps: tuple
    base: tuple
    outputs: tuple    # outputs in the phase
    pad_before: int   # zeros needed before the input, and after it
    pad_after: int

    def corner(self, p: int) -> int:
        """Where output 0's window starts in the padded map (tap taps - 1 first)."""
        return self.base[p] - max(self.taps[p] - 1, 0) + self.pad_before


def axis(size_in: int, size_out: int, k: int, s: int, pad: int) -> Axis:
    first = tuple((p + pad) % s for p in range(s))
    taps = tuple(len(range(f, k, s)) for f in first)
    base = tuple((p + pad) // s for p in range(s))
    outputs = tuple(len(range(p, size_out, s)) for p in range(s))
    live = [p for p in range(s) if taps[p] and outputs[p]]
    lo = min((base[p] - taps[p] + 1 for p in live), default=0)
    hi = max((base[p] + outputs[p] - 1 for p in live), default=size_in - 1)
    return Axis(first, taps, base, outputs, max(0, -lo), max(0, hi - (size_in - 1)))


def phase_filters(filt: np.ndarray, rows: Axis, cols: Axis, py: int, px: int) -> np.ndarray:
    """Phase (py, px)'s sub-kernel as the GEMM's B [(dy, dx, ci)][out_c]: (dy, dx) the tap's
    place in its window from the top-left corner, the input pixel furthest back first."""
    th, tw = rows.taps[py], cols.taps[px]
    ky = rows.first[py] + np.arange(th)[::-1] * len(rows.first)
    kx = cols.first[px] + np.arange(tw)[::-1] * len(cols.first)
    sub = filt[:, ky][:, :, kx]   # [out_c][dy][dx][in_c]
    return sub.transpose(1, 2, 3, 0).reshape(th * tw * filt.shape[3], filt.shape[0])


def _params(node, g, e, rows: Axis, cols: Axis) -> str:
    n, ih, iw, ic = shape(g, node.inputs[INPUT])
    _, oh, ow, oc = shape(g, node.outputs[0])
    return e.param("dlcoder_rt::TransposeConvF32Params", cgen.struct_init("TransposeConvF32Params", {
        "batch": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "stride_h": node.attrs["stride_h"], "stride_w": node.attrs["stride_w"],
        "src_h": rows.pad_before + ih + rows.pad_after, "src_w": cols.pad_before + iw + cols.pad_after,
        "pad_top": rows.pad_before, "pad_left": cols.pad_before,
        "act": clamp_init(node), "post": post_init(node)}))


def _axes(node, g) -> tuple:
    _, ih, iw, _ = shape(g, node.inputs[INPUT])
    _, kh, kw, _ = shape(g, node.inputs[FILTER])
    _, oh, ow, _ = shape(g, node.outputs[0])
    sh, sw, same = node.attrs["stride_h"], node.attrs["stride_w"], node.attrs["padding"] == "SAME"
    return (axis(ih, oh, kh, sh, padding(oh, kh, sh, same)),
            axis(iw, ow, kw, sw, padding(ow, kw, sw, same)))


def _scratch(node, g) -> int:
    """The zero-padded copy of the input, if some window crosses its border."""
    rows, cols = _axes(node, g)
    n, ih, iw, ic = shape(g, node.inputs[INPUT])
    if rows.pad_before + rows.pad_after + cols.pad_before + cols.pad_after == 0:
        return 0
    return n * (rows.pad_before + ih + rows.pad_after) * (cols.pad_before + iw + cols.pad_after) * ic * 4


def _phases(node, g, rows: Axis, cols: Axis) -> tuple:
    """(phase table, packed sub-kernels, tap offsets): the kernel's `phases`, `packed` and
    `koff` (transpose_conv.h), phases row-major over (py, px)."""
    ic, iw = shape(g, node.inputs[INPUT])[3], shape(g, node.inputs[INPUT])[2]
    src_w = cols.pad_before + iw + cols.pad_after
    filt = np.asarray(g.const(node.inputs[FILTER]), np.float32)
    table, packed, koff = [], [np.zeros(0, np.float32)], [np.zeros(0, np.int32)]
    for py in range(len(rows.first)):
        for px in range(len(cols.first)):
            th, tw = rows.taps[py], cols.taps[px]
            table += [th * tw * ic, rows.corner(py), cols.corner(px), sum(map(len, packed)), sum(map(len, koff))]
            if th * tw:
                packed.append(pack_panels(phase_filters(filt, rows, cols, py, px)).ravel())
                dy, dx, ci = np.meshgrid(np.arange(th), np.arange(tw), np.arange(ic), indexing="ij")
                koff.append(((dy * src_w + dx) * ic + ci).astype(np.int32).ravel())
    # a kernel smaller than the stride in every phase has no taps: one unread value each
    return (np.asarray(table, np.int32), np.concatenate(packed) if len(packed) > 1 else np.zeros(1, np.float32),
            np.concatenate(koff) if len(koff) > 1 else np.zeros(1, np.int32))


# Input 0 (output_shape) is int32: FLOAT alone would reject every TRANSPOSE_CONV.
@register("TRANSPOSE_CONV", header="transpose_conv.h", dtypes=FLOAT | {"int32"}, check=_check,
          scratch=_scratch, shape=_shape, fusion=Fusion(takes_clamp=True, takes_epilogue=True))
def transpose_conv(node, g, e):
    x, oc = node.inputs[INPUT], shape(g, node.outputs[0])[3]
    ic = shape(g, x)[3]
    rows, cols = _axes(node, g)
    table, packed, koff = _phases(node, g, rows, cols)
    spec = f"<{ic}>" if ic <= MAX_CONST_IN_C else ""
    scratch = e.scratch("float") if _scratch(node, g) else "nullptr"
    return (f"dlcoder_rt::transpose_conv2d_f32{spec}({e.par()}, {_params(node, g, e, rows, cols)}, "
            f"{e.weights(table)}, {e.src(x)}, {e.weights(packed)}, {padded_bias(node, g, e, BIAS, oc)}, "
            f"{e.weights(koff)}, {e.dst(node.outputs[0])}, {scratch});")
