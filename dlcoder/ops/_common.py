"""Helpers shared by the op families: shapes, axes, broadcasting, fused activations."""
from __future__ import annotations

import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import UnsupportedError
from dlcoder.ir import CTYPES, Graph, Node

MAX_DIMS = 6


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


def broadcast_strides(in_shape, out_shape) -> list:
    """Strides that read `in_shape` broadcast (numpy rules) to `out_shape`."""
    rank = len(out_shape)
    padded = (1,) * (rank - len(in_shape)) + tuple(in_shape)
    st = strides(padded)
    return [0 if padded[i] == 1 and out_shape[i] != 1 else st[i] for i in range(rank)]


def loop6_init(loop: dict) -> str:
    return "{" + ", ".join(cgen.array_init(loop[k], "int32_t")
                           for k in ("dims", "a_strides", "b_strides")) + "}"


_ACT_RANGES = {"NONE": None, "RELU": (0, None), "RELU6": (0, 6), "RELU_N1_TO_1": (-1, 1)}


def act_range(node: Node):
    act = node.attrs.get("fused_activation_function", "NONE")
    if act not in _ACT_RANGES:
        raise UnsupportedError(f"{node.op} with fused activation {act}")
    return _ACT_RANGES[act]


def check_activation(node: Node, g: Graph):
    act = node.attrs.get("fused_activation_function", "NONE")
    return None if act in _ACT_RANGES else f"fused activation {act} is not supported"


def clamp_init(node: Node, ct: str = "float") -> str:
    """The Clamp<T> initializer of a node's fused activation (no-op bounds if none)."""
    rng = act_range(node) or (None, None)
    lo = rng[0] if rng[0] is not None else ("-std::numeric_limits<float>::infinity()"
                                            if ct == "float" else f"std::numeric_limits<{ct}>::lowest()")
    hi = rng[1] if rng[1] is not None else ("std::numeric_limits<float>::infinity()"
                                            if ct == "float" else f"std::numeric_limits<{ct}>::max()")
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


def conv_out_size(padding: str, in_size: int, k: int, stride: int, dil: int = 1) -> int:
    eff = (k - 1) * dil + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size - eff + stride) // stride


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
