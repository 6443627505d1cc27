import { createHash } from 'node:crypto';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, createFrame, InvalidOptionError } from '@stickerkey/core';
import { multiplyBlend } from '../src/multiply-blend.js';
import { PROCEDURAL_CHANNELS } from '../src/internal/procedural.js';
import {
  generateTexture,
  loadDerived,
  loadTexture,
  sharedBytes,
  TextureCache,
  textureAtSize,
  textureCacheStats,
  textureRgba,
  type ProceduralSpec,
  type Texture,
} from '../src/textures.js';
import { generateInThread } from '../src/internal/texture-thread-client.js';
import { setupEffect } from './support/run-effect.js';

let dir: string;
let png: string;
let grey: string;
let jpeg: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-textures-'));
  png = join(dir, 'quad.png');
  grey = join(dir, 'grey.png');
  jpeg = join(dir, 'flat.jpg');
  // 2x2: red, green / blue, half-transparent white.
  const quad = Buffer.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 128]);
  await sharp(quad, { raw: { width: 2, height: 2, channels: 4 } })
    .png()
    .toFile(png);
  await sharp(Buffer.alloc(8 * 8, 77), { raw: { width: 8, height: 8, channels: 1 } })
    .png()
    .toFile(grey);
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 100, b: 50 } } })
    .jpeg({ quality: 100 })
    .toFile(jpeg);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex').slice(0, 16);

describe('procedural textures', () => {
  it('are deterministic: same recipe and size, same bytes; another seed, other bytes', () => {
    const a = generateTexture({ procedural: 'paper', seed: 1, scale: 1 }, { width: 64, height: 48 });
    const b = generateTexture({ procedural: 'paper', seed: 1, scale: 1 }, { width: 64, height: 48 });
    const c = generateTexture({ procedural: 'paper', seed: 2, scale: 1 }, { width: 64, height: 48 });
    expect(sha(a)).toBe(sha(b));
    expect(sha(a)).not.toBe(sha(c));
  });

  it('golden: the bytes of each recipe do not drift between versions', () => {
    // Recorded once from this implementation (integer hash, no Math.random); a change here changes
    // every sticker users render, so it must be deliberate.
    // Hashed as RGBA, as recorded when every texture was RGBA: a grey texture is kept one byte a
    // pixel now, and spread back it must give the very same bytes.
    const size = { width: 64, height: 48 };
    const rgba = (spec: ProceduralSpec) =>
      sha(textureRgba({ key: '', ...size, channels: PROCEDURAL_CHANNELS[spec.procedural], data: generateTexture(spec, size) }, size));
    expect({
      paper: rgba({ procedural: 'paper', seed: 1, scale: 1 }),
      grain: rgba({ procedural: 'grain', seed: 1, scale: 1 }),
      noise: rgba({ procedural: 'noise', seed: 1, scale: 16, octaves: 2 }),
    }).toMatchInlineSnapshot(`
      {
        "grain": "3ed1db021e36c401",
        "noise": "4d17592b3f48c644",
        "paper": "690eb39b514b4291",
      }
    `);
  });

  it('paper lies in 175..255, grain is its complement, both grey and one byte a pixel', () => {
    const size = { width: 96, height: 64 };
    const paper = generateTexture({ procedural: 'paper', seed: 3, scale: 1 }, size);
    const grain = generateTexture({ procedural: 'grain', seed: 3, scale: 1 }, size);
    expect([PROCEDURAL_CHANNELS.paper, PROCEDURAL_CHANNELS.grain, PROCEDURAL_CHANNELS.noise]).toEqual([1, 1, 4]);
    expect([paper.length, grain.length]).toEqual([96 * 64, 96 * 64]);
    let lo = 255;
    let hi = 0;
    for (let p = 0; p < paper.length; p++) {
      expect(grain[p]).toBe(255 - paper[p]);
      lo = Math.min(lo, paper[p]);
      hi = Math.max(hi, paper[p]);
    }
    expect(lo).toBeGreaterThanOrEqual(175);
    expect(hi).toBeLessThanOrEqual(255);
    expect(hi - lo).toBeGreaterThan(30); // there is grain to see
  });

  it('noise fills 0..255 in each of R, G, B with independent fields, and is smooth at its scale', () => {
    const w = 128;
    const h = 96;
    const noise = generateTexture({ procedural: 'noise', seed: 5, scale: 32, octaves: 1 }, { width: w, height: h });
    for (let c = 0; c < 3; c++) {
      let lo = 255;
      let hi = 0;
      let step = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = noise[(y * w + x) * 4 + c];
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
          if (x > 0) step = Math.max(step, Math.abs(v - noise[(y * w + x - 1) * 4 + c]));
        }
      }
      expect([lo, hi]).toEqual([0, 255]);
      expect(step).toBeLessThan(24); // neighbours differ little: a smooth field, not white noise
    }
    let same = 0;
    for (let p = 0; p < noise.length; p += 4) if (noise[p] === noise[p + 1]) same++;
    expect(same).toBeLessThan(w * h * 0.1);
  });
});

