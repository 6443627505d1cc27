import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@stickerkey/core';
import { applyAssignments, loadJobFile, resolveJob } from '../src/job.js';

function refusal(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('resolveJob', () => {
  it('fills defaults and takes the format from the extension', () => {
    const job = resolveJob({ input: 'a.mp4', output: 'b.gif' });
    expect(job).toEqual({
      input: resolve('a.mp4'),
      output: resolve('b.gif'),
      format: 'gif',
      posterize: null,
      hold: false,
      background: '#ffffff',
      preset: 'sticker',
      speed: 'balanced',
      effects: {},
      threads: 0,
      fit: [],
    });
  });

  it('takes an encoder speed preset and refuses an unknown one with the table message', () => {
    expect(resolveJob({ input: 'a.mp4', output: 'b.webm', speed: 'small' }).speed).toBe('small');
    const error = refusal(() => resolveJob({ input: 'a.mp4', output: 'b.webm', speed: 'turbo' as never }));
    expect(error.message).toBe('Expected one of fast, balanced, small for job.speed but received "turbo" of type string');
    expect(error.option).toBe('job.speed');
  });

  it('keeps an explicit format over the extension, and numbers given as text', () => {
    const job = resolveJob({ input: 'a.mp4', output: 'b.bin', format: 'mov', posterize: '12' as unknown as number, jobId: 7 });
    expect(job.format).toBe('mov');
    expect(job.posterize).toBe(12);
    expect(job.jobId).toBe(7);
  });

  it('treats null, false, 0 and "off" as no posterize', () => {
    for (const posterize of [null, false, 0, 'off']) {
      expect(resolveJob({ input: 'a.mp4', output: 'b.webm', posterize: posterize as never }).posterize).toBeNull();
    }
  });

  it('takes a cap on the stage threads (0: one per core) and refuses a bad one', () => {
    expect(resolveJob({ input: 'a.mp4', output: 'b.webm', threads: '2' as unknown as number }).threads).toBe(2);
    const error = refusal(() => resolveJob({ input: 'a.mp4', output: 'b.webm', threads: 1.5 }));
    expect(error.message).toBe('Expected integer between 0 and 64 for job.threads but received 1.5');
  });

  it('refuses a bad format with the table message', () => {
    const error = refusal(() => resolveJob({ input: 'a.mp4', output: 'b.webm', format: 'avi' as never }));
    expect(error.message).toBe('Expected one of webm, mov, gif, mp4, webp, apng for job.format but received "avi" of type string');
    expect(error.option).toBe('job.format');
  });

  it('refuses an output whose format cannot be told', () => {
    const error = refusal(() => resolveJob({ input: 'a.mp4', output: 'b.avi' }));
    expect(error.message).toContain('.webm, .mov, .gif, .mp4, .webp, .png, .apng');
  });

  it('refuses a posterize rate out of range, naming the range and the value', () => {
    const error = refusal(() => resolveJob({ input: 'a.mp4', output: 'b.webm', posterize: -3 }));
    expect(error.message).toBe('Expected number between 0 and 240 for job.posterize but received -3');
  });

  it('refuses unknown keys, missing paths, same input and output, wrong effect shapes', () => {
    expect(refusal(() => resolveJob({ input: 'a.mp4', output: 'b.webm', fps: 3 } as never)).message).toMatch(
      /^Unknown option job\.fps; expected one of input, output/,
    );
    expect(refusal(() => resolveJob({ output: 'b.webm' } as never)).message).toBe('Expected a file path for job.input but received nothing');
    expect(refusal(() => resolveJob({ input: 'a.webm', output: './a.webm' })).option).toBe('job.output');
    expect(refusal(() => resolveJob({ input: 'a.mp4', output: 'b.webm', effects: { outline: 3 } as never })).message).toBe(
      'Expected true, false or an object of options for job.effects.outline but received 3 of type number',
    );
    expect(refusal(() => resolveJob({ input: 'a.mp4', output: 'b.webm', background: 'red' })).message).toBe(
      'Expected colour as #rrggbb for job.background but received "red" of type string',
    );
  });
});

describe('applyAssignments', () => {
  it('merges --set values into the effect settings, switching an effect back on', () => {
    const effects = applyAssignments({ 'drop-shadow': { opacity: 50 }, outline: false }, [
      'drop-shadow.distance=12',
      'outline.width=4',
      'chroma-key.screen=#00ff00',
    ]);
    expect(effects).toEqual({
      'drop-shadow': { opacity: 50, distance: '12' },
      outline: { width: '4' },
      'chroma-key': { screen: '#00ff00' },
    });
  });

  it('refuses a malformed assignment', () => {
    expect(refusal(() => applyAssignments({}, ['opacity=3'])).message).toBe('Expected --set <effect>.<option>=<value> but received "opacity=3"');
  });
});

describe('loadJobFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stickerkey-job-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads YAML, resolving paths relative to the file', async () => {
    const path = join(dir, 'job.yaml');
    await writeFile(
      path,
      [
        'input: clips/in.mp4',
        'output: out.webm',
        'posterize: 8',
        'background: "#102030"',
        'effects:',
        '  drop-shadow: { opacity: 50 }',
        '  outline: false',
        '',
      ].join('\n'),
    );
    expect(await loadJobFile(path)).toEqual({
      input: join(dir, 'clips/in.mp4'),
      output: join(dir, 'out.webm'),
      posterize: 8,
      background: '#102030',
      effects: { 'drop-shadow': { opacity: 50 }, outline: false },
    });
  });

  it('reads JSON', async () => {
    const path = join(dir, 'job.json');
    await writeFile(path, JSON.stringify({ input: '/abs/in.mp4', format: 'gif' }));
    expect(await loadJobFile(path)).toEqual({ input: '/abs/in.mp4', format: 'gif' });
  });

  it('refuses a missing file, bad syntax and a non-object', async () => {
    await expect(loadJobFile(join(dir, 'nope.yaml'))).rejects.toThrow(/^Cannot read job file .*nope\.yaml: no such file$/);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ "input": ');
    await expect(loadJobFile(bad)).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringMatching(/is not valid JSON/) });
    const list = join(dir, 'list.yaml');
    await writeFile(list, '- a\n- b\n');
    await expect(loadJobFile(list)).rejects.toThrow(/to hold an object of settings but it holds an array/);
  });
});

