import { NasError, Rng } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import { quantParams, roundHalfEven } from './fake-quant.js'
import type { IntFormat } from './formats.js'

/**
 * How a range is calibrated from observed values: `minmax` (the extremes), `percentile` (the
 * `percentile`-th percentile of |x| when symmetric, of each tail when not: outliers clipped), `mse`
 * (the clipping range, among `candidates` shrinkings of the extremes, whose fake quantization has
 * the least mean squared error).
 * @since 0.2.0
 */
export type CalibrationMethod = 'minmax' | 'percentile' | 'mse'

/** The calibration methods. @since 0.2.0 */
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'mse']

/**
 * Options of {@link calibrateRange} and {@link RangeObserver}.
 * @since 0.2.0
 */
export interface CalibrationOptions {
  /** For `percentile` (99.99). */
  readonly percentile?: number
  /** For `mse`: how many shrinkings of the extremes are tried (100). */
  readonly candidates?: number
  /** Values kept (a uniform reservoir sample) for `percentile` and `mse` (65,536). */
  readonly sample?: number
  readonly seed?: number
}

/**
 * Collects the values of an activation (or weight) over calibration batches and gives the range to
 * quantize it with. It keeps the exact extremes and a uniform reservoir sample (seeded) of the
 * values for the percentile and MSE methods, so memory stays bounded over any number of batches.
 * @since 0.2.0
 * @category calibration
 */
export class RangeObserver {
  private lo = Number.POSITIVE_INFINITY
  private hi = Number.NEGATIVE_INFINITY
  private seen = 0
  private readonly kept: Float32Array
  private readonly rng: Rng

  constructor(
    readonly method: CalibrationMethod,
    readonly format: Pick<IntFormat, 'bits' | 'symmetric'>,
    private readonly options: CalibrationOptions = {},
  ) {
    if (!CALIBRATION_METHODS.includes(method)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `unknown calibration method ${JSON.stringify(method)}; expected ${CALIBRATION_METHODS.join(', ')}`,
        value: method,
        allowed: [...CALIBRATION_METHODS],
      })
    }
    const p = options.percentile ?? 99.99
    if (!(p > 50 && p <= 100)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `the calibration percentile must be in (50, 100], got ${p}`,
        value: p,
      })
    }
    this.kept = new Float32Array(options.sample ?? 65_536)
    this.rng = new Rng(options.seed ?? 1)
  }

  /** Adds the values of a tensor or an array. */
  observe(values: tf.Tensor | ArrayLike<number>): void {
    const data = values instanceof tf.Tensor ? values.dataSync() : values
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!
      if (!Number.isFinite(v)) continue
      if (v < this.lo) this.lo = v
      if (v > this.hi) this.hi = v
      // reservoir sampling (Vitter's algorithm R)
      if (this.seen < this.kept.length) this.kept[this.seen] = v
      else {
        const j = Math.floor(this.rng.uniform() * (this.seen + 1))
        if (j < this.kept.length) this.kept[j] = v
      }
      this.seen++
    }
  }

  /** Values observed so far. */
  get count(): number {
    return this.seen
  }

  /** The calibrated range (`INPUT_INVALID` before any finite value was observed). */
  range(): { min: number; max: number } {
    if (this.seen === 0) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: 'no finite value was observed to calibrate a range from',
      })
    }
    if (this.method === 'minmax') return { min: this.lo, max: this.hi }
    const sample = this.kept.slice(0, Math.min(this.seen, this.kept.length))
    if (this.method === 'percentile')
      return percentileRange(sample, this.format.symmetric, this.options.percentile ?? 99.99)
    return mseRange(sample, this.lo, this.hi, this.format, this.options.candidates ?? 100)
  }
}

/**
 * The range of `values` by `method` (see {@link RangeObserver}).
 * @since 0.2.0
 * @category calibration
 */
export function calibrateRange(
  values: tf.Tensor | ArrayLike<number>,
  method: CalibrationMethod,
  format: Pick<IntFormat, 'bits' | 'symmetric'>,
  options: CalibrationOptions = {},
): { min: number; max: number } {
  const o = new RangeObserver(method, format, options)
  o.observe(values)
  return o.range()
}

function quantile(sorted: Float32Array, q: number): number {
  const at = q * (sorted.length - 1)
  const i = Math.floor(at)
  const f = at - i
  return i + 1 < sorted.length ? sorted[i]! * (1 - f) + sorted[i + 1]! * f : sorted[i]!
}

function percentileRange(sample: Float32Array, symmetric: boolean, p: number): { min: number; max: number } {
  if (symmetric) {
    const abs = sample.map(Math.abs).sort()
    const m = quantile(abs, p / 100)
    return { min: -m, max: m }
  }
  const sorted = sample.slice().sort()
  return { min: quantile(sorted, 1 - p / 100), max: quantile(sorted, p / 100) }
}

/** Mean squared error of fake-quantizing `sample` with the range [lo, hi]. */
function mseOf(
  sample: Float32Array,
  lo: number,
  hi: number,
  format: Pick<IntFormat, 'bits' | 'symmetric'>,
): number {
  const p = quantParams(lo, hi, format)
  const s = p.scale[0]!
  const z = p.zeroPoint[0]!
  let err = 0
  for (let i = 0; i < sample.length; i++) {
    const v = sample[i]!
    const q = Math.min(p.qmax, Math.max(p.qmin, roundHalfEven(v / s) + z))
    const d = (q - z) * s - v
    err += d * d
  }
  return err / sample.length
}

function mseRange(
  sample: Float32Array,
  lo: number,
  hi: number,
  format: Pick<IntFormat, 'bits' | 'symmetric'>,
  candidates: number,
): { min: number; max: number } {
  if (!Number.isInteger(candidates) || candidates < 1) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `the MSE calibration tries an integer >= 1 of candidates, got ${candidates}`,
      value: candidates,
    })
  }
  const m = Math.max(-lo, hi)
  let best = { min: lo, max: hi, err: Number.POSITIVE_INFINITY }
  for (let k = 1; k <= candidates; k++) {
    const f = k / candidates
    const [a, b] = format.symmetric ? [-m * f, m * f] : [lo * f, hi * f]
    const err = mseOf(sample, a, b, format)
    if (err < best.err) best = { min: a, max: b, err }
  }
  return { min: best.min, max: best.max }
}
