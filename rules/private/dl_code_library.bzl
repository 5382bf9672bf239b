"""dl_code_library: a TensorFlow Lite model compiled into a cc_library by dlcoder."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")
load(":incbin_object.bzl", "incbin_object")
load(":providers.bzl", "DlcoderCustomOpInfo", "TfliteModelInfo")

# Model formats people try first; dlcoder reads only .tflite.
_OTHER_FORMATS = [".onnx", ".pb", ".h5", ".keras", ".pt", ".pth", ".savedmodel"]

def _outputs(ctx, name, with_tests, custom_hdrs):
    """Declares the generator's outputs, all under _dlcoder/NAME/ except the public header."""
    lib = "_dlcoder/%s/lib/" % name
    out = struct(
        public_hdr = ctx.actions.declare_file(name + ".h"),
        hdr = ctx.actions.declare_file(lib + name + ".h"),
        src = ctx.actions.declare_file(lib + name + ".cc"),
        # the built-in arena's own object, linked only into programs that call it
        arena_src = ctx.actions.declare_file(lib + name + "_arena.cc"),
        weights_asm = ctx.actions.declare_file(lib + name + "_weights.S"),
        weights_bin = ctx.actions.declare_file(lib + name + "_weights.bin"),
        # The runtime's file list is the source folder's: nothing here names a kernel.
        runtime = [
            ctx.actions.declare_file(lib + "dlcoder_rt/" + f.basename)
            for f in ctx.files._runtime_hdrs
        ] + [
            # the plug-ins' kernels, copied beside the runtime (plugins.py)
            ctx.actions.declare_file(lib + "dlcoder_rt/custom/" + f.basename)
            for f in custom_hdrs
        ],
    )
    if not with_tests:
        return out, None
    test = "_dlcoder/%s/test/" % name
    tests = struct(
        test_src = ctx.actions.declare_file(test + name + "_test.cc"),
        data_asm = ctx.actions.declare_file(test + name + "_test_data.S"),
        data_bin = ctx.actions.declare_file(test + name + "_test_data.bin"),
        benchmark_src = ctx.actions.declare_file(test + name + "_benchmark.cc"),
    )
    return out, tests

def _model(ctx):
    target = ctx.attr.model
    if TfliteModelInfo in target:
        info = target[TfliteModelInfo]
        return info.model, info.input_shapes
    files = target.files.to_list()
    if len(files) != 1 or files[0].extension != "tflite":
        fail(("%s: model = %s gives %s, not one .tflite file; pass a tflite_model target " +
              "or a .tflite file") % (ctx.label, target.label, [f.short_path for f in files]))
    return files[0], {}

def _dl_code_gen_impl(ctx):
    model, input_shapes = _model(ctx)
    name = ctx.attr.cc_name
    custom_ops = [t[DlcoderCustomOpInfo] for t in ctx.attr.custom_ops]
    custom_hdrs = [h for op in custom_ops for h in op.hdrs]
    out, tests = _outputs(ctx, name, ctx.attr.gen_tests, custom_hdrs)

    args = ctx.actions.args()
    args.add("generate")
    args.add(model)
    args.add("--out-dir", out.hdr.dirname)
    args.add("--name", name)
    if ctx.attr.namespace:
        args.add("--namespace", ctx.attr.namespace)
    if ctx.attr.weights_f32:
        args.add("--weights-f32")
    if ctx.attr.optimize_for:
        args.add("--optimize-for", ctx.attr.optimize_for)
    for input_name in sorted(input_shapes):
        args.add("--input-shape", "%s=%s" % (input_name, input_shapes[input_name]))
    for op in custom_ops:
        args.add("--custom-ops", op.src)
    outputs = [out.hdr, out.src, out.arena_src, out.weights_asm, out.weights_bin] + out.runtime
    if tests:
        args.add("--test-dir", tests.test_src.dirname)
        outputs += [tests.test_src, tests.data_asm, tests.data_bin, tests.benchmark_src]

    ctx.actions.run(
        executable = ctx.attr._generator[DefaultInfo].files_to_run,
        arguments = [args],
        inputs = [model] + [op.src for op in custom_ops] + custom_hdrs,
        outputs = outputs,
        # No bytecode in the runfiles tree; no hash randomisation in the outputs.
        env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"},
        # The model, the plug-ins and the pinned packages are all it reads; the sandbox
        # enforces it.
        execution_requirements = {"block-network": "1"},
        mnemonic = "DlcoderGenerate",
        progress_message = "Generating C++ for %s from %s" % (ctx.label, model.short_path),
    )
    ctx.actions.symlink(output = out.public_hdr, target_file = out.hdr)

    groups = {
        "public_hdrs": depset([out.public_hdr]),
        "lib_srcs": depset([out.src, out.arena_src, out.hdr] + out.runtime),
        "weights": depset([out.weights_asm, out.weights_bin]),
    }
    if tests:
        groups.update({
            "test_srcs": depset([tests.test_src]),
            "test_data": depset([tests.data_asm, tests.data_bin]),
            "benchmark_srcs": depset([tests.benchmark_src]),
        })
    return [
        DefaultInfo(files = depset([out.public_hdr] + outputs)),
        OutputGroupInfo(**groups),
    ]

