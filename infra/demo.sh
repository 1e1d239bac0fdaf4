#!/usr/bin/env bash
# The main job (README's first command): installs what is missing, starts the local stack and
# runs the demo through Temporal.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TDA_ROOT"
bash infra/setup.sh
bash infra/stack.sh up
bin/tda demo
