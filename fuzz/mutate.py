"""Structured mutations of a .tflite flatbuffer, written in place into a copy of its bytes.

1. `sites(data)` parses the model with the `tflite` package and lists every field worth
   corrupting, with its byte position, width and meaning: tensor shapes and dtypes, buffer
   indices, operator input/output indices, opcode indices, subgraph inputs/outputs, builtin
   codes, every scalar of every builtin options table (strides, padding, axes, fused
   activations, subgraph indices of WHILE/IF...), quantization parameters, the length
   prefixes of those vectors, and the elements of constant tensors (reshape targets, paddings,
   permutations, slice bounds and weights). Fields are found from the generated tflite
   classes themselves: each getter reads one vtable slot with one number type.
2. `mutate(data, seed)` picks 1 to 4 mutations with a `random.Random(seed)`: mostly a site (a
   kind first, uniformly, so that rare kinds are hit as often as shape dims) and a value that
   matters for its kind (-1, -2, 0, 1, one past the end of what it indexes, huge, another
   valid index, dims swapped, NaN in a float), sometimes random bit flips (mostly outside
   the weights) or a truncation. The same bytes and seed give the same mutant.

Only fields present in the file can be rewritten: a scalar equal to its default (padding
SAME, no fused activation, axis 0) is usually left out by the converter, so it is not a site.

`python -m fuzz.mutate MODEL --seed N [-o OUT]` writes one mutant and prints what changed.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import random
import re
import struct
from dataclasses import dataclass

import tflite

_FORMATS = {"Bool": "B", "Int8": "b", "Uint8": "B", "Int16": "h", "Uint16": "H", "Int32": "i",
            "Uint32": "I", "Int64": "q", "Uint64": "Q", "Float32": "f", "Float64": "d"}
# (table class, getter) -> kind; other fields get a kind from their name or number type
_KINDS = {
    ("Tensor", "Shape"): "dim", ("Tensor", "ShapeSignature"): "dim", ("Tensor", "Type"): "dtype",
    ("Tensor", "Buffer"): "buffer", ("Operator", "OpcodeIndex"): "opcode",
    ("Operator", "Inputs"): "tensor", ("Operator", "Outputs"): "tensor",
    ("Operator", "Intermediates"): "tensor", ("SubGraph", "Inputs"): "tensor",
    ("SubGraph", "Outputs"): "tensor", ("OperatorCode", "BuiltinCode"): "op_code",
    ("OperatorCode", "DeprecatedBuiltinCode"): "op_code", ("Buffer", "Offset"): "offset",
    ("Buffer", "Size"): "offset", ("ReshapeOptions", "NewShape"): "dim",
}
_CONST_FORMATS = {tflite.TensorType.FLOAT32: "f", tflite.TensorType.INT32: "i",
                  tflite.TensorType.INT64: "q", tflite.TensorType.INT8: "b",
                  tflite.TensorType.UINT8: "B", tflite.TensorType.BOOL: "B",
                  tflite.TensorType.INT16: "h", tflite.TensorType.FLOAT16: "H"}
_OPTION_CLASSES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}
_N_TYPES = max(v for k, v in vars(tflite.TensorType).items() if not k.startswith("_")) + 1
_N_OPS = max(v for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")) + 1
_PARSE_ERRORS = (IndexError, struct.error, ValueError, KeyError, AttributeError, TypeError,
                 RecursionError)


@dataclass(frozen=True)
class Site:
    """One mutable value: `fmt` (struct format) at byte `pos`, named by `path`."""
    pos: int
    fmt: str
    kind: str
    path: str
    bound: int = 0           # what an index kind indexes: the count of tensors, buffers, ...
    group: tuple = ()        # positions of the other elements of the same vector


@functools.lru_cache(maxsize=None)
def fields(cls) -> dict:
    """{getter: (vtable slot, number type, is a vector)} for the scalar and scalar-vector
    fields of a generated tflite table class.

    >>> fields(tflite.Conv2DOptions)['StrideW'], fields(tflite.Tensor)['Shape']
    ((6, 'Int32', False), (4, 'Int32', True))
    """
    out = {}
    for name, fn in vars(cls).items():
        if not callable(fn) or not name[0].isupper():
            continue
        src = inspect.getsource(fn)
        slot = re.search(r"self\._tab\.Offset\((\d+)\)", src)
        get = re.search(r"self\._tab\.Get\(flatbuffers\.number_types\.(\w+)Flags, ([oa]) ", src)
        if slot and get:
            out[name] = (int(slot.group(1)), get.group(1), get.group(2) == "a")
    return out


def _kind(cls_name: str, field: str, numtype: str) -> str:
    kind = _KINDS.get((cls_name, field))
    if kind:
        return kind
    if field.endswith("SubgraphIndex"):
        return "subgraph"
    if numtype in ("Float32", "Float64"):
        return "float"
    return {"Bool": "bool", "Int8": "enum", "Uint8": "enum"}.get(numtype, "int")


class _Collector:
    def __init__(self, data: bytes):
        self.data = data
        self.sites: list[Site] = []
        self.bounds: dict = {}

    def fit(self, n: int, size: int = 4, start: int = 0) -> int:
        """A count read from the file, cut to what the file can hold (a mutant's may not)."""
        return max(0, min(n, (len(self.data) - start) // size))

    def table(self, obj, path: str) -> None:
        """Every scalar field of a table, every element and length prefix of its vectors."""
        tab, cls_name = obj._tab, type(obj).__name__
        for name, (slot, numtype, is_vector) in sorted(fields(type(obj)).items()):
            o = tab.Offset(slot)
            if o == 0:
                continue
            kind, fmt = _kind(cls_name, name, numtype), _FORMATS[numtype]
            where = f"{path}.{name}"
            if not is_vector:
                self.sites.append(Site(tab.Pos + o, fmt, kind, where, self.bounds.get(kind, 0)))
                continue
            start, n = tab.Vector(o), tab.VectorLen(o)
            self.sites.append(Site(start - 4, "I", "length", f"{where}.length", n))
            if cls_name == "Buffer":   # bytes: mutated through the tensors that use them
                continue
            size = struct.calcsize(fmt)
            group = tuple(start + size * k for k in range(self.fit(n, size, start)))
            for k, pos in enumerate(group):
                self.sites.append(Site(pos, fmt, kind, f"{where}[{k}]", self.bounds.get(kind, 0), group))

    def const_data(self, model, tensor, path: str) -> None:
        """The elements of a constant tensor's buffer (up to 64 evenly spread ones)."""
        fmt = _CONST_FORMATS.get(tensor.Type())
        buf = model.Buffers(tensor.Buffer())
        if fmt is None or buf is None or buf.DataLength() == 0:
            return
        o = buf._tab.Offset(4)
        start, size = buf._tab.Vector(o), struct.calcsize(fmt)
        n = self.fit(buf.DataLength(), size, start)
        picks = range(n) if n <= 64 else sorted({k * n // 64 for k in range(64)})
        group = tuple(start + size * k for k in picks)
        kind = "const_float" if fmt in "fH" else "const_int"
        for k, pos in zip(picks, group):
            self.sites.append(Site(pos, fmt, kind, f"{path}.data[{k}]", n, group))


def sites(data: bytes) -> list[Site]:
    """Every site of the model in `data`; on a corrupt model, those found before the damage."""
    c = _Collector(data)
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        c.bounds = {"buffer": model.BuffersLength(), "opcode": model.OperatorCodesLength(),
                    "subgraph": model.SubgraphsLength(), "dtype": _N_TYPES, "op_code": _N_OPS}
        for i in range(c.fit(model.OperatorCodesLength())):
            c.table(model.OperatorCodes(i), f"operator_codes[{i}]")
        for i in range(c.fit(model.BuffersLength())):
            c.table(model.Buffers(i), f"buffers[{i}]")
        for s in range(c.fit(model.SubgraphsLength())):
            sg = model.Subgraphs(s)
            c.bounds["tensor"] = sg.TensorsLength()
            c.table(sg, f"subgraphs[{s}]")
            for t in range(c.fit(sg.TensorsLength())):
                tensor, path = sg.Tensors(t), f"subgraphs[{s}].tensors[{t}]"
                c.table(tensor, path)
                if tensor.Quantization() is not None:
                    c.table(tensor.Quantization(), path + ".quantization")
                c.const_data(model, tensor, path)
            for k in range(c.fit(sg.OperatorsLength())):
                op, path = sg.Operators(k), f"subgraphs[{s}].operators[{k}]"
                c.table(op, path)
                cls_name = _OPTION_CLASSES.get(op.BuiltinOptionsType())
                if cls_name and op.BuiltinOptions() is not None:
                    opts = getattr(tflite, cls_name)()
                    opts.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
                    c.table(opts, f"{path}.{cls_name}")
    except _PARSE_ERRORS:
        pass
    return [s for s in c.sites if 0 <= s.pos and s.pos + struct.calcsize(s.fmt) <= len(data)]


def _wrap(value: int, fmt: str) -> int:
    """An int made to fit the field: two's complement wrap-around, like a C cast."""
    bits = 8 * struct.calcsize(fmt)
    value %= 1 << bits
    return value - (1 << bits) if fmt.islower() and value >= 1 << (bits - 1) else value


def _candidates(site: Site, old, rng: random.Random) -> list:
    if site.fmt in "fd":
        return [0.0, -0.0, 1.0, -1.0, float("nan"), float("inf"), float("-inf"), 3e38, 1e-45,
                -old, old * 1e6]
    if site.fmt == "H" and site.kind == "const_float":   # float16 bits: NaN, inf, max
        return [0x7E00, 0x7C00, 0xFC00, 0x7BFF, 0x8000, rng.getrandbits(16)]
    n = site.bound
    other = rng.randrange(max(n, 1))        # another valid index (or element count)
    common = [0, 1, -1, -2, old + 1, old - 1, rng.randint(-8, 64), 2**31 - 1, -2**31]
    by_kind = {
        "dim": [old * 2, 2**16, 2**24 + 1, 2**30, 3 * old + 1],
        "tensor": [n, n + 1, other, other],
        "buffer": [n, n + 1, other, 0],
        "opcode": [n, n + 1, other],
        "subgraph": [n, n + 1, other],
        "dtype": [other, other, n, 127],
        "op_code": [other, other, other, n, 127, 255],
        "enum": [2, 3, 4, 5, 6, 127],
        "bool": [2, 255],
        "int": [2, 3, 4, 8, 1000, old * 2],
        "length": [n + 1, n + 2, n * 2, n // 2, 2**31 - 1],
        "offset": [2**32, 2**63 - 1, 2**64 - 1],
        "const_int": [n, n + 1, 2**30, old * 2, rng.randint(-4, 8)],
    }
    return common + by_kind.get(site.kind, [])


def _field_write(data: bytearray, site: Site, rng: random.Random) -> str:
    (old,) = struct.unpack_from("<" + site.fmt, data, site.pos)
    others = [p for p in site.group if p != site.pos]
    if site.kind in ("dim", "tensor", "const_int") and others and rng.random() < 0.15:
        other = rng.choice(others)       # swap with a sibling: dims, inputs, perm entries
        (value,) = struct.unpack_from("<" + site.fmt, data, other)
        struct.pack_into("<" + site.fmt, data, other, old)
        struct.pack_into("<" + site.fmt, data, site.pos, value)
        return f"{site.path}: swapped {old} with {value} at the sibling at byte {other}"
    value = rng.choice(_candidates(site, old, rng))
    if site.fmt not in "fd":
        value = _wrap(int(value), site.fmt)
    struct.pack_into("<" + site.fmt, data, site.pos, value)
    return f"{site.path}: {old} -> {value}"


def _flip(data: bytearray, avoid: list, rng: random.Random) -> str:
    """Flip one to four random bits; three times in four outside the weight buffers."""
    flips = []
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(data))
        for _ in range(8):
            if rng.random() < 0.25 or not any(a <= pos < b for a, b in avoid):
                break
            pos = rng.randrange(len(data))
        bit = rng.randrange(8)
        data[pos] ^= 1 << bit
        flips.append(f"{pos}.{bit}")
    return "bit flips at " + ", ".join(flips)


def _weight_ranges(found: list[Site]) -> list:
    return [(s.pos + 4, s.pos + 4 + s.bound) for s in found if s.path.startswith("buffers[")
            and s.kind == "length"]


def mutate(data: bytes, seed: int, found: list[Site] | None = None) -> tuple[bytes, list[str]]:
    """A mutant of `data` and what was done, one line per mutation. `found`: sites(data),
    when the caller already has them."""
    rng = random.Random(seed)
    found = sites(data) if found is None else found
    by_kind: dict = {}
    for s in found:
        by_kind.setdefault(s.kind, []).append(s)
    kinds = sorted(by_kind)
    out, done, cut = bytearray(data), [], None
    count = rng.choice([1, 1, 1, 1, 1, 1, 2, 2, 3, 4])
    for _ in range(count):
        r = rng.random()
        if kinds and r < 0.88:
            site = rng.choice(by_kind[rng.choice(kinds)])
            done.append(_field_write(out, site, rng))
        elif out and r < 0.96:
            done.append(_flip(out, _weight_ranges(found), rng))
        elif out:
            cut = rng.randrange(len(out))
    if cut is not None:     # last, so that the positions of the other mutations stay valid
        del out[cut:]
        done.append(f"truncated to {cut} bytes")
    return bytes(out), done


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz.mutate", description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--out", help="write the mutant here")
    p.add_argument("--sites", action="store_true", help="list the model's sites and exit")
    args = p.parse_args(argv)
    data = open(args.model, "rb").read()
    if args.sites:
        for s in sites(data):
            print(f"{s.pos:8d} {s.fmt} {s.kind:11s} {s.path}")
        return 0
    mutant, done = mutate(data, args.seed)
    print("\n".join(done))
    if args.out:
        with open(args.out, "wb") as f:
            f.write(mutant)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
