"""Helpers shared by the op families: shapes, axes, broadcasting, fused activations."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcoder.codegen import cgen, runtime_facts
from dlcoder.errors import UnsupportedError
from dlcoder.ir import CTYPES, Graph, Node

MAX_DIMS = runtime_facts.constant("kMaxDims")   # common.h


def shape(g: Graph, t: int) -> tuple:
    return g.tensors[t].shape


def ctype(g: Graph, t: int) -> str:
    return CTYPES[g.tensors[t].dtype]


def strides(shape_) -> list:
    """Row-major element strides.

    >>> strides((2, 3, 4))
    [12, 4, 1]
    """
    out, acc = [], 1
    for d in reversed(shape_):
        out.append(acc)
        acc *= d
    return out[::-1]


def norm_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise UnsupportedError(f"axis {axis} out of range for rank {rank}")
    return axis % max(rank, 1)


def collapse(dims, *stride_sets):
    """Drop size-1 dims and merge neighbours that every operand walks contiguously.

    >>> collapse([2, 3, 4], [12, 4, 1], [0, 0, 1])
    ([6, 4], [[4, 1], [0, 1]])
    """
    keep = [i for i, d in enumerate(dims) if d != 1]
    dims = [dims[i] for i in keep]
    sets = [[s[i] for i in keep] for s in stride_sets]
    i = len(dims) - 2
    while i >= 0:
        if all(s[i] == s[i + 1] * dims[i + 1] for s in sets):
            dims[i] *= dims[i + 1]
            for s in sets:
                s[i] = s[i + 1]
                del s[i + 1]
            del dims[i + 1]
        i -= 1
    return dims, sets


def loop6(dims, a_strides, b_strides) -> dict:
    """A Loop6 initializer: collapsed, then padded in front to six dims."""
    dims, (sa, sb) = collapse(list(dims), list(a_strides), list(b_strides))
    if len(dims) > MAX_DIMS:
        raise UnsupportedError(f"iteration space of rank {len(dims)} exceeds {MAX_DIMS}")
    pad = MAX_DIMS - len(dims)
    return {"dims": [1] * pad + dims, "a_strides": [0] * pad + sa, "b_strides": [0] * pad + sb}


def broadcast_strides(in_shape, out_shape, in_strides=None) -> list:
    """Strides that read `in_shape` broadcast (numpy rules) to `out_shape`; in_strides:
    those of a strided view of the input (default: row-major)."""
    rank = len(out_shape)
    pad = rank - len(in_shape)
    padded = (1,) * pad + tuple(in_shape)
    st = strides(padded) if in_strides is None else [0] * pad + list(in_strides)
    return [0 if padded[i] == 1 and out_shape[i] != 1 else st[i] for i in range(rank)]


def transposed_strides(shape_, perm) -> tuple:
    """(shape, element strides) of transpose(x, perm) read in place from row-major x (perm
    None: x itself)."""
    st = strides(shape_)
    if perm is None:
        return list(shape_), st
    return [shape_[p] for p in perm], [st[p] for p in perm]


def loop6_init(loop: dict) -> str:
    return "{" + ", ".join(cgen.array_init(loop[k], "int32_t")
                           for k in ("dims", "a_strides", "b_strides")) + "}"


# TFLite's float kernels clamp through CalculateActivationRange, which has no case for a
# fused TANH or SIGN_BIT: those clamp to the whole float range, i.e. do nothing.
_ACT_RANGES = {"NONE": None, "RELU": (0, None), "RELU6": (0, 6), "RELU_N1_TO_1": (-1, 1),
               "TANH": None, "SIGN_BIT": None}


def act_range(node: Node, attr: str = "fused_activation_function"):
    act = node.attrs.get(attr, "NONE")
    if act not in _ACT_RANGES:
        raise UnsupportedError(f"{node.op} with fused activation {act}")
    return _ACT_RANGES[act]


def check_activation(node: Node, g: Graph):
    act = node.attrs.get("fused_activation_function", "NONE")
    return None if act in _ACT_RANGES else f"fused activation {act} is not supported"


def clamp_init(node: Node, ct: str = "float", attr: str = "fused_activation_function") -> str:
    """The Clamp<T> initializer of a node's fused activation (no-op bounds if none);
    attr="residual_act": that of a residual ADD fused into the node (fuse_residual)."""
    # without a bound TFLite clamps to [lowest, max]: an overflow gives +-FLT_MAX, not inf
    rng = act_range(node, attr) or (None, None)
    lo = rng[0] if rng[0] is not None else f"std::numeric_limits<{ct}>::lowest()"
    hi = rng[1] if rng[1] is not None else f"std::numeric_limits<{ct}>::max()"
    fmt = (lambda v: v if isinstance(v, str) else cgen.literal(v, ct))
    return "{" + fmt(lo) + ", " + fmt(hi) + "}"


def const_ints(g: Graph, t: int, what: str, node: Node) -> list:
    """The value of a constant integer input (axes, shapes, paddings)."""
    v = g.const(t)
    if v is None:
        raise UnsupportedError(f"{node.op} needs a constant {what} tensor")
    return [int(x) for x in np.asarray(v).ravel()]


def require_const(*positions):
    """A check: the inputs at these positions must be constants."""
    def check(node: Node, g: Graph):
        for p in positions:
            if p < len(node.inputs) and node.inputs[p] >= 0 and g.const(node.inputs[p]) is None:
                return f"input {p} must be a constant"
        return None
    return check


def pad_before(in_size: int, out_size: int, k: int, stride: int, dil: int = 1) -> int:
    """TFLite's leading padding: half the total, rounded down (the odd one goes after)."""
    eff = (k - 1) * dil + 1
    return max((out_size - 1) * stride + eff - in_size, 0) // 2


