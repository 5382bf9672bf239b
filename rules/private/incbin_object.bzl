"""incbin_object: assemble a `.S` that `.incbin`s data files, with the resolved cc toolchain.

Why not a `.S` in a cc_library: gcc's dependency (.d) files do not list `.incbin` files, so
Bazel prunes them from the compile action's inputs after the first build and a changed blob
no longer rebuilds the object. Here the blobs are plain declared inputs of a plain action:
changed bytes always reassemble, and the action caches like any other.
"""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")
load("@rules_cc//cc/common:cc_common.bzl", "cc_common")

def _incbin_object_impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    asm = [f for f in ctx.files.srcs if f.extension == "S"]
    blobs = [f for f in ctx.files.srcs if f.extension != "S"]
    if len(asm) != 1:
        fail("%s: srcs must hold exactly one .S file, got %s" % (
            ctx.label,
            [f.short_path for f in asm],
        ))
    src = asm[0]
    obj = ctx.actions.declare_file(ctx.label.name + ".o")

    # `.incbin "x.bin"` is looked up on the include path: add the folder of every blob.
    include_dirs = {b.dirname: None for b in blobs}
    action = ACTION_NAMES.preprocess_assemble
    variables = cc_common.create_compile_variables(
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        source_file = src.path,
        output_file = obj.path,
        include_directories = depset(sorted(include_dirs)),
        user_compile_flags = ctx.attr.copts,
    )
    args = ctx.actions.args()
    args.add_all(cc_common.get_memory_inefficient_command_line(
        feature_configuration = feature_configuration,
        action_name = action,
        variables = variables,
    ))
    ctx.actions.run(
        executable = cc_common.get_tool_for_action(
            feature_configuration = feature_configuration,
            action_name = action,
        ),
        arguments = [args],
        env = cc_common.get_environment_variables(
            feature_configuration = feature_configuration,
            action_name = action,
            variables = variables,
        ),
        inputs = depset(ctx.files.srcs, transitive = [cc_toolchain.all_files]),
        outputs = [obj],
        mnemonic = "IncbinAssemble",
        progress_message = "Assembling %s" % obj.short_path,
    )
    return [DefaultInfo(files = depset([obj]))]

incbin_object = rule(
    implementation = _incbin_object_impl,
    doc = """Assembles the one `.S` of `srcs`, whose `.incbin` directives name the other files
of `srcs` by file name, into `<name>.o` for the target platform. Put the object in a
cc_library's or cc_binary's `srcs`.""",
    attrs = {
        "srcs": attr.label_list(
            mandatory = True,
            allow_files = True,
            doc = "One `.S` file (e.g. dlcoder's NAME_weights.S) and the files it includes " +
                  "with `.incbin \"<basename>\"`; their folders go on the include path.",
        ),
        "copts": attr.string_list(doc = "Extra assembler flags."),
        "_cc_toolchain": attr.label(
            default = Label("@bazel_tools//tools/cpp:current_cc_toolchain"),
            doc = "The cc toolchain when toolchain resolution is off.",
        ),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
)
