// The effects' WebAssembly: each src/**/*.wat is the source, and the .wasm beside it its binary,
// committed so that neither the build nor a user's install needs an assembler.
//   node scripts/wasm.mjs compile   .wat -> .wasm with wabt (after editing a .wat: `pnpm wasm`)
//   node scripts/wasm.mjs copy      .wasm -> dist, beside the compiled modules (part of `build`)
// test/key-screen-test.test.ts compiles the .wat again and fails when the committed binary differs.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const files = (ext) =>
  readdirSync(src, { recursive: true })
    .filter((f) => String(f).endsWith(ext))
    .map((f) => join(src, String(f)));

const mode = process.argv[2];
if (mode === 'compile') {
  const { compileWat } = await import('./compile-wat.mjs');
  for (const wat of files('.wat')) {
    const bytes = await compileWat(wat);
    writeFileSync(wat.replace(/\.wat$/, '.wasm'), bytes);
    console.log(`${relative(root, wat)} -> ${bytes.length} bytes`);
  }
} else if (mode === 'copy') {
  for (const wasm of files('.wasm')) {
    const out = join(root, 'dist', relative(src, wasm));
    mkdirSync(dirname(out), { recursive: true });
    copyFileSync(wasm, out);
  }
} else {
  throw new Error(`Expected compile or copy but received ${mode ?? 'nothing'}`);
}
