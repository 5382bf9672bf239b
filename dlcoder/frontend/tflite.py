"""TFLite flatbuffer -> IR. The only module that knows the TFLite schema.

Builtin options are read generically: every getter of the options table becomes an
attribute in snake_case (StrideW -> stride_w; vectors become tuples), and the few enums
that kernels branch on (padding, fused activation, mirror-pad mode) become their names.
"""
from __future__ import annotations

import re
import struct

import numpy as np
import tflite

from dlcoder.errors import ModelFormatError, UnsupportedError
from dlcoder.ir import Graph, Node, Quant, Signature, Tensor

_TYPES = {
    tflite.TensorType.FLOAT32: "float32", tflite.TensorType.FLOAT16: "float16",
    tflite.TensorType.INT32: "int32", tflite.TensorType.UINT8: "uint8",
    tflite.TensorType.INT64: "int64", tflite.TensorType.BOOL: "bool",
    tflite.TensorType.INT16: "int16", tflite.TensorType.INT8: "int8",
    tflite.TensorType.FLOAT64: "float64", tflite.TensorType.COMPLEX64: "complex64",
    tflite.TensorType.RESOURCE: "resource",
}
_TYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
OP_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_OPTION_CLASSES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}
_ENUMS = {
    "padding": {0: "SAME", 1: "VALID"},
    "fused_activation_function": {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6",
                                  4: "TANH", 5: "SIGN_BIT"},
}
_MIRROR_MODES = {0: "REFLECT", 1: "SYMMETRIC"}


def snake(name: str) -> str:
    """CamelCase getter name -> attribute name.

    >>> snake('DilationWFactor'), snake('StrideH'), snake('AsymmetricQuantizeInputs')
    ('dilation_w_factor', 'stride_h', 'asymmetric_quantize_inputs')
    """
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def read_options(op, data: bytes = b"") -> dict:
    kind = op.BuiltinOptionsType()
    if kind == 0:
        return {}
    if kind not in _OPTION_CLASSES:
        raise ModelFormatError(f"unknown builtin options type {kind}")
    cls_name = _OPTION_CLASSES[kind]
    cls = getattr(tflite, cls_name)
    table = op.BuiltinOptions()
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    attrs = {}
    methods = [m for m in dir(cls) if m[0].isupper() and m != "Init" and not m.startswith("GetRootAs")
               and not m.endswith(("BufferHasIdentifier", "IsNone", "Length", "AsNumpy"))]
    for m in methods:
        if hasattr(cls, m + "Length"):
            n = getattr(opts, m + "Length")()
            if data:
                _count(n, data, f"option {m}")
            value = tuple(int(getattr(opts, m)(j)) for j in range(n))
        else:
            value = getattr(opts, m)()
            if isinstance(value, bytes):          # a VAR_HANDLE's container and shared_name
                value = tensor_name(value)
            elif value is None or not np.isscalar(value):
                continue
        key = snake(m)
        if key in _ENUMS:
            value = _ENUMS[key].get(value, value)   # an unknown value stays a number
        elif cls_name == "MirrorPadOptions" and key == "mode":
            value = _MIRROR_MODES.get(value, value)
        attrs[key] = value
    return attrs


def _count(n: int, data: bytes, what: str) -> int:
    """A vector's length, which cannot exceed the file: each element takes 4 bytes or more
    (1 for byte vectors, checked where they are read). A corrupt length would otherwise
    send the reader round a loop of billions of garbage entries."""
    if not 0 <= n <= len(data) // 4:
        raise ModelFormatError(f"corrupt file: {what} claims {n} entries in {len(data)} bytes")
    return n


def _index(i: int, n: int, what: str) -> int:
    if not 0 <= i < n:
        raise ModelFormatError(f"{what} {i} is out of range (the model has {n})")
    return i


def _buffer_bytes(model, data: bytes, index: int) -> bytes | None:
    buf = model.Buffers(_index(index, model.BuffersLength(), "buffer"))
    if buf is None:
        return None
    if buf.Offset() > 1:   # large models keep buffers after the flatbuffer
        start, size = buf.Offset(), buf.Size()
        if start + size > len(data):
            raise ModelFormatError("truncated file: a weight buffer lies past the end")
        return data[start:start + size]
    if buf.DataLength() == 0:
        return None
    return buf.DataAsNumpy().tobytes()


