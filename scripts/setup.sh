#!/usr/bin/env bash
# setup.sh — makes WebGPU work on a fresh Debian machine and builds alignc.
#
# Idempotent. Steps:
#   1. If Dawn already finds a WebGPU adapter (a real GPU driver or an earlier run), the system is
#      left alone.
#   2. Otherwise install a Vulkan driver: Mesa's lavapipe (software Vulkan). Debian 12 ships Mesa 22,
#      which is too old for Dawn, so it comes from bookworm-backports there; Debian 13 and later
#      ship a new enough Mesa by default.
#   3. `npm ci` and `npm run build`.
# Needs root (or sudo) only for step 2, and only when no adapter exists yet.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root to run: $*"; exit 1; fi
}

# Asks Dawn (through the installed `webgpu` package) whether an adapter exists. Prints nothing.
have_adapter() {
  [ -d node_modules/webgpu ] || return 1
  node --input-type=module -e '
    import { create, globals } from "webgpu";
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const a = await gpu.requestAdapter();
    process.exit(a ? 0 : 1);
  ' >/dev/null 2>&1
}

mesa_major() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/' || true
}

install_lavapipe() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "no apt-get: install a Vulkan driver with Mesa >= 24 (lavapipe) by hand, then rerun"
    exit 1
  fi
  local codename=""
  if [ -r /etc/os-release ]; then codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"; fi
  local current; current="$(mesa_major)"
  if [ -n "$current" ] && [ "$current" -ge 24 ]; then
    log "Mesa $current already installed"
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ "$codename" = "bookworm" ]; then
    local list=/etc/apt/sources.list.d/bookworm-backports.list
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      log "adding bookworm-backports to apt sources"
      echo "deb http://deb.debian.org/debian bookworm-backports main" | as_root tee "$list" >/dev/null
    fi
    as_root apt-get update -qq
    log "installing Mesa lavapipe from bookworm-backports"
    as_root apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  else
    as_root apt-get update -qq
    log "installing Mesa lavapipe ($codename)"
    as_root apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
  fi
}

if [ ! -d node_modules/webgpu ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

if have_adapter; then
  log "WebGPU adapter found; system drivers left alone"
else
  install_lavapipe
  if ! have_adapter; then
    log "Dawn still finds no WebGPU adapter after installing lavapipe."
    log "Check: vulkaninfo --summary (package vulkan-tools), and that XDG_RUNTIME_DIR is set."
    exit 1
  fi
  log "WebGPU adapter found (lavapipe)"
fi

log "building"
npm run build --silent
log "done"
