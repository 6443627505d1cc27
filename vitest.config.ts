import { defineConfig } from 'vitest/config';

// One `vitest run` at the root runs every package's own config as a project.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'fixtures/vitest.config.ts'],
  },
});
