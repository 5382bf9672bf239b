"""Bazel 4's built-in C++ symbols, under names that other files can re-export.

A file cannot both read a global and define it (`cc_common = cc_common` fails), hence this
indirection, which is also how rules_cc itself does it.
"""

# buildifier: disable=native-cc-common
native_cc_common = cc_common
NativeCcToolchainConfigInfo = CcToolchainConfigInfo
