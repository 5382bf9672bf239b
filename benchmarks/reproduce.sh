#!/usr/bin/env bash
# Every committed benchmark result, rewritten in one command: the suite
# (benchmarks/RESULTS.md), the unseen models (benchmarks/unseen/, benchmarks/unseen/int8/)
# and the op grid (benchmarks/ops/). IREE joins the model tables when its venv exists
# (benchmarks/setup_iree.sh). The unseen models are built by TensorFlow, which the project
# never imports: give a python that has it in TF_PYTHON, or have them built in
# $DLCODER_UNSEEN_MODELS (default /tmp/unseen) already.
# Usage: benchmarks/reproduce.sh        (about 3 hours on 2 cores; run it on a quiet machine)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
unseen="${DLCODER_UNSEEN_MODELS:-/tmp/unseen}"
iree_venv="${DLCODER_IREE_VENV:-$HOME/.cache/dlcoder/venv-iree}"
iree=()
if [ -x "$iree_venv/bin/iree-compile" ]; then
  iree=(--iree "$iree_venv")
else
  echo "reproduce.sh: no IREE venv at $iree_venv (benchmarks/setup_iree.sh makes one); IREE left out" >&2
fi

if [ ! -d "$unseen" ]; then
  if [ -z "${TF_PYTHON:-}" ]; then
    echo "reproduce.sh: no unseen models in $unseen; set TF_PYTHON to a python with tensorflow" >&2
    exit 2
  fi
  "$TF_PYTHON" "$here/make_unseen_models.py" "$unseen"
fi

python3 "$here/run.py" --out "$here" "${iree[@]}"
python3 "$here/run.py" --models "$unseen" --select '*[!8]' --out "$here/unseen" "${iree[@]}"
python3 "$here/run.py" --models "$unseen" --select '*_int8' --threads 1 --out "$here/unseen/int8" "${iree[@]}"
python3 "$here/ops/run.py" --out "$here/ops"
