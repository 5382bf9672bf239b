"""Offline stand-in for @rules_cc//cc/toolchains:cc_toolchain_config_info.bzl."""

load("//cc/private:native.bzl", "NativeCcToolchainConfigInfo")

CcToolchainConfigInfo = NativeCcToolchainConfigInfo
