"""Optional threads (NAME_run_threads, parallel.h): outputs are bit-identical for every
thread count and task order, and still match TFLite; the extra scratch is accounted for.
The libraries are built with DLCODER_RT_MIN_TASK_MACS=1, so that every kernel of these
small models splits into as many tasks as there are threads (rows, or GEMM panels); each
model is built twice, with -O2 and with ThreadSanitizer (-O1), where any report fails.

Split work must really run on several threads, or the byte comparisons and TSan prove
nothing: on a small model the calling thread can take every task before a worker wakes.
So the runner here (SPLIT_MAIN) wraps dlcoder_rt::ThreadPool's parallel-for: it counts the
tasks each thread runs, and the first min(n, threads) tasks of every job wait for each
other, so each job with n > 1 tasks runs on that many threads at once; the runner writes
the counts to thread_stats.txt and the tests check them. thread_pool.h needs no change for
this: the wrapper is the dlcoder_parallel_for the library calls. A last test runs the pool
as it ships (no wrapper barrier, the default DLCODER_RT_MIN_TASK_MACS) on a model large
enough that its convolutions split, and requires a worker thread to have run some tasks."""
import subprocess
import sys

import numpy as np
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

SPLIT_MAIN = r'''
// The runner of test_threads.py: reads DIR/input_<i>.bin, runs m through a
// dlcoder_rt::ThreadPool of --threads N threads, writes DIR/output_<i>.bin and
// DIR/thread_stats.txt (jobs, tasks per thread). The parallel-for wraps ThreadPool::Run:
// by default the first min(n, threads) tasks of a job wait for each other (a barrier), so
// a job of n > 1 tasks runs on that many threads at once; with --natural SECONDS there is
// no barrier and the model runs again until a worker thread has run a task (or SECONDS pass).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "m.h"
#include "dlcoder_rt/thread_pool.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxThreads = 64;
constexpr double kBarrierSeconds = 120.0;   // a barrier never met is a pool that lost a task

std::atomic<int> g_next_thread{0};
thread_local int t_thread = -1;
int thread_index() {
  if (t_thread < 0) t_thread = g_next_thread.fetch_add(1);
  return t_thread;
}

std::atomic<long> g_tasks[kMaxThreads];
std::atomic<bool> g_barrier_timeout{false};
bool g_barrier = true;
// the caller's thread only
long g_jobs = 0, g_split = 0, g_max_n = 0, g_spread = 0, g_short = 0;

struct Job {
  dlcoder_task_fn fn;
  void* ctx;
  int32_t k;                        // tasks that must run at once
  std::atomic<int32_t> arrived{0};
  std::atomic<uint64_t> threads{0};  // bit per thread that ran a task
};

void counted_task(void* p, int32_t t) {
  Job* job = static_cast<Job*>(p);
  const int me = thread_index();
  g_tasks[me].fetch_add(1);
  job->threads.fetch_or(uint64_t{1} << me);
  if (g_barrier && job->arrived.fetch_add(1) + 1 <= job->k) {
    const auto t0 = Clock::now();
    while (job->arrived.load() < job->k) {
      if (std::chrono::duration<double>(Clock::now() - t0).count() > kBarrierSeconds) {
        g_barrier_timeout.store(true);
        break;
      }
      std::this_thread::yield();
    }
  }
  job->fn(job->ctx, t);
}

void counted_parallel_for(void* user, int32_t n, dlcoder_task_fn fn, void* ctx) {
  auto* pool = static_cast<dlcoder_rt::ThreadPool*>(user);
  Job job;
  job.fn = fn;
  job.ctx = ctx;
  job.k = std::min<int32_t>(n, pool->threads());
  pool->Run(n, counted_task, &job);
  ++g_jobs;
  g_max_n = std::max<long>(g_max_n, n);
  if (n > 1) {
    ++g_split;
    const int used = __builtin_popcountll(job.threads.load());
    if (used >= 2) ++g_spread;
    if (used < job.k) ++g_short;
  }
}

bool read_file(const std::string& path, void* dst, size_t n) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  const size_t got = std::fread(dst, 1, n, f);
  std::fclose(f);
  return got == n;
}

bool write_file(const std::string& path, const void* src, size_t n) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const size_t put = std::fwrite(src, 1, n, f);
  std::fclose(f);
  return put == n;
}

void* aligned(size_t n) { return std::aligned_alloc(64, (n + 63) / 64 * 64 + 64); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 64;
  const std::string dir = argv[1];
  int threads = 1;
  double natural = -1;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--threads") threads = std::atoi(argv[++i]);
    else if (std::string(argv[i]) == "--natural") natural = std::atof(argv[++i]);
  }
  g_barrier = natural < 0;
  thread_index();                                   // the calling thread is thread 0
  dlcoder_rt::ThreadPool pool(threads);
  const int ni = m_num_inputs(), no = m_num_outputs();
  std::vector<void*> in(ni), out(no);
  for (int i = 0; i < ni; ++i) {
    in[i] = aligned(m_input_size(i));
    if (!read_file(dir + "/input_" + std::to_string(i) + ".bin", in[i], m_input_size(i))) return 65;
  }
  for (int i = 0; i < no; ++i) out[i] = aligned(m_output_size(i));
  void* arena = aligned(m_arena_size_threads(threads));
  const dlcoder_parallel_for pfor = threads > 1 ? counted_parallel_for : nullptr;
  long runs = 0;
  const auto t0 = Clock::now();
  for (;;) {
    if (m_run_threads(in.data(), out.data(), arena, threads, pfor, &pool) != 0) return 66;
    if (++runs == 1)
      for (int i = 0; i < no; ++i)
        if (!write_file(dir + "/output_" + std::to_string(i) + ".bin", out[i], m_output_size(i))) return 67;
    long worker = 0;
    for (int t = 1; t < kMaxThreads; ++t) worker += g_tasks[t].load();
    if (natural < 0 || worker > 0 ||
        std::chrono::duration<double>(Clock::now() - t0).count() > natural) break;
  }
  if (g_barrier_timeout.load()) {
    std::fprintf(stderr, "the tasks of a job never all ran at once: a task was lost\n");
    return 68;
  }
  int used = 0;
  long worker = 0;
  for (int t = 0; t < kMaxThreads; ++t) {
    used += g_tasks[t].load() > 0;
    if (t > 0) worker += g_tasks[t].load();
  }
  FILE* f = std::fopen((dir + "/thread_stats.txt").c_str(), "w");
  if (!f) return 67;
  std::fprintf(f, "runs %ld jobs %ld split %ld max_n %ld spread %ld short %ld threads_used %d "
               "worker_tasks %ld caller_tasks %ld\n", runs, g_jobs, g_split, g_max_n, g_spread,
               g_short, used, worker, g_tasks[0].load());
  std::fclose(f);
  return 0;
}
'''


