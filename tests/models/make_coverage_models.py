#!/usr/bin/env python3
"""(Re)build tests/models/coverage/: models for the supported ops whose kernels no other
test model reaches (tests/test_op_coverage.py checks that every op README.md lists keeps
a node, and so runs its kernel, in some test model).

All are hand-built flatbuffers (make_op_models.py's HandModel, over the `tflite` package;
no TensorFlow needed). Each case is checked as make_op_models.py checks its own: the target
ops are in the written model, the TFLite interpreter (builtin kernels) runs it, and the
outputs are finite and not trivially constant (where that matters).

- SIGN (float32 with 0 and -0, int32) and REDUCE_ALL (one axis; negative and repeated
  axes with keep_dims) had no test model at all.
- ZEROS_LIKE folds to a constant unless its output passes fold_constants.MAX_GROWTH
  (1 MiB): zeros_like_past_fold_limit is just past it, so the kernel runs. Its input is a
  pattern, stored compressed.
- BROADCAST_ARGS: broadcast_args_graph_inputs has int32 graph inputs for both shapes.
  dlcoder refuses it by design (the op must have constant shapes; cases.json "refused"
  holds the message the test expects): with static shapes its value is always known at
  generation time, so it always folds. broadcast_args_const_shapes has constant shapes;
  the test runs its kernel (a copy of the folded value) with folding switched off.

Each case writes <case>.tflite, <case>.npz (input_0, ... in the model's input order) and
an entry {"ops", "why"[, "refused"]} in coverage/cases.json; entries of cases not rebuilt
are kept. Inputs are seeded per case name, so a rebuild gives the same files.

Usage
  python3 tests/models/make_coverage_models.py            # rebuild every case
  python3 tests/models/make_coverage_models.py sign       # only cases whose name contains these
"""
from __future__ import annotations

import json
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_op_models import HandModel  # noqa: E402
from op_build import check_outputs, interpret  # noqa: E402

OUT_DIR = HERE / "coverage"
I32, F32 = np.int32, np.float32
NONE = 0    # ActivationFunctionType


@dataclass
class Case:
    name: str
    ops: tuple              # builtin ops that must be in the model
    why: str
    build: Callable         # rng -> (HandModel, [inputs in model input order])
    allow_const: bool = False
    refused: str = ""       # the UnsupportedError message dlcoder gives (a regex), if refused


def single(opname, arrays, outs, opts=None, consts=(), **kw):
    """A one-op model: arrays(rng) -> its inputs (constants at `consts`); outs: [(shape, dtype)]."""
    def build(rng):
        m = HandModel()
        ins, feeds = [], []
        for i, a in enumerate(arrays(rng)):
            if i in consts:
                ins.append(m.const(a))
            else:
                ins.append(m.input(a.shape, a.dtype))
                feeds.append(a)
        res = [m.output(m._tensor(s, d)) for s, d in outs]
        m.op(opname, ins, res, opts, **kw)
        return m, feeds
    return build


def broadcast_args_const_shapes(rng):
    """BROADCAST_ARGS of two constant shapes, then + an int32 graph input."""
    m = HandModel()
    s = m.op("BROADCAST_ARGS", [m.const(np.array([3, 1, 5], I32)), m.const(np.array([4, 1], I32))],
             [m._tensor((3,), I32)])
    x = m.input((3,), I32)
    m.output(m.op("ADD", [s, x], [m._tensor((3,), I32)], "AddOptions", FusedActivationFunction=NONE))
    return m, [rng.integers(-9, 10, 3).astype(I32)]


def _sign_float_input(rng):
    x = (rng.integers(-4, 5, (3, 7)) * 0.5).astype(F32)      # a grid: many exact zeros
    x[0, 5] = -0.0
    return [x]


