import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatMemoryLine, MemoryMonitor, sampleProcessTree } from '../src/index.js';

describe('memory monitor', () => {
  it("writes the seed guide's line exactly, with the tree total after it", () => {
    const line = formatMemoryLine(123, 'start', {
      t: 0,
      processRss: 450.2 * 1048576,
      processVms: 1024.5 * 1048576,
      childrenRss: 0,
      treeRss: 890.1 * 1048576,
    });
    expect(line).toBe('JOB #123: 💾 Memory Usage at start: 450.2 MB RSS, 1024.5 MB VMS, tree 890.1 MB RSS');
  });

  it('counts child processes in the tree', async () => {
    // A child that holds ~64 MB, so its share of the tree is unmistakable.
    const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(64 << 20, 1); setInterval(() => b[0]++, 50)']);
    try {
      let tree = sampleProcessTree();
      for (let i = 0; i < 50 && !tree.children.some((c) => c.pid === child.pid && c.rss > 60 << 20); i++) {
        await new Promise((r) => setTimeout(r, 50));
        tree = sampleProcessTree();
      }
      const mine = tree.children.find((c) => c.pid === child.pid);
      expect(mine?.rss).toBeGreaterThan(60 << 20);
      expect(tree.treeRss).toBe(tree.processRss + tree.childrenRss);
      expect(tree.processVms).toBeGreaterThan(tree.processRss);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('keeps peaks, milestones and a bounded timeline', () => {
    const lines: string[] = [];
    const monitor = new MemoryMonitor({ jobId: 7, log: (l) => lines.push(l), maxSamples: 16 });
    monitor.mark('start');
    for (let i = 0; i < 500; i++) monitor.sample();
    monitor.mark('after cleanup');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^JOB #7: 💾 Memory Usage at start: \d+\.\d MB RSS, \d+\.\d MB VMS, tree \d+\.\d MB RSS$/);
    expect(monitor.timeline.length).toBeLessThanOrEqual(16 + 2);
    expect(monitor.timeline.filter((s) => s.label).map((s) => s.label)).toEqual(['start', 'after cleanup']);
    expect(monitor.peaks.treeRss).toBeGreaterThanOrEqual(monitor.peaks.processRss);
  });
});
