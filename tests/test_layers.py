"""The package's import graph follows the layer order written in dlcoder/__init__.py: no
module imports from a layer above its own (imports inside functions count too)."""
import ast
import re
from pathlib import Path

import pytest

import dlcoder

PACKAGE = Path(dlcoder.__file__).parent


def layers() -> dict:
    """Module or package name (relative to dlcoder) -> its layer number, from the
    docstring of dlcoder/__init__.py."""
    out = {}
    for number, names in re.findall(r"^\s*(\d+)\.\s+(.+)$", dlcoder.__doc__, re.M):
        for name in names.split(","):
            out[name.strip()] = int(number)
    return out


LAYERS = layers()


def layer_of(module: str) -> int:
    """The layer of a dlcoder module ("ops.conv"), by the longest listed name that is the
    module or a package above it; None if none is."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in LAYERS:
            return LAYERS[name]
    return None


def modules() -> dict:
    """Every module of the package: dotted name relative to dlcoder -> its file."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        if parts:
            out[".".join(parts)] = path
    return out


def imports(module: str, path: Path) -> set:
    """The dlcoder modules that `module` imports, relative to dlcoder (an imported name
    that is a submodule counts as that submodule)."""
    known = modules()
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                target = "dlcoder." + target if target else "dlcoder"
            else:
                target = node.module or ""
            targets = []
            for a in node.names:
                sub = f"{target}.{a.name}"
                targets.append(sub if sub.removeprefix("dlcoder.") in known else target)
        else:
            continue
        for t in targets:
            if t == "dlcoder":
                continue   # the package root: its version only
            if t.startswith("dlcoder."):
                found.add(t.removeprefix("dlcoder."))
    return found


def test_every_module_has_a_layer():
    missing = [m for m in modules() if layer_of(m) is None]
    assert not missing, f"place these modules in the layer list of dlcoder/__init__.py: {missing}"


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_run_down_the_layers(module):
    own = layer_of(module)
    upward = sorted(f"{t} (layer {layer_of(t)})" for t in imports(module, modules()[module])
                    if layer_of(t) is not None and layer_of(t) > own)
    assert not upward, f"{module} (layer {own}) imports from above: {upward}"


def test_the_checker_sees_an_upward_import(tmp_path):
    """The walk finds an import inside a function, and judges it by the layer list."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from dlcoder.plan import plan_graph\n"
                     "from dlcoder.ops import _shapes as S\n")
    assert imports("ops.probe", probe) == {"plan", "ops._shapes"}
    assert layer_of("plan") > layer_of("ops.probe")


def _string_literals(path: Path) -> set:
    """The string constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text(), str(path))
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs}


def test_no_pass_names_an_op():
    """What an op can fuse is declared by its entry in the op table (ops.Fusion); a pass
    that matches a pattern names ops as Op.X, which fails on a misspelt or unknown name.
    So no pass holds an op's name as a string."""
    from dlcoder.frontend.tflite import OP_NAMES
    from dlcoder.ops import TABLE
    names = set(TABLE) | set(OP_NAMES.values())
    found = {f"{p.name}: {s}" for p in sorted((PACKAGE / "passes").glob("*.py"))
             for s in _string_literals(p) & names}
    assert not found, f"op names as strings in passes/: {sorted(found)}"
