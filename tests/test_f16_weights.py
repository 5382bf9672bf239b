"""Float16 weights kept as float16 (passes/weight_layout.py, ops/_gemm.py: packed_weights):
the GEMM kernels widen them in registers, exactly, so the outputs are bit-identical to the
--weights-f32 build's, on every instruction-set path, and agree with TFLite; the weight
blob is about half. The models: tests/models/f16/ (make_f16_models.py) and the shared
suite's MobileNet v2 with float16 weights."""
import re
import subprocess

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from models.op_hand import HandModel
from support import SHARED_MODELS, TESTS, aarch64_toolchain, require_shared
from test_isa import X86_ISAS, x86_isa

F16 = TESTS / "models" / "f16"
MODELS = [F16 / "f16_conv_net.tflite", F16 / "f16_mlp.tflite"]
MOBILENET = SHARED_MODELS / "mobilenet_v2_100_224_f16.tflite"
ROOT = TESTS.parent


def build_and_run(model, work, weights_f32, flags=("-O2",), cxx=None, emulator=()):
    """(outputs, library, compiled graph) of one build on the inputs of seed 5."""
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, "m", weights_f32=weights_f32)
    compiler.write_library(lib, str(work / "lib"))
    exe = V.build_runner(str(work / "lib"), "m", str(work), cxx=cxx, flags=flags)
    outs, _ = V.run_runner(exe, g, V.random_inputs(g0, seed=5), str(work), emulator=emulator)
    return outs, lib, g


def check_both_builds(model, tmp_path, **kw):
    """The float16 build against the float32 one (bit for bit) and against TFLite."""
    (tmp_path / "f16").mkdir()
    (tmp_path / "f32").mkdir()
    half, lib16, g16 = build_and_run(model, tmp_path / "f16", False, **kw)
    full, lib32, _ = build_and_run(model, tmp_path / "f32", True, **kw)
    assert any(n.attrs.get("weights_f16") for n in g16.nodes), f"{model.name}: no float16 weights kept"
    assert b"uint16_t" in lib16.files["m.cc"] and b"uint16_t" not in lib32.files["m.cc"]
    for k, (a, b) in enumerate(zip(half, full)):
        assert a.tobytes() == b.tobytes(), f"{model.name} output {k}: float16 and float32 weights differ"
    refs, _ = V.reference_run(str(model), V.random_inputs(compiler.load_graph(str(model)), seed=5))
    for k, (o, r) in enumerate(zip(half, refs)):
        c = V.compare(o, r, k)
        assert c.ok, f"{model.name} output {k}: relative error {c.relative} against TFLite"
    return lib16, lib32


@pytest.mark.parametrize("isa", sorted(X86_ISAS))
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_x86_paths_bit_identical_to_f32_weights(isa, model, tmp_path):
    check_both_builds(model, tmp_path, flags=("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}"))


@pytest.mark.parametrize("isa", ["neon", "scalar"])
def test_aarch64_paths_bit_identical_to_f32_weights(isa, tmp_path):
    flags = ("-O2",) if isa == "neon" else ("-O2", "-DDLCODER_RT_FORCE_ISA=0")
    cxx, emulator = aarch64_toolchain()
    for model in MODELS:
        work = tmp_path / model.stem
        work.mkdir()
        check_both_builds(model, work, flags=flags, cxx=cxx, emulator=emulator)


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_weight_blob_shrinks(model):
    """The float16 build's blob: about half the float32 one where the GEMM weights are
    most of it, and smaller wherever a GEMM reads float16 weights."""
    g0 = compiler.load_graph(str(model))
    half, _ = compiler.compile_graph(g0, "m")
    full, _ = compiler.compile_graph(g0, "m", weights_f32=True)
    size, _ = compiler.compile_graph(g0, "m", optimize_for="size")
    assert half.weight_bytes < 0.9 * full.weight_bytes
    assert size.weight_bytes < 0.62 * full.weight_bytes


def test_mobilenet_v2_f16(tmp_path):
    """The shared suite's float16 model: half the weight bytes, the same outputs."""
    require_shared()
    lib16, lib32 = check_both_builds(MOBILENET, tmp_path)
    assert lib16.weight_bytes < 0.55 * lib32.weight_bytes


def squeeze_excite_model(path):
    """A squeeze-excite gate's MUL (x * s[C]) feeding a 1x1 CONV_2D with float16 weights,
    which passes/fuse_input_scale.py folds into the conv (conv2d_1x1_scaled_f32): 24
    channels to 40 (two whole panels and half of one), and a second 1x1 conv on the same
    map, unscaled, so that both kinds read float16 panels. The gate is an input, the
    squeeze's output in a real model."""
    rng = np.random.default_rng(3)
    m = HandModel()
    x, gate = m.input((1, 14, 14, 24)), m.input((1, 1, 1, 24))
    scaled = m.tensor((1, 14, 14, 24))
    m.op("MUL", [x, gate], [scaled], "MulOptions", FusedActivationFunction=0)
    y = x
    for k, (src, oc, act) in enumerate(((scaled, 40, 3), (x, 17, 0))):
        w16 = m.const((rng.standard_normal((oc, 1, 1, 24)) / np.sqrt(24)).astype(np.float16))
        w = m.tensor((oc, 1, 1, 24))
        m.op("DEQUANTIZE", [w16], [w])
        y = m.tensor((1, 14, 14, oc))
        m.op("CONV_2D", [src, w, m.const(rng.standard_normal(oc).astype(np.float32) * 0.1)], [y],
             "Conv2DOptions", Padding=1, StrideW=1, StrideH=1, DilationWFactor=1, DilationHFactor=1,
             FusedActivationFunction=act)
        m.output(y)
    path.write_bytes(m.build())
    return path


