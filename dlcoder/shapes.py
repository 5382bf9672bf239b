"""Pinning dynamic input shapes (--input-shape NAME=1x224x224x3).

When every pinned shape equals the shape stored in the model, nothing else changes. When
it differs, every tensor's shape must be propagated; dlcoder asks the TFLite interpreter
(the optional ai-edge-litert dependency) to resize the inputs and reads the resulting
shapes back, so the propagation follows TFLite's own shape rules exactly.
"""
from __future__ import annotations

from dlcoder.errors import DlcoderError, DynamicShapeError
from dlcoder.ir import Graph


def parse_shape_arg(text: str) -> tuple[str, tuple]:
    """>>> parse_shape_arg("image=1x224x224x3")
    ('image', (1, 224, 224, 3))
    """
    name, sep, dims = text.rpartition("=")
    try:
        shape = tuple(int(d) for d in dims.lower().split("x")) if dims else ()
    except ValueError:
        shape = None
    if not sep or not name or shape is None or any(d <= 0 for d in shape):
        raise DlcoderError(f"--input-shape '{text}' is not NAME=D1xD2x... with positive dims")
    return name, shape


def pin_input_shapes(g: Graph, model_path: str, shapes: dict) -> Graph:
    by_name = {g.tensors[t].name: (k, t) for k, t in enumerate(g.inputs)}
    for name in shapes:
        if name not in by_name:
            raise DlcoderError(f"--input-shape names '{name}', which is not an input "
                               f"(inputs: {', '.join(sorted(by_name))})")
    changed = {}
    for name, shape in shapes.items():
        k, t = by_name[name]
        ten = g.tensors[t]
        sig = ten.signature or ten.shape
        if len(sig) != len(shape) or any(s >= 0 and s != d for s, d in zip(sig, shape)):
            raise DlcoderError(f"--input-shape {name}: {list(shape)} does not fit the model's "
                               f"shape {list(sig)}")
        if tuple(shape) != ten.shape:
            changed[k] = shape
        g = g.set_tensor(t, ten.replace(shape=tuple(shape), signature=tuple(shape)))
    if not changed:
        return g
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        raise DynamicShapeError("pinning a shape that differs from the model's stored shape "
                                "needs the TFLite interpreter: pip install 'dlcoder[reference]'") from None
    # without delegates, so that every intermediate tensor is resized by its own op
    interp = Interpreter(model_path=model_path,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    for k, shape in changed.items():
        interp.resize_tensor_input(interp.get_input_details()[k]["index"], list(shape), strict=True)
    interp.allocate_tensors()
    for d in interp.get_tensor_details():
        i = d["index"]
        if i < len(g.tensors) and not g.tensors[i].is_const:
            g = g.set_tensor(i, g.tensors[i].replace(shape=tuple(int(x) for x in d["shape"])))
    return g
