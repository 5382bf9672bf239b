"""Helpers for the hooks of ops that plan their kernel by raising.

Many ops find why a node cannot be compiled while they work out its kernel's parameters
(`_topk_dims`, `_block_spec`, ...), which raise UnsupportedError. `checked` turns such a
function into the op's check hook, so the check and the emit hook share one code path;
`all_known` is the first test of an evaluate hook.
"""
from __future__ import annotations

import numpy as np

from dlcoder.errors import UnsupportedError


def prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


def checked(check_fn):
    """A check hook from a function that raises UnsupportedError."""
    def check(node, g):
        try:
            check_fn(node, g)
        except UnsupportedError as err:
            return str(err)
        return None
    return check


def all_known(values, node) -> bool:
    """Whether every present input of an evaluate hook has a value."""
    return all(v is not None for t, v in zip(node.inputs, values) if t >= 0)


def check_axis_int32(node, g):
    """A check: the axis input (input 1) is int32, the only type TFLite's kernels read."""
    return None if g.tensors[node.inputs[1]].dtype == "int32" else "the axis must be int32"
