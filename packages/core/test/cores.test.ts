import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableCores, cgroupCpuQuota } from '../src/index.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

/** A cgroup tree laid out as the kernel shows it to a container, with the given files. */
async function cgroupRoot(name: string, files: Record<string, string>): Promise<string> {
  const root = join(dir, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

describe('cgroupCpuQuota', () => {
  it('reads a cgroup v2 quota ("docker --cpus 1.5") and "max" as none', async () => {
    expect(cgroupCpuQuota(await cgroupRoot('v2', { 'cpu.max': '150000 100000\n' }))).toBe(1.5);
    expect(cgroupCpuQuota(await cgroupRoot('v2-none', { 'cpu.max': 'max 100000\n' }))).toBeUndefined();
  });

  it('reads a cgroup v1 quota, and -1 as none', async () => {
    expect(cgroupCpuQuota(await cgroupRoot('v1', { 'cpu/cpu.cfs_quota_us': '100000\n', 'cpu/cpu.cfs_period_us': '100000\n' }))).toBe(1);
    expect(cgroupCpuQuota(await cgroupRoot('v1-none', { 'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n' }))).toBeUndefined();
  });

  it('says none where there is no cgroup file at all', async () => {
    expect(cgroupCpuQuota(await cgroupRoot('empty', {}))).toBeUndefined();
  });
});

describe('availableCores', () => {
  it('is at least one and never more than the schedulable CPUs, capped by this machine quota', () => {
    const quota = cgroupCpuQuota();
    expect(availableCores()).toBe(Math.max(1, Math.min(availableParallelism(), quota === undefined ? Infinity : Math.ceil(quota))));
  });
});
