/**
 * Small statistics over repeated runs. Gates compare medians, never single runs, and use the
 * spread of a batch to tell a noisy measurement from a real change.
 */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2; // not empty: checked above
}

/** (max - min) / median: 0 for identical runs; 0.2 means the runs span 20% of their median. */
export function spread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = median(values);
  if (!(m > 0)) return 0;
  return (Math.max(...values) - Math.min(...values)) / m;
}

export function mb(bytes: number): number {
  return bytes / (1024 * 1024);
}

/** Rounded for reports: a fixed number of decimals, as a number (not a string). */
export function round(value: number, decimals = 2): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
