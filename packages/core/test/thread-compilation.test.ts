import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BACKGROUND_COMPILE_ENV } from '../src/index.js';

// A fresh Node process (V8's flags are process-wide): it calls optimiseOnOwnThreads() from the built
// module, as our entry points do, then starts a worker thread whose hot function V8 optimises, and
// prints V8's own trace of how it compiled it.
const script = `
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
const { optimiseOnOwnThreads } = await import(${JSON.stringify(new URL('../dist/thread-compilation.js', import.meta.url).href)});
console.log('applied ' + optimiseOnOwnThreads());
setFlagsFromString('--trace-opt');
const hot = 'let s = 0; function hotLoop(n) { for (let i = 0; i < n; i++) s += i % 7; return s; } for (let k = 0; k < 200; k++) hotLoop(20000);';
await new Promise((resolve) => new Worker(hot, { eval: true }).on('exit', resolve));
`;

function run(env: NodeJS.ProcessEnv): string {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env, timeout: 30_000 });
  expect(child.status, child.stderr).toBe(0);
  return child.stdout;
}

/** How V8 compiled hotLoop in the worker: the modes of its TurboFan compilations. */
function compileModes(trace: string): string[] {
  return [...trace.matchAll(/compiling method .*hotLoop.*mode: ConcurrencyMode::(\w+)/g)].map((m) => m[1]!);
}

describe('optimiseOnOwnThreads', () => {
  it('makes a worker thread started afterwards compile its hot code on itself, not in the background', () => {
    const env = { ...process.env };
    delete env[BACKGROUND_COMPILE_ENV];
    const trace = run(env);
    expect(trace).toContain('applied true');
    const modes = compileModes(trace);
    expect(modes.length).toBeGreaterThan(0);
    expect(new Set(modes)).toEqual(new Set(['kSynchronous']));
  });

  it(`leaves V8's background compilation alone when ${BACKGROUND_COMPILE_ENV}=1`, () => {
    const trace = run({ ...process.env, [BACKGROUND_COMPILE_ENV]: '1' });
    expect(trace).toContain('applied false');
    expect(compileModes(trace)).toContain('kConcurrent');
  });
});
