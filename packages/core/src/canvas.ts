/**
 * The canvas a job works on: the frames as decoded (the source, or the size they are scaled to)
 * padded by the stages' reach, so effects that draw outside the character (shadow, outline) are
 * not clipped. One home for this arithmetic: the pipeline pads with it and the memory model
 * predicts with it, so a prediction is always about the canvas the job really allocates.
 */
import type { Stage } from './effect.js';
import type { FrameSize } from './frame.js';

export interface CanvasPadding {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Canvas padding: the largest reach of the stages, then one more column/row to keep sizes even (yuv420 needs it). */
export function canvasPadding(frames: FrameSize, stages: readonly Pick<Stage, 'margin'>[]): CanvasPadding {
  const margin = stages.reduce((sum, stage) => sum + stage.margin, 0);
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
