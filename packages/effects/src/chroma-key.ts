/**
 * chroma-key: removes a green, blue or any-colour screen, leaving straight-alpha RGBA.
 *
 * Model: a colour-difference keyer (Keylight, Ultimatte, Vlahos) rather than ffmpeg's chroma
 * distance. Colours are rotated about the grey axis so the screen's hue becomes green, and the
 * matte comes from the "screen excess" `e = G - ref(R, B)`, ref = mean of the other two plus
 * `screenBalance` times half their difference (1: their max, the classic key; 2, the default,
 * also keeps teal/violet props 30-40 degrees off the screen hue opaque). The excess is divided by
 * the excess of the *local* screen colour, from a coarse grid estimated from the clip (see
 * internal/key-screen-estimate.ts), so a dark corner and a hot spot both key to 0:
 *   t = screenGain * e / e_screen(x, y)    (1 on the screen, 0 on greys, < 0 on other hues)
 *   alpha = clamp((1 - similarity - t) / softness, 0, 1)
 * A shadow cast on the screen is a darker copy of it: where a pixel is darker than the local
 * screen (down to `shadows`), t is judged per unit of brightness, so shadows key out too.
 * Edge pixels (0 < alpha < 1) get a second pass: where opaque pixels are near, alpha becomes the
 * pixel's position between the local screen colour S and their colour F, measured mostly in luma
 * (sharp in 4:2:0 video, unlike chroma); then their colour is unmixed, F = (P - (1 - a) S) / a,
 * so edges keep the character's colour instead of a screen cast; the screen's RGB channel of
 * edges, and of the opaque pixels beside the outline's edges, is limited to the max of the other two.
 * Despill limits the screen channel to `mean + despillBias * |difference| / 2` of the other two
 * (about the screen's hue, and in RGB to their max: see internal/key-despill.ts),
 * moves the removed amount along the screen axis and adds its luma back as grey: spill goes
 * without darkening. Spill lives at the outline (screen light wrapping round the silhouette), a
 * teal prop inside the character is a real colour: so away from the outline, colours near the
 * screen's are spared (despillProtect), and within a few px of any pixel with alpha < 255 all
 * are despilled in full, fading inward (distance transform on a coarse grid, around the spared
 * pixels only).
 * Then the temporal pass (stabilize): where a pixel and its 5x5 window did not change colour since
 * the previous frame beyond noise, its alpha is averaged with that frame's, so still parts of
 * the character do not shimmer while moving ones are not smeared (internal/key-temporal.ts).
 * Then optional matte refinement: choke/grow (px, min/max filter) and feather (gaussian sigma,
 * px); pixels the matte grows into get the colour of the nearby character (premultiplied blur).
 * Existing alpha multiplies the result, so canvas padding (alpha 0) stays transparent.
 * Units: similarity, softness, shadows, despill, bias 0..1; balance 0..3; choke, feather px.
 *
 * The passes live in internal/key-*.ts, one module each: key-state (prepare), key-matte (the
 * keying pass, whose screen test over every pixel runs in WebAssembly: key-screen-test), key-edges
 * (edge alpha, unmix), key-outline-spill (despill near the outline), key-temporal (stabilize),
 * key-refine (choke, feather); key-despill holds the despill maths they share.
 */
import { InvalidOptionError, defineEffect, parseColor, type Frame, type OptionsOf } from '@stickerkey/core/effect';
import { refineEdges } from './internal/key-edges.js';
import { keyPixels } from './internal/key-matte.js';
import { despillOutline } from './internal/key-outline-spill.js';
import { refineMatte } from './internal/key-refine.js';
import { estimateScreen, uniformScreen, type ScreenEstimate } from './internal/key-screen-estimate.js';
import { createKeyState, type ChromaKeyState } from './internal/key-state.js';
import { beginTemporal, steadyMatte } from './internal/key-temporal.js';

const options = [
  {
    name: 'screen',
    type: 'color',
    default: 'auto',
    auto: true,
    help: 'Screen colour; auto finds it in the clip. A colour given is taken as the hue to look for (see localScreen)',
  },
  {
    name: 'localScreen',
    type: 'boolean',
    default: true,
    help: 'Measure the screen colour across the frame from the clip (uneven lighting); false uses one colour everywhere',
  },
  {
    name: 'similarity',
    type: 'number',
    default: 0.17,
    min: 0,
    max: 1,
    help: 'How close to the local screen colour a pixel must be to become fully transparent',
  },
  {
    name: 'softness',
    type: 'number',
    default: 0.53,
    min: 0,
    max: 1,
    help: 'Width of the transition from transparent to opaque; 0 gives a hard matte',
  },
  {
    name: 'screenGain',
    type: 'number',
    default: 1,
    min: 0.5,
    max: 2,
    help: 'Scales the screen excess before the matte is taken (Keylight screen gain); above 1 keys more',
  },
  {
    name: 'screenBalance',
    type: 'number',
    default: 2,
    min: 0,
    max: 3,
    help: 'Matte reference: mean of the two other channels plus this times half their difference; 1 is their max (classic), higher keeps hues near the screen opaque',
  },
  {
    name: 'shadows',
    type: 'number',
    default: 0.4,
    min: 0,
    max: 1,
    help: 'Keys out shadows on the screen down to this share of darkening (a darker copy of the local screen colour counts as screen)',
  },
  {
    name: 'despill',
    type: 'number',
    default: 1,
    min: 0,
    max: 1,
    help: 'Strength of spill suppression and edge unmixing; 0 leaves colours as they are',
  },
  {
    name: 'despillBias',
    type: 'number',
    default: 0.5,
    min: 0,
    max: 1,
    help: 'Despill limit: 1 the max of the other two channels (gentlest, keeps hues near the screen), 0 their mean',
  },
  {
    name: 'despillProtect',
    type: 'number',
    default: 1,
    min: 0,
    max: 1,
    help: 'Away from the outline (where spill lives), opaque colours near the screen hue (a teal prop on green) keep their colour; 1 spares them fully, 0 despills all alike',
  },
  {
    name: 'stabilize',
    type: 'boolean',
    default: true,
    help: "Steadies the matte over time: where a pixel did not change colour since the previous frame, its alpha is averaged with that frame's (no shimmer on still parts)",
  },
  {
    name: 'choke',
    type: 'integer',
    default: 0,
    min: -20,
    max: 20,
    unit: 'px',
    help: 'Shrinks the matte by this many pixels; negative grows it',
  },
  {
    name: 'feather',
    type: 'number',
    default: 0,
    min: 0,
    max: 20,
    unit: 'px',
    help: 'Softens the matte edge with a gaussian of this standard deviation',
  },
] as const;