def _read_sparsity(sp, data: bytes) -> dict | None:
    if sp is None:
        return None
    dims = []
    for i in range(_count(sp.DimMetadataLength(), data, "sparsity metadata")):
        d = sp.DimMetadata(i)
        entry = {"format": "DENSE" if d.Format() == 0 else "SPARSE_CSR", "dense_size": d.DenseSize()}
        if d.Format() != 0:
            for key, get, get_type in (("segments", d.ArraySegments, d.ArraySegmentsType),
                                       ("indices", d.ArrayIndices, d.ArrayIndicesType)):
                table, kind = get(), get_type()
                vec_cls = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}[kind]
                vec = vec_cls()
                vec.Init(table.Bytes, table.Pos)
                n = _count(vec.ValuesLength(), data, "a sparsity index vector")
                entry[key] = np.array([vec.Values(j) for j in range(n)], np.int64)
        dims.append(entry)
    return {"traversal_order": tuple(sp.TraversalOrder(i) for i in
                                     range(_count(sp.TraversalOrderLength(), data, "a traversal order"))),
            "block_map": tuple(sp.BlockMap(i) for i in range(_count(sp.BlockMapLength(), data, "a block map"))),
            "dim_metadata": dims}


MAX_NAME = 256


def tensor_name(raw: bytes | None) -> str:
    """A tensor's name as messages and comments show it: one printable line. Characters
    that are not printable become \\xNN escapes, and a name past MAX_NAME characters is cut,
    so that a hostile name can neither break a one-line message nor run on for pages.

    >>> tensor_name(b"conv/w"), tensor_name(b"a\\nb")
    ('conv/w', 'a\\\\x0ab')
    """
    text = (raw or b"").decode(errors="replace")
    text = "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= MAX_NAME else text[:MAX_NAME] + "..."


class _Scheme(UnsupportedError):
    """A tensor in a number format or quantization scheme that no kernel takes; the
    subgraph reader names the op that uses it."""


# packed sub-byte and other integer formats, as the quantization schemes they belong to
_SCHEMES = {"INT4": "int4 (packed 4-bit) quantization", "UINT16": "uint16 data",
            "UINT32": "uint32 data", "UINT64": "uint64 data", "BFLOAT16": "bfloat16 data"}


def _read_tensor(model, data: bytes, t, where: str) -> Tensor:
    name = tensor_name(t.Name())
    ttype = t.Type()
    if ttype not in _TYPES:
        type_name = _TYPE_NAMES.get(ttype, ttype)
        scheme = _SCHEMES.get(type_name, f"dtype {type_name}")
        raise _Scheme(f"tensor '{name}' ({where}) is {scheme}, which dlcoder does not support")
    q = t.Quantization()
    if q is not None and q.DetailsType() != 0:
        raise _Scheme(f"tensor '{name}' ({where}) has custom quantization details (type "
                      f"{q.DetailsType()}, e.g. blockwise), a scheme dlcoder does not support")
    dtype = _TYPES[ttype]
    if dtype == "resource":
        # a handle to a resource variable: _resolve_variables gives its readers and writers
        # the variable itself, and the handle stays an unread placeholder
        return Tensor(name=name, shape=(), dtype="int32")
    shape = tuple(int(x) for x in t.ShapeAsNumpy()) if _count(t.ShapeLength(), data, "a shape") else ()
    signature = (tuple(int(x) for x in t.ShapeSignatureAsNumpy())
                 if _count(t.ShapeSignatureLength(), data, "a shape signature") else None)
    if any(d < 0 for d in shape):
        raise ModelFormatError(f"tensor '{name}' ({where}) has a "
                               f"negative dimension in its shape {list(shape)}")
    sparsity = _read_sparsity(t.Sparsity(), data)
    raw = _buffer_bytes(model, data, t.Buffer())
    value = None
    if raw is not None:
        itemsize = np.dtype(dtype).itemsize
        if len(raw) % itemsize:
            raise ModelFormatError(f"buffer of tensor '{name}' has "
                                   f"{len(raw)} bytes, not a whole number of {dtype} values")
        value = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
        if sparsity is None:
            need = 1
            for d in shape:
                need *= d
            if value.size != need:
                raise ModelFormatError(f"buffer of tensor '{name}' has "
                                       f"{value.size} elements, its shape {list(shape)} needs {need}")
            value = value.reshape(shape)
        value = value.astype(dtype)   # native byte order, owned copy
    if value is not None and t.IsVariable():
        raise UnsupportedError(f"tensor '{name}' ({where}) is a variable with a buffer, which "
                               f"TFLite does not load either")
    quant = None
    q = t.Quantization()
    if q is not None and q.ScaleLength() > 0:
        quant = Quant(scale=tuple(q.ScaleAsNumpy().astype(np.float32)),
                      zero_point=(tuple(q.ZeroPointAsNumpy().astype(np.int64)) if q.ZeroPointLength()
                                  else (0,) * q.ScaleLength()),
                      axis=int(q.QuantizedDimension()))
    if value is None and t.IsVariable():
        # the state of a stateful op (e.g. an LSTM's): every run of a generated library
        # starts from the value a fresh TFLite interpreter gives it (ResetVariableTensor):
        # zeros, or the zero point of an int8 tensor (a real 0)
        fill = quant.zero_point[0] if dtype == "int8" and quant is not None else 0
        value = np.full(shape, fill, dtype)
    return Tensor(name=name, shape=shape, dtype=dtype, data=value,
                  quant=quant, signature=signature, sparsity=sparsity)


