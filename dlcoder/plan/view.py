"""The memory plan for people: `describe` turns a graph's plan into plain data (what
`dlcoder inspect --plan --json` prints), `format_plan` into a table and the step-by-step
picture of `dump`, `draw_svg` into a drawing. The question they answer is the one a
person asks when the arena is larger than expected: which buffers are live together at
the step where the arena is fullest, and how they are stacked.

Offsets are the generated code's: from the start of the arena, past the persistent state
(resource variables and init flags) that sits before every plan.
"""
from __future__ import annotations

import math
from xml.sax.saxutils import escape

from dlcoder.ir import Graph, op_label
from dlcoder.plan.lifetimes import Buffer
from dlcoder.plan.placement import Plan, dump, letters


def describe(plan: Plan, g: Graph, state_bytes: int, arena_bytes: int) -> dict:
    """The plan of graph g as JSON-able data: its steps (the op each runs), and one entry
    per buffer, numbered in the order of `dump`'s letters (by first step, then offset)."""
    names = letters(plan)
    rows = []
    for i, b in enumerate(sorted(plan.buffers, key=lambda b: (b.first, plan.offsets[b.key], b.key))):
        kind, index = b.key
        rows.append({"id": i, "letter": names[b.key], "kind": kind, "index": index,
                     "name": g.tensors[index].name if kind == "tensor"
                     else f"scratch of step {index} ({op_label(g.nodes[index])})",
                     "bytes": b.size, "first": b.first, "last": b.last,
                     "offset": state_bytes + plan.offsets[b.key]})
    return {"steps": [op_label(n) for n in g.nodes], "buffers": rows, "state_bytes": state_bytes,
            "plan_bytes": plan.size, "arena_bytes": arena_bytes}


def _as_plan(d: dict) -> Plan:
    """The Plan that `describe` made `d` from (offsets again relative to the plan)."""
    buffers = tuple(Buffer((r["kind"], r["index"]), r["bytes"], r["first"], r["last"]) for r in d["buffers"])
    return Plan(offsets={(r["kind"], r["index"]): r["offset"] - d["state_bytes"] for r in d["buffers"]},
                buffers=buffers, size=d["plan_bytes"])


