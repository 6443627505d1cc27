import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createFrame, InvalidOptionError, type Frame, type Stage } from '@stickerkey/core';
import * as api from '../src/index.js';
import { createStickerStack, effectNames, effects, getEffect, PRESETS, STACK_ORDER } from '../src/index.js';

const names = (stages: Stage[]) => stages.map((s) => s.name);

/** A green screen with an orange disc and a darker band: what the keyer expects to see. */
function greenScreen(width: number, height: number): Frame {
  const f = createFrame(width, height);
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p += 4) {
      const d = Math.hypot(x - width / 2, y - height / 2) - height * 0.25;
      const a = Math.min(1, Math.max(0, 0.5 - d));
      const shade = 0.9 + 0.1 * Math.sin(x * 0.3 + y * 0.2);
      f.data[p] = Math.round(a * 230 + (1 - a) * 30 * shade);
      f.data[p + 1] = Math.round(a * 120 + (1 - a) * 190 * shade);
      f.data[p + 2] = Math.round(a * 40 + (1 - a) * 40 * shade);
      f.data[p + 3] = 255;
    }
  }
  return f;
}

async function setup(stages: Stage[], width: number, height: number, sample: Frame): Promise<void> {
  for (const stage of stages) await stage.setup({ size: { width, height }, sampleFrames: () => Promise.resolve([sample]) });
}

describe('registry', () => {
  it('maps every effect of the stack by its own name', () => {
    expect([...effectNames].sort()).toEqual([...STACK_ORDER].sort());
    for (const name of effectNames) {
      expect(effects[name].name).toBe(name);
      expect(getEffect(name)).toBe(effects[name]);
    }
    expect(getEffect('glow')).toBeUndefined();
    expect(getEffect('toString')).toBeUndefined();
  });

  it('every effect module is a subpath export (src/<name>.ts exporting the effect, dist mapping in package.json)', () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
    expect(pkg.exports['./*'].default).toBe('./dist/*.js');
    for (const name of [...STACK_ORDER, 'posterize-time', 'textures']) expect(existsSync(join(root, 'src', `${name}.ts`)), name).toBe(true);
    const exported = api as Record<string, unknown>;
    expect(exported.chromaKey).toBe(effects['chroma-key']);
    expect(exported.dropShadow).toBe(effects['drop-shadow']);
    expect(exported.displacement).toBe(effects.displacement);
    expect(typeof exported.posterizeSchedule).toBe('function');
  });

  it('the stack order is the canonical one', () => {
    expect(STACK_ORDER).toEqual(['chroma-key', 'outline', 'displacement', 'multiply-blend', 'add-blend', 'surface-bevel', 'alpha-bevel', 'drop-shadow']);
  });

  it("every preset's options are valid for their effect", () => {
    for (const preset of Object.keys(PRESETS) as (keyof typeof PRESETS)[]) expect(() => createStickerStack({ preset })).not.toThrow();
  });
});

describe('createStickerStack', () => {
  it('sticker (the default): everything on, in canonical order', () => {
    expect(names(createStickerStack())).toEqual([...STACK_ORDER]);
    expect(names(createStickerStack({ preset: 'sticker' }))).toEqual([...STACK_ORDER]);
  });

  it('key: the keyer alone; none: nothing', () => {
    const key = createStickerStack({ preset: 'key' });
    expect(names(key)).toEqual(['chroma-key']);
    expect(key[0].producesAlpha).toBe(true);
    expect(createStickerStack({ preset: 'none' })).toEqual([]);
  });

  it('effects can be switched off, switched on and tuned; the order stays canonical', () => {
    const stages = createStickerStack({
      preset: 'key',
      effects: { 'drop-shadow': { distance: 4 }, displacement: { horizontal: 9 }, outline: { width: 3 }, 'chroma-key': false },
    });
    expect(names(stages)).toEqual(['outline', 'displacement', 'drop-shadow']);
    expect(stages[1].margin).toBe(9); // tuned: the largest displacement
    expect(names(createStickerStack({ effects: { 'drop-shadow': false, displacement: false } }))).toEqual([
      'chroma-key',
      'outline',
      'multiply-blend',
      'add-blend',
      'surface-bevel',
      'alpha-bevel',
    ]);
  });

  it("tuning merges over the preset's options", () => {
    const preset = createStickerStack({ preset: 'sticker' }).find((s) => s.name === 'displacement')!;
    expect(preset.margin).toBe(3);
    const tuned = createStickerStack({ effects: { displacement: { horizontal: 10 } } }).find((s) => s.name === 'displacement')!;
    expect(tuned.margin).toBe(10);
    const smaller = createStickerStack({ effects: { displacement: { horizontal: 1 } } }).find((s) => s.name === 'displacement')!;
    expect(smaller.margin).toBe(3); // vertical still the preset's 3
  });

  it('refuses an unknown effect, listing the known ones', () => {
    expect(() => createStickerStack({ effects: { glow: {} } })).toThrowError(
      new InvalidOptionError(
        'Unknown effect glow; expected one of chroma-key, outline, displacement, multiply-blend, add-blend, surface-bevel, alpha-bevel, drop-shadow',
        'glow',
      ),
    );
  });

  it('refuses a bad option before any work, with the effect-qualified name', () => {
    try {
      createStickerStack({ effects: { 'multiply-blend': { opacity: 150 } } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).message).toBe('Expected number between 0 and 100 for multiply-blend.opacity but received 150');
      expect((error as InvalidOptionError).option).toBe('multiply-blend.opacity');
    }
  });

  it('refuses a bad preset and a non-object effect entry', () => {
    expect(() => createStickerStack({ preset: 'glitter' as 'none' })).toThrowError('Expected one of sticker, key, none for preset but received "glitter"');
    expect(() => createStickerStack({ effects: { outline: true as unknown as object } })).toThrowError(
      'Expected an options object or false for effects.outline but received true',
    );
  });

  it('the whole sticker stack runs on a green-screen frame, deterministically, and keys the screen out', async () => {
    const w = 120;
    const h = 90;
    const outputs: Uint8Array[] = [];
    for (let run = 0; run < 2; run++) {
      const stages = createStickerStack();
      const frame = greenScreen(w, h);
      await setup(stages, w, h, greenScreen(w, h));
      for (const stage of stages) stage.process(frame);
      outputs.push(frame.data);
    }
    expect(Buffer.from(outputs[0]).equals(Buffer.from(outputs[1]))).toBe(true);
    const out = outputs[0];
    expect(out[3]).toBe(0); // the corner was screen
    const centre = ((h / 2) * w + w / 2) * 4;
    expect(out[centre + 3]).toBe(255); // the disc stays
  });
});
