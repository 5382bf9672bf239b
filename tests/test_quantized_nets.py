"""Quantized models of real architectures that dlcoder was not developed against
(tests/models/quantized_nets/, made by make_quantized_net_models.py with the TF converter):
MobileNetV3Small and V2, EfficientNet, ResNet v1 and v2, a DenseNet, ConvNeXt, a DS-CNN
keyword spotter, a U-Net, a YOLO-tiny-like detector, ESPCN, a MobileFaceNet-like embedder,
a siamese net, an autoencoder, a ViT encoder, a 1-D conv audio model, LSTM / GRU text
models, int16x8 and dynamic-range models; index.json has a line on each.

Each model is compiled once (C++ at -O1, see BUILD_FLAGS) and run on every input set of
its .npz (random over the whole range, the dtype's extremes, the zero point, ...). Integer
outputs must equal TFLite's builtin kernels byte for byte; float outputs must stay within
verify.float_bound.

index.json records, per model, the truth as of the last run:
- "match": as above;
- "refused: <text>": compile_graph raises DlcoderError containing <text>;
- "differs: <first differing op, how>": a known mismatch. The test is then a strict xfail:
  once the op is fixed it XPASSes, which fails, so the entry must be updated to "match"
  (edit EXPECT in the generator and rerun it, or edit index.json).
"""
import json
import os

import numpy as np
import pytest

from dlcoder import compiler, verify as V
from dlcoder.errors import DlcoderError
from support import TESTS

HERE = TESTS / "models" / "quantized_nets"
INDEX = json.loads((HERE / "index.json").read_text())
# -O1: the C++ build is most of each case's time, and -O2 takes about 2.5x as long on the
# dynamic-range kernels; the arithmetic is the same (no -ffast-math at either level).
BUILD_FLAGS = ("-O1",)


def input_sets(path, g):
    data = np.load(path)
    n_sets = len({k.split("_", 1)[0] for k in data.files if k.startswith("set")})
    return [[np.asarray(data[f"set{j}_input_{k}"]).astype(g.tensors[t].dtype)
             for k, t in enumerate(g.inputs)] for j in range(n_sets)]


def compare_all(name, work):
    """Compile once, run every input set; the list of failures (empty when all match)."""
    path = HERE / f"{name}.tflite"
    g0 = compiler.load_graph(str(path))
    lib, g = compiler.compile_graph(g0, "m")
    lib_dir = os.path.join(work, "lib")
    compiler.write_library(lib, lib_dir)
    exe = V.build_runner(lib_dir, "m", str(work), flags=BUILD_FLAGS)
    failures = []
    for j, inputs in enumerate(input_sets(HERE / f"{name}.npz", g0)):
        ours, _ = V.run_runner(exe, g, inputs, str(work))
        refs, _ = V.reference_run(str(path), inputs)
        assert len(ours) == len(refs)
        bound = V.float_bound(str(path), inputs, refs)
        for k, (o, r) in enumerate(zip(ours, refs)):
            if np.issubdtype(r.dtype, np.floating):
                c = V.compare(o, r, k, bound=bound)
                if not c.ok:
                    failures.append(f"set {j} output {k} ({r.dtype}): relative error "
                                    f"{c.relative:.3g} > {bound:.3g} {c.detail}")
            elif o.shape != r.shape or o.dtype != r.dtype or o.tobytes() != r.tobytes():
                diff = np.abs(o.astype(np.int64) - r.astype(np.int64)) if o.shape == r.shape \
                    else np.array([-1])
                failures.append(f"set {j} output {k} ({r.dtype} {list(r.shape)}): "
                                f"{int(np.count_nonzero(diff))} of {r.size} differ, by up to "
                                f"{int(diff.max())} LSB")
    return failures


def _params():
    for name, entry in INDEX.items():
        marks = ()
        if entry["expect"].startswith("differs"):
            marks = pytest.mark.xfail(strict=True, reason=entry["expect"])
        yield pytest.param(name, id=name, marks=marks)


@pytest.mark.parametrize("name", _params())
def test_quantized_net(name, tmp_path):
    expect = INDEX[name]["expect"]
    if expect.startswith("refused: "):
        reason = expect[len("refused: "):]
        with pytest.raises(DlcoderError) as err:
            compiler.compile_graph(compiler.load_graph(str(HERE / f"{name}.tflite")), "m")
        assert reason in str(err.value), str(err.value)
        return
    failures = compare_all(name, tmp_path)
    assert not failures, f"{name}: " + "; ".join(failures)


def test_index_lists_every_model():
    on_disk = {p.stem for p in HERE.glob("*.tflite")}
    assert on_disk == set(INDEX), on_disk ^ set(INDEX)
    for name, entry in INDEX.items():
        assert entry["description"], name
        expect = entry["expect"]
        assert expect == "match" or expect.startswith(("refused: ", "differs: ")), (name, expect)
        assert (HERE / f"{name}.npz").exists(), name
