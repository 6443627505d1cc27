#!/usr/bin/env bash
# The application layer, run by the Dockerfile in /app and by the test suite
# (packages/worker/test/deploy.test.ts) on a copy of the repository: install exactly the
# lockfile's dependencies, build every package, then check the result (deploy/check.sh; its
# flags pass through: the Dockerfile adds --require-ffmpeg 5).
set -euo pipefail
cd "$(dirname "$0")/.."

pnpm install --frozen-lockfile --prefer-offline
pnpm build
bash deploy/check.sh "$@"
