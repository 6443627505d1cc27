#!/usr/bin/env bash
# What the worker needs at run time, checked where it will run (the image's last build step,
# and the test suite): the CLI starts, the ffmpeg it will use runs and has libvpx-vp9 (and, with
# --require-ffmpeg 5, is 5.x or newer), ffprobe too, and ffmpeg children can be tied to the
# worker's life (setpriv --pdeathsig).
set -euo pipefail
cd "$(dirname "$0")/.."

# --require-ffmpeg N: the image wants Debian's ffmpeg (5.1 on bookworm), not the npm-bundled 2018
# build that a fresh clone without a system ffmpeg falls back to.
require_major=0
[[ "${1:-}" == "--require-ffmpeg" ]] && require_major="${2:?--require-ffmpeg needs a major version}"

# The ffmpeg and ffprobe the worker will use, resolved by the worker's own code (FFMPEG_PATH and
# FFPROBE_PATH first).
read -r ffmpeg_bin ffprobe_bin < <(node --input-type=module -e "
  const core = await import('./packages/core/dist/index.js');
  console.log(core.ffmpegBinary(), core.ffprobeBinary());")
[[ -x "$ffmpeg_bin" ]] || { echo "check: ffmpeg not found at \"$ffmpeg_bin\" (set FFMPEG_PATH)" >&2; exit 1; }
[[ -x "$ffprobe_bin" ]] || { echo "check: ffprobe not found at \"$ffprobe_bin\" (set FFPROBE_PATH)" >&2; exit 1; }

version=$("$ffmpeg_bin" -hide_banner -version)
version=${version%%$'\n'*}
# Release builds say `ffmpeg version 5.1.9-0+deb12u1`; git snapshots (`N-47683-g...`) have no major.
major=$(sed -nE 's/^ffmpeg version n?([0-9]+)\..*/\1/p' <<<"$version")
if ((require_major > 0)); then
  [[ "$major" =~ ^[0-9]+$ ]] && ((major >= require_major)) || { echo "check: $ffmpeg_bin is \"$version\"; expected ffmpeg $require_major or newer" >&2; exit 1; }
fi
encoders=$("$ffmpeg_bin" -hide_banner -encoders 2>/dev/null)
grep -q libvpx-vp9 <<<"$encoders" || { echo "check: $ffmpeg_bin has no libvpx-vp9 encoder" >&2; exit 1; }
"$ffprobe_bin" -hide_banner -version >/dev/null

setpriv --pdeathsig KILL true || { echo "check: setpriv --pdeathsig does not work here: ffmpeg children would outlive a killed worker" >&2; exit 1; }

cli_version=$(node packages/worker/dist/cli.js --version)
echo "check: stickerkey $cli_version, node $(node --version), $version at $ffmpeg_bin, setpriv --pdeathsig ok"
