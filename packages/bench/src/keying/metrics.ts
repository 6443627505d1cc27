/**
 * Matte metrics as the matting literature defines them, plus two a keyer for video needs.
 *
 * The four of alphamatting.com (Rhemann et al., "A Perceptually Motivated Online Benchmark for
 * Image Matting", CVPR 2009), as in its reference MATLAB evaluation code (the version published
 * with Deep Image Matting, Xu et al. 2017, and its many Python ports): alphas in [0, 1] (8-bit / 255),
 * - SAD: sum of |pred - truth|;
 * - MSE: mean of (pred - truth)^2;
 * - gradient: sum of (|grad pred| - |grad truth|)^2, the gradients from first-order Gaussian
 *   derivative filters of sigma 1.4 (`gaussgradient`: a (2h+1)^2 kernel g(row) * g'(col), h from
 *   epsilon 0.01, divided by its L2 norm, convolved with replicated borders). The port divides
 *   by 255 where the MATLAB calls mat2gray (a min-max stretch); /255 is what every port does.
 * - connectivity: for thresholds t_i = i/10, i = 1..10, the largest 4-connected component of
 *   {pred >= t_i and truth >= t_i}; each pixel's level l is the last threshold before it left
 *   that component (1 if it never did); d = alpha - l, phi = 1 - d where d >= 0.15 (else 1);
 *   the error is the sum of |phi_pred - phi_truth|.
 * They are sums over the "unknown" region of a trimap there; a keyer has no trimap, so here the
 * region is the whole frame (a false positive far from the character counts). Sums are returned
 * raw; reports divide SAD, gradient and connectivity by 1000 as the literature does.
 *
 * Ours, for keying:
 * - edge spill: on pixels whose truth is semi-transparent (0 < truth < 255: edges, strands, glass,
 *   smoke, motion blur) and that the keyer kept (alpha > 0), the screen channel's excess over the
 *   larger other channel in the keyer's straight colour, beyond what the true foreground has
 *   there: max(0, e(out) - max(0, e(truth fg))), e = S - max(O1, O2). Mean, in 8-bit levels.
 *   A teal prop has a real excess; only the screen colour left on top of it counts.
 * - edge colour error: on the same semi-transparent truth pixels (all of them), the mean
 *   |a*F - a_t*F_t| over R, G, B, 8-bit levels: the edge as it composites over any background.
 *   Despill filters that pin the screen channel to the others leave no excess by construction,
 *   and pay here instead when they grey out a true yellow-green or teal.
 * - temporal flicker: mean |alpha_t - alpha_(t-1)| (8-bit levels) over the pixels whose truth did
 *   not change between the two frames, per pixel of the character there (the denominator counts
 *   unchanged pixels with truth > 0, so shimmer on the screen around it counts against the keyer
 *   without the empty screen diluting the figure).
 */

export type ScreenColour = 'green' | 'blue';

export interface Plane {
  data: Uint8Array;
  width: number;
  height: number;
}

function checkSameSize(pred: Uint8Array, truth: Uint8Array, what: string): void {
  if (pred.length !== truth.length) throw new Error(`${what}: expected mattes of the same size but received ${pred.length} and ${truth.length} pixels`);
}

/** Sum of |pred - truth| over the frame, alpha units (a fully wrong pixel counts 1). */
export function sumOfAbsoluteDifferences(pred: Uint8Array, truth: Uint8Array): number {
  checkSameSize(pred, truth, 'SAD');
  let sum = 0;
  for (let i = 0; i < pred.length; i++) sum += Math.abs(pred[i]! - truth[i]!);
  return sum / 255;
}

/** Mean of (pred - truth)^2 over the frame, alpha units squared. */
export function meanSquaredError(pred: Uint8Array, truth: Uint8Array): number {
  checkSameSize(pred, truth, 'MSE');
  let sum = 0;
  for (let i = 0; i < pred.length; i++) {
    const d = pred[i]! - truth[i]!;
    sum += d * d;
  }
  return sum / (255 * 255) / pred.length;
}

