"""Pinning dynamic input shapes (--input-shape NAME=1x224x224x3).

A model with a dynamic dimension anywhere stores placeholder shapes (1 for every unknown
dimension) for its intermediate tensors, so pinning the inputs is not enough: every
tensor's shape must be propagated. dlcoder asks the TFLite interpreter (the optional
ai-edge-litert dependency) to resize the inputs and reads the resulting shapes back, so
the propagation follows TFLite's own shape rules exactly.
"""
from __future__ import annotations

from dlcoder.errors import DlcoderError, DynamicShapeError
from dlcoder.ir import Graph


def parse_shape_arg(text: str) -> tuple[str, tuple]:
    """NAME=D1xD2x...: a non-empty input name, dims from 1 to 2**31-1 (a TFLite
    dimension is an int32); NAME= pins a scalar.

    >>> parse_shape_arg("image=1x224x224x3")
    ('image', (1, 224, 224, 3))
    """
    name, sep, dims = text.rpartition("=")
    # without leading zeros, so that int() (which refuses over 4300 digits) runs on at most
    # 10; a 0 becomes "", which is not a digit
    digits = [d.lstrip("0") for d in dims.lower().split("x")] if dims else []
    arg = text if len(text) <= 80 else text[:80] + "..."
    if not sep or not all(d.isascii() and d.isdigit() for d in digits):
        raise DlcoderError(f"--input-shape '{arg}' is not NAME=D1xD2x... with positive dims")
    if not name.strip():
        raise DlcoderError(f"--input-shape '{arg}' has an empty input name (NAME=D1xD2x...)")
    big = [d for d in digits if len(d) > 10 or int(d) > 2**31 - 1]
    if big:
        raise DlcoderError(f"--input-shape '{arg}': dimension {big[0][:20]}"
                           f"{'...' if len(big[0]) > 20 else ''} is past 2**31-1, the largest "
                           f"a TFLite tensor has")
    return name, tuple(int(d) for d in digits)


def pin_input_shapes(g: Graph, model_path: str, shapes: dict) -> Graph:
    by_name = {g.tensors[t].name: (k, t) for k, t in enumerate(g.inputs)}
    for name in shapes:
        if name not in by_name:
            raise DlcoderError(f"--input-shape names '{name}', which is not an input "
                               f"(inputs: {', '.join(sorted(by_name))})")
    pinned = {}
    for name, shape in shapes.items():
        k, t = by_name[name]
        ten = g.tensors[t]
        sig = ten.signature or ten.shape
        if len(sig) != len(shape) or any(s >= 0 and s != d for s, d in zip(sig, shape)):
            raise DlcoderError(f"--input-shape {name}: {list(shape)} does not fit the model's "
                               f"shape {list(sig)}")
        pinned[k] = shape
        g = g.set_tensor(t, ten.replace(shape=tuple(shape), signature=tuple(shape)))
    dynamic = any(t.signature is not None and any(d < 0 for d in t.signature)
                  for t in g.tensors if not t.is_const)
    if not dynamic and all(tuple(s) == g.tensors[g.inputs[k]].shape for k, s in pinned.items()):
        return g
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        raise DynamicShapeError("pinning a shape that differs from the model's stored shape "
                                "needs the TFLite interpreter: pip install 'dlcoder[reference]'") from None
    # without delegates, so that every intermediate tensor is resized by its own op
    interp = Interpreter(model_path=model_path,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    for k, shape in pinned.items():
        interp.resize_tensor_input(interp.get_input_details()[k]["index"], list(shape), strict=True)
    interp.allocate_tensors()
    # ops whose output shape depends on a computed tensor (RESHAPE after SHAPE, ...) only
    # know it once they run: one invoke on zeros settles every shape
    interp.invoke()
    for d in interp.get_tensor_details():
        i = d["index"]
        if i < len(g.tensors) and not g.tensors[i].is_const:
            shape = tuple(int(x) for x in d["shape"])
            g = g.set_tensor(i, g.tensors[i].replace(shape=shape, signature=shape))
    return g
