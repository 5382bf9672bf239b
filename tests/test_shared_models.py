"""End to end on the float models of the shared benchmark suite: generate, compile, run,
compare with the TFLite builtin kernels. Bound: max|ours - tflite| / max(1, max|tflite|)
<= 1e-4, or twice the disagreement between TFLite's own two backends where that is larger.
Each model runs twice: built with -O2, and with AddressSanitizer and UBSan (-O1, inputs,
outputs and arena allocated at their exact sizes, 1 and 2 threads), where any report fails."""
import numpy as np
import pytest

from dlcoder import compiler, verify as V
from support import (SHARED_MODELS, check_against_tflite, check_sanitized, require_shared,
                     sanitizer_env)

FLOAT_MODELS = [
    "lenet5_f32", "mobilenet_v1_025_f32", "mobilenet_v2_100_224_f32", "mobilenet_v2_100_224_f16",
    "mobilenet_v3_small_224_f32", "efficientnet_b0_224_f32", "transformer_enc_f32", "lstm_text_f32",
]


@pytest.fixture(autouse=True)
def shared_suite():
    require_shared()


def backend_disagreement(model, inputs) -> float:
    builtin, _ = V.reference_run(str(model), inputs)
    xnn, _ = V.reference_run(str(model), inputs, xnnpack=True)
    return max(V.compare(a, b).relative for a, b in zip(xnn, builtin))


@pytest.mark.parametrize("build", ["O2", "asan_ubsan"])
@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_shared_float_model(name, build, tmp_path, monkeypatch):
    model = SHARED_MODELS / f"{name}.tflite"
    g = compiler.load_graph(str(model))
    inputs = V.random_inputs(g, seed=7)
    if name.startswith(("mobilenet_v3", "efficientnet")):   # these expect pixels in [0, 255]
        inputs = [np.random.default_rng(7).uniform(0, 255, x.shape).astype(np.float32) for x in inputs]
    bound = max(V.FLOAT_BOUND, 2 * backend_disagreement(model, inputs))
    if build == "O2":
        report, lib = check_against_tflite(model, tmp_path, inputs=inputs, bound=bound)
    else:
        sanitizer_env(monkeypatch)
        report, lib = check_sanitized(model, tmp_path, inputs, bound=bound)
    print(f"{name}: relative error {[c.relative for c in report]}, bound {bound:.3g}, "
          f"arena {lib.arena_bytes} B, weights {lib.weight_bytes} B")


# The quantized models: integer outputs byte for byte, float outputs (dynamic-range) within
# the float bound. Inputs span the whole integer range, with -128, 127 and the zero point
# planted at the start of every input.
QUANTIZED_MODELS = [
    "lenet5_int8", "mobilenet_v1_025_int8", "mobilenet_v2_100_224_int8", "efficientnet_b0_224_int8",
    "transformer_enc_int8", "mobilenet_v2_100_224_dq8",
]


def quantized_inputs(g, seed: int) -> list:
    inputs = V.random_inputs(g, seed=seed)
    for x, t in zip(inputs, g.inputs):
        q = g.tensors[t].quant
        if q is not None and x.dtype != np.float32:
            info = np.iinfo(x.dtype)
            x.reshape(-1)[:3] = [info.min, info.max, q.zero_point[0]]
    return inputs


@pytest.mark.parametrize("name", QUANTIZED_MODELS)
def test_shared_quantized_model(name, tmp_path):
    model = SHARED_MODELS / f"{name}.tflite"
    g = compiler.load_graph(str(model))
    inputs = quantized_inputs(g, seed=3)
    bound = max(V.FLOAT_BOUND, 2 * backend_disagreement(model, inputs))
    report, lib = check_against_tflite(model, tmp_path, inputs=inputs, bound=bound)
    for c in report:
        if c.dtype != "float32":
            assert c.relative == 0, f"{c.relative:.0f} elements differ, by up to {c.max_abs} LSB"
    print(f"{name}: {[(c.dtype, c.relative) for c in report]}, arena {lib.arena_bytes} B, "
          f"weights {lib.weight_bytes} B")