/** The separable factors of gaussgradient's kernel: g and g' on -h..h, and 1/||g (x) g'||. */
export function gaussianDerivativeKernel(sigma: number): { gauss: Float64Array; derivative: Float64Array; norm: number } {
  const epsilon = 1e-2;
  const half = Math.ceil(sigma * Math.sqrt(-2 * Math.log(Math.sqrt(2 * Math.PI) * sigma * epsilon)));
  const gauss = new Float64Array(2 * half + 1);
  const derivative = new Float64Array(2 * half + 1);
  let g2 = 0;
  let d2 = 0;
  for (let k = -half; k <= half; k++) {
    const g = Math.exp((-k * k) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI));
    gauss[k + half] = g;
    derivative[k + half] = (-k * g) / (sigma * sigma);
    g2 += g * g;
    d2 += derivative[k + half]! * derivative[k + half]!;
  }
  // The 2-D kernel's L2 norm is the product of its factors' norms.
  return { gauss, derivative, norm: 1 / Math.sqrt(g2 * d2) };
}

/**
 * |grad| of an 8-bit plane (/255), gaussgradient's filters applied as convolutions with
 * replicated borders: the derivative along x is g' across a row then g down a column, and vice versa.
 */
export function gradientMagnitude(plane: Plane, sigma = 1.4, out = new Float64Array(plane.width * plane.height)): Float64Array {
  const { data, width: w, height: h } = plane;
  const { gauss, derivative, norm } = gaussianDerivativeKernel(sigma);
  const half = (gauss.length - 1) / 2;
  const taps = gauss.length;
  const n = w * h;
  // Row pass over a copy of the row with `half` replicated pixels each side (no clamping in the
  // loop): g' and g along x. Convolution flips the kernel: sum_k f(x - k) K(k).
  const rowD = new Float64Array(n);
  const rowG = new Float64Array(n);
  const padded = new Float64Array(w + 2 * half);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = -half; x < w + half; x++) padded[x + half] = data[row + (x < 0 ? 0 : x >= w ? w - 1 : x)]! / 255;
    for (let x = 0; x < w; x++) {
      let sd = 0;
      let sg = 0;
      // padded[x + half - k] for k = -half..half, i.e. padded[x + 2 * half - j] for tap j.
      for (let j = 0, at = x + 2 * half; j < taps; j++, at--) {
        const v = padded[at]!;
        sd += v * derivative[j]!;
        sg += v * gauss[j]!;
      }
      rowD[row + x] = sd;
      rowG[row + x] = sg;
    }
  }
  // Column pass, a whole row at a time (cache-friendly): g down the columns of the x-derivative,
  // g' down the columns of the x-smoothed plane.
  const gx = new Float64Array(w);
  const gy = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    gx.fill(0);
    gy.fill(0);
    for (let j = 0; j < taps; j++) {
      const yy = Math.min(h - 1, Math.max(0, y + half - j));
      const g = gauss[j]!;
      const d = derivative[j]!;
      const base = yy * w;
      for (let x = 0; x < w; x++) {
        gx[x]! += rowD[base + x]! * g;
        gy[x]! += rowG[base + x]! * d;
      }
    }
    const row = y * w;
    for (let x = 0; x < w; x++) out[row + x] = Math.sqrt(gx[x]! * gx[x]! + gy[x]! * gy[x]!) * norm;
  }
  return out;
}

/**
 * Sum of (|grad pred| - |grad truth|)^2 over the frame (sigma 1.4). `truthMagnitude` may be given
 * precomputed (gradientMagnitude(truth)) when several mattes are scored against one truth.
 */
export function gradientError(pred: Plane, truth: Plane, sigma = 1.4, truthMagnitude?: Float64Array): number {
  checkSameSize(pred.data, truth.data, 'gradient error');
  const p = gradientMagnitude(pred, sigma);
  const t = truthMagnitude ?? gradientMagnitude(truth, sigma);
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const d = p[i]! - t[i]!;
    sum += d * d;
  }
  return sum;
}

/**
 * Marks (1) the largest 4-connected component of `mask` into `out`; ties go to the component
 * met first in raster order (MATLAB's max over bwconncomp's list does the same).
 */
