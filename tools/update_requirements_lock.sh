#!/bin/sh
# Refreshes rules/requirements_lock.txt (the generator's wheels for Bazel, pinned by sha256)
# from rules/requirements.in, with pip-compile in a throw-away virtualenv. Resolve for the
# interpreter that runs the generator (toolchains/table.bzl: EXEC_PYTHON), e.g.
#
#   PYTHON=/usr/bin/python3 tools/update_requirements_lock.sh
set -eu
cd "$(dirname "$0")/.."
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install --quiet pip-tools
"$venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
    --no-emit-index-url --no-emit-find-links \
    --output-file=rules/requirements_lock.txt rules/requirements.in
