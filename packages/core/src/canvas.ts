/**
 * The canvas a job works on: the frames as decoded (the source, or the size they are scaled to)
 * padded by the stages' reach, so effects that draw outside the character (shadow, outline) are
 * not clipped. One home for this arithmetic: the pipeline pads with it and the memory model
 * predicts with it, so a prediction is always about the canvas the job really allocates.
 */
import type { Stage } from './effect.js';
import type { Bounds, FrameSize } from './frame.js';

export interface CanvasPadding {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Canvas padding: the largest reach of the stages, then one more column/row to keep sizes even (yuv420 needs it). */
export function canvasPadding(frames: FrameSize, stages: readonly Pick<Stage, 'margin'>[]): CanvasPadding {
  const margin = stagesMargin(stages);
  return {
    left: margin,
    top: margin,
    right: margin + ((frames.width + 2 * margin) % 2),
    bottom: margin + ((frames.height + 2 * margin) % 2),
  };
}

/** The padded size. */
export function paddedSize(frames: FrameSize, pad: CanvasPadding): FrameSize {
  return { width: frames.width + pad.left + pad.right, height: frames.height + pad.top + pad.bottom };
}

/** How far the stages draw outside the character, in all: each effect's margin adds to the ones before it (an outline's shadow). */
export function stagesMargin(stages: readonly Pick<Stage, 'margin'>[]): number {
  return stages.reduce((sum, stage) => sum + stage.margin, 0);
}

/**
 * A canvas cut to the character: the part of the source the decoder keeps, the size it is scaled
 * to, the transparent padding around it, and the scale every pixel option follows.
 */
export interface CroppedCanvas {
  /** Part of the upright display picture kept (display pixels, even coordinates). */
  crop: Bounds;
  /** The size `crop` is scaled to at decode. */
  size: FrameSize;
  pad: CanvasPadding;
  /** size + pad: what the stages and the encoder see. */
  canvas: FrameSize;
  /** Output pixels per source pixel. */
  scale: number;
  /** The region the canvas stands for, in source pixels: the character grown by the stages' margins (may reach outside the source). */
  region: Bounds;
}

/**
 * The canvas for a character that occupies `character` (source display pixels, over the whole
 * clip): that region grown by the stages' margins (at source scale, the look the stages were
 * tuned for), scaled as large as the canvas `canvasFor(aspect)` gives (a platform's pixel rule,
 * platforms.ts largestSizeFor) while keeping its shape, and centred on it. Sides are made even
 * when `even` (yuv420 formats). An empty `character` (nothing keyed) keeps the whole picture.
 */
export function croppedCanvas(
  source: FrameSize,
  character: Bounds,
  stages: readonly Pick<Stage, 'margin'>[],
  canvasFor: (aspect: number) => FrameSize,
  even: boolean,
): CroppedCanvas {
  const empty = character.right <= character.left || character.bottom <= character.top;
  const found = empty ? { left: 0, top: 0, right: source.width, bottom: source.height } : character;
  // Two output pixels beyond the margins, so the rounding up of the scaled options' margins
  // cannot clip a shadow's last column; in source pixels that is 2 / scale, estimated with the
  // scale of the region without it (the slack changes it by far less than a pixel).
  const margin = stagesMargin(stages);
  const bare = { width: found.right - found.left + 2 * margin, height: found.bottom - found.top + 2 * margin };
  const bareCanvas = canvasFor(bare.width / bare.height);
  const grow = margin + Math.ceil(2 / Math.min(bareCanvas.width / bare.width, bareCanvas.height / bare.height));
  const region = { left: found.left - grow, top: found.top - grow, right: found.right + grow, bottom: found.bottom + grow };
  const regionWidth = region.right - region.left;
  const regionHeight = region.bottom - region.top;
  const fitted = canvasFor(regionWidth / regionHeight);
  // Down to even, never up: an even side below a maximum stays below it.
  const side = (n: number) => (even ? Math.max(2, n - (n % 2)) : n);
  const canvas = { width: side(fitted.width), height: side(fitted.height) };
  const scale = Math.min(canvas.width / regionWidth, canvas.height / regionHeight);
  // What the source has of the region, on even coordinates (yuv420 chroma), grown outwards.
  const crop = {
    left: Math.max(0, 2 * Math.floor(region.left / 2)),
    top: Math.max(0, 2 * Math.floor(region.top / 2)),
    right: Math.min(source.width, 2 * Math.ceil(region.right / 2)),
    bottom: Math.min(source.height, 2 * Math.ceil(region.bottom / 2)),
  };
  const size = {
    width: Math.min(canvas.width, Math.max(1, Math.round((crop.right - crop.left) * scale))),
    height: Math.min(canvas.height, Math.max(1, Math.round((crop.bottom - crop.top) * scale))),
  };
  // The region is centred on the canvas; the crop sits inside the region where the source has it.
  const left = Math.min(canvas.width - size.width, Math.max(0, Math.round((canvas.width - regionWidth * scale) / 2 + (crop.left - region.left) * scale)));
  const top = Math.min(canvas.height - size.height, Math.max(0, Math.round((canvas.height - regionHeight * scale) / 2 + (crop.top - region.top) * scale)));
  const pad = { left, top, right: canvas.width - size.width - left, bottom: canvas.height - size.height - top };
  return { crop, size, pad, canvas, scale, region };
}
