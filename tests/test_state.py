"""Models with state and several entry points (issue 15), against one TFLite interpreter.

The models (tests/models/make_state_models.py, state/cases.json) keep ring buffers, an RNN
state and counters in resource variables set up by CALL_ONCE, float and int8, and some
have several signatures. A stream here is what a wake-word detector does: NAME_reset
once, then one run per frame on one arena; TFLite's reference is one interpreter invoked
once per frame. Every step's outputs must agree: byte for byte for integer outputs,
within verify's float bound for float ones.
"""
from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from support import TESTS, stream_frames, tflite_stream
from dlcoder import compiler, verify as V
from dlcoder.codegen.emitter import signature_names

STATE = TESTS / "models" / "state"
CASES = json.loads((STATE / "cases.json").read_text())
FRAMES = 50


def _assert_stream_equal(ours, refs, what):
    assert len(ours) == len(refs)
    for step, (o_step, r_step) in enumerate(zip(ours, refs)):
        assert len(o_step) == len(r_step)
        for k, (o, r) in enumerate(zip(o_step, r_step)):
            o, r = np.asarray(o), np.asarray(r)
            assert o.shape == r.shape and o.dtype == r.dtype, (what, step, k)
            if o.dtype.kind == "f":
                c = V.compare(o, r, k)
                assert c.ok, f"{what}: step {step} output {k}: max abs err {c.max_abs}"
            else:
                assert o.tobytes() == r.tobytes(), f"{what}: step {step} output {k}: {o.ravel()[:8]} vs {r.ravel()[:8]}"


def _build(model, work, name="m"):
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, name)
    compiler.write_library(lib, os.path.join(work, "lib"))
    return g, lib


STREAMING = sorted(k for k, v in CASES.items() if v["streams"] and v["signatures"][0]["subgraph"] == 0
                   and len(v["signatures"]) == 1)


@pytest.mark.parametrize("case", STREAMING)
def test_stream_of_50_frames_matches_tflite_at_every_step(case, tmp_path):
    model = STATE / f"{case}.tflite"
    frames = stream_frames(model, FRAMES, seed=3)
    g, lib = _build(model, tmp_path)
    exe = V.build_runner(str(tmp_path / "lib"), "m", str(tmp_path))
    ours = V.run_runner_stream(exe, g, frames, str(tmp_path))
    _assert_stream_equal(ours, tflite_stream(model, frames), case)
    # the state is real: the same frame twice gives different outputs somewhere
    assert any(not np.array_equal(a, b) for a, b in zip(ours[0], V.run_runner_stream(
        exe, g, [frames[1], frames[1]], str(tmp_path))[1]))


def test_state_lives_in_the_arena_before_the_plan(tmp_path):
    """NAME_arena_size counts the state; a model without variables has none, and a
    stateful one keeps it in the arena the caller passes (two arenas: two streams)."""
    g, lib = _build(STATE / "stream_conv1d_float.tflite", tmp_path)
    var = g.variables[0]
    assert var.shape == (1, 3, 6) and var.dtype == "float32"
    assert lib.arena_bytes >= 64 + var.nbytes
    cc = (tmp_path / "lib" / "m.cc").read_text()
    assert "kStateBytes = 192;" in cc and "state_reset" in cc
    _, plain = _build(STATE / "encode_decode.tflite", tmp_path / "p")
    assert "kStateBytes" not in (tmp_path / "p" / "lib" / "m.cc").read_text()


