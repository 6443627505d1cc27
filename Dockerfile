# The stickerkey queue worker on Debian bookworm with Debian's ffmpeg 5.1.
#
# Every command of this build is a script in deploy/, and the test suite runs the same scripts on a
# plain machine (packages/worker/test/deploy.test.ts: deploy/build.sh on a copy of the repository,
# deploy/system.sh --check), because nothing in this project's CI can build images. Change the
# scripts, not this file, and the tests cover the change.
#
#   docker build -t stickerkey .
#   docker run --rm -e REDIS_URL=redis://redis:6379 -e METRICS_PORT=9464 -p 9464:9464 stickerkey
FROM node:20-bookworm-slim

# Debian's ffmpeg, tini, setpriv (util-linux), pnpm, and the non-root user `stickerkey`.
COPY deploy/system.sh /tmp/system.sh
RUN bash /tmp/system.sh && rm /tmp/system.sh

WORKDIR /app
COPY --chown=stickerkey:stickerkey . .
USER stickerkey

# The worker uses Debian's ffmpeg, not the npm-bundled 2018 build (3-7x slower at VP9).
# The two MALLOC_ settings let glibc hand a finished job's frame buffers back to the system: without
# them an idle worker keeps ~100 MB more after a 1080p job (see README, "Idle memory"). No huge
# pages (GLIBC_TUNABLES): measured, they cost ffmpeg more than they save (README, "ffmpeg's memory
# and huge pages").
ENV FFMPEG_PATH=/usr/bin/ffmpeg \
    FFPROBE_PATH=/usr/bin/ffprobe \
    NODE_ENV=production \
    MEMORY_BUDGET_MB=1536 \
    MAX_CONCURRENT_JOBS=1 \
    METRICS_PORT=9464 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=131072

# pnpm install --frozen-lockfile, pnpm build, then deploy/check.sh: a broken runtime fails the build.
RUN bash deploy/build.sh --require-ffmpeg 5

EXPOSE 9464
# tini is PID 1: it forwards SIGTERM to node (which drains: CLOSE_GRACE_SECONDS) and reaps any
# orphan. Without it, node would be PID 1, which the kernel shields from signals it does not
# handle. (`docker run --init` gives the same with Docker's own tini.)
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "packages/worker/dist/cli.js", "worker"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD node -e "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