def build(model, work, cxx=None, flags=SPLIT_ALL):
    """Generates the library and builds it with SPLIT_MAIN as the runner."""
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, str(work / "lib"))
    (work / "split_main.cc").write_text(SPLIT_MAIN)
    exe = str(work / "runner")
    V.compile_library(str(work / "lib"), "m", exe, cxx=cxx, flags=(*V.for_this_cpu(flags, cxx), "-pthread"),
                      extra_sources=[str(work / "split_main.cc")])
    npz = model.with_suffix(".npz")
    inputs = load_npz_inputs(npz, g0) if npz.exists() else V.random_inputs(g0, seed=3)
    return exe, g, inputs


def thread_stats(work) -> dict:
    words = (work / "thread_stats.txt").read_text().split()
    return {k: int(v) for k, v in zip(words[::2], words[1::2])}


def check_split(stats: dict, threads: int) -> None:
    """Some kernel split, and every job of n > 1 tasks ran on min(n, threads) threads at once
    (the runner's barrier), so the run used more than one thread."""
    assert stats["split"] >= 1, f"no kernel split into tasks with {threads} threads: {stats}"
    assert stats["short"] == 0 and stats["spread"] == stats["split"], stats
    assert stats["threads_used"] >= min(stats["max_n"], threads) >= 2, stats
    assert stats["worker_tasks"] >= stats["split"], stats


@pytest.mark.parametrize("flags", [SPLIT_ALL, SPLIT_ALL_TSAN], ids=["O2", "tsan"])
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_every_thread_count_gives_the_same_bytes(model, flags, tmp_path, monkeypatch):
    sanitizer_env(monkeypatch)      # (for the TSan build)
    exe, g, inputs = build(model, tmp_path, flags=flags)
    serial, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=1)
    assert thread_stats(tmp_path)["jobs"] == 0      # no parallel-for: every kernel inline
    refs, _ = V.reference_run(str(model), inputs)
    assert len(serial) == len(refs)
    for k, (o, r) in enumerate(zip(serial, refs)):
        assert V.compare(o, r, k).ok
    for threads in (2, 3, 4):
        ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=threads)
        check_split(thread_stats(tmp_path), threads)
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
  // the C API: no hook means one thread; the built-in arena must suffice for the threads
  const void* in[] = {serial.input_0()};
  std::vector<float> out(Model::kOutput0Elements);
  void* outs[] = {out.data()};
  if (m_run_threads(in, outs, m_builtin_arena(), threads, nullptr, nullptr) != 0) return 16;
  if (std::memcmp(out.data(), serial.output_0(), out.size() * sizeof(float)) != 0) return 17;
  const int expect = extra != 0 ? 3 : 0;
  if (m_run_threads(in, outs, m_builtin_arena(), threads, backwards, &g_calls) != expect) return 18;
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
    check_split(thread_stats(tmp_path), 3)
    assert len(ours) == len(serial) and all(o.tobytes() == s.tobytes() for o, s in zip(ours, serial))
    refs, _ = V.reference_run(str(model), inputs)
    assert len(serial) == len(refs)
    assert all(V.compare(o, r, k).ok for k, (o, r) in enumerate(zip(serial, refs)))