# ---- several entry points, several arenas: a C++ driver over the C API ------------------
DRIVER = r"""
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "m.h"

struct Entry {
  int (*run)(const void* const*, void* const*, void*);
  int (*num_inputs)(void);
  int (*num_outputs)(void);
  size_t (*input_size)(int);
  size_t (*output_size)(int);
};
static const Entry kEntries[] = {
  {m_run, m_num_inputs, m_num_outputs, m_input_size, m_output_size},
  ENTRIES
};

static bool io(const std::string& path, void* p, size_t n, bool write) {
  FILE* f = std::fopen(path.c_str(), write ? "wb" : "rb");
  if (!f) return false;
  size_t done = write ? std::fwrite(p, 1, n, f) : std::fread(p, 1, n, f);
  std::fclose(f);
  return done == n;
}

// DIR/script: one call per line, "ENTRY ARENA" (ENTRY -1: m_reset). Call k reads
// DIR/call<k>/input_<i>.bin and writes DIR/call<k>/output_<i>.bin.
int main(int argc, char** argv) {
  const std::string dir = argv[1];
  void* arenas[2];
  for (void*& a : arenas) a = std::aligned_alloc(64, (m_arena_size() + 63) / 64 * 64 + 64);
  FILE* script = std::fopen((dir + "/script").c_str(), "r");
  int entry, arena;
  for (int k = 0; std::fscanf(script, "%d %d", &entry, &arena) == 2; ++k) {
    if (entry < 0) {
      if (m_reset(arenas[arena]) != 0) return 70;
      continue;
    }
    const Entry& e = kEntries[entry];
    const std::string call = dir + "/call" + std::to_string(k);
    std::vector<void*> in(e.num_inputs()), out(e.num_outputs());
    for (int i = 0; i < e.num_inputs(); ++i) {
      in[i] = std::malloc(e.input_size(i) + 1);
      if (!io(call + "/input_" + std::to_string(i) + ".bin", in[i], e.input_size(i), false)) return 71;
    }
    for (int i = 0; i < e.num_outputs(); ++i) out[i] = std::malloc(e.output_size(i) + 1);
    const int rc = e.run(in.data(), out.data(), arenas[arena]);
    if (rc != 0) { std::fprintf(stderr, "call %d: %d\n", k, rc); return 72; }
    for (int i = 0; i < e.num_outputs(); ++i)
      if (!io(call + "/output_" + std::to_string(i) + ".bin", out[i], e.output_size(i), true)) return 73;
  }
  return 0;
}
"""


def _driver(model, work):
    """Build the driver; returns (exe, {signature key: entry index}, graph)."""
    g, _ = _build(model, work)
    names = signature_names(g)
    entries = "\n".join(f"  {{m_{n}_run, m_{n}_num_inputs, m_{n}_num_outputs, m_{n}_input_size, "
                        f"m_{n}_output_size}}," for n in names)
    src = work / "driver.cc"
    src.write_text(DRIVER.replace("ENTRIES", entries))
    exe = str(work / "driver")
    V.compile_library(str(work / "lib"), "m", exe, extra_sources=[str(src)])
    return exe, {sig.key: k + 1 for k, sig in enumerate(g.signatures)}, g


