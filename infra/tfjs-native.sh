#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node (or, with --gpu, @tensorflow/tfjs-node-gpu) against TensorFlow's C
# library taken from PyPI's `tensorflow-cpu` (`tensorflow`) wheel. The packages' own install script
# downloads libtensorflow and a prebuilt addon from outside the registries, so setup installs them
# with --ignore-scripts and this script does the install instead (see
# shared notes "tfjs-node-from-wheel"). Idempotent and cached under $TDA_STACK_DIR/tfjs/: the
# extracted library is kept there and linked as the package's deps/, the built addon is kept there
# and copied back after `npm ci` wiped node_modules, so a second run does nothing.
# With --gpu it also takes the CUDA libraries the `tensorflow` wheel names (PyPI nvidia-*; about
# 3 GB): on a host without a GPU that build runs on the CPU.
# Linux x86-64 only; elsewhere it says so and leaves the wasm backend in charge.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TDA_ROOT"

TF_VERSION="2.21.0" # PyPI tensorflow-cpu / tensorflow; its C API covers tfjs-node 4.22's binding
variant="cpu"
[ "${1:-}" = "--gpu" ] && variant="gpu"
case "$variant" in
  cpu) pkg="@tensorflow/tfjs-node" wheel="tensorflow-cpu" ;;
  gpu) pkg="@tensorflow/tfjs-node-gpu" wheel="tensorflow" ;;
esac

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  log "$pkg: TensorFlow's wheel is used on Linux x86-64 only; the wasm backend will be used"
  exit 0
fi
pkgdir="node_modules/$pkg"
[ -f "$pkgdir/package.json" ] || die "$pkgdir is missing (npm ci should have installed it)"

cache="$TDA_STACK_DIR/tfjs/$variant-tf$TF_VERSION"
tfjs_version="$(node -p "require('./$pkgdir/package.json').version")"
addon_cache="$cache/addon-tfjs$tfjs_version-node$(node -p process.versions.modules)/tfjs_binding.node"
# node-pre-gyp's module_path for the newest N-API version tfjs-node lists (the one it loads).
addon_rel="lib/napi-v$(node -p "Math.max(...require('./$pkgdir/package.json').binary.napi_versions)")/tfjs_binding.node"