def _large_conv_model(path):
    """Two 3x3 convolutions of 32 channels on a 48x48 map: about 21M multiply-adds each,
    far past DLCODER_RT_MIN_TASK_MACS (64k) per task, so each splits into 2 tasks of a
    millisecond or so at the default threshold."""
    sys.path.insert(0, str(TESTS / "models"))
    from make_op_models import HandModel
    rng = np.random.default_rng(7)
    m = HandModel()
    x = m.input((1, 48, 48, 32))
    for _ in range(2):
        w = (rng.standard_normal((32, 3, 3, 32)) / np.sqrt(288)).astype(np.float32)
        b = (rng.standard_normal(32) * 0.1).astype(np.float32)
        x = m.op("CONV_2D", [x, m.const(w), m.const(b)], [m.tensor((1, 48, 48, 32))],
                 "Conv2DOptions", Padding=0, StrideW=1, StrideH=1,   # SAME
                 FusedActivationFunction=1, DilationWFactor=1, DilationHFactor=1)  # RELU
    m.output(x)
    path.write_bytes(m.build())


def test_the_pool_as_shipped_splits_a_large_model(tmp_path):
    """The default task threshold and the pool without the runner's barrier: the model is
    run until a worker thread has run a task (at most 60 s; a task takes a millisecond, so
    a worker that wakes at all takes one within a few runs), and the outputs are the
    serial bytes and match TFLite."""
    model = tmp_path / "large_conv.tflite"
    _large_conv_model(model)
    exe, g, inputs = build(model, tmp_path, flags=("-O2",))
    assert [n.op for n in g.nodes] == ["CONV_2D", "CONV_2D"]
    serial, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=1)
    res = subprocess.run([exe, str(tmp_path), "--threads", "2", "--natural", "60"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    stats = thread_stats(tmp_path)
    assert stats["split"] >= 2 * stats["runs"] and stats["max_n"] == 2, stats
    assert stats["worker_tasks"] > 0, f"the calling thread ran every task: {stats}"
    ours = [np.fromfile(tmp_path / "output_0.bin", np.float32).reshape(serial[0].shape)]
    assert ours[0].tobytes() == serial[0].tobytes()
    refs, _ = V.reference_run(str(model), inputs)
    assert V.compare(serial[0], refs[0]).ok


def test_quantized_depthwise_rows_split_the_same_way(tmp_path):
    """int8 DEPTHWISE_CONV_2D (simd_qdepthwise.h) splits its output rows over batch 2: a
    channel tail, the pixels side by side of 8 channels and the border columns give the
    same bytes with every thread count."""
    sys.path.insert(0, str(TESTS / "models"))
    import test_quantized_linear as TQL
    with TQL.one_model() as shared:
        TQL._conv_model(np.int8, (2, 9, 10, 21), (1, 3, 3, 21), (1, 1), (1, 1), "SAME", "RELU6", True, True, seed=1)
        TQL._conv_model(np.int8, (2, 7, 13, 8), (1, 5, 5, 8), (1, 1), (1, 1), "SAME", "NONE", True, True, seed=2)
    model = tmp_path / "dw.tflite"
    model.write_bytes(shared.build())
    exe, g, inputs = build(model, tmp_path)
    serial, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=1)
    refs, _ = V.reference_run(str(model), inputs)
    for o, r in zip(serial, refs):
        assert o.tobytes() == r.tobytes()
    for threads in (2, 3, 4):
        ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=threads)
        check_split(thread_stats(tmp_path), threads)
        for k, (o, s) in enumerate(zip(ours, serial)):
            assert o.tobytes() == s.tobytes(), f"output {k} differs with {threads} threads"


