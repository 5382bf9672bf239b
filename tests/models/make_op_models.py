#!/usr/bin/env python3
"""(Re)build the small single-purpose float32 TFLite test models in tests/models/ops/.

Every *case* is one tiny model exercising one builtin operator with one
attribute combination (plus a handful of multi-op "mini networks").  For each
case the generators write

  tests/models/ops/<case>.tflite   the model (static shapes)
  tests/models/ops/<case>.npz      sample inputs, keys input_0, input_1, ... in
                                   the model's subgraph-0 input order, with the
                                   exact dtype the model expects
  tests/models/ops/cases.json      {"<case>": {"ops": [...], "why": "..."}}
                                   ("ops" = sorted distinct builtin op names
                                   read back from the written flatbuffer)

The cases are defined per op family, one generator each, runnable on its own:

  make_conv_models.py      CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV
  make_matmul_models.py    FULLY_CONNECTED, BATCH_MATMUL
  make_binary_models.py    ADD ... POW, comparisons, SELECT, logical ops
  make_pool_models.py      AVERAGE / MAX / L2 pooling
  make_reduce_models.py    MEAN, SUM, REDUCE_*, ARG_MAX / ARG_MIN
  make_movement_models.py  pads, reshapes, concat / split, slices, transpose,
                           gather, tile, depth <-> space, resizes
  make_unary_models.py     activations and unary math
  make_misc_models.py      normalisation, CAST, SHAPE, FILL, ZEROS_LIKE, DEQUANTIZE
  make_net_models.py       mini networks (fusions, several inputs / outputs)

Each family owns the case names with its prefixes (op_build.FAMILIES) and
updates only its own cases.json entries and stale files. This script runs
them all. The shared machinery: op_common.py (seeding, random helpers, the
case registry), op_hand.py (the HandModel flatbuffer builder) and op_build.py
(conversion, verification, cases.json).

Most models are produced with TensorFlow (tf.function + TFLiteConverter).
Where the converter cannot produce an op / attribute combination at all
(e.g. L2_POOL_2D, RELU_0_TO_1, SOFTMAX beta != 1, SQUEEZE / EXPAND_DIMS which
the converter rewrites to RESHAPE, STRIDED_SLICE offset, ...) the flatbuffer is
written directly by HandModel, using the generated flatbuffers builder
functions shipped in the ``tflite`` package.  Those cases are tagged
"[hand-built]" in cases.json.

Every case is verified:
  1. the target op(s) (and selected builtin options) are really present in
     the written model,
  2. the model runs in the ai_edge_litert interpreter (BUILTIN_WITHOUT_DEFAULT_
     DELEGATES resolver) on the npz inputs and produces finite outputs,
  3. the outputs are not trivially constant (unless the op inherently is).
Any failure aborts with a non-zero exit status.

Everything is seeded per case (numpy default_rng seeded from the case name),
so reruns are reproducible; with the same TensorFlow version (the committed
models say which: 2.21.0) they are byte-identical.  Keras names layers from
process-wide counters and those names land in the model, so a filtered run of
a case with a Keras layer (fc_keep_num_dims_3d, prelu_*, layer_norm_keras_*)
may give other tensor names than its family's full run; every family starts
from fresh counters, so a family builds the same bytes alone as here.

Usage
  python3 tests/models/make_op_models.py              # rebuild everything
  python3 tests/models/make_op_models.py conv pool    # only cases whose name
                                                      # contains "conv" or "pool"
  python3 tests/models/make_op_models.py --list       # list case names
A full rebuild also deletes stale .tflite/.npz files in ops/ and rewrites
cases.json; a filtered rebuild updates only the selected cases' entries.
"""

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import op_build  # noqa: E402
from op_build import FAMILIES, CaseError, convert_tf, inspect_model, run_cli  # noqa: E402
from op_common import (CASES, NONE, REFLECT, RELU, RELU6, RELU_N1_TO_1, SAME,  # noqa: E402
                       SYMMETRIC, TANH, VALID, Case, H, T, W, Wpos, _Rng, away0, bools,
                       collect, grid, ints, randn, seed, unif)
from op_hand import HandModel, single_op  # noqa: E402

FAMILY_MODULES = [importlib.import_module(f"make_{f}_models") for f in FAMILIES]
# case builders that other folders' generators use (make_winograd_models.py: conv_case)
from make_binary_models import binop_case  # noqa: E402
from make_conv_models import conv_case, dw_case, grouped_conv_case, tconv_case  # noqa: E402
from make_unary_models import unary_case  # noqa: E402

# What the other generators (extra/, more/, rnn/, winograd/, ...) and tests import from here.
__all__ = ["CASES", "NONE", "REFLECT", "RELU", "RELU6", "RELU_N1_TO_1", "SAME", "SYMMETRIC",
           "TANH", "VALID", "Case", "CaseError", "H", "HandModel", "T", "W", "Wpos", "_Rng",
           "away0", "binop_case", "bools", "build_into", "conv_case", "convert_tf",
           "define_cases", "dw_case", "grid", "grouped_conv_case", "inspect_model", "ints",
           "randn", "run_case", "seed", "single_op", "tconv_case", "unary_case", "unif"]

# The other generators (extra/, more/, coverage/, winograd/, ...) set these and call
# run_case / build_into: both read them when called.
OUT_DIR = op_build.OPS_DIR
MAX_TENSOR_ELEMS = op_build.MAX_TENSOR_ELEMS


def define_cases():
    """Register the cases of every family in CASES (in family order)."""
    cases = {}
    for mod in FAMILY_MODULES:
        cases.update(collect(mod.define))
    CASES.clear()
    CASES.update(cases)


def run_case(case):
    """Build, write into OUT_DIR and verify one case; returns (ops, summary string)."""
    return op_build.run_case(case, OUT_DIR, MAX_TENSOR_ELEMS)


def build_into(out_dir, define, argv=None):
    """Build the cases that `define()` registers into `out_dir` (another script's folder),
    keeping the entries of cases it does not rebuild: the extra/ and more/ scripts use it."""
    return op_build.build_into(out_dir, define, argv, MAX_TENSOR_ELEMS)


def main(argv=None):
    return run_cli(FAMILY_MODULES, __doc__.split("\n")[0], argv, MAX_TENSOR_ELEMS, everything=True)


if __name__ == "__main__":
    sys.exit(main())