def spatial_padding(node: Node, in_h: int, in_w: int, out_h: int, out_w: int,
                    k_h: int, k_w: int, dil_h: int = 1, dil_w: int = 1):
    """(pad_top, pad_left) of a conv or pool, including a PAD folded in by fuse_pad."""
    et, eb, el, er = node.attrs.get("explicit_padding", (0, 0, 0, 0))
    ph, pw = in_h + et + eb, in_w + el + er
    top = left = 0
    if node.attrs["padding"] == "SAME":
        top = pad_before(ph, out_h, k_h, node.attrs["stride_h"], dil_h)
        left = pad_before(pw, out_w, k_w, node.attrs["stride_w"], dil_w)
    return top + et, left + el


def conv_geometry(node: Node, g: Graph, depthwise: bool = False) -> dict:
    """The fields every convolution params struct shares (ConvParams, QConvParams, ...):
    NHWC input and output, the filter's window, strides, dilations and leading padding
    (a folded PAD included). Filters are [out_c, k_h, k_w, in_c], or [1, k_h, k_w, out_c]
    for a depthwise one, which also gets its depth_multiplier."""
    n, ih, iw, ic = shape(g, node.inputs[0])
    f = shape(g, node.inputs[1])
    oc, kh, kw = (f[3], f[1], f[2]) if depthwise else f[:3]
    _, oh, ow, _ = shape(g, node.outputs[0])
    dh, dw = node.attrs.get("dilation_h_factor", 1), node.attrs.get("dilation_w_factor", 1)
    top, left = spatial_padding(node, ih, iw, oh, ow, kh, kw, dh, dw)
    fields = {"batch": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
              "k_h": kh, "k_w": kw, "stride_h": node.attrs["stride_h"], "stride_w": node.attrs["stride_w"],
              "dil_h": dh, "dil_w": dw, "pad_top": top, "pad_left": left}
    if depthwise:
        fields["depth_multiplier"] = oc // ic
    return fields


# ---- data movement as index remapping -------------------------------------------------
# A pure data-movement op (SLICE, TILE, DEPTH_TO_SPACE, MIRROR_PAD, ...) is planned at
# generation time as a list of Moves: boxes of elements whose source and destination
# offsets are affine in the box index. The same list drives the emitted copy_loop calls
# and the numpy evaluation used for constant folding, so both always agree.

@dataclass(frozen=True)
class Move:
    """out[output][dst + i . dst_strides] = in[input][src + i . src_strides] for i in dims."""
    dims: tuple
    src_strides: tuple
    dst_strides: tuple
    src: int = 0
    dst: int = 0
    input: int = 0      # position among the node's inputs
    output: int = 0     # position among the node's outputs


def dense_move(dims, src_strides, src: int = 0, input: int = 0, output: int = 0) -> Move:
    """A Move that writes a whole output densely in row-major order of `dims`."""
    return Move(tuple(dims), tuple(src_strides), tuple(strides(dims)), src, 0, input, output)


def _offset(ptr: str, off: int) -> str:
    return f"{ptr} + {off}" if off else ptr


def _loop6_padded(dims, sa, sb) -> dict:
    pad = MAX_DIMS - len(dims)
    return {"dims": [1] * pad + list(dims), "a_strides": [0] * pad + list(sa),
            "b_strides": [0] * pad + list(sb)}


