"""Regenerate the golden sources: python3 tests/golden/refresh.py

The golden files are the generated sources (not the copied runtime headers) of two tiny
models, so a change of the generator's output shows up in review as a diff here. The weight
blob is kept as its sha256 only; tests/test_golden.py compiles the golden sources with it
and the current runtime headers and runs them against the TFLite interpreter.
"""
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from dlcoder import compiler  # noqa: E402

MODELS = {"tiny_dense": HERE.parent / "models" / "contract" / "tiny_dense.tflite",
          "multi_io": HERE.parent / "models" / "contract" / "multi_io.tflite"}


def golden_files(name: str) -> dict:
    """The files of the golden copy: generated sources, and the blob's digest."""
    lib, _ = compiler.compile_graph(compiler.load_graph(str(MODELS[name])), name, "golden")
    out = {rel: data for rel, data in lib.files.items() if not rel.startswith("dlcoder_rt/")}
    blob = out.pop(f"{name}_weights.bin")
    out[f"{name}_weights.bin.sha256"] = (hashlib.sha256(blob).hexdigest() + "\n").encode()
    return out


def main():
    for name in MODELS:
        folder = HERE / name
        folder.mkdir(exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for rel, data in golden_files(name).items():
            (folder / rel).write_bytes(data)
        print(f"refreshed {folder}")


if __name__ == "__main__":
    main()
