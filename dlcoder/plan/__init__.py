"""Static memory plan: `lifetimes` finds what must live in the arena and when,
`placement` gives each buffer a compile-time offset."""
from dlcoder.plan.lifetimes import Buffer, arena_buffers
from dlcoder.plan.placement import Plan, dump, extend, letters, overlaps, place

__all__ = ["Buffer", "Plan", "arena_buffers", "dump", "extend", "letters", "overlaps", "place", "plan_graph"]


def plan_graph(g, scratch: dict, keep_all: bool = False, fixed=None) -> Plan:
    """The checked plan of a graph's tensors and scratch (arguments: see arena_buffers)."""
    plan = place(arena_buffers(g, scratch, keep_all=keep_all, fixed=fixed))
    bad = overlaps(plan)
    if bad:
        raise AssertionError(f"memory plan overlaps: {bad[:4]}")
    return plan