def emit_moves(node: Node, g: Graph, e, moves) -> list:
    """copy_loop calls for `moves`; a box of more than six collapsed dims is split into
    an outer and an inner Loop6 (copy_loop_nested), so up to twelve dims are handled."""
    lines = []
    for m in moves:
        if 0 in m.dims:
            continue
        dims, (sa, sb) = collapse(list(m.dims), list(m.src_strides), list(m.dst_strides))
        if len(dims) > 2 * MAX_DIMS:
            raise UnsupportedError(f"{node.op}: iteration space of rank {len(dims)} "
                                   f"exceeds {2 * MAX_DIMS}")
        if max([abs(v) for v in dims + sa + sb] + [m.src, m.dst]) >= 2**31:
            raise UnsupportedError(f"{node.op}: tensor too large for 32-bit offsets")
        src = _offset(e.src(node.inputs[m.input]), m.src)
        dst = _offset(e.dst(node.outputs[m.output]), m.dst)
        cut = max(len(dims) - MAX_DIMS, 0)
        inner = e.param("dlcoder_rt::Loop6", loop6_init(_loop6_padded(dims[cut:], sa[cut:], sb[cut:])))
        if not cut:
            lines.append(f"dlcoder_rt::copy_loop({inner}, {src}, {dst});")
            continue
        outer = e.param("dlcoder_rt::Loop6", loop6_init(_loop6_padded(dims[:cut], sa[:cut], sb[:cut])))
        lines.append(f"dlcoder_rt::copy_loop_nested({outer}, {inner}, {src}, {dst});")
    return lines


def _box_offsets(dims, box_strides, base: int) -> np.ndarray:
    off = np.full(tuple(dims), base, dtype=np.int64)
    for axis, (d, s) in enumerate(zip(dims, box_strides)):
        shape_ = [1] * len(dims)
        shape_[axis] = d
        off = off + (np.arange(d, dtype=np.int64) * s).reshape(shape_)
    return off


def eval_moves(node: Node, g: Graph, values, moves) -> list:
    """The node's outputs computed in numpy from its (constant) input values."""
    outs = [np.zeros(g.tensors[t].size, dtype=g.tensors[t].dtype) for t in node.outputs]
    for m in moves:
        if 0 in m.dims:
            continue
        src = np.asarray(values[m.input]).reshape(-1)
        outs[m.output][_box_offsets(m.dims, m.dst_strides, m.dst)] = \
            src[_box_offsets(m.dims, m.src_strides, m.src)]
    return [o.reshape(g.tensors[t].shape) for o, t in zip(outs, node.outputs)]


def check_moves(node: Node, g: Graph, moves) -> None:
    """Every Move stays inside its tensors and together they write each output exactly
    as many elements as it has, so a plan that disagrees with the model's static shapes
    is rejected instead of emitting out-of-bounds copies."""
    written = [0] * len(node.outputs)
    for m in moves:
        if 0 in m.dims:
            continue
        for base, box_st, t in ((m.src, m.src_strides, node.inputs[m.input]),
                                (m.dst, m.dst_strides, node.outputs[m.output])):
            lo = base + sum(min(0, (d - 1) * s) for d, s in zip(m.dims, box_st))
            hi = base + sum(max(0, (d - 1) * s) for d, s in zip(m.dims, box_st))
            if lo < 0 or hi >= g.tensors[t].size:
                raise UnsupportedError(f"{node.op}: tensor shapes do not match the op's attributes")
        written[m.output] += int(np.prod(m.dims, dtype=np.int64))
    if written != [g.tensors[t].size for t in node.outputs]:
        raise UnsupportedError(f"{node.op}: output shapes do not match the op's attributes")


def remap_hooks(plan, *const_positions):
    """(emit, check, evaluate) of an op that only moves data, from `plan(node, g)` -> Moves.

    The check runs the plan, so a model the plan rejects fails with its message before any
    code is generated; the inputs at const_positions (axes, sizes, ...) must be constants."""
    needs_const = require_const(*const_positions)

    def emit(node, g, e):
        return emit_moves(node, g, e, plan(node, g))

    def check(node, g):
        why = needs_const(node, g)
        if why is not None:
            return why
        try:
            check_moves(node, g, plan(node, g))
        except UnsupportedError as err:
            return str(err)
        return None

    def evaluate(node, g, values):
        if any(v is None for t, v in zip(node.inputs, values) if t >= 0) or check(node, g):
            return None
        return eval_moves(node, g, values, plan(node, g))

    return emit, check, evaluate


# Activations that passes/fuse_epilogue.py moves into a producer's epilogue, by the name
# of the op they replace (GELU_TANH: a GELU with approximate=True), with their UnaryKind
# (params.h).
EPILOGUES = {"HARD_SWISH": "kHardSwish", "DLCODER_SWISH": "kSwish", "GELU": "kGelu",
             "GELU_TANH": "kGeluTanh", "ELU": "kElu"}


