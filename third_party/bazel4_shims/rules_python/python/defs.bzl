"""Offline stand-in for @rules_python//python:defs.bzl: the rules Bazel 4 has built in."""

load("@bazel_tools//tools/python:toolchain.bzl", _py_runtime_pair = "py_runtime_pair")

py_runtime_pair = _py_runtime_pair

def py_binary(**kwargs):
    # buildifier: disable=native-py
    native.py_binary(**kwargs)

def py_library(**kwargs):
    # buildifier: disable=native-py
    native.py_library(**kwargs)

def py_runtime(**kwargs):
    # buildifier: disable=native-py
    native.py_runtime(**kwargs)

def py_test(**kwargs):
    # buildifier: disable=native-py
    native.py_test(**kwargs)
