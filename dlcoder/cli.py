"""dlcoder command line: generate / inspect / verify / bench.

Exit codes: 0 done; 1 verify found a mismatch; 2 a problem with the model or the arguments
(one line on stderr: a DlcoderError, or an OSError writing an output folder); 3 an
internal error, a bug in dlcoder (one line that names the phase; the traceback with
--debug), or out of memory; 130 interrupted; 141 stdout closed early (`... | head`), no message.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from dlcoder import __version__
from dlcoder.errors import DlcoderError

# The phase an internal error happened in: the innermost function on the exception's
# traceback that one of these (module. or module.function prefixes) names. Code that runs
# in several phases (the op table, the IR) names none, so its caller's phase shows.
PHASES = (
    ("dlcoder.frontend.", "reading the model"),
    ("dlcoder.compiler.load_graph", "reading the model"),
    ("dlcoder.validate.", "validation"),
    ("dlcoder.compiler.check_", "validation"),
    ("dlcoder.passes.", "passes"),
    ("dlcoder.plan.", "memory planning"),
    ("dlcoder.codegen.", "code generation"),
    ("dlcoder.outdir.", "writing files"),
    ("dlcoder.verify.build_runner", "compiling"),
    ("dlcoder.verify.compile_library", "compiling"),
    ("dlcoder.verify.run_runner", "running the library"),
    ("dlcoder.verify.reference_", "running the reference"),
    ("dlcoder.bench._tflite_times", "running the reference"),
    ("dlcoder.iree.", "running IREE"),
    ("dlcoder.verify.compare", "comparing outputs"),
)


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="the .tflite file")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=D1xD2...",
                   help="pin a dynamic input shape (repeatable)")
    p.add_argument("--custom-ops", action="append", default=[], metavar="OPS.py",
                   help="a Python file that registers custom ops (CUSTOM:<code>) and their C++ "
                        "kernels (repeatable; see README, Custom ops)")


def _add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true",
                   help="no progress lines on stderr (they are printed only when stderr is a "
                        "terminal; notes stay)")


def _shapes(args) -> dict:
    from dlcoder.shapes import parse_shape_arg
    return dict(parse_shape_arg(s) for s in args.input_shape)


def _progress(args):
    from dlcoder.console import Progress
    return Progress.for_command(args.quiet)


def cmd_generate(args) -> int:
    from dlcoder import compiler, outdir
    from dlcoder.codegen import cgen
    from dlcoder.console import tflite_info_dropped
    progress = _progress(args)
    shapes = _shapes(args)
    if args.name is not None:
        cgen.check_name(args.name)
    cgen.check_namespace(args.namespace)
    with progress.phase(f"reading {args.model}"):
        g = compiler.load_graph(args.model, shapes, note=progress.note)
    name = args.name or compiler.default_name(args.model)
    # after the model is read, so that a bad model is what gets reported, and before the
    # passes, the reference run and any write
    out = outdir.check(args.out_dir, "--out-dir", args.model)
    if args.test_dir:
        outdir.check(args.test_dir, "--test-dir", args.model, apart_from=("--out-dir", out))
    with progress.phase("generating the C++ library"):
        lib, g_opt = compiler.compile_graph(g, name, args.namespace, keep_names=args.keep_names,
                                            weights_f32=args.weights_f32, optimize_for=args.optimize_for)
    tests = None
    if args.test_dir:
        with progress.phase("running the TFLite interpreter for the self-test's expected outputs"), \
                tflite_info_dropped(progress):
            tests = compiler.test_files(args.model, g, g_opt, lib, name)
    with progress.phase(f"writing {args.out_dir}" + (f" and {args.test_dir}" if args.test_dir else "")):
        compiler.write_library(lib, args.out_dir)
        if tests is not None:
            compiler.write_files(tests, args.test_dir)
    print(f"wrote {args.out_dir}/{name}.h: arena {lib.arena_bytes} bytes, weights {lib.weight_bytes} bytes")
    return 0


def cmd_inspect(args) -> int:
    from dlcoder.inspect import inspect_model, format_report
    report = inspect_model(args.model, _shapes(args), with_plan=args.plan or bool(args.plan_svg))
    if args.plan_svg:
        _write_plan_svg(report, args.plan_svg, args.model)
    if not args.plan:
        report.pop("plan", None)
    print(json.dumps(report, indent=1, sort_keys=True) if args.json else format_report(report))
    return 0


def _write_plan_svg(report: dict, path: str, model: str) -> None:
    """--plan-svg: the drawing of the plan, or exit 2 if there is none or the file cannot
    be written."""
    from dlcoder.plan.view import draw_svg
    if "plan" not in report:
        raise DlcoderError(f"no memory plan to draw, the model is not compilable: {report['problem']}")
    svg = draw_svg(report["plan"], os.path.basename(model))
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(svg)
    except OSError as e:
        raise DlcoderError(f"cannot write {path}: {e.strerror or e}") from None


def cmd_verify(args) -> int:
    from dlcoder.verify_cmd import verify
    return verify(args.model, _shapes(args), inputs_npz=args.inputs, per_tensor=args.per_tensor,
                  seed=args.seed, keep_dir=args.keep_dir, cxx=args.cxx, frames=args.frames,
                  progress=_progress(args))


def cmd_bench(args) -> int:
    from dlcoder.bench import bench
    iree = args.iree
    if iree == "":  # --iree without a VENV
        from dlcoder.iree import default_venv
        iree = default_venv()
    return bench(args.model, _shapes(args), threads=args.threads, as_json=args.json,
                 runs=args.runs, with_per_op=args.per_op, progress=_progress(args), iree=iree)


def build_parser() -> argparse.ArgumentParser:
    # --debug before or after the command; SUPPRESS so that a subcommand's default does not
    # overwrite a --debug given before it
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="on an internal error, raise it (Python traceback) instead of one line")
    p = argparse.ArgumentParser(prog="dlcoder", description="Compile TFLite models into C++ libraries.",
                                parents=[debug])
    p.add_argument("--version", action="version", version=f"dlcoder {__version__}")
    p.add_argument("--cmake-dir", action="store_true",
                   help="print the folder holding DLCoderConfig.cmake and exit")
    sub = p.add_subparsers(dest="command")

    g = sub.add_parser("generate", parents=[debug], help="write a self-contained C++ library for a model")
    _add_model_args(g)
    g.add_argument("--out-dir", required=True, help="output folder, replaced as a whole: it must be "
                   "new, empty, or written by dlcoder before")
    g.add_argument("--name", help="class name and C API prefix (default: the model's file stem)")
    g.add_argument("--namespace", default="dlcoder", help="C++ namespace of the class (a::b allowed)")
    g.add_argument("--keep-names", action="store_true", help="keep tensor names in comments")
    g.add_argument("--weights-f32", action="store_true", help="store the model's float16 weights as "
                   "float32 (by default the GEMM kernels read them as float16: half the bytes, the same "
                   "results)")
    g.add_argument("--optimize-for", choices=("speed", "size"), default="budget", help="speed: the "
                   "faster kernel layouts whatever their bytes; size: the smaller ones (no Winograd "
                   "filter, no second filter copy); default: speed while code + read-only data stay "
                   "within 1.25 x the weights as float32 + 1 MB")
    g.add_argument("--test-dir", help="also write NAME_test.cc (checks against outputs the TFLite "
                   "interpreter computes now) and NAME_benchmark.cc into this folder")
    _add_quiet(g)
    g.set_defaults(fn=cmd_generate)

    i = sub.add_parser("inspect", parents=[debug], help="ops, tensors, weight and arena bytes")
    _add_model_args(i)
    i.add_argument("--json", action="store_true", help="print the report as JSON")
    i.add_argument("--plan", action="store_true",
                   help="also show the main graph's memory plan: every buffer with its bytes, first "
                        "and last step and arena offset, and the arena step by step")
    i.add_argument("--plan-svg", metavar="FILE",
                   help="draw the memory plan into FILE as SVG: buffers as boxes over steps (x) "
                        "and arena offsets (y)")
    i.set_defaults(fn=cmd_inspect)

    v = sub.add_parser("verify", parents=[debug], help="compile, run and compare with the TFLite interpreter")
    _add_model_args(v)
    v.add_argument("--inputs", help=".npz with one array per input (input_0, ... or input names)")
    v.add_argument("--per-tensor", action="store_true",
                   help="compare every intermediate tensor and name the first op that diverges")
    v.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    v.add_argument("--keep-dir", help="build here and keep the files")
    v.add_argument("--cxx", help="C++ compiler (default: $CXX or c++)")
    v.add_argument("--frames", type=int, default=None, metavar="N",
                   help="a stream of N runs on one arena against one interpreter invoked N times "
                        "(default: 10 for a model with state, else 1)")
    _add_quiet(v)
    v.set_defaults(fn=cmd_verify)

    b = sub.add_parser("bench", parents=[debug], help="latency and memory against the TFLite interpreter")
    _add_model_args(b)
    b.add_argument("--threads", type=int, default=1, metavar="N",
                   help="TFLite with num_threads=N, our library through a pool of N threads (default 1)")
    b.add_argument("--runs", type=int, default=30, metavar="N",
                   help="timed runs per engine (default 30), taken in 5 interleaved rounds of "
                        "N/5 runs each (at least 1)")
    b.add_argument("--json", action="store_true", help="print the results as JSON")
    b.add_argument("--per-op", action="store_true",
                   help="also time every op of our library (a profiling build)")
    b.add_argument("--iree", nargs="?", const="", default=None, metavar="VENV",
                   help="also time IREE (compiled ahead of time for this CPU) where it compiles the "
                        "model and agrees with TFLite; VENV (default $DLCODER_IREE_VENV, else "
                        "~/.cache/dlcoder/venv-iree) is made by benchmarks/setup_iree.sh. Give it "
                        "after the model")
    _add_quiet(b)
    b.set_defaults(fn=cmd_bench)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cmake_dir:
        from dlcoder.cmake import cmake_dir
        print(cmake_dir())
        return 0
    if not getattr(args, "fn", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        _load_plugins(args)
        code = args.fn(args)
        sys.stdout.flush()      # a reader that went away shows here, not at exit
        return code
    except BrokenPipeError:
        return closed_stdout()
    except DlcoderError as e:
        text = str(e)
        first, _, rest = text.partition("\n")
        print(f"dlcoder: error: {first}", file=sys.stderr)
        if rest:
            print(rest, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:      # MemoryError and RecursionError too
        if getattr(args, "debug", False):
            raise
        print(f"dlcoder: {internal_error(e, phase(e, args.command))}", file=sys.stderr)
        return 3


def _load_plugins(args) -> None:
    """--custom-ops: the plug-ins, into the op table, before the command reads the model."""
    if args.custom_ops:
        from dlcoder import plugins
        plugins.load_all(args.custom_ops)


def closed_stdout() -> int:
    """The reader of stdout went away (`dlcoder inspect --json m | head`): stop without a
    word and with the status of a tool that SIGPIPE ends, and point stdout at /dev/null so
    that Python's flush at exit does not report the closed pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13     # SIGPIPE


def phase(e: BaseException, default: str) -> str:
    """Where `e` was raised (PHASES), or `default`."""
    frames = []
    tb = e.__traceback__
    while tb is not None:
        frames.append(f"{tb.tb_frame.f_globals.get('__name__')}.{tb.tb_frame.f_code.co_name}")
        tb = tb.tb_next
    for where in reversed(frames):
        for prefix, name in PHASES:
            if where.startswith(prefix):
                return name
    return default


def internal_error(e: Exception, where: str) -> str:
    """One line for an exception no DlcoderError covers."""
    if isinstance(e, MemoryError):
        return f"error: out of memory in {where}; the model needs more memory than this machine has"
    if isinstance(e, RecursionError):
        what = "recursion too deep (RecursionError)"
    else:
        text = " ".join(str(e).split())
        what = f"{type(e).__name__}: {text}" if text else type(e).__name__
    return (f"internal error in {where}: {what}; please report it with the model "
            f"(--debug shows the traceback)")