export type ChromaKeyOptions = OptionsOf<typeof options>;

/** How many frames preload decodes to estimate the screen. */
const SAMPLE_FRAMES = 6;
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

export type { ChromaKeyState };

export const chromaKey = defineEffect({
  name: 'chroma-key',
  description: 'Removes a green, blue or any-colour screen (colour-difference key, local screen estimate, unmix, despill)',
  options,
  producesAlpha: true,

  async preload(o, ctx): Promise<ScreenEstimate> {
    const given = o.screen === 'auto' ? undefined : parseColor(o.screen);
    // An exact colour everywhere only when asked for: people write #00ff00 for "a green screen",
    // and a real screen is never that colour, nor one colour across the frame.
    if (given && !o.localScreen) return uniformScreen(given);
    const frames = await ctx.sampleFrames(SAMPLE_FRAMES);
    const found = estimateScreen(frames, given);
    if (given) return found ?? uniformScreen(given);
    const estimate = found && (o.localScreen ? found : uniformScreen(found.global));
    if (!estimate) {
      throw new InvalidOptionError(
        'Expected a clip with a coloured screen for chroma-key.screen auto but found no saturated area; pass screen as #rrggbb',
        'chroma-key.screen',
      );
    }
    return estimate;
  },

  prepare(o, size, preloaded: ScreenEstimate | undefined): ChromaKeyState {
    if (!LITTLE_ENDIAN) throw new Error('chroma-key reads pixels as little-endian 32-bit words; this platform is big-endian');
    let estimate = preloaded;
    if (!estimate) {
      // The pipeline always preloads: only a caller that skipped it gets here.
      if (o.screen === 'auto') {
        throw new Error('Expected preload() before prepare() for chroma-key.screen auto: the screen is estimated from sample frames');
      }
      estimate = uniformScreen(parseColor(o.screen));
    }
    return createKeyState(o, size, estimate);
  },

  apply(st: ChromaKeyState, frame: Frame): void {
    if (frame.width !== st.width || frame.height !== st.height) {
      throw new Error(`Expected a ${st.width}x${st.height} frame for chroma-key but received ${frame.width}x${frame.height}`);
    }
    // The passes, in order: key every pixel (listing the edges), refine and finish the edges, then
    // despill near the outline once the edges are written (seams the edge pass made opaque are
    // not outline: a teal belly's border with the orange body has them, and despilling around
    // them drew a grey ring round the belly). Then the temporal pass, once every alpha of the
    // frame is final, and the optional choke and feather.
    const px = st.words.acquire(frame.data);
    const data = bytesOf(st, frame.data, px);
    const tm = st.temporal;
    const follows = tm !== null && beginTemporal(st, tm, frame.index);
    const listed = keyPixels(st, data, px);
    const edges = refineEdges(st, data, px, listed);
    despillOutline(st, px, data);
    if (tm !== null) steadyMatte(st, tm, data, px, follows, listed, edges);
    st.words.release(frame.data, px);
    if (st.refine) refineMatte(st, st.refine, frame);
    // One bounds object per frame object, kept here because the frame pool clears alphaBounds on
    // release: pooled frames get theirs back without allocating, and two frames in flight never
    // share one.
    let out = st.boundsOf.get(frame);
    if (out === undefined) {
      out = { left: 0, top: 0, right: 0, bottom: 0 };
      st.boundsOf.set(frame, out);
    }
    frame.alphaBounds = out;
    out.left = st.bounds.left;
    out.top = st.bounds.top;
    out.right = st.bounds.right;
    out.bottom = st.bounds.bottom;
  },
});

/**
 * The bytes under `words`: the frame's own when the words are a view of them, else bytes over the
 * aligned copy PixelWords made (a frame at an odd offset), kept until the copy changes.
 */
function bytesOf(st: ChromaKeyState, data: Uint8Array, words: Uint32Array): Uint8Array {
  if (words.buffer === data.buffer) return data;
  if (st.copyBytes === null || st.copyBytes.buffer !== words.buffer) st.copyBytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  return st.copyBytes;
}
