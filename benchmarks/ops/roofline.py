"""The op benchmark's roofline: the least time this core could take for a case, from what
the case must compute and what it must move, and this core's measured ceilings.

- Work (work()): the multiply-accumulates of a convolution, FULLY_CONNECTED or
  BATCH_MATMUL (none for the other ops), and the bytes of every tensor the op reads or
  writes, each counted once: inputs, weights, biases and outputs.
- Ceilings (measure()): peak.cc, built with -march=native and run once per benchmark run
  before anything else, times the float32 FMA rate of the widest vectors, the int8
  dot-product rate (vpdpbusd; the cases' int8 MACs are charged at it) and the rate at
  which c = a + b streams through the caches, at working sets of 4 KB to 128 MB.
- Bound (bound_ms()): the larger of the MACs at the compute ceiling and the bytes at the
  stream rate of a working set of that many bytes (the single-op models' tensors stay in
  the caches between invokes, as the stream loop's arrays do).

"at % of roof" is bound / time: 100% means the engine runs at this core's limit, and a
ratio to XNNPACK that stays above the goal while both engines are near 100% is out of any
kernel's reach. The bound is an estimate of that limit, not a proof: a kernel can beat
the stream rate when its tensors fit a faster cache than the loop's did, or when it
writes less than the count (an op done in place).
"""
from __future__ import annotations

import hashlib
import json
import math
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "peak.cc"
FLAGS = ("-std=c++17", "-O2", "-march=native")


def work(hand) -> tuple[int, int]:
    """(MACs, bytes) of a HandModel's operators."""
    t = hand.tensors

    def shape(i):
        return t[i]["shape"]

    macs, touched = 0, set()
    for opname, ins, outs, _opts, kw, *_ in hand.operators:
        touched.update(i for i in ins + outs if i >= 0)
        out = math.prod(shape(outs[0]))
        if opname == "CONV_2D":
            _, kh, kw_, cin = shape(ins[1])
            macs += out * kh * kw_ * cin
        elif opname == "DEPTHWISE_CONV_2D":
            _, kh, kw_, _ = shape(ins[1])
            macs += out * kh * kw_
        elif opname == "TRANSPOSE_CONV":
            cout, kh, kw_, _ = shape(ins[1])
            macs += math.prod(shape(ins[2])) * kh * kw_ * cout
        elif opname == "FULLY_CONNECTED":
            macs += out * shape(ins[1])[-1]
        elif opname == "BATCH_MATMUL":
            a = shape(ins[0])
            macs += out * (a[-2] if kw.get("AdjX") else a[-1])
    nbytes = sum(math.prod(shape(i)) * t[i]["dtype"].itemsize for i in touched)
    return macs, nbytes


def measure(build: Path) -> dict:
    """This core's ceilings (peak.cc's JSON: lanes, fma_flops, dot_macs, stream as
    [bytes, bytes/s] pairs), built into the build cache once per source."""
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join(FLAGS).encode()).hexdigest()[:16]
    exe = build / "peak" / key / "peak"
    if not exe.exists():
        exe.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["c++", *FLAGS, str(SOURCE), "-o", str(exe)], check=True)
    res = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def best(a: dict, b: dict) -> dict:
    """The higher of two measurements of one machine's ceilings, field by field: a core
    cannot run slower than a rate it has reached, while a measurement taken beside other
    work can come out low."""
    rates = dict(a["stream"])
    for size, rate in b["stream"]:
        rates[size] = max(rate, rates.get(size, 0))
    return {"lanes": a["lanes"], "fma_flops": max(a["fma_flops"], b["fma_flops"]),
            "dot_macs": max(a["dot_macs"], b["dot_macs"]), "stream": sorted(rates.items())}


def stream_rate(peaks: dict, nbytes: int) -> float:
    """Bytes/s of the stream loop at a working set of nbytes, interpolated on log-log
    between the measured sizes (the end rates beyond them)."""
    sizes = np.log([s for s, _ in peaks["stream"]])
    rates = np.log([r for _, r in peaks["stream"]])
    return float(np.exp(np.interp(math.log(max(nbytes, 1)), sizes, rates)))


def bound_ms(macs: int, nbytes: int, int8: bool, peaks: dict) -> float:
    """The roofline time of a case in ms (see the module's docstring)."""
    if int8 and peaks["dot_macs"] > 0:
        compute = macs / peaks["dot_macs"]
    else:
        compute = 2 * macs / peaks["fma_flops"]
    return 1e3 * max(compute, nbytes / stream_rate(peaks, nbytes))


def attach(row: dict, peaks: dict) -> dict:
    """row (a case's result, with its macs, bytes and dtype) with its roof against `peaks`:
    bound_ms, and where it was timed, each engine's time as a fraction of it (roof)."""
    row["bound_ms"] = bound_ms(row["macs"], row["bytes"], row["dtype"] == "int8", peaks)
    if "ms" in row:
        row["roof"] = {k: row["bound_ms"] / v for k, v in row["ms"].items()}
    return row


def describe(peaks: dict) -> str:
    """One sentence of the ceilings, for the report."""
    rates = {s: r for s, r in peaks["stream"]}
    picks = [(f"{s >> 10} KB" if s < 1 << 20 else f"{s >> 20} MB", rates[s])
             for s in (32 << 10, 512 << 10, 4 << 20, 64 << 20) if s in rates]
    dot = f"{peaks['dot_macs'] / 1e9:.0f} G int8 MAC/s" if peaks["dot_macs"] else "no int8 dot product"
    return (f"float32 FMA {peaks['fma_flops'] / 1e9:.1f} GFLOP/s ({peaks['lanes']} lanes), {dot}; "
            "stream c = a + b " + ", ".join(f"{r / 1e9:.0f} GB/s at {n}" for n, r in picks))
