import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'bench',
    include: ['test/**/*.test.ts'],
    // Pipelines spawn real ffmpeg processes: give them time, and run files one at a time
    // so that memory figures measured inside a test are not polluted by a neighbour.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
