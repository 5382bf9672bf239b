"""Generated sources of two tiny models, compared byte for byte with tests/golden/.
After an intended change of the output, run `python3 tests/golden/refresh.py` and review
the diff.

The golden sources are also compiled, as committed, with the current runtime headers and
the weight blob their digest names, and run against the TFLite interpreter: a golden copy
that no longer builds or computes the right thing fails here too."""
import hashlib
import sys

import pytest

from dlcoder import compiler, verify as V
from support import TESTS

sys.path.insert(0, str(TESTS / "golden"))
import refresh  # noqa: E402


@pytest.mark.parametrize("name", sorted(refresh.MODELS))
def test_generated_sources_match_golden(name):
    folder = TESTS / "golden" / name
    want = {p.name: p.read_bytes() for p in folder.iterdir()}
    got = refresh.golden_files(name)
    assert sorted(got) == sorted(want)
    for rel in sorted(got):
        assert got[rel] == want[rel], (f"{rel} differs from tests/golden/{name}; if the change is "
                                       f"intended, run python3 tests/golden/refresh.py")


@pytest.mark.parametrize("name", sorted(refresh.MODELS))
def test_golden_sources_compile_and_match_tflite(name, tmp_path):
    folder = TESTS / "golden" / name
    model = refresh.MODELS[name]
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, name, "golden")
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix != ".sha256"}
    assert sorted(files) == [f"{name}.cc", f"{name}.h", f"{name}_arena.cc", f"{name}_weights.S"]
    blob = lib.files[f"{name}_weights.bin"]
    digest = (folder / f"{name}_weights.bin.sha256").read_text().strip()
    assert hashlib.sha256(blob).hexdigest() == digest, "the golden blob digest is stale"
    files[f"{name}_weights.bin"] = blob
    files.update({rel: data for rel, data in lib.files.items() if rel.startswith("dlcoder_rt/")})
    compiler.write_files(files, str(tmp_path / "lib"))
    exe = V.build_runner(str(tmp_path / "lib"), name, str(tmp_path))
    inputs = V.random_inputs(g0, seed=5)
    ours, _ = V.run_runner(exe, g, inputs, str(tmp_path))
    refs, _ = V.reference_run(str(model), inputs)
    assert len(ours) == len(refs) == len(g0.outputs)
    for k, (o, r) in enumerate(zip(ours, refs)):
        c = V.compare(o, r, k)
        assert c.ok, f"golden {name} output {k}: relative error {c.relative} {c.detail}"
