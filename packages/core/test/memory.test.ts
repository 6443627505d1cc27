import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatMemoryLine, MemoryMonitor, sampleProcessTree, treeCpuSeconds } from '../src/index.js';

const MB = 1048576;

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
    // The tree's CPU so far and what has run by then come after the seed's figures.
    const sample = { t: 0, processRss: MB, processVms: 2 * MB, childrenRss: 0, treeRss: MB, cpuSeconds: 2.345 };
    expect(formatMemoryLine(9, 'after keying', sample, 'first frame through every stage')).toBe(
      'JOB #9: 💾 Memory Usage at after keying: 1.0 MB RSS, 2.0 MB VMS, tree 1.0 MB RSS, CPU 2.3 s (first frame through every stage)',
    );
  });

  it("counts the tree's CPU: a busy child's seconds show in the next milestone", async () => {
    const lines: string[] = [];
    const monitor = new MemoryMonitor({ jobId: 3, log: (l) => lines.push(l) });
    const first = monitor.mark('start');
    // A child that spins until it has used 0.6 s of CPU, says so, and stays alive to be sampled.
    const spin =
      'let x = 0; for (let u = process.cpuUsage(); u.user + u.system < 600000; u = process.cpuUsage()) for (let i = 0; i < 1e6; i++) x += i;' +
      " process.stdout.write('done'); setInterval(() => x, 1000)";
    const child = spawn(process.execPath, ['-e', spin]);
    try {
      await new Promise((done) => child.stdout.once('data', done));
      const second = monitor.mark('frame 10/20', 'busy');
      expect(first.cpuSeconds).toBeGreaterThanOrEqual(0);
      // /proc counts in 10 ms ticks, so a little under the child's own 0.6 s.
      expect(second.cpuSeconds! - first.cpuSeconds!).toBeGreaterThan(0.5);
      expect(lines[1]).toMatch(/^JOB #3: 💾 Memory Usage at frame 10\/20: .* tree \d+\.\d MB RSS, CPU \d+\.\d s \(busy\)$/);
      expect(treeCpuSeconds()).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
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
    expect(lines[0]).toMatch(/^JOB #7: 💾 Memory Usage at start: \d+\.\d MB RSS, \d+\.\d MB VMS, tree \d+\.\d MB RSS, CPU \d+\.\d s$/);
    expect(monitor.timeline.length).toBeLessThanOrEqual(16 + 2);
    expect(monitor.timeline.filter((s) => s.label).map((s) => s.label)).toEqual(['start', 'after cleanup']);
    expect(monitor.peaks.treeRss).toBeGreaterThanOrEqual(monitor.peaks.processRss);
  });
});
