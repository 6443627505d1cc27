#!/usr/bin/env bash
# The image's system layer, run by the Dockerfile as root: Debian's ffmpeg (5.1 on bookworm: the
# fast VP9 path, 3-7x faster than the npm-bundled 2018 build), tini (PID 1 that forwards SIGTERM
# to the worker and reaps orphans), util-linux's setpriv (ffmpeg children die with the worker, see
# packages/core/src/parent-death.ts), pnpm, and the non-root user the worker runs as.
#
# Idempotent: what is already there is left alone, so it also runs on a plain Debian/Ubuntu host
# (and `deploy/system.sh --check` only reports, changing nothing: the test suite runs that).
set -euo pipefail

PACKAGES=(ffmpeg tini util-linux ca-certificates)
USER_NAME=stickerkey
USER_ID=10001
PNPM_VERSION=10

check_only=false
[[ "${1:-}" == "--check" ]] && check_only=true

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if $check_only; then
  echo "system: Debian packages wanted: ${PACKAGES[*]}; missing here: ${missing[*]:-none}"
  command -v pnpm >/dev/null && echo "system: pnpm $(pnpm --version)" || echo "system: pnpm missing"
  id -u "$USER_NAME" >/dev/null 2>&1 && echo "system: user $USER_NAME exists" || echo "system: user $USER_NAME would be created (uid $USER_ID)"
  exit 0
fi

if ((${#missing[@]} > 0)); then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  rm -rf /var/lib/apt/lists/*
fi
command -v pnpm >/dev/null || npm install --global "pnpm@${PNPM_VERSION}"
id -u "$USER_NAME" >/dev/null 2>&1 || useradd --system --uid "$USER_ID" --create-home --shell /usr/sbin/nologin "$USER_NAME"
