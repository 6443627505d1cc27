import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spawnFfmpeg } from '../src/index.js';

/** The environment a running process was started with, from /proc (Linux: where the tunable matters). */
function environOf(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

describe('spawnFfmpeg environment', () => {
  // Huge pages for ffmpeg were measured to cost a 1080p job ~0.6 s at the encoder's start (README,
  // "ffmpeg's memory and huge pages"): a child gets our environment as it is, so a user who
  // measured otherwise turns them on with GLIBC_TUNABLES, and nobody else gets them.
  async function childEnviron(): Promise<Record<string, string>> {
    // A source that runs until killed, so the child is alive when /proc is read.
    const ffmpeg = spawnFfmpeg(['-re', '-f', 'lavfi', '-i', 'nullsrc=s=16x16:r=5', '-f', 'null', '-']);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return environOf(ffmpeg.child.pid!);
    } finally {
      ffmpeg.kill();
      await ffmpeg.exited;
    }
  }

  it.runIf(process.platform === 'linux')('adds no GLIBC_TUNABLES of its own and passes on the one the user set', async () => {
    const saved = process.env.GLIBC_TUNABLES;
    try {
      delete process.env.GLIBC_TUNABLES;
      const bare = await childEnviron();
      expect(bare.GLIBC_TUNABLES).toBeUndefined();
      expect(bare.PATH).toBe(process.env.PATH);
      process.env.GLIBC_TUNABLES = 'glibc.malloc.hugetlb=1';
      expect((await childEnviron()).GLIBC_TUNABLES).toBe('glibc.malloc.hugetlb=1');
    } finally {
      if (saved === undefined) delete process.env.GLIBC_TUNABLES;
      else process.env.GLIBC_TUNABLES = saved;
    }
  });
});
