"""`dlcoder verify`: generate, compile with the host compiler, run, compare with TFLite."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dlcoder import compiler, plugins, verify as V
from dlcoder.console import QUIET, Progress, tflite_info_dropped
from dlcoder.errors import DlcoderError
from dlcoder.ir import op_label
from dlcoder.ops.mediapipe import XNNPACK_CUSTOM_OPS


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


def stateful(g) -> bool:
    """Whether the model keeps state from run to run (resource variables)."""
    return bool(g.variables)


def verify(model: str, shapes: dict, inputs_npz=None, per_tensor=False, seed=0,
           keep_dir=None, cxx=None, frames=None, progress: Progress = QUIET) -> int:
    """PASS or FAIL comes from the library as it ships: the planned build, whose tensors
    share arena bytes. --per-tensor adds a debug build that keeps every tensor to the end,
    used only to name the first tensor that diverges from TFLite; if none does while the
    planned build fails, the memory plan is the suspect. keep_dir holds the planned build
    (and the debug one in keep_dir/per_tensor). progress: phase lines on stderr."""
    with progress.phase(f"reading {model}"):
        g0 = compiler.load_graph(model, shapes, note=progress.note)
    name = compiler.default_name(model)
    with progress.phase("generating the C++ library"):
        lib, g = compiler.compile_graph(g0, name)   # a model dlcoder refuses fails here, first
    frames = frames or (STREAM_FRAMES if stateful(g0) else 1)
    custom = sorted({n.op for n in g0.nodes if n.op.startswith("CUSTOM:")})
    if custom and (per_tensor or frames > 1):
        raise DlcoderError(f"{'--per-tensor' if per_tensor else 'a stream of runs'} compares with "
                           f"the TFLite interpreter, which cannot run {', '.join(custom)}")
    if frames > 1:
        return _verify_stream(model, lib, g0, g, name, frames, inputs_npz, seed, keep_dir, cxx, progress)
    inputs = load_inputs(inputs_npz, g0) if inputs_npz else V.random_inputs(g0, seed)
    xnnpack = bool(custom) and set(custom) <= XNNPACK_CUSTOM_OPS
    if xnnpack:
        with progress.phase("running TFLite with XNNPACK (the reference)"), tflite_info_dropped(progress):
            refs, interp = V.reference_run(model, inputs, xnnpack=True)
        bound, n_ref_inputs = V.FLOAT_BOUND, len(interp.get_input_details())
        print(f"reference: TFLite with its XNNPACK delegate, which runs {', '.join(custom)}")
    elif custom:
        # the custom ops' plug-ins give the numpy references, the op table the others
        with progress.phase("computing the numpy reference"):
            refs, n_ref_inputs, bound = V.numpy_reference(g0, inputs), len(inputs), V.FLOAT_BOUND
        print(f"reference: the ops' numpy references (TFLite cannot run {', '.join(custom)})")
    else:
        with progress.phase("running the TFLite interpreter (the reference)"), tflite_info_dropped(progress):
            refs, interp = V.reference_run(model, inputs, preserve=per_tensor)
            bound = V.float_bound(model, inputs, refs)
        n_ref_inputs = len(interp.get_input_details())
    if bound > V.FLOAT_BOUND:
        print(f"float bound: {bound:.3g} (twice the disagreement of TFLite's XNNPACK and builtin "
              f"kernels on these inputs; {V.FLOAT_BOUND:g} otherwise)")
    with V.Workdir(keep_dir) as work:
        ours, _ = _build_and_run(lib, g, name, inputs, work, cxx, progress)
        ok = _report_outputs(ours, refs, len(inputs), n_ref_inputs, bound)
        if per_tensor:
            with progress.phase("generating the per-tensor build (every tensor kept)"):
                dlib, dg = compiler.compile_graph(g0, name, debug=True)
            debug_ours, arena = _build_and_run(dlib, dg, name, inputs, os.path.join(work, "per_tensor"),
                                               cxx, progress, arena_dump=True)
            with progress.phase("comparing every intermediate tensor with TFLite's"):
                found = _per_tensor_report(dlib, dg, arena, inputs, debug_ours, interp, refs, ok)
            print(found)
    print("verify: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


STREAM_FRAMES = 10     # what verify runs through a model with state unless told


def _verify_stream(model, lib, g0, g, name, frames, inputs_npz, seed, keep_dir, cxx, progress) -> int:
    """A stream of `frames` runs on one arena against one interpreter invoked as often:
    frame 0 takes --inputs (or random ones), the others random inputs of the next seeds.
    One line per output, for the frame where it is furthest from TFLite."""
    first = load_inputs(inputs_npz, g0) if inputs_npz else V.random_inputs(g0, seed)
    stream = [first] + [V.random_inputs(g0, seed + f) for f in range(1, frames)]
    with progress.phase(f"running the TFLite interpreter (the reference), {frames} frames"), \
            tflite_info_dropped(progress):
        refs = V.reference_stream(model, stream)
    with V.Workdir(keep_dir) as work:
        exe = _build(lib, name, work, cxx, progress)
        with progress.phase(f"running the library, {frames} frames"):
            ours = V.run_runner_stream(exe, g, stream, work)
    print(f"stream: {frames} runs on one arena, against one TFLite interpreter invoked {frames} times")
    ok = True
    for k in range(len(refs[0])):
        worst = max(range(frames), key=lambda f: V.compare(ours[f][k], refs[f][k], k).max_abs)
        print(f"frame {worst}: ", end="")
        ok &= _report_outputs([ours[worst][k]], [refs[worst][k]], first_output=k)
        ok &= all(V.compare(ours[f][k], refs[f][k], k).ok for f in range(frames))
    print("verify: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def _build(lib, name, work, cxx, progress, what="the generated code") -> str:
    """Write the library into work/lib and compile it with the harness: the executable."""
    os.makedirs(work, exist_ok=True)
    lib_dir = os.path.join(work, "lib")
    compiler.write_library(lib, lib_dir)
    with progress.phase(f"compiling {what} ({cxx or os.environ.get('CXX', 'c++')} -O2)"):
        try:
            return V.build_runner(lib_dir, name, work, cxx=cxx)
        except DlcoderError as e:
            # code a custom op's plug-in emitted is the plug-in's error (plugins.py)
            raise plugins.blame(Path(lib_dir, f"{name}.cc"), str(e)) or e from None


def _build_and_run(lib, g, name, inputs, work, cxx, progress, arena_dump=False):
    """Outputs (and, with arena_dump, the arena) of a run of the library; arena_dump is
    the per-tensor build's, which the progress lines name."""
    exe = _build(lib, name, work, cxx, progress,
                 "the per-tensor build" if arena_dump else "the generated code")
    with progress.phase("running the per-tensor build" if arena_dump else "running the library"):
        return V.run_runner(exe, g, inputs, work, arena_dump=arena_dump)


