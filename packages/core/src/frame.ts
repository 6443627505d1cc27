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
  /**
   * Where alpha is non-zero, when a stage knows it (the keyer sets it; outline and shadow grow
   * it). Effects work only inside it plus their margin; absent means "anywhere".
   */
  alphaBounds?: Bounds;
}

/** A rectangle in pixels: left/top inclusive, right/bottom exclusive. Empty when right <= left. */
export interface Bounds {
  left: number;
  top: number;
  right: number;
  bottom: number;
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

/**
 * Bounds of the pixels whose alpha is above zero, written into `out` (no allocation, for use per
 * frame). Returns `out`; an all-transparent frame gives an empty box (0,0,0,0).
 */
export function computeAlphaBounds(frame: Frame, out: Bounds): Bounds {
  const { data, width, height } = frame;
  let left = width;
  let right = 0;
  let top = height;
  let bottom = 0;
  for (let y = 0, p = 3; y < height; y++) {
    let rowHasAlpha = false;
    for (let x = 0; x < width; x++, p += 4) {
      if (data[p] !== 0) {
        rowHasAlpha = true;
        if (x < left) left = x;
        if (x >= right) right = x + 1;
      }
    }
    if (rowHasAlpha) {
      if (y < top) top = y;
      bottom = y + 1;
    }
  }
  if (right <= left) {
    out.left = out.top = out.right = out.bottom = 0;
  } else {
    out.left = left;
    out.top = top;
    out.right = right;
    out.bottom = bottom;
  }
  return out;
}

/** `bounds` grown by `margin` on every side and clamped to the frame, written into `out`. */
export function expandBounds(bounds: Bounds, margin: number, size: FrameSize, out: Bounds): Bounds {
  if (bounds.right <= bounds.left || bounds.bottom <= bounds.top) {
    out.left = out.top = out.right = out.bottom = 0;
    return out;
  }
  out.left = Math.max(0, bounds.left - margin);
  out.top = Math.max(0, bounds.top - margin);
  out.right = Math.min(size.width, bounds.right + margin);
  out.bottom = Math.min(size.height, bounds.bottom + margin);
  return out;
}
