"""Building, verifying and indexing the cases that op_common's registry holds.

Every case is verified:
  1. the target op(s) (and selected builtin options) are really present in the written
     model, and no tensor exceeds the size cap or has a dynamic shape signature,
  2. the model runs in the ai_edge_litert interpreter (BUILTIN_WITHOUT_DEFAULT_DELEGATES
     resolver) on the npz inputs and produces finite outputs,
  3. the outputs are not trivially constant (unless the op inherently is).

`run_family_cli` is the command line of make_op_models.py and of every family generator
(make_conv_models.py, ...): they share tests/models/ops/ and its cases.json, and each
family owns the case names that start with one of its PREFIXES.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from op_common import collect, seed  # noqa: E402
from op_hand import tfl_module  # noqa: E402

MAX_TENSOR_ELEMS = 8192  # keep every tensor tiny


class CaseError(RuntimeError):
    pass


# =============================================================================
# Inspection of a written flatbuffer
# =============================================================================
_NAMES = {}


def _enum_names():
    """-> ({builtin code: op name}, {options type: options table name})."""
    if not _NAMES:
        ops = tfl_module("BuiltinOperator").BuiltinOperator
        opts = tfl_module("BuiltinOptions").BuiltinOptions
        _NAMES["ops"] = {v: k for k, v in vars(ops).items() if not k.startswith("_")}
        _NAMES["opts"] = {v: k for k, v in vars(opts).items() if not k.startswith("_")}
    return _NAMES["ops"], _NAMES["opts"]


def read_options(op):
    """Builtin options of a tflite.Operator as a {Field: value} dict (scalars / numpy arrays)."""
    _, optnames = _enum_names()
    t = op.BuiltinOptionsType()
    if t == 0:
        return {}
    name = optnames[t]
    cls = getattr(tfl_module(name), name)
    obj = cls()
    tab = op.BuiltinOptions()
    obj.Init(tab.Bytes, tab.Pos)
    d = {}
    for attr in dir(cls):
        if not attr[0].isupper() or attr.startswith("GetRootAs") or attr in ("Init",) \
                or attr.endswith(("Length", "IsNone", "BufferHasIdentifier")):
            continue
        try:
            d[attr.replace("AsNumpy", "")] = getattr(obj, attr)()
        except TypeError:  # vector element accessors need an index
            pass
    return d


def inspect_model(model_bytes, max_elems=None):
    """-> (sorted distinct op names, [(op name, options dict)], [input names])."""
    import tflite
    max_elems = MAX_TENSOR_ELEMS if max_elems is None else max_elems
    opnames, _ = _enum_names()
    m = tflite.Model.GetRootAsModel(model_bytes, 0)
    sg = m.Subgraphs(0)
    ops = []
    for i in range(sg.OperatorsLength()):
        o = sg.Operators(i)
        oc = m.OperatorCodes(o.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        ops.append((opnames[code], read_options(o)))
    tensors = [sg.Tensors(i) for i in range(sg.TensorsLength())]
    for t in tensors:
        n = int(np.prod(t.ShapeAsNumpy())) if t.ShapeLength() else 1
        if n > max_elems:
            raise CaseError(f"tensor {t.Name().decode()} has {n} elements (> {max_elems})")
        if t.ShapeSignatureLength() and (t.ShapeSignatureAsNumpy() < 0).any():
            raise CaseError(f"tensor {t.Name().decode()} has a dynamic shape signature")
    inputs = [tensors[sg.Inputs(i)].Name().decode() for i in range(sg.InputsLength())]
    return sorted({n for n, _ in ops}), ops, inputs


# =============================================================================
# Conversion and verification
# =============================================================================
def convert_tf(case, arrays, max_elems=None):
    """Trace case.fn with static specs and convert. Returns (model bytes, arrays in model input order)."""
    import tensorflow as tf
    specs = [tf.TensorSpec(a.shape, tf.as_dtype(a.dtype), name=f"input_{i}") for i, a in enumerate(arrays)]
    fn = case.make() if case.make is not None else case.fn
    tfn = tf.function(lambda *args: fn(*args), input_signature=specs)
    cf = tfn.get_concrete_function()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([cf], tf.Module())
    if case.fp16:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    model = conv.convert()
    _, _, in_names = inspect_model(model, max_elems)
    order = []
    for n in in_names:
        mt = re.search(r"input_(\d+)", n)
        if mt:
            order.append(int(mt.group(1)))
        elif len(arrays) == 1:
            order.append(0)
        else:
            raise CaseError(f"cannot map model input {n!r} to a function argument")
    if sorted(order) != list(range(len(arrays))):
        raise CaseError(f"model inputs {in_names} do not match the {len(arrays)} function args")
    return model, [arrays[i] for i in order]


def _opt_equal(got, want):
    if isinstance(want, (bool, np.bool_)):
        return bool(got) == bool(want)
    if isinstance(want, (float, np.floating)):
        return np.isclose(float(got), float(want), rtol=1e-6)
    return got == want


def _check_ops(case, model_bytes, max_elems):
    """The target ops and expected options are in the model; -> sorted distinct op names."""
    ops, op_list, _ = inspect_model(model_bytes, max_elems)
    missing = [o for o in case.ops if o not in ops]
    if missing:
        raise CaseError(f"target op(s) {missing} not in converted model (got {ops})")
    for opname, want in case.expect.items():
        cands = [o for n, o in op_list if n == opname]
        if not any(all(k in o and _opt_equal(o[k], v) for k, v in want.items()) for o in cands):
            raise CaseError(f"no {opname} with options {want}; got {cands}")
    return ops


def interpret(path, feeds):
    """Run the written model in the TFLite interpreter; -> [(output detail, value)]."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    interp = Interpreter(model_path=str(path),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    ins = interp.get_input_details()
    if len(ins) != len(feeds):
        raise CaseError(f"model has {len(ins)} inputs, npz has {len(feeds)}")
    for d, a in zip(ins, feeds):
        if np.dtype(d["dtype"]) != a.dtype or tuple(d["shape"]) != a.shape:
            raise CaseError(f"input {d['name']}: model {d['dtype']} {d['shape']} vs npz {a.dtype} {a.shape}")
        interp.set_tensor(d["index"], a)
    interp.invoke()
    return [(d, interp.get_tensor(d["index"])) for d in interp.get_output_details()]


