import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegBinary, hasTransparentPixels, probe, verifyAlpha, verifyOutputAlpha } from '../src/index.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

async function webm(name: string, filter: string, pixFmt: string): Promise<string> {
  const path = join(dir, name);
  await run(ffmpegBinary(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=64x64:r=10:d=1,${filter}`, '-c:v', 'libvpx-vp9', '-pix_fmt', pixFmt, path]);
  return path;
}

describe('alpha verification', () => {
  it('passes a VP9 WebM whose alpha has transparent pixels', async () => {
    const path = await webm('alpha.webm', "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,32),0,255)'", 'yuva420p');
    await expect(verifyAlpha(await probe(path))).resolves.toBeUndefined();
  });

  it('catches an output without alpha', async () => {
    const path = await webm('opaque.webm', 'format=yuv420p', 'yuv420p');
    expect(await hasTransparentPixels(await probe(path))).toBe(false);
    await expect(verifyAlpha(await probe(path), 'final.webm')).rejects.toMatchObject({
      code: 'ALPHA_MISSING',
      message: 'Expected final.webm to carry alpha (the input was keyed) but every sampled frame decodes fully opaque',
    });
  });

  it('finds the alpha of a clip whose first frame decodes fully opaque in the spread sample', async () => {
    // Frame 0 opaque (a character covering the canvas), the others half see-through: the first
    // frame alone says nothing, so the spread sample must still be taken.
    const path = await webm('covered-first.webm', "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(eq(N,0),255,if(lt(X,32),0,255))'", 'yuva420p');
    expect(await hasTransparentPixels(await probe(path))).toBe(true);
    await expect(verifyOutputAlpha(path, 'webm', { frames: 10 })).resolves.toBeUndefined();
    // Told there is one frame, only that opaque one is looked at.
    expect(await hasTransparentPixels({ ...(await probe(path)), frameCount: 1 })).toBe(false);
  });

  it('decodes beside ffprobe when told the frames written, with the same verdicts', async () => {
    const keyed = await webm('beside.webm', "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,32),0,255)'", 'yuva420p');
    await expect(verifyOutputAlpha(keyed, 'webm', { frames: 10 })).resolves.toBeUndefined();
    // A wrong count only moves which frames are sampled.
    await expect(verifyOutputAlpha(keyed, 'webm', { frames: 3 })).resolves.toBeUndefined();
    const opaqueWebm = await webm('beside-opaque.webm', 'format=yuv420p', 'yuv420p');
    await expect(verifyOutputAlpha(opaqueWebm, 'webm', { frames: 10, finalName: 'final.webm' })).rejects.toMatchObject({ code: 'ALPHA_MISSING' });
    // A file that is not what the format says (a yuv420p VP9 called mov): ffprobe's reading decides.
    await expect(verifyOutputAlpha(opaqueWebm, 'mov', { frames: 10 })).rejects.toMatchObject({ code: 'ALPHA_MISSING' });
  });

  it.each([
    ['webp', 'sticker.webp', ['-c:v', 'libwebp_anim', '-loop', '0']],
    ['apng', 'sticker.png', ['-c:v', 'apng', '-pix_fmt', 'rgba', '-plays', '0', '-f', 'apng']],
  ] as const)('verifies an animated %s (WebP decoded by libwebp: ffmpeg 5.1 cannot) and catches an opaque one', async (format, name, codec) => {
    const half = "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,32),0,255)'";
    const keyed = join(dir, name);
    await run(ffmpegBinary(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=64x64:r=10:d=1,${half}`, ...codec, keyed]);
    await expect(verifyOutputAlpha(keyed, format)).resolves.toBeUndefined();
    const opaque = join(dir, `opaque-${name}`);
    await run(ffmpegBinary(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=10:d=1,format=rgba', ...codec, opaque]);
    await expect(verifyOutputAlpha(opaque, format, { finalName: `final.${format}` })).rejects.toMatchObject({
      code: 'ALPHA_MISSING',
      message: `Expected final.${format} to carry alpha (the input was keyed) but every sampled frame decodes fully opaque`,
    });
  });
});