def _op_name(model, op) -> str:
    code = model.OperatorCodes(_index(op.OpcodeIndex(), model.OperatorCodesLength(), "opcode index"))
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == tflite.BuiltinOperator.CUSTOM:
        return "CUSTOM:" + (code.CustomCode() or b"?").decode(errors="replace")
    return OP_NAMES.get(builtin, f"BUILTIN_{builtin}")


def _users(model, sg, t: int) -> str:
    """'node 3 (CONV_2D): ' for the first operator that reads or writes tensor t."""
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        ios = (list(op.InputsAsNumpy()) if op.InputsLength() else []) + \
              (list(op.OutputsAsNumpy()) if op.OutputsLength() else [])
        if t in ios:
            return f"node {i} ({_op_name(model, op)}): "
    return ""


def _read_subgraph(model, data: bytes, index: int) -> Graph:
    sg = model.Subgraphs(index)
    where = f"subgraph {index}"
    tensors = []
    for i in range(_count(sg.TensorsLength(), data, "a tensor list")):
        try:
            tensors.append(_read_tensor(model, data, sg.Tensors(i), where))
        except _Scheme as e:
            raise UnsupportedError(_users(model, sg, i) + str(e)) from None
    tensors = tuple(tensors)
    nodes = []
    for i in range(_count(sg.OperatorsLength(), data, "an operator list")):
        op = sg.Operators(i)
        name = _op_name(model, op)
        attrs = read_options(op, data) if not name.startswith("CUSTOM:") else {}
        if name.startswith("CUSTOM:") and op.CustomOptionsLength():
            # a FlexBuffer the op's entry decodes (ops/mediapipe.py)
            attrs["custom_options"] = bytes(op.CustomOptionsAsNumpy())
        if op.IntermediatesLength():
            # tensors that only carry quantization for the kernel (the integer LSTM's gate
            # scales): indices into the subgraph's tensors, checked like inputs
            attrs["intermediates"] = tuple(int(x) for x in op.IntermediatesAsNumpy())
        nodes.append(Node(op=name,
                          inputs=tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else (),
                          outputs=tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else (),
                          attrs=attrs, index=i))
    tensors = _empty_constants(tensors, nodes, sg)
    return Graph(tensors=tensors, nodes=tuple(nodes),
                 inputs=tuple(int(x) for x in sg.InputsAsNumpy()) if sg.InputsLength() else (),
                 outputs=tuple(int(x) for x in sg.OutputsAsNumpy()) if sg.OutputsLength() else ())


def _read_signatures(model, data: bytes, graphs: list) -> tuple:
    """The model's SignatureDefs as ir.Signature: each names a subgraph, and its inputs and
    outputs by key, in the order the file lists them (which converters sort by key)."""
    out = []
    for i in range(_count(model.SignatureDefsLength(), data, "the signature list")):
        sig = model.SignatureDefs(i)
        key = tensor_name(sig.SignatureKey()) or f"signature_{i}"
        k = _index(sig.SubgraphIndex(), len(graphs), f"signature '{key}' names subgraph")
        g = graphs[k]
        ends = []
        for what, n, get, ids in (("input", sig.InputsLength(), sig.Inputs, g.inputs),
                                  ("output", sig.OutputsLength(), sig.Outputs, g.outputs)):
            items = []
            for j in range(_count(n, data, f"signature '{key}' {what}s")):
                tm = get(j)
                t = tm.TensorIndex()
                if t not in ids:
                    raise ModelFormatError(f"signature '{key}' {what} '{tensor_name(tm.Name())}' is "
                                           f"tensor {t}, which is not an {what} of subgraph {k}")
                items.append((tensor_name(tm.Name()), ids.index(t)))
            if len({p for _, p in items}) != len(ids) or len(items) != len(ids):
                raise UnsupportedError(f"signature '{key}' does not name each {what} of subgraph "
                                       f"{k} exactly once")
            ends.append(tuple(items))
        out.append(Signature(key=key, subgraph=k, inputs=ends[0], outputs=ends[1]))
    return tuple(out)


