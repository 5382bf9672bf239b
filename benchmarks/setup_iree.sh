#!/usr/bin/env bash
# Create the separate venv that `dlcoder bench --iree VENV` and `benchmarks/run.py --iree VENV`
# use as a second speed anchor. Versions are pinned together on purpose:
#   - iree-tools-tflite's importer needs TF's `tflite_to_tosa` entry point, gone after TF 2.18;
#   - newer IREE compilers reject the TOSA this importer emits.
# Usage: benchmarks/setup_iree.sh [VENV]
#   (default $DLCODER_IREE_VENV, else ~/.cache/dlcoder/venv-iree: where `--iree` looks)
set -euo pipefail

venv="${1:-${DLCODER_IREE_VENV:-$HOME/.cache/dlcoder/venv-iree}}"
python="${PYTHON:-python3}"

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  iree-compiler==20241104.1068 \
  iree-runtime==20241104.1068 \
  iree-tools-tflite==20241104.1068 \
  'tensorflow-cpu==2.18.*'

# Fail now, not at bench time, if a tool is missing.
for tool in iree-import-tflite iree-compile iree-benchmark-module iree-run-module; do
  test -x "$venv/bin/$tool" || { echo "setup_iree.sh: $venv/bin/$tool missing" >&2; exit 1; }
done
echo "IREE venv ready: $venv"
