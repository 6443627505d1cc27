import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** The built bench CLI, as CI runs it; resolves with its exit code and stderr. */
function runBench(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], (error, _stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stderr });
    });
  });
}

// Usage errors are refused before any clip is made or run, so these take well under a second each.
describe('stickerkey-bench exit codes', () => {
  it.each([
    [['check', '--repeat', 'three'], /Expected a non-negative integer for --repeat but received "three"/],
    [['check', '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['no-such-command'], /unknown command 'no-such-command'/],
  ])('a usage error (%j) exits 2, not 1 (the code of a regression)', async (args, message) => {
    const run = await runBench(args);
    expect(run.stderr).toMatch(message);
    expect(run.code).toBe(2);
  });

  it('--help exits 0', async () => {
    expect((await runBench(['check', '--help'])).code).toBe(0);
  });
});
