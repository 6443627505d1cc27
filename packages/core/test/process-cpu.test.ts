import { spawn } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processCpuSeconds, readCpuTimes, reapedChildrenCpuSeconds } from '../src/index.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

describe('readCpuTimes', () => {
  it("reads a process whose name has spaces and parentheses (fields are counted after the name's last ')')", async () => {
    const odd = join(dir, 'sl (x) y');
    await copyFile('/bin/sleep', odd);
    const child = spawn(odd, ['5'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const times = readCpuTimes(child.pid!);
      expect(times).toBeDefined();
      expect(Number.isFinite(times!.self) && times!.self >= 0).toBe(true);
      expect(times!.children).toBe(0);
    } finally {
      child.kill();
    }
    expect(readCpuTimes(2 ** 22 + 12345)).toBeUndefined();
  });

  it("counts this process's own CPU, and a child's once it is reaped", async () => {
    const before = processCpuSeconds('self')!;
    const start = process.cpuUsage();
    while (process.cpuUsage(start).user < 300_000);
    expect(processCpuSeconds('self')! - before).toBeGreaterThanOrEqual(0.2);

    const reaped = reapedChildrenCpuSeconds()!;
    const burner = spawn(process.execPath, ['-e', 'const s=process.cpuUsage();while(process.cpuUsage(s).user<300000);'], { stdio: 'ignore' });
    await new Promise((resolve) => burner.on('exit', resolve));
    expect(reapedChildrenCpuSeconds()! - reaped).toBeGreaterThanOrEqual(0.2);
  });
});
