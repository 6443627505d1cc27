// One .wat file to its WebAssembly binary with wabt (SIMD on), the way scripts/wasm.mjs and the
// test that checks the committed binary both do it.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import wabtInit from 'wabt';

export async function compileWat(path) {
  const wabt = await wabtInit();
  const module = wabt.parseWat(basename(path), readFileSync(path, 'utf8'), { simd: true });
  try {
    module.validate();
    return Uint8Array.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}
