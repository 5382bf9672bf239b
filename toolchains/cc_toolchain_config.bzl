"""GCC toolchain config and the macro that declares every entry of table.bzl."""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
    "with_feature_set",
)
load("@rules_cc//cc:defs.bzl", "cc_toolchain")
load("@rules_cc//cc/common:cc_common.bzl", "cc_common")
load("@rules_cc//cc/toolchains:cc_toolchain_config_info.bzl", "CcToolchainConfigInfo")
load(":table.bzl", "EXEC_CONSTRAINTS", "TOOLCHAINS")

_TOOLS = ["ar", "cpp", "gcc", "gcov", "ld", "nm", "objcopy", "objdump", "strip"]

_COMPILE_ACTIONS = [
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
    ACTION_NAMES.cpp_module_codegen,
    ACTION_NAMES.linkstamp_compile,
]

_LINK_ACTIONS = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

def _flags(actions, flags, features = None):
    return flag_set(
        actions = actions,
        flag_groups = [flag_group(flags = flags)],
        with_features = [with_feature_set(features = features)] if features else [],
    )

def _features():
    return [
        feature(
            name = "default_compile_flags",
            enabled = True,
            flag_sets = [
                _flags(_COMPILE_ACTIONS, [
                    "-U_FORTIFY_SOURCE",
                    "-fstack-protector",
                    "-Wall",
                    "-fno-omit-frame-pointer",
                    # Paths in .d files stay as the compiler saw them (Bazel checks them),
                    # and no timestamp reaches an object file: builds are reproducible.
                    "-no-canonical-prefixes",
                    "-fno-canonical-system-headers",
                    "-Wno-builtin-macro-redefined",
                    "-D__DATE__=\"redacted\"",
                    "-D__TIMESTAMP__=\"redacted\"",
                    "-D__TIME__=\"redacted\"",
                ]),
                _flags(_COMPILE_ACTIONS, ["-g"], ["dbg"]),
                _flags(_COMPILE_ACTIONS, [
                    "-g0",
                    "-O2",
                    "-D_FORTIFY_SOURCE=1",
                    "-DNDEBUG",
                    "-ffunction-sections",
                    "-fdata-sections",
                ], ["opt"]),
            ],
        ),
        feature(
            name = "default_link_flags",
            enabled = True,
            flag_sets = [
                _flags(_LINK_ACTIONS, ["-no-canonical-prefixes", "-Wl,-z,relro,-z,now", "-lstdc++", "-lm"]),
                _flags(_LINK_ACTIONS, ["-Wl,--gc-sections"], ["opt"]),
            ],
        ),
        feature(name = "supports_pic", enabled = True),
        feature(name = "opt"),
        feature(name = "dbg"),
        feature(name = "fastbuild"),
    ]

def _dlcoder_cc_toolchain_config_impl(ctx):
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        toolchain_identifier = ctx.attr.target_system_name,
        host_system_name = "x86_64-linux-gnu",
        target_system_name = ctx.attr.target_system_name,
        target_cpu = ctx.attr.cpu,
        target_libc = "glibc",
        compiler = "gcc",
        abi_version = "gcc",
        abi_libc_version = "glibc",
        tool_paths = [tool_path(name = t, path = ctx.attr.tool_prefix + t) for t in _TOOLS],
        cxx_builtin_include_directories = ctx.attr.builtin_include_directories,
        features = _features(),
    )

dlcoder_cc_toolchain_config = rule(
    implementation = _dlcoder_cc_toolchain_config_impl,
    doc = "A GCC toolchain config built from one entry of toolchains/table.bzl.",
    attrs = {
        "builtin_include_directories": attr.string_list(
            doc = "Prefixes of the system headers the compiler reads (Bazel checks every include).",
        ),
        "cpu": attr.string(mandatory = True, doc = "Target CPU, as in @platforms//cpu (x86_64, aarch64)."),
        "target_system_name": attr.string(mandatory = True, doc = "GNU triple of the target."),
        "tool_prefix": attr.string(
            mandatory = True,
            doc = "Absolute path prefix of the binutils/gcc tools, e.g. /usr/bin/aarch64-linux-gnu-.",
        ),
    },
    provides = [CcToolchainConfigInfo],
)

# buildifier: disable=unnamed-macro
def dlcoder_toolchains():
    """Declares, for every entry of TOOLCHAINS: the platform, its cc_toolchain and toolchain."""
    native.filegroup(name = "empty")
    for name, t in TOOLCHAINS.items():
        constraints = ["@platforms//cpu:" + t.cpu, "@platforms//os:linux"]
        native.platform(
            name = name,
            constraint_values = constraints,
            visibility = ["//visibility:public"],
        )
        dlcoder_cc_toolchain_config(
            name = name + "_cc_config",
            cpu = t.cpu,
            target_system_name = t.target_system_name,
            tool_prefix = t.tool_prefix,
            builtin_include_directories = t.builtin_include_directories,
        )
        cc_toolchain(
            name = name + "_cc",
            toolchain_config = ":" + name + "_cc_config",
            all_files = ":empty",
            ar_files = ":empty",
            as_files = ":empty",
            compiler_files = ":empty",
            dwp_files = ":empty",
            linker_files = ":empty",
            objcopy_files = ":empty",
            strip_files = ":empty",
        )
        native.toolchain(
            name = name + "_cc_toolchain",
            toolchain = ":" + name + "_cc",
            toolchain_type = "@bazel_tools//tools/cpp:toolchain_type",
            exec_compatible_with = EXEC_CONSTRAINTS,
            target_compatible_with = constraints,
            visibility = ["//visibility:public"],
        )