def check_outputs(case, outs):
    """Finite and not trivially constant; -> ["float32[2, 3]", ...]."""
    descr = []
    for d, y in outs:
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise CaseError(f"output {d['name']} has non-finite values")
        if not case.allow_const and y.size > 1 and np.all(y == y.flat[0]):
            raise CaseError(f"output {d['name']} is trivially constant ({y.flat[0]})")
        if not case.allow_const and y.size == 1 and y.dtype.kind == "f" and y.flat[0] == 0:
            raise CaseError(f"scalar output {d['name']} is exactly 0")
        descr.append(f"{y.dtype.name}{list(y.shape)}")
    return descr


def run_case(case, out_dir, max_elems=None):
    """Build, write into out_dir and verify one case; returns (ops, summary string)."""
    seed(case.name)
    if case.hand is not None:
        model, feeds = case.hand()
        model_bytes = model.build()
    else:
        arrays = [np.asarray(a) for a in case.inputs()]
        model_bytes, feeds = convert_tf(case, arrays, max_elems)
    ops = _check_ops(case, model_bytes, max_elems)

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{case.name}.tflite"
    path.write_bytes(model_bytes)
    np.savez(out_dir / f"{case.name}.npz", **{f"input_{i}": a for i, a in enumerate(feeds)})
    descr = check_outputs(case, interpret(path, feeds))
    return ops, f"in={[f'{a.dtype.name}{list(a.shape)}' for a in feeds]} out={descr} ops={ops}"


# =============================================================================
# Other folders' generators (extra/, more/, winograd/, ...)
# =============================================================================
def build_into(out_dir, define, argv=None, max_elems=None):
    """Build the cases that `define()` registers into `out_dir` (another script's folder),
    keeping the entries of cases it does not rebuild: the extra/ and more/ scripts use it."""
    _quiet_tf()
    filters = list(sys.argv[1:] if argv is None else argv)
    cases = collect(define)
    index_path = out_dir / "cases.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    failures = []
    for case in cases.values():
        if filters and not any(f in case.name for f in filters):
            continue
        try:
            ops, summary = run_case(case, out_dir, max_elems)
        except Exception as e:  # noqa: BLE001 -- report every failing case, then fail
            failures.append(case.name)
            print(f"FAIL {case.name}: {type(e).__name__}: {e}", flush=True)
            continue
        index[case.name] = {"ops": ops, "why": case.why}
        print(f"ok   {case.name:40s} {summary}", flush=True)
    _write_index(index_path, index)
    return 1 if failures else 0


def _quiet_tf():
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")


def _write_index(index_path, index):
    index_path.write_text(json.dumps(index, sort_keys=True, indent=1) + "\n")


# =============================================================================
# tests/models/ops/: the op families and their shared cases.json
# =============================================================================
OPS_DIR = Path(__file__).resolve().parent / "ops"

# family -> the case-name prefixes it owns (a name is "p" or starts with "p_"); the
# generator of family F is make_F_models.py. Ownership decides which stale files and
# cases.json entries a generator that runs alone may drop: only its own.
FAMILIES = {
    "conv": ("conv", "dw", "tconv"),
    "matmul": ("fc", "bmm"),
    "binary": ("add", "sub", "mul", "div", "maximum", "minimum", "squared_difference", "pow",
               "greater", "less", "equal", "not_equal", "select", "logical"),
    "pool": ("avgpool", "maxpool", "l2pool"),
    "reduce": ("mean", "sum", "reduce", "arg_max", "arg_min"),
    "movement": ("pad", "padv2", "mirror_pad", "reshape", "squeeze", "expand_dims", "concat",
                 "split", "pack", "unpack", "slice", "ss", "transpose", "gather", "tile",
                 "broadcast_to", "depth_to_space", "space_to_depth", "resize_bilinear",
                 "resize_nearest"),
    "unary": ("softmax", "log_softmax", "logistic", "tanh", "relu", "relu6", "leaky_relu", "prelu",
              "hard_swish", "elu", "gelu", "exp", "log", "sqrt", "rsqrt", "abs", "neg", "square",
              "sin", "cos", "floor", "ceil", "round"),
    "misc": ("l2_normalization", "lrn", "cast", "shape", "fill", "zeros_like", "dequantize"),
    "net": ("net", "layer_norm"),
}


