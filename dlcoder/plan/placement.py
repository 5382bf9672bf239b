"""Greedy placement of buffers in one arena.

1. Sort the buffers, by default by size, largest first (ties: earlier first use, then key),
   because large buffers are the hardest to fit and decide the arena size.
2. For each buffer, collect the already placed buffers whose lifetimes intersect its own,
   sorted by offset.
3. Walk those from offset 0 and take the first gap (or the smallest gap, for best fit),
   rounded up to the alignment, that holds the buffer; if none, place it after the last.
4. The arena size is the highest end offset, rounded up to the alignment.

No one order wins on every network (greedy by size fragments when a fusion removes the
largest buffers of a stretch), so `place` runs a few orders and both gap rules and keeps
the smallest arena; the first order listed wins ties.

`extend` fits more buffers into a finished plan without moving anything (the scratch of a
second thread's tasks, which the single-threaded arena must not pay for).

The result is deterministic and every offset is a compile-time constant of the generated
code. `overlaps` checks a plan; `dump` draws it for tests and for people.
"""
from __future__ import annotations

from dataclasses import dataclass

ALIGN = 64


def _align(x: int, a: int = ALIGN) -> int:
    return (x + a - 1) // a * a


@dataclass(frozen=True)
class Plan:
    offsets: dict        # buffer key -> byte offset
    buffers: tuple       # the Buffers placed
    size: int            # arena bytes

    def offset(self, key) -> int:
        return self.offsets[key]


def _live_together(a, b) -> bool:
    return a.first <= b.last and b.first <= a.last


# Orders tried by `place`, each a sort key.
ORDERS = (
    lambda b: (-b.size, b.first, b.key),                                 # by size
    lambda b: (-b.size * (b.last - b.first + 1), -b.size, b.first, b.key),  # by size x lifetime
    lambda b: (-(b.last - b.first), -b.size, b.first, b.key),            # longest lived first
    lambda b: (b.first, -b.size, b.key),                                 # in execution order
)


def _place(buffers: list, order, best_fit: bool, align: int, fixed=()) -> Plan:
    placed = list(fixed)   # (offset, buffer); `fixed` ones stay where they are
    for buf in sorted(buffers, key=order):
        neighbours = sorted(((off, other) for off, other in placed if _live_together(buf, other)),
                            key=lambda p: (p[0], p[1].key))
        offset, best = 0, None       # best: (gap, offset) of the tightest gap that fits
        for off, other in neighbours:
            if off - offset >= buf.size:
                if not best_fit:
                    break
                if best is None or off - offset < best[0]:
                    best = (off - offset, offset)
            offset = max(offset, _align(off + other.size, align))
        if best_fit and best is not None:
            offset = best[1]
        placed.append((offset, buf))
    size = _align(max((off + b.size for off, b in placed), default=0), align)
    return Plan(offsets={b.key: off for off, b in placed}, size=size,
                buffers=tuple(b for _, b in fixed) + tuple(buffers))


def place(buffers: list, align: int = ALIGN) -> Plan:
    plans = [_place(buffers, order, best_fit, align) for order in ORDERS for best_fit in (False, True)]
    return min(plans, key=lambda p: p.size)   # min keeps the first of equals


def extend(plan: Plan, buffers: list, align: int = ALIGN) -> Plan:
    """The plan with more buffers placed around the ones it has, which keep their offsets:
    each new buffer takes the tightest gap it fits among those live with it, or goes past
    them, which may grow the arena."""
    return _place(buffers, ORDERS[0], True, align,
                  fixed=[(plan.offsets[b.key], b) for b in plan.buffers])


def overlaps(plan: Plan) -> list:
    """Pairs of buffers that are live at the same step and share bytes (empty if sound)."""
    bad = []
    bufs = sorted(plan.buffers, key=lambda b: b.key)
    for i, a in enumerate(bufs):
        a0 = plan.offsets[a.key]
        for b in bufs[i + 1:]:
            b0 = plan.offsets[b.key]
            if _live_together(a, b) and a0 < b0 + b.size and b0 < a0 + a.size:
                bad.append((a.key, b.key))
    return bad


MARKS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def letters(plan: Plan) -> dict:
    """Buffer key -> the character that marks it in `dump`, by first step, then offset
    (A-Z, a-z, 0-9, then A again)."""
    order = sorted(plan.buffers, key=lambda b: (b.first, plan.offsets[b.key], b.key))
    return {b.key: MARKS[i % len(MARKS)] for i, b in enumerate(order)}


def dump(plan: Plan, width: int = 64, labels=None) -> str:
    """One row per step; each column is a slice of the arena, marked with the letter of
    the buffer that occupies it ('.' = free). labels: text per step, after its row.

    >>> from dlcoder.plan.lifetimes import Buffer
    >>> p = place([Buffer(("t", 0), 128, 0, 1), Buffer(("t", 1), 64, 1, 2), Buffer(("t", 2), 128, 2, 3)])
    >>> print(dump(p, width=6))
    step 0: AAAA..
    step 1: AAAABB
    step 2: CCCCBB
    step 3: CCCC..
    """
    if not plan.buffers:
        return "(empty plan)"
    names = letters(plan)
    steps = max(b.last for b in plan.buffers) + 1
    per_col = max(1, -(-plan.size // width))
    rows = []
    for s in range(steps):
        row = ["."] * width
        for b in plan.buffers:
            if b.first <= s <= b.last:
                off = plan.offsets[b.key]
                for c in range(off // per_col, min(width, -(-(off + b.size) // per_col))):
                    row[c] = names[b.key]
        rows.append(f"step {s:>{len(str(steps - 1))}}: " + "".join(row)
                    + (f"  {labels[s]}" if labels else ""))
    return "\n".join(rows)