@pytest.mark.parametrize("isa", ["native"] + sorted(X86_ISAS))
def test_scaled_conv_reads_float16_panels(isa, tmp_path):
    """A 1x1 conv that takes a squeeze-excite scale keeps its float16 weights: they are
    widened as the scaled copy is made, bit-identical to the float32 weights' build."""
    model = squeeze_excite_model(tmp_path / "se.tflite")
    flags = ("-O2",) if isa == "native" else ("-O2", f"-DDLCODER_RT_FORCE_ISA={x86_isa(isa)}")
    lib16, _ = check_both_builds(model, tmp_path, flags=flags)
    source = lib16.files["m.cc"].decode()
    assert re.search(r"conv2d_1x1_scaled_f32\(par, \w+, \w+, reinterpret_cast<const uint16_t\*>", source), source
    assert re.search(r"conv2d_1x1_f32\(par, \w+, \w+, reinterpret_cast<const uint16_t\*>", source), source


def test_float32_weights_are_never_stored_as_float16():
    """A float32 model whose weights all happen to be halves still gets float32 panels:
    only weights the model stores as float16 are kept so (fold_dequantize's mark)."""
    model = TESTS / "models" / "ops" / "fc_batch3_relu6.tflite"
    g0 = compiler.load_graph(str(model))
    g0 = g0.replace(tensors=tuple(t.replace(data=t.data.astype(np.float16).astype(np.float32))
                                  if t.data is not None and t.dtype == "float32" else t for t in g0.tensors))
    lib, g = compiler.compile_graph(g0, "m")
    assert not any(n.attrs.get("weights_f16") for n in g.nodes)
    assert b"uint16_t" not in lib.files["m.cc"]
    assert lib.files == compiler.compile_graph(g0, "m", weights_f32=True)[0].files


HALF_CHECK = r"""
#include <cmath>
#include <cstdio>
#include "dlcoder_rt/simd.h"
using namespace dlcoder_rt;
// every half through an ISA's load_half against the scalar half_to_float, bit for bit
// (NaN: a NaN; F16C quietens a signalling one); one function per ISA, compiled for it
#define DEFINE_CHECK(fn, W)                                                                  \
  int fn(const char* name) {                                                                 \
    alignas(64) uint16_t in[16];                                                             \
    alignas(64) float out[16];                                                               \
    int bad = 0;                                                                             \
    for (uint32_t h0 = 0; h0 < 65536; h0 += W::N) {                                          \
      for (int i = 0; i < W::N; ++i) in[i] = static_cast<uint16_t>(h0 + i);                  \
      W::store(out, W::load_half(in));                                                       \
      for (int i = 0; i < W::N; ++i) {                                                       \
        const float want = half_to_float(in[i]);                                             \
        const bool ok = std::isnan(want) ? std::isnan(out[i]) : std::memcmp(&want, &out[i], 4) == 0; \
        if (!ok && bad++ < 5) std::printf("%s: half 0x%04x -> %a, want %a\n", name, in[i], out[i], want); \
      }                                                                                      \
    }                                                                                        \
    return bad;                                                                              \
  }
DEFINE_CHECK(check_scalar, simd::Scalar)
#if defined(DLCODER_RT_X86)
DEFINE_CHECK(check_sse2, simd::Sse2)
DLCODER_RT_TARGET_BEGIN("avx2,fma,f16c")
DEFINE_CHECK(check_avx2, simd::Avx2)
DLCODER_RT_TARGET_END
DLCODER_RT_TARGET_BEGIN("avx512f,avx512vl,avx2,fma,f16c")
DEFINE_CHECK(check_avx512, simd::Avx512)
DLCODER_RT_TARGET_END
#elif defined(DLCODER_RT_NEON)
DEFINE_CHECK(check_neon, simd::Neon)
#endif
int main() {
  int bad = check_scalar("scalar");
#if defined(DLCODER_RT_X86)
  bad += check_sse2("sse2");
  if (runtime_isa() >= Isa::kAvx2) bad += check_avx2("avx2");
  if (runtime_isa() == Isa::kAvx512) bad += check_avx512("avx512");
#elif defined(DLCODER_RT_NEON)
  bad += check_neon("neon");
#endif
  std::printf("%d wrong\n", bad);
  return bad != 0;
}
"""


def test_every_half_widens_exactly(tmp_path):
    """Each ISA's load_half (simd.h) gives every one of the 65536 halves as half_to_float
    does: the SSE2 bit manipulation and F16C alike, subnormals, infinities and NaNs
    included."""
    src = tmp_path / "half_check.cc"
    src.write_text(HALF_CHECK)
    exe = tmp_path / "half_check"
    subprocess.run(["c++", "-std=c++17", "-O2", "-I", str(ROOT / "dlcoder" / "runtime"), str(src),
                    "-o", str(exe)], check=True)
    res = subprocess.run([str(exe)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout
