// ESLint flat config: typescript-eslint's type-checked recommended rules over every package's
// src and test (each package's tsconfig.check.json is the program), plain recommended rules for
// the .mjs scripts and the vitest configs. Formatting is Prettier's job (`pnpm lint` runs both).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node's globals for the .mjs scripts (the .ts files get them from @types/node).
const node = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'performance', 'setTimeout', 'setInterval', 'clearInterval'].map((name) => [name, 'readonly']),
);

export default defineConfig(
  { ignores: ['**/dist/', '**/node_modules/', '**/.turbo/', 'out/', 'bench-results/', 'fixtures/cache/', 'coverage/', '.clinic/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: ['./packages/*/tsconfig.check.json', './fixtures/tsconfig.check.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    // `const { log, ...rest } = options` is how a field is left out of a copy.
    files: ['**/*.ts'],
    rules: { '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }] },
  },
  {
    // Tests compare against JSON.parse results and vitest's asymmetric matchers
    // (expect.stringMatching(...)), which are typed `any`: the assertion is the check there.
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    // Not part of any package's program: linted without type information.
    files: ['**/vitest.config.ts'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: node },
  },
);