# 1. TensorFlow's C library and headers from the wheel, laid out as libtensorflow's tarball.
if [ ! -f "$cache/deps/lib/libtensorflow.so.2.9.1" ]; then
  mkdir -p "$cache"
  wheels="$(mktemp -d "$cache/wheel.XXXXXX")"
  log "pip download $wheel==$TF_VERSION (TensorFlow's C library for $pkg)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux_2_27_x86_64 -d "$wheels" "$wheel==$TF_VERSION"
  staged="$cache/deps.tmp"
  rm -rf "$staged"
  python3 - "$wheels"/*.whl "$staged" <<'PY'
import os, sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
libs = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'}
headers = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/ctstring',
           'tensorflow/include/tsl/platform/ctstring', 'tensorflow/include/xla/tsl/c/')
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name.endswith('/'):
            continue
        if name in libs:
            dest = os.path.join(out, 'lib', os.path.basename(name))
        elif name.startswith(headers):
            dest = os.path.join(out, 'include', name[len('tensorflow/include/'):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(name) as src, open(dest, 'wb') as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PY
  if [ "$variant" = gpu ]; then
    # The CUDA libraries: the wheel's own pins for its "and-cuda" extra (PyPI nvidia-* packages),
    # laid out as in site-packages (deps/nvidia/*/lib), where the libraries' RUNPATH
    # ($ORIGIN/../nvidia/*/lib) looks.
    mapfile -t cuda < <(python3 - "$wheels"/*.whl <<'PY'
import re, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
    for line in z.read(meta).decode().splitlines():
        m = re.match(r'Requires-Dist: (nvidia-[\w-]+)\s*([^;]*);\s*extra == "and-cuda"', line)
        if m:
            print(m.group(1) + m.group(2).replace(' ', ''))
PY
)
    [ ${#cuda[@]} -gt 0 ] || die "no CUDA packages named in the $wheel wheel's metadata"
    log "pip download ${cuda[*]} (CUDA for $pkg)"
    mkdir -p "$wheels/cuda"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --python-version 3.11 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d "$wheels/cuda" "${cuda[@]}"
    python3 - "$staged" "$wheels"/cuda/*.whl <<'PY'
import os, re, sys, zipfile
out = sys.argv[1]
for whl in sys.argv[2:]:
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if re.match(r'nvidia/[^/]+/lib/[^/]+\.so[.\d]*$', name):
                dest = os.path.join(out, name)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with z.open(name) as src, open(dest, 'wb') as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
PY
  fi
  rm -rf "$wheels"
  # The names tfjs-node links (-ltensorflow -ltensorflow_framework) and checks (2.9.1) for.
  (
    cd "$staged/lib"
    for n in libtensorflow.so libtensorflow.so.2 libtensorflow.so.2.9.1; do ln -sf libtensorflow_cc.so.2 "$n"; done
    for n in libtensorflow_framework.so libtensorflow_framework.so.2.9.1; do
      ln -sf libtensorflow_framework.so.2 "$n"
    done
  )
  rm -rf "$cache/deps"
  mv "$staged" "$cache/deps"
fi

# 2. The package's deps/ is the cached library (the addon's RUNPATH is $ORIGIN/../../deps/lib).
if [ "$(readlink "$pkgdir/deps" 2>/dev/null)" != "$cache/deps" ]; then
  rm -rf "$pkgdir/deps"
  ln -s "$cache/deps" "$pkgdir/deps"
fi

# 3. The addon: built once from source with node-gyp, copied back after each `npm ci`.
changed=0
if [ ! -f "$addon_cache" ]; then
  # node-gyp would download Node's headers unless it finds them next to this Node (Debian's nodejs
  # headers, or any install that ships include/node).
  nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  [ -f "$nodedir/include/node/node_api.h" ] ||
    die "Node's headers are not in $nodedir/include/node (Debian: apt-get install libnode-dev / nodejs headers)"
  node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$node_gyp" ] || node_gyp="$(command -v node-gyp || true)"
  [ -n "$node_gyp" ] || die "node-gyp not found (it comes with npm)"
  log "building $pkg's addon against TensorFlow $TF_VERSION (node-gyp; log in $TDA_LOGS/tfjs-build.log)"
  (
    cd "$pkgdir"
    npm_config_nodedir="$nodedir" npm_config_node_gyp="$node_gyp" \
      ../../.bin/node-pre-gyp rebuild --build-from-source --build-latest-napi-version-only \
        --nodedir="$nodedir"
  ) >"$TDA_LOGS/tfjs-build.log" 2>&1 || die "building $pkg failed; see $TDA_LOGS/tfjs-build.log"
  [ -f "$pkgdir/$addon_rel" ] || die "the build did not produce $pkgdir/$addon_rel"
  mkdir -p "$(dirname "$addon_cache")"
  cp "$pkgdir/$addon_rel" "$addon_cache.tmp"
  mv "$addon_cache.tmp" "$addon_cache"
  changed=1
elif ! cmp -s "$addon_cache" "$pkgdir/$addon_rel"; then
  mkdir -p "$(dirname "$pkgdir/$addon_rel")"
  cp "$addon_cache" "$pkgdir/$addon_rel"
  changed=1
fi

if [ "$changed" = 1 ]; then
  got="$(node -e "
    const tf = require('$pkg');
    process.stdout.write(tf.getBackend() + ' ' + tf.version['tfjs-node'] + ' ' + tf.sum(tf.tensor([1, 2, 3])).dataSync()[0]);
  " 2>"$TDA_LOGS/tfjs-check.log")" || true
  [ "$got" = "tensorflow $tfjs_version 6" ] || die "$pkg does not load as expected: '$got' (see $TDA_LOGS/tfjs-check.log)"
  log "$pkg $tfjs_version ready on TensorFlow $TF_VERSION"
fi
