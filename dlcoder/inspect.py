"""`dlcoder inspect`: what a model contains and what dlcoder would make of it."""
from __future__ import annotations

import collections

from dlcoder import compiler
from dlcoder.codegen.context import StateLayout
from dlcoder.errors import DlcoderError
from dlcoder.frontend import tflite as frontend
from dlcoder.ops import problem
from dlcoder.passes import pipeline
from dlcoder.plan import view


def inspect_model(model_path: str, shapes: dict | None = None, with_plan: bool = False) -> dict:
    """The report; with_plan adds "plan", the main graph's memory plan (plan.view.describe),
    when the model compiles."""
    g = frontend.load(model_path)
    # support is judged after the passes: a DEQUANTIZE of weights is folded away, and a
    # convolution is only compilable once its filter is a constant
    optimized = pipeline.run(g)
    ops = collections.OrderedDict()
    for k in _run_subgraphs(g):
        sub, opt = (g, optimized) if k == 0 else (g.subgraph(k), optimized.subgraph(k))
        remaining = {n.index for n in opt.nodes}
        problems = {n.index: problem(n, opt) for n in opt.nodes}
        for i, node in enumerate(sub.nodes):
            at = node.index if node.index >= 0 else i      # the model's operator index
            entry = ops.setdefault(node.op, {"count": 0, "first_node": at, "supported": True,
                                             "folded": 0})
            entry["count"] += 1
            if at not in remaining:
                entry["folded"] += 1
            elif problems[at] is not None:
                entry["supported"] = False
                entry["problem"] = problems[at]
    tensors = [{"index": i, "name": t.name, "dtype": t.dtype, "shape": list(t.shape),
                "constant": t.is_const, "bytes": t.nbytes, "quantization": quantization(t)}
               for i, t in enumerate(g.tensors)]
    report = {
        "model": model_path,
        "subgraphs": 1 + len(g.subgraphs),
        "inputs": [_io(g, t) for t in g.inputs],
        "outputs": [_io(g, t) for t in g.outputs],
        "ops": ops,
        "signatures": [{"key": sig.key, "subgraph": sig.subgraph,
                        "inputs": [key for key, _ in sig.inputs],
                        "outputs": [key for key, _ in sig.outputs]} for sig in g.signatures],
        "variables": [v.name for v in g.variables],
        "tensors": tensors,
        "model_weight_bytes": sum(t.nbytes for _, sub in g.reachable() for t in sub.tensors if t.is_const),
        "activation_bytes_unplanned": sum(t.nbytes for _, sub in g.reachable()
                                          for t in sub.tensors if not t.is_const),
    }
    try:
        lib, compiled = compiler.compile_graph(compiler.load_graph(model_path, shapes), "model")
        report.update(supported=True, arena_bytes=lib.arena_bytes, weight_bytes=lib.weight_bytes)
        if with_plan:
            report["plan"] = view.describe(lib.plan, compiled, StateLayout(compiled).size, lib.arena_bytes)
    except DlcoderError as e:
        report.update(supported=False, problem=str(e))
    return report


def _run_subgraphs(g) -> list:
    """The model subgraphs that run: the main graph, those its signatures name, and those
    their control flow runs (a subgraph's own reachable() numbers itself 0)."""
    found = {k for k, _ in g.reachable()}
    for s in g.signature_subgraphs():
        found |= {s} | {k for k, _ in g.subgraph(s).reachable() if k > 0}
    return sorted(found)


def quantization(t) -> dict | None:
    """A tensor's quantization: the scheme, and the scale and zero point (per tensor) or
    their ranges (per channel, along `axis`); None for a tensor without one."""
    q = t.quant
    if q is None:
        return None
    if not q.per_channel:
        return {"scheme": "per-tensor", "scale": q.scale[0], "zero_point": q.zero_point[0]}
    return {"scheme": "per-channel", "axis": q.axis, "channels": len(q.scale),
            "scale": [min(q.scale), max(q.scale)],
            "zero_point": [min(q.zero_point), max(q.zero_point)]}


def format_quantization(q: dict | None) -> str:
    if q is None:
        return "not quantized"
    if q["scheme"] == "per-tensor":
        return f"per-tensor scale {q['scale']:.6g} zero point {q['zero_point']}"
    zl, zh = q["zero_point"]
    return (f"per-channel along axis {q['axis']} ({q['channels']} channels) scale "
            f"{q['scale'][0]:.6g}..{q['scale'][1]:.6g} zero point {zl if zl == zh else f'{zl}..{zh}'}")


def _io(g, t) -> dict:
    ten = g.tensors[t]
    return {"name": ten.name, "dtype": ten.dtype, "shape": list(ten.shape),
            "shape_signature": list(ten.signature) if ten.signature else list(ten.shape),
            "quantization": quantization(ten)}


def format_report(r: dict) -> str:
    lines = [f"model: {r['model']} ({r['subgraphs']} subgraph{'s' if r['subgraphs'] > 1 else ''})"]
    for kind in ("inputs", "outputs"):
        for k, t in enumerate(r[kind]):
            q = f", {format_quantization(t['quantization'])}" if t["quantization"] else ""
            lines.append(f"{kind[:-1]} {k}: {t['name']} {t['dtype']}{t['shape_signature']}{q}")
    for sig in r["signatures"]:
        lines.append(f"signature '{sig['key']}': subgraph {sig['subgraph']}, inputs "
                     f"{', '.join(sig['inputs']) or '-'}; outputs {', '.join(sig['outputs']) or '-'}")
    if r["variables"]:
        lines.append(f"resource variables (state kept from run to run): {', '.join(r['variables'])}")
    lines.append("ops:")
    for op, e in r["ops"].items():
        mark = "ok" if e["supported"] else f"UNSUPPORTED ({e.get('problem')})"
        if e["folded"]:
            mark += (f", {e['folded']} resolved at generation time (folded, aliased, or "
                     f"fused into another op's kernel)")
        lines.append(f"  {op:<28} x{e['count']:<4} {mark}")
    lines.append(f"tensors: {len(r['tensors'])} ({sum(t['constant'] for t in r['tensors'])} constant)")
    quantized = [t for t in r["tensors"] if t["quantization"]]
    if quantized:
        lines.append(f"quantized tensors: {len(quantized)}")
        for t in quantized:
            lines.append(f"  {t['index']:>4} {t['name']} {t['dtype']}{t['shape']}"
                         f"{' constant' if t['constant'] else ''}: {format_quantization(t['quantization'])}")
    lines.append(f"weights in model: {r['model_weight_bytes']} bytes")
    lines.append(f"activations, unplanned sum: {r['activation_bytes_unplanned']} bytes")
    if r["supported"]:
        lines.append(f"generated: weights {r['weight_bytes']} bytes, arena {r['arena_bytes']} bytes")
    else:
        lines.append(f"not compilable: {r['problem']}")
    if "plan" in r:
        lines.append(view.format_plan(r["plan"]))
    return "\n".join(lines)