describe('YAML colour pitfall', () => {
  it('explains an unquoted #colour that YAML read as a comment', () => {
    expect(refusal(() => resolveJob({ input: 'a.mp4', output: 'b.mp4', background: null as never })).message).toMatch(/unquoted # starts a comment/);
  });
});

describe('resolveJob: targets', () => {
  it('takes a platform and what may be traded, as a list or comma-separated', () => {
    expect(resolveJob({ input: 'a.mp4', output: 'b.webm', target: 'telegram', fit: 'rate, trim' })).toMatchObject({
      target: 'telegram',
      fit: ['rate', 'trim'],
      format: 'webm',
    });
    expect(resolveJob({ input: 'a.mp4', output: 'b.webm', target: 'telegram', fit: ['size'] }).fit).toEqual(['size']);
    expect(resolveJob({ input: 'a.mp4', output: 'b.webm' }).fit).toEqual([]);
    // An output whose extension names no format gets the platform's own.
    expect(resolveJob({ input: 'a.mp4', output: 'sticker', target: 'telegram' }).format).toBe('webm');
  });

  it('refuses an unknown platform, an unknown trade and a trade without a platform', () => {
    expect(refusal(() => resolveJob({ input: 'a.mp4', output: 'b.webm', target: 'myspace' as never })).message).toBe(
      'Expected job.target to be one of telegram, telegram-emoji, whatsapp, signal, discord, line, imessage, web but received "myspace"',
    );
    expect(refusal(() => resolveJob({ input: 'a.mp4', output: 'b.webm', target: 'telegram', fit: 'quality' })).message).toBe(
      'Expected job.fit to list some of rate, size, speed-up, trim but received "quality"',
    );
    expect(refusal(() => resolveJob({ input: 'a.mp4', output: 'b.webm', fit: ['rate'] })).option).toBe('job.fit');
  });
});
