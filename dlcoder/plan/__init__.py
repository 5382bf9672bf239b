"""Static memory plan: `lifetimes` finds what must live in the arena and when,
`placement` gives each buffer a compile-time offset."""
from dlcoder.plan.lifetimes import Buffer, arena_buffers
from dlcoder.plan.placement import Plan, dump, overlaps, place

__all__ = ["Buffer", "Plan", "arena_buffers", "dump", "overlaps", "place"]
