"""Optional threads (NAME_run_threads, parallel.h): outputs are bit-identical for every
thread count and task order, and still match TFLite; the extra scratch is accounted for.
The libraries are built with DLCODER_RT_MIN_TASK_MACS=1, so that every kernel of these
small models splits into as many tasks as there are threads (rows, or GEMM panels); each
model is built twice, with -O2 and with ThreadSanitizer (-O1), where any report fails."""
import subprocess

import pytest

from dlcoder import compiler, verify as V
from support import TESTS, TSAN_FLAGS, aarch64_toolchain, load_npz_inputs, sanitizer_env

CONTRACT = TESTS / "models" / "contract"
OPS = TESTS / "models" / "ops"
# every kernel that splits work: GEMM by rows and by panels, implicit and narrow convs
# (with batch 2), depthwise, the expand/depthwise/project chains, FC, elementwise ops over
# broadcast loops (ranges cut inside runs), concatenations (rows)
MODELS = [CONTRACT / "isa_coverage.tflite"] + [OPS / f"{n}.tflite" for n in (
    "net_conv_dw_residual_fc", "net_hardswish_squeeze_excite", "net_attention_block",
    "conv_3x3_valid_s2_batch2", "net_resnet_basic_batch2", "net_resnet_bottleneck", "net_expand_dw_c136",
    "sub_nhwc_c3_channel_mean", "sub_c5_vector_minus_nhwc", "mul_nhwc_c7_relu",
    "conv_3x3_same_cin17_cout33", "fc_batch3_relu6", "add_4d_bcast", "add_6d_bcast",
    "add_relu6_bcast", "net_conv3x3_c12_residual", "net_se_project", "conv_3x3_same_s2_cin3_cout8_w37",
    "conv_3x3_valid_dil2x1_batch2_cout7", "concat_4d_axis3", "concat_axis1_3in")] + [TESTS / "models" / "rnn" / "lstm_no_activation_long.tflite"] + [
    TESTS / "models" / "winograd" / f"{n}.tflite" for n in (   # (tile block, channels) units
        "wino_same_b2_17x16_c65_c48", "wino_same_27x25_c20_c40_relu6",
        # one block of one channel group: cut into as many blocks as there are threads
        "wino_same_24x24_c16_c32_relu", "wino_valid_34x30_c17_c16")]


SPLIT_ALL = ("-O2", "-DDLCODER_RT_MIN_TASK_MACS=1")
SPLIT_ALL_TSAN = (*TSAN_FLAGS, "-DDLCODER_RT_MIN_TASK_MACS=1")


def build(model, work, cxx=None, flags=SPLIT_ALL):
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, str(work / "lib"))
    exe = V.build_runner(str(work / "lib"), "m", str(work), cxx=cxx, flags=flags)
    npz = model.with_suffix(".npz")
    inputs = load_npz_inputs(npz, g0) if npz.exists() else V.random_inputs(g0, seed=3)
    return exe, g, inputs


@pytest.mark.parametrize("flags", [SPLIT_ALL, SPLIT_ALL_TSAN], ids=["O2", "tsan"])
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_every_thread_count_gives_the_same_bytes(model, flags, tmp_path, monkeypatch):
    sanitizer_env(monkeypatch)      # (for the TSan build)
    exe, g, inputs = build(model, tmp_path, flags=flags)
    serial, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=1)
    refs, _ = V.reference_run(str(model), inputs)
    for k, (o, r) in enumerate(zip(serial, refs)):
        assert V.compare(o, r, k).ok
    for threads in (2, 3, 4):
        ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=threads)
        for k, (o, s) in enumerate(zip(ours, serial)):
            assert o.tobytes() == s.tobytes(), f"output {k} differs with {threads} threads"