def _report_outputs(ours, refs, n_inputs=0, n_ref_inputs=0, bound=V.FLOAT_BOUND,
                    first_output=0) -> bool:
    """One line per output; False on any mismatch, including a different number of inputs
    or outputs than the TFLite interpreter has (zip would hide a missing one)."""
    ok = True
    if n_inputs != n_ref_inputs:
        print(f"inputs: ours {n_inputs}, tflite {n_ref_inputs} MISMATCH")
        ok = False
    if len(ours) != len(refs):
        print(f"outputs: ours {len(ours)}, tflite {len(refs)} MISMATCH")
        ok = False
    for k, (o, r) in enumerate(zip(ours, refs), start=first_output):
        c = V.compare(o, r, k, bound=bound)
        ok &= c.ok
        verdict = 'OK' if c.ok else 'MISMATCH'
        if np.issubdtype(r.dtype, np.floating):
            print(f"output {k} ({c.dtype}{list(r.shape)}): max abs err {c.max_abs:.3g}, "
                  f"rel {c.relative:.3g} {verdict}")
        else:   # integers are exact or wrong: how many differ, and by how many steps
            print(f"output {k} ({c.dtype}{list(r.shape)}): {int(c.relative)} of {r.size} "
                  f"elements differ, largest difference {int(c.max_abs)} LSB {verdict}")
        if c.detail:
            print(f"  {c.detail}")
    return ok


def _per_tensor_report(lib, g, arena, inputs, ours, interp, refs, planned_ok) -> str:
    """The line that names the first op of the debug build whose output differs from
    TFLite's tensor. The verdict is the planned build's; this only says where to look."""
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
                return (f"first divergence: op {i} {op_label(node)} (model node {node.index}), tensor {t} "
                        f"'{g.tensors[t].name}': max abs err {c.max_abs:.3g}, rel {c.relative:.3g}"
                        + (f"; {c.detail}" if c.detail else "")
                        + ("" if not planned_ok else
                           " (per-tensor build only; the planned build's outputs match)"))
    debug_ok = len(ours) == len(refs) and all(V.compare(o, r, k).ok
                                              for k, (o, r) in enumerate(zip(ours, refs)))
    if planned_ok:
        return "per-tensor: every intermediate tensor matches"
    if debug_ok:
        return ("per-tensor: every tensor matches in the build that keeps every tensor, but the "
                "planned build's outputs differ: suspect the memory plan (tensors or scratch "
                "that share arena bytes while both are live)")
    return ("per-tensor: every intermediate tensor matches, but the outputs differ (after "
            "the last op: the copies into the output buffers?)")
