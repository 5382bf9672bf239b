"""Process replay: what a change does to the generated code, over every model at hand.

A refactor of the generator should not change its output; a change that should, changes
it only where intended. This generates every .tflite below the given folders (default:
tests/models and ../shared/models) with the dlcoder of a git revision and with the working
tree, and lists every generated file that differs, or a refusal whose message changed:

    python3 tools/process_replay.py                 # HEAD against the working tree
    python3 tools/process_replay.py --base main~3   # another revision
    python3 tools/process_replay.py --keep /tmp/r   # keep both trees of outputs to diff

Runtime headers are left out (they are copied, not generated); a weight blob is compared by
its sha256. Models that need --input-shape are compared by their refusal message. The
golden sources (tests/golden) are the checked-in, reviewed form of the same idea.
"""
from __future__ import annotations

import argparse
import filecmp
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = [ROOT / "tests" / "models", ROOT.parent / "shared" / "models"]

# Run in a fresh interpreter whose sys.path starts at the tree under test.
_GENERATE = r'''
import hashlib, sys
from pathlib import Path
out = Path(sys.argv[1])
from dlcoder import compiler
for line in sys.stdin:
    root, rel = line.rstrip("\n").split("\t")
    dst = out / rel
    dst.mkdir(parents=True, exist_ok=True)
    try:
        lib, _ = compiler.compile_graph(compiler.load_graph(str(Path(root) / rel)), "m", "replay")
    except Exception as e:
        (dst / "REFUSED").write_text(f"{type(e).__name__}: {e}\n")
        continue
    for name, data in lib.files.items():
        if name.startswith("dlcoder_rt/"):
            continue
        if name.endswith(".bin"):
            name, data = name + ".sha256", hashlib.sha256(data).hexdigest().encode()
        (dst / name).write_bytes(data)
'''


def models(roots) -> list:
    roots = [Path(r).resolve() for r in roots]
    return [(str(r.parent), str(p.relative_to(r.parent))) for r in roots if r.is_dir()
            for p in sorted(r.rglob("*.tflite"))]


def generate(tree: Path, out: Path, listing: list) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree))
    stdin = "".join(f"{root}\t{rel}\n" for root, rel in listing)
    subprocess.run([sys.executable, "-c", _GENERATE, str(out)], input=stdin, text=True,
                   env=env, cwd=tempfile.gettempdir(), check=True)


def differences(a: Path, b: Path) -> list:
    """Relative paths of the files that differ or exist on one side only."""
    out = []
    def walk(cmp, rel):
        out.extend(str(rel / n) for n in cmp.diff_files + cmp.left_only + cmp.right_only)
        for name, sub in cmp.subdirs.items():
            walk(sub, rel / name)
    walk(filecmp.dircmp(a, b, ignore=[]), Path())
    return sorted(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="*", type=Path, help="model folders (default: tests/models, ../shared/models)")
    ap.add_argument("--base", default="HEAD", help="the revision to compare with (default HEAD)")
    ap.add_argument("--keep", type=Path, help="write the outputs to KEEP/base and KEEP/change")
    args = ap.parse_args(argv)
    listing = models(args.folders or DEFAULT_MODELS)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        base_tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(base_tree),
                        args.base], check=True, capture_output=True)
        try:
            generate(base_tree, work / "base", listing)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)],
                           check=False, capture_output=True)
        generate(ROOT, work / "change", listing)
        diff = differences(work / "base", work / "change")
    for rel in diff:
        print(rel)
    print(f"{len(listing)} models, {len(diff)} generated files differ from {args.base}", file=sys.stderr)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
