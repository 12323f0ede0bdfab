/**
 * Pixel measures between two frames of one video, on the small copies `frames.ts` decodes.
 * Pure arithmetic over 8-bit RGB, so the seam report, the tests and the benchmarks measure
 * with the same code.
 *
 * Luma here is BT.601 Y′ in full range, 0..255, computed from the decoded RGB:
 * Y′ = 0.299 R′ + 0.587 G′ + 0.114 B′. Decoding through RGB makes full-range stills (PNG) and
 * limited-range video comparable.
 */

export function lumaOf(rgb: Uint8Array): Float32Array {
  const out = new Float32Array(rgb.length / 3);
  for (let i = 0, p = 0; i < out.length; i++, p += 3) out[i] = 0.299 * rgb[p]! + 0.587 * rgb[p + 1]! + 0.114 * rgb[p + 2]!;
  return out;
}

/**
 * Frame difference: the mean over pixels of |Y′a − Y′b| (luma levels, 0..255). Used for the
 * jump test at seams and the cut test at beat transitions.
 */
export function meanAbsoluteDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length || a.length === 0) throw new Error(`frames differ in size (${a.length} vs ${b.length} pixels)`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of nothing");
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// SSIM as published (Wang, Bovik, Sheikh & Simoncelli, "Image Quality Assessment: From Error
// Visibility to Structural Similarity", IEEE TIP 13(4), 2004): an 11×11 Gaussian window of
// σ 1.5, K1 = 0.01, K2 = 0.03, dynamic range L = 255, averaged over every window that fits
// inside the frame (no padding).
const WINDOW = 11;
const SIGMA = 1.5;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;
const KERNEL = (() => {
  const k = Float64Array.from({ length: WINDOW }, (_, i) => Math.exp(-((i - (WINDOW - 1) / 2) ** 2) / (2 * SIGMA * SIGMA)));
  const total = k.reduce((s, v) => s + v, 0);
  return k.map((v) => v / total);
})();

/** Separable Gaussian over the windows that fit: (width−10)×(height−10) outputs. */
function windowed(values: Float64Array, width: number, height: number): Float64Array {
  const outWidth = width - WINDOW + 1;
  const outHeight = height - WINDOW + 1;
  const rows = new Float64Array(outWidth * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (let k = 0; k < WINDOW; k++) sum += KERNEL[k]! * values[y * width + x + k]!;
      rows[y * outWidth + x] = sum;
    }
  }
  const out = new Float64Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (let k = 0; k < WINDOW; k++) sum += KERNEL[k]! * rows[(y + k) * outWidth + x]!;
      out[y * outWidth + x] = sum;
    }
  }
  return out;
}

/** Mean SSIM of two luma planes (1 = identical; structure, contrast and brightness all count). */
export function ssim(a: Float32Array, b: Float32Array, width: number, height: number): number {
  if (a.length !== width * height || b.length !== width * height) throw new Error(`ssim: planes are not ${width}x${height}`);
  if (width < WINDOW || height < WINDOW) throw new Error(`ssim: frames must be at least ${WINDOW}x${WINDOW}`);
  const n = width * height;
  const aa = new Float64Array(n);
  const bb = new Float64Array(n);
  const ab = new Float64Array(n);
  const a64 = Float64Array.from(a);
  const b64 = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    aa[i] = a64[i]! * a64[i]!;
    bb[i] = b64[i]! * b64[i]!;
    ab[i] = a64[i]! * b64[i]!;
  }
  const [muA, muB, sAA, sBB, sAB] = [a64, b64, aa, bb, ab].map((plane) => windowed(plane, width, height)) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  let total = 0;
  for (let i = 0; i < muA.length; i++) {
    const ma = muA[i]!;
    const mb = muB[i]!;
    const varA = sAA[i]! - ma * ma;
    const varB = sBB[i]! - mb * mb;
    const cov = sAB[i]! - ma * mb;
    total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (varA + varB + C2));
  }
  return total / muA.length;
}
