#!/usr/bin/env bash
# The GPU check (issue 14): what can travel to a lent GPU machine (the `device` tool sends the
# working tree plus up to 8 ignored `carry` paths, 64 MiB in all; the machine reaches no registry
# and may have neither Node nor a Vulkan loader) and what runs there.
#
#   bash infra/gpu-check.sh [--build]      build .gpu-bundle/, print its size and what travels;
#                                          fails if that is 64 MiB or more
#   bash infra/gpu-check.sh --run [--examples N] [--checkpoints C] [--queries Q] [--batch B]
#                              [--software] [--budget SECONDS]
#                                          on the lent machine, in the repo root, with .gpu-bundle
#                                          carried: bench:grads on webgpu (beside wasm) and
#                                          bench:scale-local (featurize + score on a filesystem
#                                          store, default 1,000,000 examples, 1 checkpoint);
#                                          prints ONE JSON line last; copies it and the log to
#                                          $OUT when set. --software: on Mesa's llvmpipe here
#                                          (infra/webgpu-software.sh), to try it without a GPU.
#
# The bundle: this machine's Node binary and Dawn's dawn.node (xz, cached under
# $TDA_STACK_DIR/gpu-bundle), the two benchmarks bundled by esbuild with everything they import
# (one tfjs-core), the wasm backend's .wasm files, and Debian's Vulkan loader and GL dispatch
# packages (the device README's list) for a machine that has none.
# Device command: `bash infra/gpu-check.sh --run`, carry [".gpu-bundle"], timeout_s 600.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TDA_ROOT"

LIMIT=$((64 * 1024 * 1024))
BUNDLE="$TDA_ROOT/.gpu-bundle"
VULKAN_DEBS=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

mode=build examples=1000000 checkpoints=1 queries=1000 batch=512 software=0 budget=560
while [ $# -gt 0 ]; do
  case "$1" in
    --build) mode=build ;;
    --run) mode=run ;;
    --examples) examples="$2"; shift ;;
    --checkpoints) checkpoints="$2"; shift ;;
    --queries) queries="$2"; shift ;;
    --batch) batch="$2"; shift ;; # bench:grads' batch (smaller for a smoke run on llvmpipe)
    --software) software=1 ;;
    --budget) budget="$2"; shift ;; # seconds the whole --run may take (the device allows 600)
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

# Bytes the device tool sends: tracked and untracked-not-ignored files, plus the bundle.
travel_bytes() {
  local tree bundle
  tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null |
    awk '{s += $1} END {print s + 0}')
  bundle=$(find "$BUNDLE" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  echo "$tree $bundle"
}