function largestComponent(mask: Uint8Array, w: number, h: number, labels: Int32Array, queue: Int32Array, out: Uint8Array): void {
  labels.fill(0);
  out.fill(0);
  let best = 0;
  let bestLabel = 0;
  let next = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    next++;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    labels[start] = next;
    while (head < tail) {
      const i = queue[head++]!;
      const x = i - Math.floor(i / w) * w;
      if (x > 0 && mask[i - 1] && !labels[i - 1]) {
        labels[i - 1] = next;
        queue[tail++] = i - 1;
      }
      if (x < w - 1 && mask[i + 1] && !labels[i + 1]) {
        labels[i + 1] = next;
        queue[tail++] = i + 1;
      }
      if (i >= w && mask[i - w] && !labels[i - w]) {
        labels[i - w] = next;
        queue[tail++] = i - w;
      }
      if (i + w < w * h && mask[i + w] && !labels[i + w]) {
        labels[i + w] = next;
        queue[tail++] = i + w;
      }
    }
    if (tail > best) {
      best = tail;
      bestLabel = next;
    }
  }
  if (bestLabel === 0) return;
  for (let i = 0; i < mask.length; i++) if (labels[i] === bestLabel) out[i] = 1;
}

/** alphamatting.com's connectivity error, summed over the frame (step 0.1, theta 0.15). */
export function connectivityError(pred: Plane, truth: Plane, step = 0.1, theta = 0.15): number {
  checkSameSize(pred.data, truth.data, 'connectivity error');
  const { width: w, height: h } = pred;
  const n = w * h;
  const p = pred.data;
  const t = truth.data;
  const steps = Math.round(1 / step);
  const level = new Float64Array(n).fill(-1);
  const mask = new Uint8Array(n);
  const omega = new Uint8Array(n);
  const labels = new Int32Array(n);
  const queue = new Int32Array(n);
  for (let i = 1; i <= steps; i++) {
    // i / steps, not i * step: 3 * 0.1 is 0.30000000000000004 and would move pixels at exactly 0.3.
    const threshold = i / steps;
    // alpha / 255 >= threshold, in integers: alpha >= the smallest level that reaches it.
    let level8 = Math.ceil(threshold * 255);
    while (level8 > 0 && (level8 - 1) / 255 >= threshold) level8--;
    while (level8 / 255 < threshold) level8++;
    for (let q = 0; q < n; q++) mask[q] = p[q]! >= level8 && t[q]! >= level8 ? 1 : 0;
    largestComponent(mask, w, h, labels, queue, omega);
    const previous = (i - 1) / steps;
    for (let q = 0; q < n; q++) if (level[q] === -1 && omega[q] === 0) level[q] = previous;
  }
  let sum = 0;
  for (let q = 0; q < n; q++) {
    const l = level[q] === -1 ? 1 : level[q]!;
    const dp = p[q]! / 255 - l;
    const dt = t[q]! / 255 - l;
    const phiP = 1 - (dp >= theta ? dp : 0);
    const phiT = 1 - (dt >= theta ? dt : 0);
    sum += Math.abs(phiP - phiT);
  }
  return sum;
}

/** Channel offsets in an RGB(A) pixel: the screen's, then the two others. */
function channels(screen: ScreenColour): [number, number, number] {
  return screen === 'green' ? [1, 0, 2] : [2, 0, 1];
}

export interface SpillTotals {
  /** Sum of the excess, 8-bit levels. */
  excess: number;
  /** Semi-transparent truth pixels the keyer kept. */
  pixels: number;
}

/**
 * Screen-colour excess left on semi-transparent pixels: `rgba` is the keyer's straight RGBA,
 * `truthForeground` straight RGB. Totals, so frames and clips add up before the mean.
 */
export function edgeSpill(rgba: Uint8Array, truthAlpha: Uint8Array, truthForeground: Uint8Array, screen: ScreenColour): SpillTotals {
  if (rgba.length !== truthAlpha.length * 4 || truthForeground.length !== truthAlpha.length * 3) {
    throw new Error(
      `edge spill: expected RGBA, alpha and RGB of one frame but received ${rgba.length}, ${truthAlpha.length} and ${truthForeground.length} bytes`,
    );
  }
  const [s, o1, o2] = channels(screen);
  let excess = 0;
  let pixels = 0;
  for (let i = 0, p = 0, f = 0; i < truthAlpha.length; i++, p += 4, f += 3) {
    const t = truthAlpha[i]!;
    if (t === 0 || t === 255 || rgba[p + 3] === 0) continue;
    const out = rgba[p + s]! - Math.max(rgba[p + o1]!, rgba[p + o2]!);
    const own = truthForeground[f + s]! - Math.max(truthForeground[f + o1]!, truthForeground[f + o2]!);
    excess += Math.max(0, out - Math.max(0, own));
    pixels++;
  }
  return { excess, pixels };
}