dl_code_gen = rule(
    implementation = _dl_code_gen_impl,
    doc = "Runs `dlcoder generate` on a model. Use the dl_code_library macro instead.",
    attrs = {
        "model": attr.label(
            mandatory = True,
            allow_files = True,
            doc = "A tflite_model target or a .tflite file.",
        ),
        "cc_name": attr.string(
            mandatory = True,
            doc = "Class name, C API prefix and file stem of the generated code.",
        ),
        "namespace": attr.string(doc = "C++ namespace of the class; empty: dlcoder's default."),
        "weights_f32": attr.bool(doc = "Store float16 weights as float32 (`--weights-f32`)."),
        "optimize_for": attr.string(
            values = ["", "speed", "size"],
            doc = "`--optimize-for`: speed, size, or empty: speed within the size budget.",
        ),
        "custom_ops": attr.label_list(
            providers = [DlcoderCustomOpInfo],
            doc = "dlcoder_custom_op targets: plug-ins for the model's custom ops.",
        ),
        "gen_tests": attr.bool(
            default = True,
            doc = "Also write NAME_test.cc, its data and NAME_benchmark.cc (runs the TFLite " +
                  "interpreter inside the action to compute the expected outputs).",
        ),
        "_generator": attr.label(
            default = Label("//tools:dlcoder_gen"),
            executable = True,
            cfg = "exec",
            doc = "The generator: `python3 -m dlcoder` on the pinned packages.",
        ),
        "_runtime_hdrs": attr.label(
            default = Label("//:runtime_headers"),
            allow_files = [".h"],
            doc = "dlcoder/runtime/dlcoder_rt/*.h: the generator copies these into its output.",
        ),
    },
)

def _is_identifier(s):
    if not s or s[0].isdigit():
        return False
    for c in s.elems():
        if not (c.isalnum() or c == "_"):
            return False
    return True

def _check_args(name, model, namespace, copts):
    where = "dl_code_library(name = %r) in //%s" % (name, native.package_name())
    if not _is_identifier(name):
        fail(("%s: name is the C++ class name and the C API prefix, so it must be a C " +
              "identifier; rename the target, e.g. %r") % (where, "".join([
            c if c.isalnum() else "_"
            for c in name.elems()
        ]).lstrip("0123456789") or "model"))
    if type(model) == "string":
        for ext in _OTHER_FORMATS:
            if model.endswith(ext):
                fail(("%s: model = %r is not a TensorFlow Lite model; convert it to .tflite " +
                      "(tf.lite.TFLiteConverter, ai-edge-torch) and pass that file or a " +
                      "tflite_model target") % (where, model))
    if namespace != None:
        for part in namespace.split("::"):
            if not _is_identifier(part):
                fail(("%s: namespace = %r is not a C++ namespace; use identifiers joined " +
                      "by '::', e.g. \"vision::models\"") % (where, namespace))
    if type(copts) != "list":
        fail("%s: copts must be a list of strings, got %r" % (where, copts))

# Optimization for the generated sources whatever the build's -c (fastbuild is -O0, and the
# kernels are then about 50 times slower), as tf_library ships optimized model code.
_OPTIMIZE_COPTS = ["-O2"]

