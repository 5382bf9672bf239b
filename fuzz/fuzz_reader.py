"""Coverage-guided fuzz target (atheris / libFuzzer) for the reader, the validation pass and
the compiler, through the CLI's entry points: compiler.load_graph(path) (read + validate)
then compiler.compile_graph(g, "m") (passes, plan, sources in memory). A DlcoderError is a
correct rejection; any other exception is a crash, which libFuzzer saves as crash-<sha1>.

    python -m fuzz.fuzz_reader CORPUS_DIR [libFuzzer flags, e.g. -max_total_time=600 -timeout=60]

An empty or missing CORPUS_DIR is first filled with the seed corpus: the .tflite models of
tests/ and examples/ up to 64 kB. The address space is limited to 4 GB
($DLCODER_FUZZ_MEMORY_MB), so that an input that makes dlcoder allocate too much raises
MemoryError, a crash that libFuzzer saves with its input (its own RSS limit does not). Mutations come from fuzz/mutate.py (structured, 4 in 5)
and from libFuzzer's own byte-level mutators.
"""
from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["dlcoder", "tflite", "flatbuffers"]):
    from dlcoder import compiler
    from dlcoder.errors import DlcoderError

from fuzz import mutate

ROOT = Path(__file__).resolve().parent.parent
SEED_MAX_BYTES = 64 << 10
_PATH = os.path.join(tempfile.mkdtemp(prefix="dlcoder-atheris-"), "model.tflite")


def seeds(max_bytes: int = SEED_MAX_BYTES) -> list[Path]:
    """The seed corpus: small models of the test suite and the examples."""
    found = sorted(ROOT.glob("tests/models/**/*.tflite")) + sorted(ROOT.glob("examples/**/*.tflite"))
    return [p for p in found if p.stat().st_size <= max_bytes]


def TestOneInput(data: bytes) -> None:
    with open(_PATH, "wb") as f:
        f.write(data)
    try:
        g = compiler.load_graph(_PATH)
        compiler.compile_graph(g, "m")
    except DlcoderError:
        pass


def CustomMutator(data: bytes, max_size: int, seed: int) -> bytes:
    if seed % 5 == 0:
        return atheris.Mutate(data, max_size)
    found = mutate.sites(data)
    if not found:
        return atheris.Mutate(data, max_size)
    mutant, _ = mutate.mutate(data, seed, found)
    return mutant[:max_size]


def main() -> None:
    corpus = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if corpus and (not os.path.isdir(corpus) or not os.listdir(corpus)):
        os.makedirs(corpus, exist_ok=True)
        for p in seeds():
            shutil.copy(p, os.path.join(corpus, f"{p.parent.name}_{p.name}"))
    limit = int(os.environ.get("DLCODER_FUZZ_MEMORY_MB", 4096)) << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    argv = list(sys.argv)
    if not any(a.startswith("-max_len=") for a in argv):
        argv.append(f"-max_len={SEED_MAX_BYTES}")
    atheris.Setup(argv, TestOneInput, custom_mutator=CustomMutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