describe('texture files', () => {
  it('are decoded with sharp, resized to cover the size, RGBA', async () => {
    const t = await loadTexture({ path: png, procedural: 'paper', seed: 1, scale: 1 }, { width: 4, height: 4 });
    expect([t.width, t.height, t.data.length]).toEqual([4, 4, 64]);
    // Top-left quadrant stays red, bottom-right keeps its partial alpha.
    expect(Array.from(t.data.subarray(0, 4))).toEqual([255, 0, 0, 255]);
    expect(t.data[(3 * 4 + 3) * 4 + 3]).toBe(128);
  });

  it('grey and JPEG files come out as RGBA too', async () => {
    const g = await loadTexture({ path: grey, procedural: 'paper', seed: 1, scale: 1 }, { width: 3, height: 2 });
    expect(Array.from(g.data.subarray(0, 4))).toEqual([77, 77, 77, 255]);
    const j = await loadTexture({ path: jpeg, procedural: 'paper', seed: 1, scale: 1 }, { width: 5, height: 3 });
    const [r, gg, b, a] = Array.from(j.data.subarray(0, 4));
    expect(Math.abs(r - 200) + Math.abs(gg - 100) + Math.abs(b - 50)).toBeLessThan(8);
    expect(a).toBe(255);
  });

  it('a missing file is an InvalidOptionError naming the option and the path', async () => {
    const missing = join(dir, 'nope.png');
    const load = loadTexture({ path: missing, procedural: 'paper', seed: 1, scale: 1, option: 'multiply-blend.texture' }, { width: 4, height: 4 });
    await expect(load).rejects.toThrowError(
      new InvalidOptionError(
        `Expected a readable PNG or JPEG file for multiply-blend.texture but received ${JSON.stringify(missing)} (ENOENT)`,
        'multiply-blend.texture',
      ),
    );
    await expect(load).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'multiply-blend.texture' });
  });

  it('an undecodable file is an InvalidOptionError naming the option and the path', async () => {
    const bad = join(dir, 'bad.png');
    await writeFile(bad, 'this is not an image');
    const load = loadTexture({ path: bad, procedural: 'paper', seed: 1, scale: 1, option: 'displacement.map' }, { width: 4, height: 4 });
    await expect(load).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(load).rejects.toThrowError(`Expected a readable PNG or JPEG file for displacement.map but received ${JSON.stringify(bad)} (`);
  });

  it('a directory is refused the same way', async () => {
    await expect(loadTexture({ path: dir, procedural: 'paper', seed: 1, scale: 1, option: 'add-blend.texture' }, { width: 4, height: 4 })).rejects.toThrowError(
      `Expected a readable PNG or JPEG file for add-blend.texture but received ${JSON.stringify(dir)} (not a regular file)`,
    );
  });

  it('a cancelled job does not load', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(loadTexture({ path: null, procedural: 'paper', seed: 1, scale: 1 }, { width: 4, height: 4 }, controller.signal)).rejects.toBeInstanceOf(
      CancelledError,
    );
  });
});