# A PRELU or LEAKY_RELU fused as a slope (Slope in params.h) is the epilogue
# ("PRELU", alpha tensor) or ("LEAKY_RELU", alpha): x < 0 ? x * a : x after the clamp.
def slope_period(alpha_shape, out_shape):
    """The period of alpha broadcast to out_shape (Slope): the number of elements of the
    trailing output dims alpha spans, when alpha holds exactly those (row-major, nothing
    broadcast inside them); 1 for a single alpha; None for any other broadcast ([H, 1, C]).

    >>> slope_period((1, 1, 8), (2, 5, 5, 8)), slope_period((5, 5, 8), (2, 5, 5, 8))
    (8, 200)
    >>> slope_period((1,), (2, 8)), slope_period((5, 1, 8), (1, 5, 5, 8))
    (1, None)
    """
    rank = len(out_shape)
    padded = (1,) * (rank - len(alpha_shape)) + tuple(alpha_shape)
    k = next((i for i, d in enumerate(padded) if d != 1), rank)
    if padded[k:] != tuple(out_shape[k:]):
        return None
    return int(np.prod(out_shape[k:], dtype=np.int64))


def slope_of(node: Node, g: Graph) -> tuple:
    """(alpha values or None, period, value) of the slope fused into node (Slope); period
    0: none."""
    ep = node.attrs.get("epilogue")
    if not isinstance(ep, tuple):
        return None, 0, 0.0
    name, arg = ep
    if name == "LEAKY_RELU":
        return None, 1, float(arg)
    alpha = np.asarray(g.const(arg), np.float32)
    if alpha.size == 1:
        return None, 1, float(alpha.ravel()[0])
    return alpha.ravel(), slope_period(alpha.shape, shape(g, node.outputs[0])), 0.0


def slope_init(node: Node, g: Graph, in_kernel: bool = True) -> str:
    """The `slope` field of a conv/FC params struct: alpha null (bind_slope sets it at the
    call); none unless in_kernel (the kernel cannot apply it: post_statement does)."""
    _, period, value = slope_of(node, g) if in_kernel else (None, 0, 0.0)
    return f"{{nullptr, {period}, {cgen.literal(value, 'float')}}}"


def bind_slope(node: Node, g: Graph, e, params: str, in_kernel: bool = True) -> str:
    """The params constant `params` as the kernel call passes it: with the fused slope's
    alpha set (a pointer into the weights cannot be in the constexpr params)."""
    alpha, _, _ = slope_of(node, g)
    if alpha is None or not in_kernel:
        return params
    return f"dlcoder_rt::with_alpha({params}, {e.weights(alpha)})"


def pixel_slope(node: Node, g: Graph) -> bool:
    """The node has a fused slope that varies from pixel to pixel (not per channel), which
    a depthwise row or the ring of a DLCODER_CONV_DW cannot place."""
    alpha, period, _ = slope_of(node, g)
    return alpha is not None and period != shape(g, node.outputs[0])[-1]


def with_residual(node: Node, other: int, act: str, slot: int = 3) -> Node:
    """The node reading a residual ADD's other operand as input `slot` (inputs it lacks
    before that: -1) and clamping the sum by `act` (attrs["residual_act"]): what a GEMM
    op's Fusion.residual hook returns (passes/fuse_residual.py)."""
    inputs = tuple(node.inputs) + (-1,) * (slot - len(node.inputs)) + (other,)
    return node.replace(inputs=inputs, attrs=dict(node.attrs, residual_act=act))


def residual(node: Node, e, index: int) -> str:
    """A `const float*` to the residual operand fused into node (input `index`), or nullptr."""
    return e.src(node.inputs[index]) if len(node.inputs) > index else "nullptr"


def post_init(node: Node) -> str:
    """The `post` field of a conv/FC params struct: the fused epilogue, if any."""
    return "dlcoder_rt::UnaryKind::" + EPILOGUES.get(node.attrs.get("epilogue"), "kNone")


def post_statement(node: Node, g: Graph, e) -> list:
    """For kernels without an epilogue: apply a fused one in place afterwards."""
    out = node.outputs[0]
    alpha, period, value = slope_of(node, g)
    if period:
        ptr = "nullptr" if alpha is None else e.weights(alpha)
        return [f"dlcoder_rt::prelu_f32(par, dlcoder_rt::Slope{{{ptr}, {period}, {cgen.literal(value, 'float')}}}, "
                f"{g.tensors[out].size}, {e.dst(out)}, {e.dst(out)});"]
    kind = EPILOGUES.get(node.attrs.get("epilogue"))
    if kind is None:
        return []
    return [f"dlcoder_rt::unary_f32(par, dlcoder_rt::UnaryKind::{kind}, {g.tensors[out].size}, "
            f"{e.dst(out)}, {e.dst(out)});"]

