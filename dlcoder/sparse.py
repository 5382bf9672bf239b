"""Expand a TFLite sparse tensor (the TACO-style format of schema.fbs) into a dense array.

The sparse tensor is stored along `traversal_order`, which lists the n original dims
followed by the block dims (one per entry of `block_map`). Each of those dims is DENSE
(iterate 0..dense_size) or SPARSE_CSR (segments/indices, CSR style, nested under the
previous dim's position). Values appear in traversal order; we rebuild the coordinates of
each value and scatter it.
"""
from __future__ import annotations

import numpy as np

from dlcoder.errors import UnsupportedError


def densify(values: np.ndarray, sparsity: dict, dense_shape) -> np.ndarray:
    if sparsity is None:
        return np.asarray(values).reshape(dense_shape)
    order = list(sparsity["traversal_order"])
    block_map = list(sparsity["block_map"])
    dims = sparsity["dim_metadata"]
    n = len(dense_shape)
    if len(order) != len(dims) or len(order) != n + len(block_map):
        raise UnsupportedError("malformed sparsity parameters")
    # expanded dim sizes (original dims shrink by their block size)
    block_sizes = {block_map[j]: dims[order.index(n + j)]["dense_size"] for j in range(len(block_map))}
    expanded = [dense_shape[d] // block_sizes.get(d, 1) for d in range(n)] + \
               [block_sizes[block_map[j]] for j in range(len(block_map))]
    # walk the levels: `coords` holds, per stored position, the coordinates so far
    coords = np.zeros((1, 0), np.int64)
    positions = np.zeros(1, np.int64)
    for level, dim in enumerate(order):
        meta = dims[level]
        if meta["format"] == "DENSE":
            size = meta["dense_size"] or expanded[dim]
            new_coords = np.repeat(coords, size, axis=0)
            idx = np.tile(np.arange(size, dtype=np.int64), len(coords))
            positions = (np.repeat(positions, size) * size + idx)
        else:
            seg, ind = meta["segments"], meta["indices"]
            counts = seg[positions + 1] - seg[positions]
            new_coords = np.repeat(coords, counts, axis=0)
            starts = np.repeat(seg[positions], counts)
            offs = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
            positions = starts + offs
            idx = ind[positions]
        coords = np.concatenate([new_coords, idx[:, None]], axis=1)
    values = np.asarray(values).ravel()
    if len(coords) != values.size:
        raise UnsupportedError(f"sparse tensor has {values.size} values, its metadata {len(coords)}")
    full = np.zeros(dense_shape, dtype=values.dtype)
    # coords are indexed by traversal level; map back to original dims
    dense_idx = [np.zeros(len(coords), np.int64) for _ in range(n)]
    for level, dim in enumerate(order):
        c = coords[:, level]
        if dim < n:
            dense_idx[dim] += c * block_sizes.get(dim, 1)
        else:
            dense_idx[block_map[dim - n]] += c
    full[tuple(dense_idx)] = values
    return full