describe('texture cache', () => {
  it('same file and size: the same buffer object, decoded once; another size: decoded again', async () => {
    const before = textureCacheStats();
    const spec = { path: png, procedural: 'paper', seed: 1, scale: 1 } as const;
    const a = await loadTexture(spec, { width: 6, height: 6 });
    const b = await loadTexture(spec, { width: 6, height: 6 });
    const c = await loadTexture(spec, { width: 7, height: 6 });
    expect(b).toBe(a);
    expect(b.data).toBe(a.data);
    expect(c).not.toBe(a);
    expect(textureCacheStats().decodes - before.decodes).toBe(2);
  });

  it('concurrent loads of the same texture share one decode', async () => {
    const before = textureCacheStats().decodes;
    const spec = { path: jpeg, procedural: 'paper', seed: 1, scale: 1 } as const;
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => loadTexture(spec, { width: 11, height: 9 })));
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(textureCacheStats().decodes - before).toBe(1);
  });

  it('a file changed on disk (new mtime) is decoded again', async () => {
    const path = join(dir, 'changing.png');
    await sharp({ create: { width: 2, height: 2, channels: 3, background: '#102030' } })
      .png()
      .toFile(path);
    const a = await loadTexture({ path, procedural: 'paper', seed: 1, scale: 1 }, { width: 2, height: 2 });
    await sharp({ create: { width: 2, height: 2, channels: 3, background: '#405060' } })
      .png()
      .toFile(path);
    const later = new Date(Date.now() + 5000);
    await utimes(path, later, later);
    const b = await loadTexture({ path, procedural: 'paper', seed: 1, scale: 1 }, { width: 2, height: 2 });
    expect(b).not.toBe(a);
    expect(Array.from(b.data.subarray(0, 3))).toEqual([0x40, 0x50, 0x60]);
  });

  it('procedural textures are shared too, per recipe and size', async () => {
    const spec = { path: null, procedural: 'noise', seed: 9, scale: 8, octaves: 2 } as const;
    const a = await loadTexture(spec, { width: 20, height: 10 });
    const b = await loadTexture(spec, { width: 20, height: 10 });
    const c = await loadTexture({ ...spec, seed: 10 }, { width: 20, height: 10 });
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('loadDerived keeps what an effect derives from a procedural texture, not the texture, and derives it once', async () => {
    const size = { width: 31, height: 17 };
    const spec = { path: null, procedural: 'noise', seed: 4242, scale: 8, octaves: 2 } as const;
    const before = textureCacheStats();
    let derivations = 0;
    const derive = (texture: Texture) => {
      derivations++;
      expect([texture.channels, texture.data.length]).toEqual([4, 31 * 17 * 4]);
      // The red channel alone, as an effect might keep it.
      const out = sharedBytes(31 * 17);
      for (let i = 0; i < out.length; i++) out[i] = texture.data[i * 4]!;
      return out;
    };
    const a = await loadDerived(spec, size, 'red', 1, derive);
    const b = await loadDerived(spec, size, 'red', 1, derive);
    expect(b).toBe(a);
    expect(derivations).toBe(1);
    expect(a.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    const noise = generateTexture(spec, size);
    expect(Array.from(a.data)).toEqual(Array.from({ length: 31 * 17 }, (_, i) => noise[i * 4]));
    const after = textureCacheStats();
    // One texture generated, and the cache grew by the derived bytes only, not the 2 kB map.
    expect(after.generated - before.generated).toBe(1);
    expect(after.bytes - before.bytes).toBe(31 * 17);
    // Another recipe of the same map is another entry.
    const c = await loadDerived(spec, size, 'red again', 1, derive);
    expect(c).not.toBe(a);
    expect(derivations).toBe(2);
  });

  it('grain is made from the paper of the same recipe (and back): the same bytes, one noise field', async () => {
    const size = { width: 37, height: 23 };
    const spec = { path: null, seed: 77, scale: 1.5 } as const;
    const before = textureCacheStats().generated;
    const paper = await loadTexture({ ...spec, procedural: 'paper' }, size);
    const grain = await loadTexture({ ...spec, procedural: 'grain' }, size);
    expect(textureCacheStats().generated - before).toBe(1);
    expect(Buffer.from(grain.data)).toEqual(Buffer.from(generateTexture({ ...spec, procedural: 'grain' }, size)));
    expect(Buffer.from(paper.data)).toEqual(Buffer.from(generateTexture({ ...spec, procedural: 'paper' }, size)));
    // Concurrent loads (the stages preload at once) share the build the same way.
    const [grain2, paper2] = await Promise.all([
      loadTexture({ ...spec, seed: 78, procedural: 'grain' }, size),
      loadTexture({ ...spec, seed: 78, procedural: 'paper' }, size),
    ]);
    expect(textureCacheStats().generated - before).toBe(2);
    expect(Buffer.from(paper2.data)).toEqual(Buffer.from(generateTexture({ ...spec, seed: 78, procedural: 'paper' }, size)));
    expect(Buffer.from(grain2.data)).toEqual(Buffer.from(generateTexture({ ...spec, seed: 78, procedural: 'grain' }, size)));
  });

  it('a texture thread makes the same bytes as the pipeline thread would, in shared memory', async () => {
    const size = { width: 300, height: 260 };
    for (const spec of [
      { procedural: 'noise', seed: 4, scale: 64, octaves: 2 },
      { procedural: 'paper', seed: 4, scale: 1 },
    ] as const) {
      const made = await generateInThread(spec, size);
      expect(made.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(Buffer.from(made)).toEqual(Buffer.from(generateTexture(spec, size)));
    }
    // Through the cache, at a size that goes to a thread when there is a second core.
    const loaded = await loadTexture({ path: null, procedural: 'noise', seed: 4, scale: 64, octaves: 2 }, size);
    expect(Buffer.from(loaded.data)).toEqual(Buffer.from(generateTexture({ procedural: 'noise', seed: 4, scale: 64, octaves: 2 }, size)));
  });

  it('hands out bytes in shared memory, so a stage thread reads them without a copy', async () => {
    const procedural = await loadTexture({ path: null, procedural: 'noise', seed: 5, scale: 4 }, { width: 8, height: 8 });
    expect(procedural.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('is bounded in bytes and evicts the least recently used first', async () => {
    const cache = new TextureCache(3 * 400);
    const make = (key: string) => (): Promise<Texture> => Promise.resolve({ key, width: 10, height: 10, channels: 4, data: new Uint8Array(400) });
    const a = await cache.getOrCreate('a', make('a'));
    await cache.getOrCreate('b', make('b'));
    await cache.getOrCreate('c', make('c'));
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: 1200, evictions: 0 });
    expect(await cache.getOrCreate('a', make('a'))).toBe(a); // a is now the most recent
    await cache.getOrCreate('d', make('d')); // evicts b, the least recently used
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: 1200, evictions: 1 });
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(a);
    expect(cache.get('c')).toBeDefined();
    // An entry bigger than the whole budget is handed out but not kept.
    const huge = await cache.getOrCreate('huge', () => Promise.resolve({ key: 'huge', width: 1, height: 1, channels: 4, data: new Uint8Array(5000) }));
    expect(huge.data.length).toBe(5000);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.stats().bytes).toBeLessThanOrEqual(1200);
    cache.setMaxBytes(400);
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 400 });
  });

  it('the shared cache is bounded: 128 MB unless STICKERKEY_TEXTURE_CACHE_MB says otherwise', () => {
    const env = process.env.STICKERKEY_TEXTURE_CACHE_MB;
    expect(textureCacheStats().maxBytes).toBe(env ? Number(env) * 1024 * 1024 : 128 * 1024 * 1024);
  });

  it('a failed build is not cached', async () => {
    const cache = new TextureCache(1000);
    await expect(cache.getOrCreate('x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const ok = await cache.getOrCreate('x', () => Promise.resolve({ key: 'x', width: 1, height: 1, channels: 4, data: new Uint8Array(4) }));
    expect(ok.data.length).toBe(4);
  });

  it('sharp runs once per job, not per frame; a second job of the same size decodes nothing', async () => {
    const path = join(dir, 'job.png');
    await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } })
      .png()
      .toFile(path);
    const before = textureCacheStats();
    const job1 = await setupEffect(multiplyBlend, { texture: path }, 40, 30);
    const frame = createFrame(40, 30);
    frame.data.fill(200);
    for (let i = 0; i < 25; i++) job1.process(frame);
    const mid = textureCacheStats();
    expect(mid.decodes - before.decodes).toBe(1);
    const job2 = await setupEffect(multiplyBlend, { texture: path, opacity: 20 }, 40, 30);
    for (let i = 0; i < 25; i++) job2.process(frame);
    const after = textureCacheStats();
    expect(after.decodes - before.decodes).toBe(1);
    expect(after.hits).toBeGreaterThan(mid.hits);
  });
});

