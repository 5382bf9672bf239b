"""Custom ops: plug-in files that add `CUSTOM:<code>` entries to the op table.

A model with a TFLite custom op (an operator whose code is CUSTOM and whose custom_code is,
say, "MyOp") names the op "CUSTOM:MyOp". A plug-in is one Python file that registers that
name with the API the built-in ops use, `dlcoder.ops.register` (ops/__init__.py), and a
C++ header that holds the kernel:

    from dlcoder.ops import register

    def _shape(node, g):                  # one shape tuple per output
        return [g.tensors[node.inputs[0]].shape]

    def _evaluate(node, g, values):       # numpy reference: constant folding
        if values[0] is None:
            return None                   # a computed input: nothing to fold
        return [my_op_numpy(values[0], node.attrs["options"]["alpha"])]

    @register("CUSTOM:MyOp", header="my_op.h", shape=_shape, evaluate=_evaluate)
    def _emit(node, g, e):
        x, y = node.inputs[0], node.outputs[0]
        n = g.tensors[x].size
        return f"my_op::run({e.src(x)}, {e.dst(y)}, {n}, {node.attrs['options']['alpha']}f);"

`dlcoder generate|inspect|verify|bench MODEL --custom-ops ops.py` loads it (the flag is
repeatable); `load` does the same from Python.

The stable surface, what a hook receives (the same as a built-in op's, see OpDef):
- `node`: the model's operator. node.inputs / node.outputs are tensor indices (-1 for an
  absent optional input); node.attrs["options"] is the op's custom options decoded from
  their FlexBuffer by flatbuffers.flexbuffers (a dict for a FlexBuffer map, {} when the
  model stores none); node.attrs["custom_options"] keeps the raw bytes.
- `g`: the graph. g.tensors[t] has .shape (tuple), .dtype ("float32", "int8", ...), .size,
  .nbytes, .quant (scale, zero_point arrays) and .data (numpy, for constants).
- `e` (emit only): the codegen Context (codegen/context.py). e.src(t) is a `const T*`
  expression for an input, e.dst(t) a `T*` for an output, e.param(ctype, init) declares a
  namespace-scope constexpr and returns its name, e.array(ctype, values) a constexpr
  array, e.weights(ndarray) a `const T*` to data prepared now (repacked weights),
  e.scratch(ctype) a `ctype*` to the node's scratch memory, e.par() the Parallel of the
  run (runtime parallel.h), to split a kernel over the caller's threads.

What the hooks return:
- emit: one C++ statement or a list of statements, placed in the model's run function.
  They may call whatever the kernel header declares and the runtime headers
  (dlcoder_rt/*.h); they must not return early (the run returns a status of its own) or
  allocate.
- shape: one shape tuple per output, from the inputs' shapes and the options.
- dtypes (a set, register(dtypes=...)): the dtypes the op's tensors may have.
- check (optional): an error text when the op cannot compile this node, else None.
- evaluate (optional): the outputs as numpy arrays when enough inputs are constant (values
  holds None for the computed ones), else None; the generator then folds the node.
- scratch (optional): bytes of scratch memory the kernel needs while it runs; the memory
  planner places them in the arena (no allocation at run time), and emit reaches them
  with e.scratch(ctype).

The kernel header: `header=` names it relative to the plug-in file's folder (or as an
absolute path). The generator copies the headers of every loaded plug-in into the output
folder as dlcoder_rt/custom/<file name> (whether the model uses their ops or not, so that a
build system knows the outputs from the plug-in alone), and the generated .cc includes
them: the folder stays self-contained. A header the kernel includes must be in dlcoder_rt/
(the runtime) or be inlined into it.

Errors (the CLI's exit 2, with one line naming the plug-in file and the op): a plug-in
file that is missing, that raises while it is imported, that registers a name that is not
`CUSTOM:<code>` or whose kernel header is missing, and a hook that raises (a DlcoderError
a hook raises, such as InvalidModelError for inconsistent options, is reported as it is).

Loading a file again (the same path, in one process) first drops what it registered
before, so a file may be loaded any number of times and edits to it take effect.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

from flatbuffers import flexbuffers

from dlcoder import ops
from dlcoder.errors import DlcoderError

PREFIX = "CUSTOM:"
HEADER_DIR = "custom"      # inside dlcoder_rt/ of the output folder

# absolute path of a plug-in file -> (table keys, variant keys) it registered, and the
# path as the user gave it
_LOADED: dict = {}
# header name as the op entries give it ("custom/my_op.h") -> (kernel header, plug-in file)
HEADERS: dict = {}


class PluginError(DlcoderError):
    """A custom-op plug-in that cannot be loaded or whose hook failed."""


def load(path: str) -> tuple:
    """Load the plug-in file `path`; returns the op names it registered."""
    file = Path(path)
    if not file.is_file():
        raise PluginError(f"custom-op plug-in {path}: no such file")
    file = Path(os.path.abspath(file))   # symlinks kept: Bazel's sandbox links its inputs
    unload(file)
    before = (set(ops.TABLE), set(ops.VARIANTS))
    try:
        _execute(file, path)
        return _adopt(file, path, before)
    except BaseException:
        _drop(set(ops.TABLE) - before[0], set(ops.VARIANTS) - before[1], file)
        raise


def load_all(paths) -> None:
    """Load every plug-in of a --custom-ops list."""
    for path in paths or ():
        load(path)


def unload(file: Path) -> None:
    """Drop what plug-in `file` (an absolute path) registered, if it was loaded."""
    keys, variant_keys, _ = _LOADED.pop(file, ((), (), None))
    _drop(keys, variant_keys, file)


def _drop(keys, variant_keys, file: Path) -> None:
    """Remove op entries and the headers of plug-in `file`."""
    for k in keys:
        ops.TABLE.pop(k, None)
    for k in variant_keys:
        ops.VARIANTS.pop(k, None)
    for h in [h for h, (_, owner) in HEADERS.items() if owner == file]:
        del HEADERS[h]


def _execute(file: Path, path: str) -> None:
    """Import the file under a module name of its own (one per path), so that two
    plug-ins named ops.py do not replace each other; in sys.modules, as dataclasses and
    pickle expect of a module."""
    name = "dlcoder_plugin_" + hashlib.sha256(str(file).encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        raise PluginError(f"custom-op plug-in {path}: importing it raised {_text(e)}") from None


def _adopt(file: Path, path: str, before) -> tuple:
    """Check what the file registered and make it the plug-in's: its headers found and
    renamed into dlcoder_rt/custom/, its hooks wrapped (_wrap)."""
    keys = sorted(set(ops.TABLE) - before[0])
    variant_keys = sorted(set(ops.VARIANTS) - before[1])
    for table, key in [(ops.TABLE, k) for k in keys] + [(ops.VARIANTS, k) for k in variant_keys]:
        d = table[key]
        if not d.name.startswith(PREFIX) or d.name == PREFIX:
            raise PluginError(f"custom-op plug-in {path}: op {d.name}: a plug-in registers custom "
                              f"ops only, named {PREFIX}<custom code> as in the model")
        table[key] = _wrap(d, _header(file, path, d), path)
    _LOADED[file] = (keys, variant_keys, path)
    return tuple(keys)


def _header(file: Path, path: str, d: ops.OpDef) -> str:
    """The header name the generated .cc includes (below dlcoder_rt/) for op entry d, whose
    header= is a path relative to the plug-in's folder."""
    source = Path(os.path.normpath(file.parent / d.header))
    if not source.is_file():
        raise PluginError(f"custom-op plug-in {path}: op {d.name}: kernel header {d.header} not "
                          f"found (looked for {source})")
    name = f"{HEADER_DIR}/{source.name}"
    owner = HEADERS.get(name)
    if owner is not None and owner[0] != source:
        raise PluginError(f"custom-op plug-in {path}: op {d.name}: kernel header {source.name} "
                          f"is also {owner[0]}, of plug-in {owner[1]}; give the headers distinct "
                          f"file names")
    HEADERS[name] = (source, file)
    return name


