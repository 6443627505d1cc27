/**
 * Per row of a plane or frame: the columns [left, right) that hold anything (empty when left >=
 * right). Around a character most of its bounding box is transparent screen: the effects that
 * work near its alpha (blurs of it, the bevel's read-back) visit only these spans.
 */
import type { Bounds } from '@stickerkey/core';

export interface RowSpans {
  readonly left: Int32Array;
  readonly right: Int32Array;
}

/** Allocated once per frame size (prepare); filled per frame. */
export function createRowSpans(height: number): RowSpans {
  return { left: new Int32Array(height), right: new Int32Array(height) };
}

/**
 * For each frame row of `box`: its first and last visible pixel (alpha > 0), as [left, right);
 * 0, 0 when the row has none. Reads alpha only up to the first visible pixel from each end, eight
 * pixels per test while they are all 0 (one OR of eight bytes: half the time of a byte-by-byte
 * scan on a 1080p character's box, 0.2 instead of 0.4 ms).
 */
export function visibleSpans(data: Uint8Array, width: number, box: Bounds, spans: RowSpans): void {
  const { left, right } = spans;
  const boxLeft = box.left;
  const boxRight = box.right;
  for (let y = box.top; y < box.bottom; y++) {
    const row = y * width;
    let l = boxLeft;
    let p = ((row + l) << 2) + 3;
    while (l + 8 <= boxRight && (data[p]! | data[p + 4]! | data[p + 8]! | data[p + 12]! | data[p + 16]! | data[p + 20]! | data[p + 24]! | data[p + 28]!) === 0) {
      l += 8;
      p += 32;
    }
    while (l < boxRight && data[p] === 0) {
      l++;
      p += 4;
    }
    if (l === boxRight) {
      left[y] = right[y] = 0;
      continue;
    }
    // From the right end, down to the visible pixel just found at the latest.
    let r = boxRight;
    p = ((row + r - 1) << 2) + 3;
    while (r - 8 >= l && (data[p]! | data[p - 4]! | data[p - 8]! | data[p - 12]! | data[p - 16]! | data[p - 20]! | data[p - 24]! | data[p - 28]!) === 0) {
      r -= 8;
      p -= 32;
    }
    while (data[p] === 0) {
      r--;
      p -= 4;
    }
    left[y] = l;
    right[y] = r;
  }
}