def dl_code_library(
        name,
        model,
        namespace = None,
        custom_ops = [],
        weights_f32 = False,
        optimize_for = None,
        gen_test = True,
        gen_benchmark = True,
        optimize = True,
        copts = [],
        tags = None,
        visibility = None,
        testonly = None,
        size = "small",
        timeout = None,
        **kwargs):
    """Compiles a TensorFlow Lite model into a self-contained C++ library with dlcoder.

    Given the invocation below, where PKG is the current package and NS the namespace:

        dl_code_library(name = "NAME", model = ":model", namespace = "NS")

    these targets are created (every name derives from NAME):

      NAME:           cc_library. Header PKG/NAME.h: class NS::NAME (arena in the constructor,
                      input_0() ... / Run() / output_0() ...) and the C API NAME_run(),
                      NAME_arena_size(), NAME_input_size(i) ... Weights are in the library.
      NAME_test:      cc_test (if gen_test). Runs the library on inputs fixed at generation
                      time and compares with the outputs the TFLite interpreter computed for
                      them inside the generation action; prints and checks the error bound.
      NAME_benchmark: cc_binary (if gen_benchmark). Prints the latency per run (median and
                      min; `NAME_benchmark [RUNS [THREADS]]`), arena bytes and weight bytes.

    and these helpers, which the targets above use:

      NAME_gen:       runs `dlcoder generate` once (mnemonic DlcoderGenerate) and writes
                        PKG/_dlcoder/NAME/lib/NAME.h, NAME.cc, NAME_weights.S,
                          NAME_weights.bin, dlcoder_rt/*.h, dlcoder_rt/custom/*.h (the
                          library; the last are the custom_ops' kernels);
                        PKG/_dlcoder/NAME/test/NAME_test.cc, NAME_test_data.S,
                          NAME_test_data.bin, NAME_benchmark.cc (if gen_test or
                          gen_benchmark; the TFLite interpreter runs only then);
                        PKG/NAME.h, a symlink to the library's header.
      NAME_weights:   incbin_object: NAME_weights.o, the weights, assembled for the target by
                      the resolved cc toolchain (mnemonic IncbinAssemble).
      NAME_test_data: incbin_object (if gen_test): the test's inputs and expected outputs.
      NAME_gen_*:     filegroups, each picking one output group of NAME_gen.

    Dependents of NAME include "PKG/NAME.h"; NAME also puts PKG/_dlcoder/NAME/lib on their
    include path (-isystem), because the generated sources include "NAME.h" and
    "dlcoder_rt/...". The library is built for the target platform (e.g.
    --platforms=@dlcoder//toolchains:linux_aarch64); the generator runs on the exec platform.

    Args:
      name: target name, C++ class name and C API prefix: a C identifier.
      model: a tflite_model target or a .tflite file.
      namespace: C++ namespace of the class, `a::b` allowed; default "dlcoder".
      custom_ops: dlcoder_custom_op targets, the plug-ins of the model's custom ops (README.md,
        "Custom ops"). The TFLite interpreter cannot run a custom op, so a model with one
        needs gen_test = False and gen_benchmark = False.
      weights_f32: store the model's float16 weights as float32 (by default the GEMM
        kernels read them as float16: half the bytes, the same results).
      optimize_for: "speed" (the faster kernel layouts whatever their bytes), "size" (the
        smaller ones), or None: speed while code + read-only data stay within 1.25 x the
        weights as float32 + 1 MB (README.md, "Binary size").
      gen_test: create NAME_test.
      gen_benchmark: create NAME_benchmark.
      optimize: compile the generated sources (NAME, NAME_test, NAME_benchmark) with -O2
        whatever the build's compilation mode, so a plain `bazel build` (fastbuild, -O0)
        gives fast code. False: they follow `-c` like any other target (e.g. to step
        through the kernels in a debugger with `-c dbg`).
      copts: extra compiler flags for the generated sources (the targets always get
        -std=c++17, and -O2 unless optimize = False; copts come after both).
      tags: passed to every target; NAME_test also gets them as test tags.
      visibility: visibility of NAME, NAME_test and NAME_benchmark; helpers are private.
      testonly: passed to every target except NAME_test (always testonly).
      size: size of NAME_test. "small" (a 60 s timeout) fits the generated test, which runs
        one inference; say "medium" for a large model under an emulator (qemu-user).
      timeout: timeout of NAME_test; default: the one of `size`.
      **kwargs: attributes common to all rules (features, target_compatible_with,
        exec_compatible_with, compatible_with, deprecation, exec_properties, ...), passed
        to every target.
    """
    _check_args(name, model, namespace, copts)
    common = dict(kwargs, tags = tags, testonly = testonly)
    private = dict(common, visibility = ["//visibility:private"])
    gen = name + "_gen"
    dl_code_gen(
        name = gen,
        model = model,
        cc_name = name,
        namespace = namespace or "",
        weights_f32 = weights_f32,
        optimize_for = optimize_for or "",
        custom_ops = custom_ops,
        gen_tests = gen_test or gen_benchmark,
        **private
    )
    groups = ["public_hdrs", "lib_srcs", "weights"]
    groups += ["test_srcs", "test_data"] if gen_test else []
    groups += ["benchmark_srcs"] if gen_benchmark else []
    for group in groups:
        native.filegroup(name = "%s_%s" % (gen, group), srcs = [gen], output_group = group, **private)

    incbin_object(name = name + "_weights", srcs = [gen + "_weights"], **private)
    cc_copts = ["-std=c++17"] + (_OPTIMIZE_COPTS if optimize else []) + copts
    cc_library(
        name = name,
        hdrs = [gen + "_public_hdrs"],
        srcs = [gen + "_lib_srcs", name + "_weights"],
        # Generated code includes "NAME.h" and "dlcoder_rt/..." from this folder.
        includes = ["_dlcoder/%s/lib" % name],
        copts = cc_copts,
        linkstatic = True,
        visibility = visibility,
        **common
    )
    if gen_test:
        incbin_object(name = name + "_test_data", srcs = [gen + "_test_data"], **private)
        cc_test(
            name = name + "_test",
            srcs = [gen + "_test_srcs", name + "_test_data"],
            deps = [name],
            copts = cc_copts,
            size = size,
            timeout = timeout,
            visibility = visibility,
            **dict(kwargs, tags = tags)
        )
    if gen_benchmark:
        cc_binary(
            name = name + "_benchmark",
            srcs = [gen + "_benchmark_srcs"],
            deps = [name],
            copts = cc_copts,
            linkopts = ["-pthread"],  # its optional thread pool (dlcoder_rt/thread_pool.h)
            visibility = visibility,
            **common
        )