def _wrap(d: ops.OpDef, header: str, path: str) -> ops.OpDef:
    """The entry with its hooks called on the node with its options decoded, and their
    failures reported as PluginErrors that name the plug-in and the op."""
    def hook(kind: str, fn):
        if fn is None:
            return None

        def call(node, *rest):
            try:
                return fn(with_options(node), *rest)
            except DlcoderError:
                raise
            except Exception as e:
                raise PluginError(f"custom-op plug-in {path}: op {d.name}: its {kind} hook raised "
                                  f"{_text(e)}") from None
        return call

    emit = hook("emit", d.emit)

    def checked_emit(node, g, e):
        code = emit(node, g, e)
        if not (isinstance(code, str) or (isinstance(code, (list, tuple))
                                           and all(isinstance(c, str) for c in code))):
            raise PluginError(f"custom-op plug-in {path}: op {d.name}: its emit hook returned "
                              f"{type(code).__name__}, not C++ text (a str or a list of str)")
        return code

    return replace(d, header=header, emit=checked_emit, check=hook("check", d.check),
                   evaluate=hook("evaluate", d.evaluate), scratch=hook("scratch", d.scratch),
                   task_scratch=hook("task_scratch", d.task_scratch), shape=hook("shape", d.shape))


def with_options(node):
    """The node with attrs["options"]: its custom options decoded from their FlexBuffer."""
    if "options" in node.attrs:
        return node
    raw = node.attrs.get("custom_options", b"")
    try:
        options = flexbuffers.Loads(raw) if raw else {}
    except Exception as e:
        raise PluginError(f"{node.op}: its custom options are not a FlexBuffer ({_text(e)})") from None
    return node.replace(attrs={**node.attrs, "options": options})


def _text(e: BaseException) -> str:
    """An exception on one line."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def blame(source: Path, compiler_output: str):
    """The PluginError of a compiler error in code a plug-in op emitted, or None: the
    first error in `source` (a generated NAME.cc) belongs to the step whose comment
    ("// 3: CUSTOM:MyOp") is the last above its line."""
    found = re.search(rf"{re.escape(source.name)}:(\d+):\d+: error: (.*)", compiler_output)
    if found is None:
        return None
    lines = source.read_text().splitlines()[:int(found[1])]
    steps = [m[1] for m in map(_STEP.match, lines) if m]
    owners = {k: path for keys, _, path in _LOADED.values() for k in keys}
    if not steps or steps[-1] not in owners:
        return None
    return PluginError(f"custom-op plug-in {owners[steps[-1]]}: op {steps[-1]}: its emitted code "
                       f"does not compile: {found[2].strip()}")


_STEP = re.compile(r"\s*// \d+: (\S+)")