def format_plan(d: dict, width: int = 64) -> str:
    """A table of the buffers, then one row per step of the arena (plan.dump)."""
    total = d["state_bytes"] + d["plan_bytes"]
    head = (f"memory plan of the main graph: {len(d['buffers'])} buffers over {len(d['steps'])} steps; "
            f"plan {d['plan_bytes']} bytes, persistent state {d['state_bytes']} bytes, arena "
            f"{d['arena_bytes']} bytes" + (" (a signature's graph needs more than the main graph)"
                                           if d["arena_bytes"] > total else ""))
    size_w = max([5] + [len(str(r["bytes"])) for r in d["buffers"]])
    off_w = max([6] + [len(str(r["offset"])) for r in d["buffers"]])
    id_w = len(str(len(d["buffers"])))
    lines = [head, f"  {'id':>{id_w}} mark  {'bytes':>{size_w}}  first   last  {'offset':>{off_w}}  buffer"]
    for r in d["buffers"]:
        lines.append(f"  {r['id']:>{id_w}}    {r['letter']}  {r['bytes']:>{size_w}}  {r['first']:>5}  "
                     f"{r['last']:>5}  {r['offset']:>{off_w}}  {short_name(r['name'])}")
    if d["buffers"]:
        per_col = max(1, -(-d["plan_bytes"] // width))
        lines.append(f"the plan by step (one column per {per_col} bytes from offset {d['state_bytes']}, "
                     f"buffers by mark, '.' free):")
        lines.append(dump(_as_plan(d), width=width, labels=d["steps"]))
    return "\n".join(lines)


def short_name(name: str, width: int = 60) -> str:
    """A tensor name that fits a table row: converters join the names of the ops fused into
    one tensor with ';', and the first names the op that writes it; past `width`, the
    end of the path, which is the specific part.

    >>> short_name("net/block_1/Relu6;net/block_1/BN/add;net/block_1/conv")
    'net/block_1/Relu6'
    >>> short_name("a/" * 40 + "conv", width=12)
    '…/a/a/a/conv'
    """
    first = name.split(";")[0]
    return first if len(first) <= width else "\u2026" + first[len(first) - width + 1:]


# Layout of the drawing, in pixels.
LEFT, TOP, RIGHT, BOTTOM = 90, 48, 24, 48
PLOT_HEIGHT = 480
FONT = 10
COLOURS = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
           "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f")


def draw_svg(d: dict, title: str) -> str:
    """A self-contained SVG: x is the step, y the arena offset (0 at the bottom); each
    buffer is a box from its first to its last step and from its offset to its end,
    labelled with its number and name where the box is large enough, and titled (a
    tooltip) with all of its row. A dashed line marks the arena size. The plot area is
    the rect of class "plot", whose data-steps and data-bytes give its scale."""
    steps = max(1, len(d["steps"]))
    top_bytes = max(1, math.ceil(d["arena_bytes"] * 1.05))
    width = min(1600, max(480, 24 * steps))
    sx, sy = width / steps, PLOT_HEIGHT / top_bytes

    def y(offset):
        return TOP + PLOT_HEIGHT - offset * sy

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + width + RIGHT}" '
           f'height="{TOP + PLOT_HEIGHT + BOTTOM}" font-family="sans-serif" font-size="{FONT}">',
           f'<title>{escape(title)}</title>',
           f'<text x="{LEFT}" y="{TOP - 28}" font-size="{FONT + 3}">{escape(title)}: memory plan of the main '
           f'graph, {len(d["buffers"])} buffers, arena {d["arena_bytes"]} bytes</text>',
           f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{width}" height="{PLOT_HEIGHT}" '
           f'data-steps="{steps}" data-bytes="{top_bytes}" fill="none" stroke="#999"/>']
    out += _axes(steps, top_bytes, width, sx, y)
    if d["state_bytes"]:
        out.append(f'<rect class="state" x="{LEFT}" y="{y(d["state_bytes"]):.2f}" width="{width}" '
                   f'height="{d["state_bytes"] * sy:.2f}" fill="#ddd"><title>persistent state: '
                   f'{d["state_bytes"]} bytes</title></rect>')
        if d["state_bytes"] * sy >= FONT + 1:
            out.append(f'<text x="{LEFT + 4}" y="{y(d["state_bytes"] / 2):.2f}" dominant-baseline="middle">'
                       f'persistent state (resource variables), {d["state_bytes"]} bytes</text>')
    labels = _labels(d["buffers"])
    for i, r in enumerate(d["buffers"]):
        out += _box(r, labels[i], LEFT + r["first"] * sx, y(r["offset"] + r["bytes"]),
                    (r["last"] - r["first"] + 1) * sx, r["bytes"] * sy, COLOURS[i % len(COLOURS)])
    arena_y = y(d["arena_bytes"])
    out.append(f'<line class="arena" x1="{LEFT}" y1="{arena_y:.2f}" x2="{LEFT + width}" y2="{arena_y:.2f}" '
               f'stroke="#c00" stroke-dasharray="6 3"/>')
    out.append(f'<text x="{LEFT + width - 4}" y="{arena_y - 4:.2f}" text-anchor="end" fill="#c00">'
               f'arena {d["arena_bytes"]} bytes</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _labels(rows: list) -> list:
    """Each buffer's label: its number and name, without the path prefix that all the
    tensor names share (a Keras export starts every one with the model's name).

    >>> _labels([{"id": 0, "kind": "tensor", "name": "net/a/Relu;net/a/conv"},
    ...          {"id": 1, "kind": "tensor", "name": "net/b/Add"},
    ...          {"id": 2, "kind": "scratch", "name": "scratch of step 1 (ADD)"}])
    ['0 a/Relu', '1 b/Add', '2 scratch of step 1 (ADD)']
    """
    paths = [r["name"].split(";")[0].split("/") for r in rows if r["kind"] == "tensor"]
    common = 0
    while paths and all(len(p) > common + 1 and p[common] == paths[0][common] for p in paths):
        common += 1
    return [f'{r["id"]} ' + ("/".join(r["name"].split(";")[0].split("/")[common:])
                             if r["kind"] == "tensor" else r["name"]) for r in rows]


def _box(r: dict, label: str, x: float, y: float, w: float, h: float, colour: str) -> list:
    """One buffer's rect, and its label if the box holds one line of a few characters."""
    fill = "#e0e0e0" if r["kind"] == "scratch" else colour
    tip = (f'{r["id"]} {r["name"]}: {r["bytes"]} bytes at offset {r["offset"]}, '
           f'steps {r["first"]}..{r["last"]}')
    out = [f'<rect class="buffer" x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" '
           f'fill="{fill}" stroke="#333" stroke-width="0.5" data-id="{r["id"]}" '
           f'data-offset="{r["offset"]}" data-bytes="{r["bytes"]}" data-first="{r["first"]}" '
           f'data-last="{r["last"]}"><title>{escape(tip)}</title></rect>']
    fits = int((w - 4) / (FONT * 0.6))
    if h >= FONT + 1 and fits >= 1:
        if len(label) > fits:
            label = label[:max(1, fits - 1)] + ("\u2026" if fits > 1 else "")
        out.append(f'<text x="{x + 2:.2f}" y="{y + h / 2:.2f}" dominant-baseline="middle">'
                   f'{escape(label)}</text>')
    return out


def _axes(steps: int, top_bytes: int, width: float, sx: float, y) -> list:
    """Ticks and labels: steps along x (about 20 at most), byte offsets along y."""
    out = []
    every = max(1, math.ceil(steps / 20))
    for s in range(0, steps, every):
        x = LEFT + (s + 0.5) * sx
        out.append(f'<text x="{x:.2f}" y="{TOP + PLOT_HEIGHT + 14}" text-anchor="middle">{s}</text>')
    out.append(f'<text x="{LEFT + width / 2:.2f}" y="{TOP + PLOT_HEIGHT + 32}" text-anchor="middle">step</text>')
    unit, scale = next((u, s) for u, s in (("MB", 2**20), ("KB", 2**10), ("B", 1)) if top_bytes >= 2 * s or s == 1)
    tick = _nice(top_bytes / scale / 5)
    for k in range(0, int(top_bytes / scale / tick) + 1):
        ty = y(k * tick * scale)
        out.append(f'<line x1="{LEFT - 4}" y1="{ty:.2f}" x2="{LEFT}" y2="{ty:.2f}" stroke="#999"/>')
        out.append(f'<text x="{LEFT - 6}" y="{ty:.2f}" text-anchor="end" dominant-baseline="middle">'
                   f'{k * tick:.4g} {unit}</text>')
    out.append(f'<text transform="translate(16 {TOP + PLOT_HEIGHT / 2:.2f}) rotate(-90)" '
               f'text-anchor="middle">arena offset</text>')
    return out


def _nice(x: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least x (> 0): a tick step.

    >>> [_nice(v) for v in (0.3, 3, 7, 12, 4500)]
    [0.5, 5.0, 10.0, 20.0, 5000.0]
    """
    power = 10.0 ** math.floor(math.log10(x))
    return next(round(m * power, 12) for m in (1, 2, 5, 10) if m * power >= x)