@pytest.mark.parametrize("flags", [SPLIT_ALL, SPLIT_ALL_TSAN], ids=["O2", "tsan"])
def test_int8_batch_matmul_splits_its_row_tiles(flags, tmp_path, monkeypatch):
    """The int8 BATCH_MATMUL (qbatchmatmul.h) splits each batch's tiles of rows: 37 rows
    are 5 tiles of the AVX-512 kernel (10 of AVX2's), on every thread count the same bytes."""
    sys.path.insert(0, str(TESTS / "models"))
    from op_hand import HandModel
    m = HandModel()
    a = m.input((2, 37, 19), np.int8, quant=(0.03, 5))
    b = m.input((2, 19, 21), np.int8, quant=(0.04, -2))
    y = m.output(m._tensor((2, 37, 21), np.int8, quant=(0.2, 3)))
    m.op("BATCH_MATMUL", [a, b], [y], "BatchMatMulOptions", AdjX=False, AdjY=False)
    model = tmp_path / "bmm_int8.tflite"
    model.write_bytes(m.build())
    test_every_thread_count_gives_the_same_bytes(model, flags, tmp_path, monkeypatch)


@pytest.mark.parametrize("flags", [SPLIT_ALL, SPLIT_ALL_TSAN, (*SPLIT_ALL, "-DDLCODER_RT_FORCE_AMX=0")],
                         ids=["O2", "tsan", "no_amx"])
def test_quantized_gemms_split_into_the_same_bytes(flags, tmp_path, monkeypatch):
    """int8 and uint8 CONV_2D and FULLY_CONNECTED (the AMX kernels where the CPU has them,
    else and with no_amx the VNNI ones, simd_qamx.h / simd_qlinear.h): split by row blocks,
    and by panels where a GEMM has fewer row blocks than threads (FCs of a few rows), they give
    the serial bytes for every thread count, and TFLite's."""
    import test_quantized_isa as TQI
    sanitizer_env(monkeypatch)
    monkeypatch.setattr(TQI, "CASES", {k: v for k, v in TQI.CASES.items() if k.startswith(("conv_", "fc_"))})
    model = tmp_path / "gemms.tflite"
    TQI.build_cases(model)
    exe, g, inputs = build(model, tmp_path, flags=flags)
    serial, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=1)
    refs, _ = V.reference_run(str(model), inputs)
    assert [s.tobytes() for s in serial] == [r.tobytes() for r in refs]
    for threads in (2, 3):
        ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=threads)
        check_split(thread_stats(tmp_path), threads)
        for k, (o, s) in enumerate(zip(ours, serial)):
            assert o.tobytes() == s.tobytes(), f"output {k} differs with {threads} threads"


@pytest.mark.parametrize("flags", [SPLIT_ALL, SPLIT_ALL_TSAN], ids=["O2", "tsan"])
def test_quantized_elementwise_ranges_split_the_same_way(flags, tmp_path, monkeypatch):
    """Quantized ADD, SUB, MUL and SQUARED_DIFFERENCE (qelementwise.h, simd_qelementwise.h)
    split their output into ranges cut inside broadcast runs, TFLite's vector blocks and a
    repeated per-channel operand's buffer: the kernel cases of test_quantized_elementwise.py
    (int8, uint8, int16, ties) give the same bytes on every thread count."""
    from test_quantized_elementwise import build_kernel_model
    model = tmp_path / "kernels.tflite"
    inputs, _ = build_kernel_model(model)
    np.savez(model.with_suffix(".npz"), **{f"input_{i}": x for i, x in enumerate(inputs)})
    test_every_thread_count_gives_the_same_bytes(model, flags, tmp_path, monkeypatch)


@pytest.mark.parametrize("flags", [SPLIT_ALL, SPLIT_ALL_TSAN, (*SPLIT_ALL, "-DDLCODER_RT_FORCE_AMX=0")],
                         ids=["O2", "tsan", "no_amx"])
def test_hybrid_ops_split_into_the_same_bytes(flags, tmp_path, monkeypatch):
    """The dynamic-range CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (qhybrid.h on the
    int8 GEMMs and depthwise kernels, float epilogues; the kernel cases of
    test_quantized_hybrid.py): the serial bytes on every thread count, and TFLite's."""
    from test_quantized_hybrid import build_isa_model
    sanitizer_env(monkeypatch)
    model = tmp_path / "hybrid.tflite"
    inputs = build_isa_model(model)
    np.savez(model.with_suffix(".npz"), **{f"input_{i}": x for i, x in enumerate(inputs)})
    exe, g, inputs = build(model, tmp_path, flags=flags)
    serial, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=1)
    refs, _ = V.reference_run(str(model), inputs)
    assert [s.tobytes() for s in serial] == [r.tobytes() for r in refs]
    for threads in (2, 3):
        ours, _ = V.run_runner(exe, g, inputs, str(tmp_path), threads=threads)
        check_split(thread_stats(tmp_path), threads)
        for k, (o, s) in enumerate(zip(ours, serial)):
            assert o.tobytes() == s.tobytes(), f"output {k} differs with {threads} threads"
