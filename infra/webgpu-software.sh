#!/usr/bin/env bash
# Mesa's software Vulkan driver (lavapipe, on llvmpipe) and the Vulkan loader, for the webgpu
# backend on a host without a GPU when TDA_WEBGPU_SOFTWARE=1 asks for it (the CI test, and
# infra/gpu-check.sh --run tried here). Debian packages fetched with `apt-get download` and
# unpacked with dpkg-deb under $TDA_STACK_DIR/webgpu-software/ (never into /, no root needed).
# Bookworm's Mesa 22.3 lavapipe lacks what Dawn requires ("Vulkan shaderUniform*ArrayDynamicIndexing
# required"); bookworm-backports' Mesa 25 has it, so on bookworm the driver comes from there.
# Dawn looks for libvulkan.so.1 beside its own dawn.node first, so where the system has no Vulkan
# loader the unpacked one is linked there (again after each `npm ci`). Idempotent: a second run
# only checks that link. Debian only; elsewhere it says so and the webgpu test is skipped.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TDA_ROOT"

dir="$TDA_STACK_DIR/webgpu-software"
root="$dir/root"
libdir="$root/usr/lib/x86_64-linux-gnu"
dawn_dir="node_modules/webgpu/dist/linux-x64"

if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ] || ! command -v apt-get >/dev/null ||
  ! command -v dpkg-deb >/dev/null; then
  log "webgpu software driver: Debian on x86-64 only; the webgpu test will be skipped"
  exit 0
fi
[ -d "$dawn_dir" ] || die "$dawn_dir is missing (npm ci should have installed the webgpu package)"

if [ ! -f "$dir/lvp_icd.json" ]; then
  # shellcheck disable=SC1091
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  mesa="mesa-vulkan-drivers"
  apt_dir="$dir/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
  # A private apt state (lists, cache) so that neither root nor the system's lists are needed.
  opts=(-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Debug::NoLocking=1
    -o "APT::Sandbox::User=$(id -un)" -o "Dir::Etc::SourceParts=/etc/apt/sources.list.d")
  if [ "$codename" = bookworm ]; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" >"$apt_dir/sources.list"
    [ -f /etc/apt/sources.list ] && cat /etc/apt/sources.list >>"$apt_dir/sources.list"
    opts+=(-o "Dir::Etc::SourceList=$apt_dir/sources.list")
    mesa="mesa-vulkan-drivers/bookworm-backports"
  fi
  log "webgpu software driver: apt-get update (private lists under $apt_dir)"
  apt-get "${opts[@]}" update -qq >/dev/null
  # The driver, the loader, and whichever of their libraries the system lacks.
  mapfile -t deps < <(apt-cache "${opts[@]}" depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances mesa-vulkan-drivers libvulkan1 |
    grep '^lib' | sort -u)
  want=("$mesa" libvulkan1)
  for p in "${deps[@]}"; do
    case "$p" in mesa-vulkan-drivers | libvulkan1 | libc6 | libgcc-s1 | libstdc++6) continue ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p")
  done
  log "webgpu software driver: apt-get download ${want[*]}"
  (cd "$apt_dir/debs" && rm -f ./*.deb && apt-get "${opts[@]}" download -qq "${want[@]}" >/dev/null)
  rm -rf "$root"
  for f in "$apt_dir"/debs/*.deb; do dpkg-deb -x "$f" "$root"; done
  [ -f "$libdir/libvulkan_lvp.so" ] || die "webgpu software driver: libvulkan_lvp.so not in the packages"
  # The ICD file names the driver library by name or by a /usr path: point it at ours.
  printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' \
    "$libdir/libvulkan_lvp.so" >"$dir/lvp_icd.json.tmp"
  mv "$dir/lvp_icd.json.tmp" "$dir/lvp_icd.json"
  rm -rf "$apt_dir/cache" "$apt_dir/lists"
  log "webgpu software driver installed ($(cd "$apt_dir/debs" && ls -- *.deb | tr '\n' ' '))"
fi

# Dawn dlopens libvulkan.so.1 from its own folder first, then the system's.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  ln -sfn "$libdir/libvulkan.so.1" "$dawn_dir/libvulkan.so.1"
fi