def owners(case_name):
    """The families whose prefixes claim `case_name` (exactly one for a well-named case)."""
    return [f for f, prefixes in FAMILIES.items()
            if any(case_name == p or case_name.startswith(p + "_") for p in prefixes)]


def _collect_families(families):
    """Register every case of `families` (module objects with FAMILY and define());
    -> {name: (family, Case)} in family then definition order."""
    out = {}
    for mod in families:
        fam = mod.FAMILY
        for name, case in collect(mod.define).items():
            if owners(name) != [fam]:
                raise CaseError(f"case {name!r} of family {fam!r} is claimed by {owners(name) or 'none'}:"
                                f" rename it or fix op_build.FAMILIES")
            if name in out:
                raise CaseError(f"case {name!r} defined twice")
            out[name] = (fam, case)
    return out


def _fresh_keras():
    """Keras names layers from process-wide counters and the names land in the converted
    model: every family starts from fresh counters, so that it builds the same bytes alone
    as in make_op_models.py's full run."""
    import tensorflow as tf
    tf.keras.backend.clear_session()


def _drop_stale(index, cases, fams, everything):
    """Delete the .tflite/.npz files and index entries of cases no longer defined:
    those owned by `fams`, or all of them when `everything` (the full driver run)."""
    def stale(name):
        if name in cases:
            return False
        own = owners(name)
        return everything or (len(own) == 1 and own[0] in fams)
    for p in sorted(list(OPS_DIR.glob("*.tflite")) + list(OPS_DIR.glob("*.npz"))):
        if stale(p.stem):
            print(f"stale {p.name}: deleted", flush=True)
            p.unlink()
    return {k: v for k, v in index.items() if not stale(k)}


def _build_selected(selected, index, max_elems):
    """Build every selected case into OPS_DIR, updating `index`; -> failing case names."""
    failures = []
    for name, (_, case) in selected.items():
        try:
            ops, summary = run_case(case, OPS_DIR, max_elems)
        except Exception as e:  # noqa: BLE001 -- report every failing case, then fail
            failures.append(name)
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            for ext in (".tflite", ".npz"):  # never leave a broken model behind
                (OPS_DIR / f"{name}{ext}").unlink(missing_ok=True)
            index.pop(name, None)
            continue
        index[name] = {"ops": ops, "why": case.why}
        print(f"ok   {name:40s} {summary}", flush=True)
    return failures


def _parse(description, argv):
    import argparse
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("filters", nargs="*", help="only cases whose name contains one of these substrings")
    ap.add_argument("--list", action="store_true", help="list case names and exit")
    return ap.parse_args(argv)


def run_cli(families, description, argv=None, max_elems=None, everything=False):
    """Rebuild the cases of `families` in tests/models/ops/ (all, or those whose name contains
    a filter) and update their cases.json entries; the other families' entries are kept.
    An unfiltered run also drops the stale cases it owns (every stale case if `everything`)."""
    args = _parse(description, argv)
    _quiet_tf()
    cases = _collect_families(families)
    if args.list:
        for name, (_, c) in cases.items():
            print(f"{name:40s} {','.join(c.ops):40s} {c.why}")
        print(f"{len(cases)} cases")
        return 0
    selected = {n: fc for n, fc in cases.items() if not args.filters or any(f in n for f in args.filters)}
    if not selected:
        print("no case matches", args.filters)
        return 1
    index_path = OPS_DIR / "cases.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    t0 = time.time()
    failures = []
    for mod in families:  # each family from fresh Keras counters (see _fresh_keras)
        _fresh_keras()
        mine = {n: fc for n, fc in selected.items() if fc[0] == mod.FAMILY}
        failures += _build_selected(mine, index, max_elems)
    if not args.filters:
        index = _drop_stale(index, cases, {m.FAMILY for m in families}, everything)
    _write_index(index_path, index)
    total = sum(p.stat().st_size for p in OPS_DIR.glob("*.tflite"))
    print(f"\n{len(selected) - len(failures)}/{len(selected)} cases ok in {time.time() - t0:.0f}s; "
          f"{len(index)} entries in cases.json; model files total {total / 1024:.0f} KiB")
    if failures:
        print("FAILED:", " ".join(failures))
        return 1
    return 0


def family_main(module_name, argv=None):
    """The command line of one family generator (make_<family>_models.py)."""
    mod = sys.modules[module_name]
    return run_cli([mod], (mod.__doc__ or "").split("\n")[0], argv)
