/**
 * The measuring harness on real processes: CPU of a reaped tree, tree RSS with each process's
 * high-water mark, and the ffmpeg references on the committed 360p fixture (real ffmpeg,
 * core's encoder settings).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ffmpegBinary, ffprobeBinary, probe } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { measureTree } from '../src/measure.js';
import { onCpus } from '../src/runner.js';
import {
  countFrames,
  filtergraphArgs,
  makeReferenceInputs,
  paddingFor,
  pipeCommand,
  sampleScreenColor,
  singleArgs,
  splitEncoderFilter,
  type ReferenceJob,
} from '../src/references.js';

const dir = mkdtempSync(join(os.tmpdir(), 'stickerkey-measure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MB = 1024 * 1024;

describe('onCpus', () => {
  it('pins a case that asks for one CPU, children included: Node sees one core', async () => {
    const script =
      "const { execFileSync } = require('node:child_process'); const os = require('node:os'); " +
      "console.log(os.availableParallelism(), execFileSync(process.execPath, ['-p', 'require(\\'node:os\\').availableParallelism()']).toString().trim())";
    const pinned = onCpus({ id: 'x-1cpu', cpus: 1 }, process.execPath, ['-e', script]);
    expect(pinned.command).toBe('taskset');
    let out = '';
    const m = await measureTree(pinned.command, pinned.args, { onStdoutLine: (line) => (out += line) });
    expect(m.code).toBe(0);
    expect(out.trim()).toBe('1 1');
    expect(onCpus({ id: 'x' }, 'node', ['-v'])).toEqual({ command: 'node', args: ['-v'] });
  });
});

describe('measureTree', () => {
  it('counts the CPU of a grandchild and the memory of the whole tree', async () => {
    // A Node child that starts a grandchild which burns 0.4 s of CPU and holds 100 MB.
    const grandchild = `const b=Buffer.alloc(100*1024*1024,1);const s=process.cpuUsage();while((process.cpuUsage(s).user+process.cpuUsage(s).system)<4e5){}b[0]=2;`;
    const child = `require('node:child_process').spawnSync(process.execPath,['-e',${JSON.stringify(grandchild)}],{stdio:'inherit'});`;
    const m = await measureTree(process.execPath, ['-e', child], { intervalMs: 20 });
    expect(m.code).toBe(0);
    expect(m.cpuSeconds).toBeGreaterThanOrEqual(0.35);
    expect(m.processes.length).toBeGreaterThanOrEqual(2);
    const grand = m.processes.slice(1).reduce((max, p) => Math.max(max, p.hwm), 0);
    expect(grand).toBeGreaterThan(100 * MB);
    expect(m.peakTreeRss).toBeGreaterThan(100 * MB);
  });
});

describe('ffmpeg references', () => {
  it('splits the encoder filter out of core encoder arguments', () => {
    expect(splitEncoderFilter(['-vf', 'format=yuva420p', '-c:v', 'libvpx-vp9'])).toEqual({ filter: 'format=yuva420p', rest: ['-c:v', 'libvpx-vp9'] });
    expect(() => splitEncoderFilter(['-filter_complex', 'x'])).toThrow('Expected encoder arguments with a simple -vf chain');
  });

  it('runs decode|encode, one process and the whole-job filtergraph on a real clip, measured alike', async () => {
    const fx = await ensureFixture({ screen: 'green', height: 360, seconds: 2 });
    const source = await probe(fx.video);
    const canvas = { width: fx.width + 20, height: fx.height + 20 };
    const map = join(dir, 'map.png');
    const texture = join(dir, 'texture.png');
    await makeReferenceInputs(canvas, map, texture);
    const screenColor = await sampleScreenColor(fx.video);
    expect(screenColor).toMatch(/^0x[0-9a-f]{6}$/);
    const job = (kind: string): ReferenceJob => ({
      input: fx.video,
      output: join(dir, `${kind}.webm`),
      format: 'webm',
      posterize: 12,
      source,
      pad: paddingFor(source, canvas),
      screen: 'green',
      screenColor,
      displacementMap: map,
      texture,
    });
    const pipe = pipeCommand(job('pipe'));
    const runs = {
      pipe: await measureTree(pipe.command, pipe.args),
      single: await measureTree(ffmpegBinary(), singleArgs(job('single'))),
      filtergraph: await measureTree(ffmpegBinary(), filtergraphArgs(job('filtergraph'))),
    };
    for (const [kind, m] of Object.entries(runs)) {
      expect(m.code, `${kind}: ${m.stderr}`).toBe(0);
      expect(await countFrames(join(dir, `${kind}.webm`), ffprobeBinary())).toBe(24); // 2 s at posterize 12
      expect(m.peakTreeRss).toBeGreaterThan(10 * MB);
      expect(m.cpuSeconds).toBeGreaterThan(0);
    }
    // sh plus the two ffmpeg of the pipe, each with its own high-water mark.
    expect(runs.pipe.processes.filter((p) => p.hwm > 5 * MB).length).toBeGreaterThanOrEqual(2);
  });
});