def _run_script(exe, work, calls):
    """calls: (entry, arena, inputs, output dtypes and shapes) or (-1, arena) for a reset;
    returns the outputs of each run."""
    lines, results = [], []
    for k, call in enumerate(calls):
        lines.append(f"{call[0]} {call[1]}")
        if call[0] >= 0:
            folder = work / f"call{k}"
            folder.mkdir(exist_ok=True)
            for i, x in enumerate(call[2]):
                np.ascontiguousarray(x).tofile(folder / f"input_{i}.bin")
    (work / "script").write_text("\n".join(lines) + "\n")
    res = subprocess.run([exe, str(work)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    for k, call in enumerate(calls):
        if call[0] >= 0:
            results.append([np.fromfile(work / f"call{k}" / f"output_{i}.bin", dtype=d).reshape(s)
                            for i, (d, s) in enumerate(call[3])])
    return results


def _specs(refs):
    return [(r.dtype, r.shape) for r in refs[0]]


def test_two_signatures_share_their_state(tmp_path):
    """init then step, through NAME_init_run and NAME_step_run on one arena: the variable
    that init sets is the one step reads, as with TFLite's signature runners."""
    model = STATE / "two_signatures.tflite"
    exe, entry, _ = _driver(model, tmp_path)
    keys = ["init"] + ["step"] * (FRAMES - 1)
    frames = [stream_frames(model, 1, seed=s, signature=key)[0] for s, key in enumerate(keys)]
    refs = tflite_stream(model, frames, signature=keys)
    calls = [(-1, 0)] + [(entry[key], 0, f, _specs([r])) for key, f, r in zip(keys, frames, refs)]
    _assert_stream_equal(_run_script(exe, tmp_path, calls), refs, "init + step")


def test_two_arenas_hold_two_independent_streams(tmp_path):
    model = STATE / "stream_conv1d_int8.tflite"
    exe, _, _ = _driver(model, tmp_path)
    a, b = stream_frames(model, 20, seed=5), stream_frames(model, 20, seed=6)
    ra, rb = tflite_stream(model, a), tflite_stream(model, b)
    calls = [(-1, 0), (-1, 1)]
    for fa, fb, oa, ob in zip(a, b, ra, rb):     # interleaved, frame by frame
        calls += [(0, 0, fa, _specs([oa])), (0, 1, fb, _specs([ob]))]
    got = _run_script(exe, tmp_path, calls)
    _assert_stream_equal(got[0::2], ra, "arena 0")
    _assert_stream_equal(got[1::2], rb, "arena 1")


def test_reset_starts_a_new_stream(tmp_path):
    """After NAME_reset the init subgraph runs again (CALL_ONCE): the second stream gives
    what a fresh interpreter gives."""
    model = STATE / "counter.tflite"
    exe, _, _ = _driver(model, tmp_path)
    frames = stream_frames(model, 10, seed=7)
    refs = tflite_stream(model, frames)
    calls = [(-1, 0)] + [(0, 0, f, _specs([r])) for f, r in zip(frames, refs)]
    calls += [(-1, 0)] + [(0, 0, f, _specs([r])) for f, r in zip(frames, refs)]
    got = _run_script(exe, tmp_path, calls)
    _assert_stream_equal(got[:10], refs, "first stream")
    _assert_stream_equal(got[10:], refs, "after the reset")


def test_signatures_of_a_stateless_model_take_their_keys_order(tmp_path):
    model = STATE / "encode_decode.tflite"
    exe, entry, g = _driver(model, tmp_path)
    calls, refs = [], []
    for key in ("encode", "decode"):
        frames = stream_frames(model, 3, seed=11, signature=key)
        r = tflite_stream(model, frames, signature=key)
        refs += r
        calls += [(entry[key], 0, f, _specs([o])) for f, o in zip(frames, r)]
    _assert_stream_equal(_run_script(exe, tmp_path, calls), refs, "encode, decode")
    header = (tmp_path / "lib" / "m.h").read_text()
    assert "int m_encode_run(const void* const* inputs, void* const* outputs, void* arena);" in header
    assert "int RunEncode(" in header and "input 0: 'x' float32[1, 8]" in header


def test_counter_takes_inputs_in_the_signatures_order(tmp_path):
    """serving_default lists (gain, x) and (acc, total), the reverse of subgraph 0's own
    order: NAME_serving_default_run follows the keys, NAME_run the subgraph."""
    model = STATE / "counter.tflite"
    exe, entry, g = _driver(model, tmp_path)
    frames = stream_frames(model, 5, seed=2, signature="serving_default")
    refs = tflite_stream(model, frames, signature="serving_default")
    calls = [(entry["serving_default"], 0, f, _specs([r])) for f, r in zip(frames, refs)]
    _assert_stream_equal(_run_script(exe, tmp_path, calls), refs, "serving_default")
    assert [t.name for t in (g.tensors[i] for i in g.inputs)] == \
        ["serving_default_x:0", "serving_default_gain:0"]


def test_keras_model_with_a_dynamic_batch_generates_with_no_flags(tmp_path):
    model = STATE / "dynamic_batch_keras.tflite"
    res = subprocess.run([os.sys.executable, "-m", "dlcoder", "verify", str(model)],
                         capture_output=True, text=True, cwd=TESTS.parent)
    assert res.returncode == 0 and "verify: PASS" in res.stdout, res.stdout + res.stderr
    notes = [line for line in res.stderr.splitlines() if line.startswith("dlcoder: note:")]
    assert notes == ["dlcoder: note: input 'serving_default_keras_tensor:0' has a dynamic shape [?x16x16x3]; "
                     "generating "
                     "for the shape the model stores, 1x16x16x3 (as TFLite does); "
                     "--input-shape serving_default_keras_tensor:0=... chooses another"]


def test_inspect_lists_signatures_variables_and_every_entry_points_ops():
    from dlcoder.inspect import format_report, inspect_model
    report = inspect_model(str(STATE / "two_signatures.tflite"))
    text = format_report(report)
    assert "signature 'step': subgraph 1, inputs decay, x; outputs norm, y" in text
    assert "resource variables (state kept from run to run): state" in text
    assert report["ops"]["FULLY_CONNECTED"]["count"] == 1       # only signature 'step' has one
    assert report["ops"]["CALL_ONCE"]["count"] == 2 and report["supported"]
    assert all(e["folded"] == 0 for op, e in report["ops"].items() if op.endswith("VARIABLE"))


CLASS_DRIVER = r"""
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include "m.h"

// DIR/in.bin holds FRAMES inputs; the stream runs twice, with Reset() between, through
// the C++ class, and DIR/out.bin gets the 2 x FRAMES outputs.
int main(int, char** argv) {
  const std::string dir = argv[1];
  const int frames = std::atoi(argv[2]);
  void* arena = std::aligned_alloc(64, (dlcoder::m::kArenaBytes + 63) / 64 * 64);
  dlcoder::m model(arena);
  const size_t in_bytes = dlcoder::m::kInput0Elements * sizeof(*model.input_0());
  const size_t out_bytes = dlcoder::m::kOutput0Elements * sizeof(*model.output_0());
  FILE* in = std::fopen((dir + "/in.bin").c_str(), "rb");
  FILE* out = std::fopen((dir + "/out.bin").c_str(), "wb");
  for (int pass = 0; pass < 2; ++pass) {
    std::fseek(in, 0, SEEK_SET);
    if (pass == 1 && model.Reset() != 0) return 70;
    for (int f = 0; f < frames; ++f) {
      if (std::fread(model.input_0(), 1, in_bytes, in) != in_bytes) return 71;
      if (model.Run() != 0) return 72;
      std::fwrite(model.output_0(), 1, out_bytes, out);
    }
  }
  std::fclose(out);
  return 0;
}
"""


def test_cpp_class_constructor_resets_and_reset_restarts_the_stream(tmp_path):
    model = STATE / "stream_conv1d_int8.tflite"
    g, _ = _build(model, tmp_path)
    src = tmp_path / "driver.cc"
    src.write_text(CLASS_DRIVER)
    exe = str(tmp_path / "driver")
    V.compile_library(str(tmp_path / "lib"), "m", exe, extra_sources=[str(src)])
    frames = stream_frames(model, 12, seed=9)
    with open(tmp_path / "in.bin", "wb") as f:
        for frame in frames:
            f.write(np.ascontiguousarray(frame[0]).tobytes())
    res = subprocess.run([exe, str(tmp_path), str(len(frames))], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    refs = tflite_stream(model, frames)
    out = g.tensors[g.outputs[0]]
    got = np.fromfile(tmp_path / "out.bin", dtype=out.dtype).reshape(2, len(frames), *out.shape)
    _assert_stream_equal([[y] for y in got[0]], refs, "after the constructor")
    _assert_stream_equal([[y] for y in got[1]], refs, "after Reset()")
