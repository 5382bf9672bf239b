"""PAD and PADV2 (pad.h): the one-pass kernel over every shape of level its generator
makes (dlcoder/ops/movement.py pad_levels), compiled and run against TFLite's builtin
kernels, byte for byte (a pad only moves values, float ones included).

One model holds every case, so that the file compiles one library: padded and unpadded
axes alternating, unpadded axes merged into the row before them, padding only the
innermost or only the outermost axis, no padding at all, rank 5, a float value whose
bytes differ (the fill loop, not memset), and int8 / uint8 / int16 with the output's zero
point; channel paddings (simd_pad.h's dense rows on AVX-512 BW, pad.h's loop with
-DDLCODER_RT_FORCE_ISA=0).
"""
from __future__ import annotations

import numpy as np
import pytest

from dlcoder import verify as V
from dlcoder.ops.movement import pad_levels
from models.op_hand import HandModel
from support import run_ours

CASES = [  # (shape, paddings, dtype, PADV2 value or None)
    ((1, 5, 7, 3), ((0, 0), (1, 2), (3, 0), (0, 0)), np.float32, None),
    ((2, 3, 4, 5), ((0, 0), (1, 1), (0, 0), (2, 0)), np.float32, None),
    ((4, 6), ((0, 0), (0, 5)), np.float32, None),
    ((3, 4), ((2, 1), (0, 0)), np.float32, None),
    ((2, 3), ((0, 0), (0, 0)), np.float32, None),
    ((2, 1, 3, 1, 2), ((1, 0), (0, 2), (0, 0), (1, 1), (0, 3)), np.float32, None),
    ((1, 6, 5, 2), ((0, 0), (2, 2), (1, 1), (0, 1)), np.float32, 1.5),
    ((1, 9, 9, 4), ((0, 0), (1, 1), (1, 1), (0, 0)), np.int8, None),
    ((3, 17), ((1, 2), (3, 4)), np.int16, None),
]
# channel paddings, the rows of simd_pad.h's dense stores: 1 to 4 pieces of 64 bytes, data
# that starts and ends inside a piece, a value whose bytes differ, and rows just past its
# 256 bytes (pad.h's loop)
CHANNEL = ((0, 0), (0, 0), (0, 0))
CASES += [((1, 5, 7, c), CHANNEL + (pads,), dtype, value)
          for c, pads, dtype, value in (
              (24, (0, 8), np.int8, None), (24, (0, 8), np.float32, None), (1, (0, 3), np.int8, None),
              (3, (1, 0), np.uint8, None), (17, (5, 9), np.int16, None), (17, (2, 1), np.float32, -2.5),
              (61, (5, 8), np.int8, None), (200, (3, 53), np.uint8, None), (64, (0, 1), np.float32, None),
              (200, (30, 26), np.int8, None), (3, (1, 2), np.int16, None))]
CASES += [((1, 5, 7, 3), ((0, 0), (1, 2), (3, 0), (0, 2)), np.int8, None),
          ((2, 4, 6), ((1, 0), (0, 0), (2, 3)), np.float32, 1.5)]
QUANT = {np.int8: (0.05, -5), np.uint8: (0.05, 131), np.int16: (0.01, 0)}


def _model():
    """One PAD (or PADV2) per case, each on its own input."""
    m, feeds = HandModel(), []
    rng = np.random.default_rng(7)
    for shape, pads, dtype, value in CASES:
        quant = QUANT.get(dtype)
        x = m.input(shape, dtype, quant=quant)
        out_shape = tuple(d + a + b for d, (a, b) in zip(shape, pads))
        y = m.output(m._tensor(out_shape, dtype, quant=quant))
        ins = [x, m.const(np.array(pads, np.int32))]
        if value is not None:
            ins.append(m.const(np.array([value], dtype)))
        m.op("PADV2" if value is not None else "PAD", ins, [y])
        if dtype == np.float32:
            feeds.append(rng.standard_normal(shape).astype(dtype))
        else:
            info = np.iinfo(dtype)
            feeds.append(rng.integers(info.min, info.max + 1, shape).astype(dtype))
    return m, feeds


@pytest.mark.parametrize("flags", [("-O2",), ("-O2", "-DDLCODER_RT_FORCE_ISA=0")], ids=["native", "scalar"])
def test_every_level_shape_matches_tflite_byte_for_byte(flags, tmp_path):
    m, feeds = _model()
    path = tmp_path / "pads.tflite"
    path.write_bytes(m.build())
    ours, lib, _ = run_ours(path, feeds, str(tmp_path), flags=flags)
    refs, _ = V.reference_run(str(path), feeds)
    for k, (o, r) in enumerate(zip(ours, refs)):
        assert o.dtype == r.dtype and o.shape == r.shape, k
        assert o.tobytes() == r.tobytes(), (k, CASES[k])
    source = b"".join(v for name, v in lib.files.items() if name.endswith(".cc")).decode()
    assert source.count("dlcoder_rt::pad<") == len(CASES)


@pytest.mark.parametrize("dims,pads,levels", [
    ([1, 224, 224, 3], [(0, 0), (3, 3), (3, 3), (0, 0)], [(1, 0, 0), (224, 3, 3), (672, 9, 9)]),
    ([128, 700], [(0, 0), (6, 8)], [(128, 0, 0), (700, 6, 8)]),
    ([2, 3, 4], [(1, 0), (0, 0), (0, 0)], [(24, 12, 0)]),
    ([2, 3, 4, 5], [(0, 0), (1, 1), (0, 0), (2, 0)], [(2, 0, 0), (12, 4, 4), (5, 2, 0)]),
    ([2, 3], [(0, 0), (0, 0)], [(6, 0, 0)]),
])
def test_unpadded_axes_merge_into_the_row_before(dims, pads, levels):
    """Trailing unpadded axes vanish into the last level (one memcpy per row of it), and
    an unpadded axis after a padded one makes that axis's rows longer."""
    assert pad_levels(dims, pads) == levels
