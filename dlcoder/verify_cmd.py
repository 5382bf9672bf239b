"""`dlcoder verify`: generate, compile with the host compiler, run, compare with TFLite."""
from __future__ import annotations

import os

import numpy as np

from dlcoder import compiler, verify as V
from dlcoder.errors import DlcoderError


def load_inputs(path: str, g) -> list:
    data = np.load(path)
    out = []
    for k, t in enumerate(g.inputs):
        name = g.tensors[t].name
        key = f"input_{k}" if f"input_{k}" in data else name
        if key not in data:
            raise DlcoderError(f"{path} has no array 'input_{k}' or '{name}'")
        out.append(np.asarray(data[key], dtype=g.tensors[t].dtype).reshape(g.tensors[t].shape))
    return out


def verify(model: str, shapes: dict, inputs_npz=None, per_tensor=False, seed=0,
           keep_dir=None, cxx=None) -> int:
    g0 = compiler.load_graph(model, shapes)
    name = compiler.default_name(model)
    lib, g = compiler.compile_graph(g0, name, debug=per_tensor)
    inputs = load_inputs(inputs_npz, g0) if inputs_npz else V.random_inputs(g0, seed)
    with V.Workdir(keep_dir) as work:
        lib_dir = os.path.join(work, "lib")
        compiler.write_library(lib, lib_dir)
        exe = V.build_runner(lib_dir, name, work, cxx=cxx)
        ours, arena = V.run_runner(exe, g, inputs, work, arena_dump=per_tensor)
    refs, interp = V.reference_run(model, inputs, preserve=per_tensor)
    ok = True
    for k, (o, r) in enumerate(zip(ours, refs)):
        c = V.compare(o, r, k)
        ok &= c.ok
        what = "mismatches" if not np.issubdtype(r.dtype, np.floating) else "rel"
        print(f"output {k} ({c.dtype}{list(r.shape)}): max abs err {c.max_abs:.3g}, "
              f"{what} {c.relative:.3g} {'OK' if c.ok else 'MISMATCH'}")
        if c.detail:
            print(f"  {c.detail}")
    if per_tensor:
        _per_tensor_report(lib, g, arena, inputs, ours, interp)
    print("verify: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def _per_tensor_report(lib, g, arena, inputs, ours, interp) -> None:
    n_model = len(interp.get_tensor_details())
    for i, node in enumerate(g.nodes):
        for t in node.outputs:
            if t >= n_model:
                continue
            mine = V.tensor_from_arena(lib, g, t, arena, inputs, ours)
            try:
                ref = interp.get_tensor(t)
            except ValueError:
                continue
            if mine is None or ref.shape != mine.shape:
                continue
            c = V.compare(mine, ref, t)
            if not c.ok:
                print(f"first divergence: op {i} {node.op} (model node {node.index}), tensor {t} "
                      f"'{g.tensors[t].name}': max abs err {c.max_abs:.3g}, rel {c.relative:.3g}"
                      + (f"; {c.detail}" if c.detail else ""))
                return
    print("per-tensor: every intermediate tensor matches")