HOOK_MAIN = r'''
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "m.h"

// A parallel-for that runs the tasks backwards on the calling thread and counts them.
static int g_calls = 0, g_tasks = 0, g_max_n = 0;
static void backwards(void* user, int32_t n, dlcoder_task_fn fn, void* ctx) {
  if (user != &g_calls) std::abort();
  ++g_calls;
  g_tasks += n;
  if (n > g_max_n) g_max_n = n;
  for (int32_t t = n - 1; t >= 0; --t) fn(ctx, t);
}

int main() {
  using Model = dlcoder::m;
  const int threads = 4;
  const size_t extra = m_arena_size_threads(threads) - m_arena_size();
  if (m_arena_size_threads(1) != m_arena_size()) return 10;
  if (extra != Model::kSecondThreadBytes + 2 * Model::kTaskScratchBytes) return 11;
  if (Model::ArenaBytes(threads) != Model::kArenaBytes + extra) return 12;
  void* a1 = std::aligned_alloc(64, (Model::kArenaBytes + 63) / 64 * 64);
  // a guard past the arena that no task may write
  const size_t guard = 4096, size = (Model::ArenaBytes(threads) + 63) / 64 * 64;
  unsigned char* a4 = static_cast<unsigned char*>(std::aligned_alloc(64, size + guard));
  // the task scratch starts dirty: a task must not rely on zeroed scratch
  std::memset(a4, 0x7f, size + guard);
  Model serial(a1), split(a4);
  for (size_t i = 0; i < Model::kInput0Elements; ++i)
    serial.input_0()[i] = split.input_0()[i] = float((i * 7919) % 101) / 50.0f - 1.0f;
  if (serial.Run() != 0) return 13;
  if (split.Run(threads, backwards, &g_calls) != 0) return 14;
  if (std::memcmp(serial.output_0(), split.output_0(), Model::kOutput0Elements * sizeof(float)) != 0) return 15;
  for (size_t i = Model::ArenaBytes(threads); i < size + guard; ++i)
    if (a4[i] != 0x7f) return 19;
  // the C API: no hook means one thread; threads without an arena need the built-in one to suffice
  const void* in[] = {serial.input_0()};
  std::vector<float> out(Model::kOutput0Elements);
  void* outs[] = {out.data()};
  if (m_run_threads(in, outs, nullptr, threads, nullptr, nullptr) != 0) return 16;
  if (std::memcmp(out.data(), serial.output_0(), out.size() * sizeof(float)) != 0) return 17;
  const int expect = extra != 0 ? 3 : 0;
  if (m_run_threads(in, outs, nullptr, threads, backwards, &g_calls) != expect) return 18;
  std::printf("calls %d tasks %d max %d\n", g_calls, g_tasks, g_max_n);
  return 0;
}
'''


def test_tasks_in_any_order_through_the_class_and_the_c_api(tmp_path):
    model = OPS / "net_conv_dw_residual_fc.tflite"   # one input, one output
    g0 = compiler.load_graph(str(model))
    assert len(g0.inputs) == 1 and len(g0.outputs) == 1
    lib, _ = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, str(tmp_path / "lib"))
    main = tmp_path / "main.cc"
    main.write_text(HOOK_MAIN)
    exe = tmp_path / "main"
    V.compile_library(str(tmp_path / "lib"), "m", str(exe), flags=SPLIT_ALL, extra_sources=[str(main)])
    res = subprocess.run([str(exe)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    calls, tasks, most = (int(x) for x in res.stdout.split()[1::2])
    # every splitting kernel split, never into more tasks than threads
    assert calls >= 2 and tasks > calls and most == 4, res.stdout


def test_thread_pool_on_aarch64(tmp_path):
    cxx, emu = aarch64_toolchain()
    model = MODELS[1]
    exe, g, inputs = build(model, tmp_path, cxx=cxx)
    serial, _ = V.run_runner(exe, g, inputs, str(tmp_path), emulator=emu, threads=1)
    ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), emulator=emu, threads=3)
    assert all(o.tobytes() == s.tobytes() for o, s in zip(ours, serial))
    refs, _ = V.reference_run(str(model), inputs)
    assert all(V.compare(o, r, k).ok for k, (o, r) in enumerate(zip(serial, refs)))