describe('textureAtSize', () => {
  it('returns the texture itself at its own size, a nearest copy otherwise', () => {
    const t: Texture = { key: 'k', width: 2, height: 1, channels: 4, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) };
    expect(textureAtSize(t, { width: 2, height: 1 })).toBe(t.data);
    expect(Array.from(textureAtSize(t, { width: 4, height: 1 }))).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8]);
    const grey: Texture = { key: 'g', width: 2, height: 1, channels: 1, data: new Uint8Array([10, 20]) };
    expect(textureAtSize(grey, { width: 2, height: 1 })).toBe(grey.data);
    expect(Array.from(textureAtSize(grey, { width: 4, height: 1 }))).toEqual([10, 10, 20, 20]);
  });

  it('textureRgba spreads a grey texture over red, green and blue, opaque, and leaves RGBA as it is', () => {
    const grey: Texture = { key: 'g', width: 2, height: 1, channels: 1, data: new Uint8Array([10, 20]) };
    expect(Array.from(textureRgba(grey, { width: 2, height: 1 }))).toEqual([10, 10, 10, 255, 20, 20, 20, 255]);
    const rgba: Texture = { key: 'k', width: 1, height: 1, channels: 4, data: new Uint8Array([1, 2, 3, 4]) };
    expect(textureRgba(rgba, { width: 1, height: 1 })).toBe(rgba.data);
  });
});
