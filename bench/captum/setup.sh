#!/usr/bin/env bash
# The peer bench:main measures beside tda: Captum's TracInCP on PyTorch, from PyPI, in a venv of
# its own under bench/captum/.venv (not part of npm test; about 3 GB with torch's CUDA wheels).
# Idempotent: a venv that already imports captum is kept.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import captum, torch' 2>/dev/null; then
  echo "[captum] $venv ready"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet torch==2.15.0 captum==0.9.0 numpy
"$venv/bin/python" -c 'import captum, torch; print("[captum]", captum.__version__, "torch", torch.__version__)'