export interface EdgeColourTotals {
  /** Sum over pixels of the mean over R, G, B of |premultiplied out - premultiplied truth|, 8-bit levels. */
  error: number;
  /** Semi-transparent truth pixels (all of them, kept or not). */
  pixels: number;
}

/**
 * How wrong the edges look over any background: on the pixels whose truth is semi-transparent,
 * the premultiplied colour a*F against the truth's (compositing over B adds (a_t - a) * B on top,
 * which SAD already counts). Catches what edge spill cannot: a despill that greys a yellow-green
 * strand, or a screen-coloured edge kept with too much alpha.
 */
export function edgeColourError(rgba: Uint8Array, truthAlpha: Uint8Array, truthForeground: Uint8Array): EdgeColourTotals {
  if (rgba.length !== truthAlpha.length * 4 || truthForeground.length !== truthAlpha.length * 3) {
    throw new Error(
      `edge colour error: expected RGBA, alpha and RGB of one frame but received ${rgba.length}, ${truthAlpha.length} and ${truthForeground.length} bytes`,
    );
  }
  let error = 0;
  let pixels = 0;
  for (let i = 0, p = 0, f = 0; i < truthAlpha.length; i++, p += 4, f += 3) {
    const t = truthAlpha[i]!;
    if (t === 0 || t === 255) continue;
    const a = rgba[p + 3]! / 255;
    const at = t / 255;
    error +=
      (Math.abs(a * rgba[p]! - at * truthForeground[f]!) +
        Math.abs(a * rgba[p + 1]! - at * truthForeground[f + 1]!) +
        Math.abs(a * rgba[p + 2]! - at * truthForeground[f + 2]!)) /
      3;
    pixels++;
  }
  return { error, pixels };
}

export interface FlickerTotals {
  /** Sum of |alpha_t - alpha_(t-1)|, 8-bit levels, over pixels whose truth did not change. */
  change: number;
  /** Pixels whose truth did not change and is above 0. */
  pixels: number;
}

/** Flicker between two consecutive frames (alpha planes); add totals up over a sequence. */
export function flicker(previous: Uint8Array, current: Uint8Array, truthPrevious: Uint8Array, truthCurrent: Uint8Array): FlickerTotals {
  checkSameSize(previous, current, 'flicker');
  checkSameSize(truthPrevious, truthCurrent, 'flicker');
  checkSameSize(previous, truthPrevious, 'flicker');
  let change = 0;
  let pixels = 0;
  for (let i = 0; i < current.length; i++) {
    const t = truthCurrent[i]!;
    if (t !== truthPrevious[i]) continue;
    change += Math.abs(current[i]! - previous[i]!);
    if (t > 0) pixels++;
  }
  return { change, pixels };
}

/** The alpha plane of an RGBA frame. */
export function alphaPlane(rgba: Uint8Array, out = new Uint8Array(rgba.length / 4)): Uint8Array {
  for (let i = 0, p = 3; i < out.length; i++, p += 4) out[i] = rgba[p]!;
  return out;
}

export interface MatteScores {
  sad: number;
  mse: number;
  gradient: number;
  connectivity: number;
}

/** The four alphamatting.com metrics of one frame (`truthMagnitude`: see gradientError). */
export function matteScores(pred: Plane, truth: Plane, truthMagnitude?: Float64Array): MatteScores {
  return {
    sad: sumOfAbsoluteDifferences(pred.data, truth.data),
    mse: meanSquaredError(pred.data, truth.data),
    gradient: gradientError(pred, truth, 1.4, truthMagnitude),
    connectivity: connectivityError(pred, truth),
  };
}