def _empty_constants(tensors: tuple, nodes: list, sg) -> tuple:
    """A tensor with a 0 in its shape that nothing writes and that is no input is an empty
    constant whose buffer the converter left empty (tf.signal.frame's reshape to a scalar
    under a dynamic batch): it holds no value to miss, so it is given its zero elements."""
    written = {t for n in nodes for t in n.outputs}
    inputs = set(int(x) for x in sg.InputsAsNumpy()) if sg.InputsLength() else set()
    return tuple(t.replace(data=np.zeros(t.shape, t.dtype))
                 if t.data is None and 0 in t.shape and i not in written and i not in inputs else t
                 for i, t in enumerate(tensors))


def load(path: str) -> Graph:
    """Read a .tflite file. Subgraph 0 is the graph; the others ride along in `subgraphs`."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ModelFormatError(f"cannot read {path}: {e.strerror or e}") from None
    return parse(data, path)


def parse(data: bytes, path: str = "<model>") -> Graph:
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFormatError(f"{path} is not a TFLite model (no TFL3 identifier)")
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        if _count(model.SubgraphsLength(), data, "the subgraph list") == 0:
            raise ModelFormatError("it has no subgraphs")
        _count(model.OperatorCodesLength(), data, "the opcode list")
        _count(model.BuffersLength(), data, "the buffer list")
        graphs = [_read_subgraph(model, data, i) for i in range(model.SubgraphsLength())]
        signatures = _read_signatures(model, data, graphs)
    except ModelFormatError as e:
        raise ModelFormatError(f"{path}: {e}") from None
    except (IndexError, struct.error, ValueError, KeyError, AttributeError, TypeError,
            UnicodeDecodeError, OverflowError, MemoryError, RecursionError) as e:
        raise ModelFormatError(f"{path} is truncated or corrupt ({type(e).__name__})") from None
    graphs, variables = _resolve_variables(graphs)
    return graphs[0].replace(subgraphs=tuple(graphs[1:]), variables=variables,
                             signatures=signatures)


def _resolve_variables(graphs: list) -> tuple[list, tuple]:
    """Resource variables by name. TFLite's VAR_HANDLE makes a handle to the variable named
    by its (container, shared_name), the same one in every subgraph; READ_VARIABLE and
    ASSIGN_VARIABLE take that handle as input 0. Here the handles disappear: each variable
    gets an index, READ_VARIABLE and ASSIGN_VARIABLE name theirs in attrs["variable"] and
    keep only their value tensor, and VAR_HANDLE nodes are dropped. A handle that does not
    come from a VAR_HANDLE of its own subgraph (one passed into a subgraph) is refused."""
    keys: dict = {}
    out = []
    for k, g in enumerate(graphs):
        handles, nodes = {}, []
        for node in g.nodes:
            if node.op == "VAR_HANDLE":
                if len(node.outputs) != 1:
                    raise ModelFormatError(f"node {node.index} (VAR_HANDLE) of subgraph {k} has "
                                           f"{len(node.outputs)} outputs, not 1")
                key = (node.attrs.get("container", ""), node.attrs.get("shared_name", ""))
                handles[node.outputs[0]] = keys.setdefault(key, len(keys))
                continue
            if node.op in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
                want = (1, 1) if node.op == "READ_VARIABLE" else (2, 0)
                if (len(node.inputs), len(node.outputs)) != want:
                    raise ModelFormatError(f"node {node.index} ({node.op}) of subgraph {k} has "
                                           f"{len(node.inputs)} inputs and {len(node.outputs)} outputs")
                if node.inputs[0] not in handles:
                    raise UnsupportedError(f"node {node.index} ({node.op}) of subgraph {k}: a "
                                           f"variable handle that comes from outside the subgraph")
                node = node.replace(inputs=node.inputs[1:],
                                    attrs={**node.attrs, "variable": handles[node.inputs[0]]})
            nodes.append(node)
        used = {t for n in nodes for t in n.inputs if t >= 0} | set(g.inputs) | set(g.outputs)
        passed = [t for t in handles if t in used]
        if passed:
            raise UnsupportedError(f"subgraph {k} passes the variable handle "
                                   f"'{g.tensors[passed[0]].name}' to another op than "
                                   f"READ_VARIABLE or ASSIGN_VARIABLE")
        out.append(g.replace(nodes=tuple(nodes)))
    names = sorted(keys, key=keys.get)
    variables = tuple(Tensor(name=tensor_name(f"{c}/{n}".lstrip("/").encode()), shape=(), dtype="int32")
                      for c, n in names)
    return out, variables
