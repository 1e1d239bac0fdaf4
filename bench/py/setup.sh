#!/usr/bin/env bash
# Idempotent: a project-local Python virtual environment with cleanlab and scikit-learn from PyPI
# for bench:mislabel's confident-learning baseline. Not part of `npm test`. Prints the venv's
# python on its last line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../infra/env.sh"
venv="$TDA_STACK_DIR/py/bench-venv"
req="$TDA_ROOT/bench/py/requirements.txt"
stamp="$venv/.requirements-sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating $venv (cleanlab, scikit-learn from PyPI)"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
