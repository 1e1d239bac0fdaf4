#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, lints, starts the local stack,
# runs every test against it with node's test runner (the gradient-engine, method and pipeline
# tests once per compute backend), and stops the stack if it started it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TDA_ROOT"
bash infra/setup.sh

log "lint and format check (biome), type check (tsc)"
npx --no-install biome check .
npx --no-install tsc --noEmit -p .

was_up=0
bash infra/stack.sh status >/dev/null 2>&1 && was_up=1
# The tests' temporary folders (file stores, exports, private stacks) go in a folder of this
# run's own, removed at the end: many tests leave theirs, and each run left about 260 folders
# (90 MB) in /tmp. The servers start before it is set: they need nothing of it.
run_tmp="$(mktemp -d "${TMPDIR:-/tmp}/tda-test.XXXXXX")"
cleanup() {
  rm -rf "$run_tmp"
  [ "$was_up" = 1 ] || bash infra/stack.sh down || true
}
trap cleanup EXIT
bash infra/stack.sh up
export TMPDIR="$run_tmp"

mapfile -t files < <(find test/unit test/integration -name '*.test.ts' | sort)
# One file at a time: integration tests restart servers and kill workers.
node --import tsx --test --test-concurrency=1 "${files[@]}"

# The gradient-engine, method and pipeline tests once more on each compute backend besides the
# default cpu (test/support/backend.ts): wasm, and tensorflow where setup builds it.
backends=(wasm)
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] && [ "${TDA_SKIP_TFJS_NODE:-}" != 1 ] && backends+=(tensorflow)
mapfile -t engine < <(find test/unit/grad test/unit/methods test/unit/pipeline -name '*.test.ts' | sort)
for b in "${backends[@]}"; do
  log "gradient-engine, method and pipeline tests on the $b backend"
  TDA_BACKEND="$b" node --import tsx --test --test-concurrency=1 "${engine[@]}"
done
