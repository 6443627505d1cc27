import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ffmpegEnv, spawnFfmpeg } from '../src/index.js';

/** The environment a running process was started with, from /proc (Linux: where the tunable matters). */
function environOf(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

describe('ffmpegEnv', () => {
  it('asks glibc for huge pages and keeps everything else', () => {
    const env = ffmpegEnv({ PATH: '/usr/bin', HOME: '/root' });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/root', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
  });

  it('adds to the tunables the user set, and leaves theirs alone when they chose huge pages themselves', () => {
    expect(ffmpegEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    // hugetlb=0 is how a user turns it off: not overridden.
    expect(ffmpegEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }).GLIBC_TUNABLES).toBe('glibc.malloc.hugetlb=0');
  });

  it.runIf(process.platform === 'linux')('is the environment a real ffmpeg child runs in', async () => {
    // A source that runs until killed, so the child is alive when /proc is read.
    const ffmpeg = spawnFfmpeg(['-re', '-f', 'lavfi', '-i', 'nullsrc=s=16x16:r=5', '-f', 'null', '-']);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const env = environOf(ffmpeg.child.pid!);
      expect(env.GLIBC_TUNABLES).toBe(ffmpegEnv().GLIBC_TUNABLES);
      expect(env.GLIBC_TUNABLES).toContain('glibc.malloc.hugetlb=');
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      ffmpeg.kill();
      await ffmpeg.exited;
    }
  });
});
