"""Offline stand-in for @rules_python//python:repositories.bzl."""

def py_repositories():
    """The real one declares rules_python's internal repositories; Bazel 4's rules need none."""