CASES = [
    Case("sign_float", ("SIGN",), "SIGN of float [3,7] on a grid with 0 and -0",
         single("SIGN", _sign_float_input, [((3, 7), F32)])),
    Case("sign_int32", ("SIGN",), "SIGN of int32 [2,9] in [-3, 3]",
         single("SIGN", lambda rng: [rng.integers(-3, 4, (2, 9)).astype(I32)], [((2, 9), I32)])),
    Case("reduce_all_axis1", ("REDUCE_ALL",), "REDUCE_ALL of bool [3,4,5] over axis 1 (mostly true)",
         single("REDUCE_ALL", lambda rng: [rng.random((3, 4, 5)) < 0.85, np.array([1], I32)],
                [((3, 5), np.bool_)], "ReducerOptions", consts=(1,), KeepDims=False)),
    Case("reduce_all_keepdims_neg_axes", ("REDUCE_ALL",),
         "REDUCE_ALL of bool [2,3,4] over axes [-1, 0, -1] with keep_dims",
         single("REDUCE_ALL", lambda rng: [rng.random((2, 3, 4)) < 0.92, np.array([-1, 0, -1], I32)],
                [((1, 3, 1), np.bool_)], "ReducerOptions", consts=(1,), KeepDims=True)),
    Case("zeros_like_past_fold_limit", ("ZEROS_LIKE",),
         "ZEROS_LIKE of float [2,363,363] (1,054,152 bytes, past the 1 MiB folding limit)",
         single("ZEROS_LIKE", lambda rng: [((np.arange(2 * 363 * 363) % 97) / 8 - 6).astype(F32)
                                          .reshape(2, 363, 363)], [((2, 363, 363), F32)]),
         allow_const=True),
    Case("broadcast_args_graph_inputs", ("BROADCAST_ARGS",),
         "BROADCAST_ARGS of two int32 graph inputs [3] and [2] (refused: the shapes must be "
         "constants)",
         single("BROADCAST_ARGS", lambda rng: [np.array([3, 1, 5], I32), np.array([4, 1], I32)],
                [((3,), I32)]),
         refused=r"BROADCAST_ARGS x1 .*input 0 must be a constant"),
    Case("broadcast_args_const_shapes", ("ADD", "BROADCAST_ARGS"),
         "BROADCAST_ARGS([3,1,5], [4,1]) of constants (folds to [3,4,5]) + an int32 input",
         broadcast_args_const_shapes),
]


def model_ops(model_bytes: bytes) -> list:
    import tflite
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    m = tflite.Model.GetRootAsModel(model_bytes, 0)
    sg = m.Subgraphs(0)
    codes = [m.OperatorCodes(sg.Operators(i).OpcodeIndex()) for i in range(sg.OperatorsLength())]
    return sorted({names[max(c.BuiltinCode(), c.DeprecatedBuiltinCode())] for c in codes})


def build_case(case: Case) -> list:
    """Writes the case's files and checks them; returns its op names."""
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    model, feeds = case.build(rng)
    model_bytes = model.build()
    ops = model_ops(model_bytes)
    missing = [op for op in case.ops if op not in ops]
    if missing:
        raise RuntimeError(f"target op(s) {missing} not in the model (got {ops})")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{case.name}.tflite"
    path.write_bytes(model_bytes)
    np.savez_compressed(OUT_DIR / f"{case.name}.npz", **{f"input_{i}": a for i, a in enumerate(feeds)})

    check_outputs(case, interpret(path, feeds))
    return ops


def main(argv=None):
    filters = list(sys.argv[1:] if argv is None else argv)
    index_path = OUT_DIR / "cases.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    failures = []
    for case in CASES:
        if filters and not any(f in case.name for f in filters):
            continue
        try:
            ops = build_case(case)
        except Exception as e:  # noqa: BLE001 -- report every failing case, then fail
            failures.append(case.name)
            print(f"FAIL {case.name}: {type(e).__name__}: {e}", flush=True)
            continue
        index[case.name] = {"ops": ops, "why": "[hand-built] " + case.why}
        if case.refused:
            index[case.name]["refused"] = case.refused
        print(f"ok   {case.name:32s} ops={ops}", flush=True)
    index_path.write_text(json.dumps(index, sort_keys=True, indent=1) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
