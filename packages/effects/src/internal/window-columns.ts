/**
 * Column sums for 5x5 windows round edge pixels, kept per column while the edges of one row are
 * visited. The edge passes sum a 5x5 window round each edge pixel; the edges come in pixel order,
 * and along a soft stretch (smoke, glass, motion blur, a haze of strands) they sit side by side,
 * so neighbouring windows share four of their five columns. Each column of the current row's
 * band (the rows from y - 2 to y + 2) is summed once and kept, and a window adds up five kept
 * columns: 5 pixel reads an edge along a run instead of 25, the same sums (integers, in the same
 * packed lanes as the passes' own).
 *
 * A column is current when its stamp is the row's: beginRow gives each row of each frame a new
 * stamp, so nothing is cleared between rows or frames. A pass that writes a pixel inside the
 * band after summing it (the luma pass joining a strand pixel) corrects that column's sums
 * itself, or the next window would read the sums from before the write.
 */
export interface WindowColumns {
  /** Per column, the stamp of the row band its sums are for. */
  readonly stamp: Int32Array;
  /** Per column, `lanes` sums (lane-major: sums[lane * width + x]). */
  readonly sums: Int32Array;
  readonly width: number;
  /** The stamp of the current row band; the next one is current + 1. */
  current: number;
}

export function createWindowColumns(width: number, lanes: number): WindowColumns {
  return { stamp: new Int32Array(width), sums: new Int32Array(width * lanes), width, current: 0 };
}

/** A new stamp for the next row band: every column's sums are stale until summed again. */
export function beginRow(cols: WindowColumns): number {
  // Stamps only need to differ from any still stored: past 2^30 rows (a million 1080p frames)
  // the stored ones are cleared and counting starts over.
  if (cols.current >= 0x40000000) {
    cols.stamp.fill(0);
    cols.current = 0;
  }
  return ++cols.current;
}