build() {
  [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "the bundle is built on Linux x86-64 (the GPU machine's kind)"
  local dawn="node_modules/webgpu/dist/linux-x64/dawn.node"
  [ -f "$dawn" ] || die "$dawn is missing (infra/setup.sh installs the optional webgpu package)"
  local node_bin node_v webgpu_v cache
  node_bin="$(command -v node)"
  node_v="$(node -p process.version)"
  webgpu_v="$(node -p "require('./node_modules/webgpu/package.json').version")"
  cache="$TDA_STACK_DIR/gpu-bundle"
  mkdir -p "$cache/debs"
  # Compressed once per version: xz takes a minute or two for Node's 95 MiB.
  if [ ! -f "$cache/node-$node_v.tar.xz" ]; then
    log "compressing $node_bin ($node_v) with xz"
    tar -C "$(dirname "$(readlink -f "$node_bin")")" -cf - "$(basename "$(readlink -f "$node_bin")")" |
      xz -T0 -6 >"$cache/node-$node_v.tar.xz.tmp"
    mv "$cache/node-$node_v.tar.xz.tmp" "$cache/node-$node_v.tar.xz"
  fi
  if [ ! -f "$cache/dawn-$webgpu_v.tar.xz" ]; then
    log "compressing dawn.node (webgpu $webgpu_v) with xz"
    tar -C "$(dirname "$dawn")" -cf - dawn.node | xz -T0 -6 >"$cache/dawn-$webgpu_v.tar.xz.tmp"
    mv "$cache/dawn-$webgpu_v.tar.xz.tmp" "$cache/dawn-$webgpu_v.tar.xz"
  fi
  local have=1 p
  for p in "${VULKAN_DEBS[@]}"; do compgen -G "$cache/debs/${p}_*.deb" >/dev/null || have=0; done
  if [ "$have" = 0 ]; then
    log "apt-get download ${VULKAN_DEBS[*]} (the Vulkan loader and GL dispatch, amd64)"
    mkdir -p "$cache/apt/archives/partial"
    (cd "$cache/debs" && apt-get -qq -o "Dir::Cache=$cache/apt" -o Debug::NoLocking=1 \
      -o "APT::Sandbox::User=$(id -un)" -o APT::Architecture=amd64 download "${VULKAN_DEBS[@]}" >/dev/null)
  fi

  rm -rf "$BUNDLE"
  mkdir -p "$BUNDLE/app/node_modules/webgpu" "$BUNDLE/app/node_modules/@tensorflow/tfjs-backend-wasm/dist" "$BUNDLE/vulkan"
  cp "$cache/node-$node_v.tar.xz" "$BUNDLE/node.tar.xz"
  cp "$cache/dawn-$webgpu_v.tar.xz" "$BUNDLE/dawn.tar.xz"
  cp "$cache"/debs/*.deb "$BUNDLE/vulkan/"
  # Dawn's loader (index.js) and the wasm backend's files, found at run time by module resolution.
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$BUNDLE/app/node_modules/webgpu/"
  local wasm=node_modules/@tensorflow/tfjs-backend-wasm
  cp "$wasm/package.json" "$BUNDLE/app/$wasm/"
  cp "$wasm"/dist/*.wasm "$wasm/dist/tf-backend-wasm.node.js" "$BUNDLE/app/$wasm/dist/"
  # ESM output needs `require` and `__dirname` for the CommonJS packages it inlines (tfjs's node
  # builds); --ignore-annotations keeps the side-effect imports that register the cpu backend.
  npx --no-install esbuild bench/grads.ts bench/scaleLocal.ts --bundle --platform=node \
    --format=esm --target=node20 --log-level=warning --outdir="$BUNDLE/app" --ignore-annotations \
    --out-extension:.js=.mjs --external:webgpu --external:@tensorflow/tfjs-node \
    --external:@tensorflow/tfjs-node-gpu --external:sharp --external:parquet-wasm \
    --banner:js="import { createRequire as __tdaRequire } from 'node:module'; import { dirname as __tdaDirname } from 'node:path'; import { fileURLToPath as __tdaPath } from 'node:url'; const require = __tdaRequire(import.meta.url); const __filename = __tdaPath(import.meta.url); const __dirname = __tdaDirname(__filename);"
  printf 'node %s\nwebgpu %s\nbuilt %s from %s\n' "$node_v" "$webgpu_v" "$(date -u +%FT%TZ)" \
    "$(git rev-parse --short HEAD)" >"$BUNDLE/MANIFEST"

  local tree bundle
  read -r tree bundle < <(travel_bytes)
  printf '[tda] bundle %s: %.1f MiB; with the working tree (%.1f MiB) %.1f MiB travel (limit 64 MiB)\n' \
    "$BUNDLE" "$(echo "$bundle / 1048576" | bc -l)" "$(echo "$tree / 1048576" | bc -l)" \
    "$(echo "($tree + $bundle) / 1048576" | bc -l)" >&2
  echo "{\"bundle_bytes\":$bundle,\"tree_bytes\":$tree,\"travel_bytes\":$((tree + bundle)),\"limit_bytes\":$LIMIT}"
  [ $((tree + bundle)) -lt "$LIMIT" ] || die "what would travel is $((tree + bundle)) bytes, over 64 MiB"
}

run() {
  [ -f "$BUNDLE/MANIFEST" ] || die "$BUNDLE is missing: build it with infra/gpu-check.sh, carry it as .gpu-bundle"
  local t0=$SECONDS work=/tmp/tda-gpu-check
  rm -rf "$work" && mkdir -p "$work/node" "$work/vulkan"
  cp -r "$BUNDLE/app" "$work/app"
  tar -xJf "$BUNDLE/node.tar.xz" -C "$work/node"
  tar -xJf "$BUNDLE/dawn.tar.xz" -C "$work/app/node_modules/webgpu/dist/linux-x64" 2>/dev/null ||
    { mkdir -p "$work/app/node_modules/webgpu/dist/linux-x64" &&
      tar -xJf "$BUNDLE/dawn.tar.xz" -C "$work/app/node_modules/webgpu/dist/linux-x64"; }
  local node
  node="$work/node/$(ls "$work/node")"
  log "$(cat "$BUNDLE/MANIFEST" | tr '\n' ' ')"

  # The Vulkan loader: the system's, else the carried one (the device README installs those
  # packages into / when running as root; elsewhere LD_LIBRARY_PATH finds them).
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
    if [ "$(id -u)" = 0 ] && [ "$software" = 0 ]; then
      log "no Vulkan loader: installing the carried packages into / (device README)"
      for f in "$BUNDLE"/vulkan/*.deb; do dpkg -x "$f" /; done
      ldconfig
    else
      for f in "$BUNDLE"/vulkan/*.deb; do dpkg-deb -x "$f" "$work/vulkan"; done
      export LD_LIBRARY_PATH="$work/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
  fi
  local nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ "$software" = 0 ] && [ -f "$nv" ] && [ -z "${VK_DRIVER_FILES:-}" ] &&
    ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES="$nv"
  fi
  if [ "$software" = 1 ]; then
    # Mesa's lavapipe from this checkout's setup; the bundle's code finds it through TDA_STACK_DIR.
    [ -f "$TDA_STACK_DIR/webgpu-software/lvp_icd.json" ] || bash infra/webgpu-software.sh
    export TDA_WEBGPU_SOFTWARE=1 TDA_STACK_DIR
  fi
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true

  local log="$work/gpu-check.log"
  log "bench:grads on webgpu and wasm"
  TDA_BACKEND=webgpu "$node" "$work/app/grads.mjs" --backends webgpu,wasm --batch "$batch" 2>&1 | tee "$log" |
    grep -v '^Warning: max' >&2
  local grads adapter
  grads="$(grep '^{' "$log" | tail -1)"
  [ -n "$grads" ] || die "bench:grads printed no JSON (log: $log)"
  adapter="$(grep -o 'webgpu: WebGPU adapter .*' "$log" | head -1 | sed 's/^webgpu: WebGPU adapter //; s/;.*//; s/)$//')"

  local left=$((budget - (SECONDS - t0))) scale_log="$work/scale-local.log" scale="" rc=0
  log "bench:scale-local: $examples examples, $checkpoints checkpoint(s), $queries queries (${left} s left)"
  # It stops starting shards 60 s before the budget ends (figures over those done); timeout is
  # the backstop.
  TDA_BACKEND=webgpu timeout "$left" "$node" "$work/app/scaleLocal.mjs" --examples "$examples" \
    --checkpoints "$checkpoints" --queries "$queries" --store "$work/store" \
    --time-limit "$((left > 90 ? left - 60 : left / 2))" 2>&1 |
    tee "$scale_log" | grep -v '^Warning: max' >&2 || rc=$?
  scale="$(grep '^{' "$scale_log" | tail -1 || true)"
  [ -n "$scale" ] || scale="{\"timed_out_or_failed\":true,\"rc\":$rc,\"last_line\":$(tail -1 "$scale_log" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(s.trim())))')}"
  rm -rf "$work/store"

  local line
  line="$(ADAPTER="$adapter" GRADS="$grads" SCALE="$scale" WALL=$((SECONDS - t0)) SOFTWARE="$software" "$node" -e '
    const g = JSON.parse(process.env.GRADS), s = JSON.parse(process.env.SCALE);
    const w = g.backends?.webgpu ?? {};
    console.log(JSON.stringify({
      adapter: process.env.ADAPTER, software_rendering: process.env.SOFTWARE === "1",
      matmul_gflops: w.matmul_gflops, factored_ex_s: w.factored_ex_s, kron1024_ex_s: w.kron1024_ex_s,
      cnn_factored_ex_s: w.cnn_factored_ex_s, cnn_kron1024_ex_s: w.cnn_kron1024_ex_s,
      max_abs_err: w.max_abs_err, speedup_vs_wasm: g.speedup,
      scale_examples: s.examples, scale_examples_scored: s.examples_scored,
      scale_checkpoints: s.checkpoints,
      featurize_ex_s: s.featurize_ex_s, scoring_gflops: s.score_gflops, scale: s,
      wall_s: Number(process.env.WALL),
    }));')"
  if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
    cp "$log" "$scale_log" "$OUT/" && echo "$line" >"$OUT/gpu-check.json"
  fi
  echo "$line"
}

"$mode"
