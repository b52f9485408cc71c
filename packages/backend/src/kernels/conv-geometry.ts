/**
 * Index arithmetic that turns convolution gradients into forward convolutions, one spatial axis at
 * a time. The forward convolution reads input row `i * s + a * d - p` for output row `i` and tap `a`
 * (stride `s`, dilation `d`, leading pad `p`).
 *
 * @internal
 */

/** How the filter gradient of one axis is computed as a convolution over the input. */
export interface FilterGradAxis {
  /** Input rows actually read by the forward pass (`x` is cropped to them). */
  readonly used: number
  /** Leading and trailing zero padding of the cropped input. */
  readonly padBefore: number
  readonly padAfter: number
}

/**
 * Filter gradient along one axis: `dW[a] = sum_i x[i*s + a*d - p] * dy[i]` is a stride-`d`
 * convolution of `x` with `dy` dilated by `s`, whose output has exactly `k` rows.
 */
export function filterGradAxis(inSize: number, outSize: number, k: number, s: number, d: number, p: number) {
  const lastRow = (k - 1) * d + (outSize - 1) * s - p
  const used = Math.max(0, Math.min(inSize, lastRow + 1))
  return { used, padBefore: p, padAfter: lastRow + 1 - used } satisfies FilterGradAxis
}

/** One output phase of the input gradient along one axis (rows `r, r + s, r + 2s, ...`). */
export interface InputGradPhase {
  /** First output row of the phase. */
  readonly r: number
  /** First filter tap that reaches it (taps `a0, a0 + s, ...`). */
  readonly a0: number
  /** Number of taps; 0 means the phase receives no gradient. */
  readonly taps: number
  /** Padding of `dy` for a stride-1 convolution with the reversed taps. */
  readonly padBefore: number
  readonly padAfter: number
}

/** The input gradient of one axis, split into `s` stride-1 convolutions (one per output phase). */
export interface InputGradAxis {
  /** Rows per phase (`ceil(inSize / s)`); phase outputs are interleaved then cropped to `inSize`. */
  readonly rows: number
  /** Dilation of the phase convolutions (the forward dilation; only with `s = 1`). */
  readonly dilation: number
  readonly phases: readonly InputGradPhase[]
}

const mod = (a: number, m: number) => ((a % m) + m) % m

/**
 * Input gradient along one axis: `dx[q] = sum_{i,a: i*s + a*d - p = q} dy[i] * W[a]`. With `s = 1`
 * this is one convolution of `dy` with the reversed filter (dilation `d`); with `s > 1` (and `d = 1`)
 * output row `q = r + s*u` only meets taps `a = a0 + s*t`, giving `s` small stride-1 convolutions.
 * `outSize` is the number of rows of `dy`.
 */
export function inputGradAxis(
  inSize: number,
  outSize: number,
  k: number,
  s: number,
  d: number,
  p: number,
): InputGradAxis {
  if (s === 1) {
    const padBefore = (k - 1) * d - p
    const padAfter = inSize + (k - 1) * d - outSize - padBefore
    return { rows: inSize, dilation: d, phases: [{ r: 0, a0: 0, taps: k, padBefore, padAfter }] }
  }
  if (d !== 1) throw new RangeError('inputGradAxis: upsample dy first when stride and dilation are both > 1')
  const rows = Math.ceil(inSize / s)
  const phases: InputGradPhase[] = []
  for (let r = 0; r < s; r++) {
    const a0 = mod(r + p, s)
    const taps = a0 < k ? Math.ceil((k - a0) / s) : 0
    const c = (r + p - a0) / s
    const padBefore = taps - 1 - c
    const padAfter = rows + taps - 1 - outSize - padBefore
    phases.push({ r, a0, taps, padBefore, padAfter })
  }
  return { rows, dilation: 1, phases }
}
