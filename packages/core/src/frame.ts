/** One video frame as it travels through the effect stack. */
export interface Frame {
  /** RGBA8, straight (not premultiplied) alpha, rows top to bottom, no padding between rows. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Position in the decoded (posterized) sequence, from 0. */
  index: number;
  /** Presentation time in seconds. */
  pts: number;
}

export interface FrameSize {
  width: number;
  height: number;
}

/** Bytes of one RGBA8 frame. */
export function frameBytes(size: FrameSize): number {
  return size.width * size.height * 4;
}

/** A frame with a freshly allocated buffer: for tests and one-off use, never in a per-frame path. */
export function createFrame(width: number, height: number, index = 0, pts = 0): Frame {
  return { data: new Uint8Array(width * height * 4), width, height, index, pts };
}
