import { NasError } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import { FLOAT_LAYOUTS, intRange, type FloatFormat, type IntFormat, type NumberFormat } from './formats.js'

/**
 * The affine map of an integer format: real = scale * (q - zeroPoint), q in [qmin, qmax]; one scale
 * and zero point per tensor, or per channel along `axis`.
 * @since 0.2.0
 */
export interface QuantParams {
  readonly scale: readonly number[]
  readonly zeroPoint: readonly number[]
  readonly qmin: number
  readonly qmax: number
  /** The channel axis of per-channel parameters (negative counts from the end); absent: per tensor. */
  readonly axis?: number
}

/**
 * The scale and zero point that map the real range [min, max] onto an integer format (one pair per
 * entry of `min` and `max`: per channel). The range is widened to hold 0, so that 0 is exact (a
 * padded zero stays zero). Symmetric: scale = max(|min|, |max|) / qmax, zero point 0. Asymmetric:
 * scale = (max - min) / (qmax - qmin), zero point round(qmin - min / scale) within [qmin, qmax]. A
 * range of width 0 gets scale 1 (every value is 0 then).
 * @since 0.2.0
 * @category fake quantization
 */
export function quantParams(
  min: number | readonly number[],
  max: number | readonly number[],
  format: Pick<IntFormat, 'bits' | 'symmetric'>,
  axis?: number,
): QuantParams {
  const lo = typeof min === 'number' ? [min] : [...min]
  const hi = typeof max === 'number' ? [max] : [...max]
  if (
    lo.length !== hi.length ||
    lo.length === 0 ||
    lo.some((v, i) => !(v <= hi[i]!) || !Number.isFinite(v - hi[i]!))
  ) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `a quantization range needs finite min <= max, as many of each; got [${lo.join(', ')}] and [${hi.join(', ')}]`,
      value: { min: lo, max: hi },
    })
  }
  const { qmin, qmax } = intRange(format.bits, format.symmetric)
  const scale: number[] = []
  const zeroPoint: number[] = []
  lo.forEach((l0, i) => {
    const l = Math.min(l0, 0)
    const h = Math.max(hi[i]!, 0)
    if (format.symmetric) {
      const m = Math.max(-l, h)
      scale.push(m === 0 ? 1 : m / qmax)
      zeroPoint.push(0)
    } else {
      const s = h - l === 0 ? 1 : (h - l) / (qmax - qmin)
      scale.push(s)
      zeroPoint.push(Math.min(qmax, Math.max(qmin, Math.round(qmin - l / s))))
    }
  })
  return {
    scale,
    zeroPoint,
    qmin,
    qmax,
    ...(lo.length > 1 || axis !== undefined ? { axis: axis ?? -1 } : {}),
  }
}

/** The parameters as tensors broadcast against `x` (per channel along `axis`). */
function paramTensors(x: tf.Tensor, p: QuantParams): { s: tf.Tensor; z: tf.Tensor } {
  if (p.axis === undefined) {
    if (p.scale.length !== 1) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `per-tensor quantization takes one scale, got ${p.scale.length}: give the channel axis`,
        value: p.scale.length,
      })
    }
    return { s: tf.scalar(p.scale[0]!), z: tf.scalar(p.zeroPoint[0]!) }
  }
  const axis = p.axis < 0 ? x.rank + p.axis : p.axis
  if (axis < 0 || axis >= x.rank || x.shape[axis] !== p.scale.length) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `per-channel quantization along axis ${p.axis} needs ${x.shape[axis] ?? '?'} scales for a tensor of shape [${x.shape.join(', ')}], got ${p.scale.length}`,
      value: { axis: p.axis, scales: p.scale.length, shape: x.shape },
    })
  }
  const shape = x.shape.map((d, i) => (i === axis ? d : 1))
  return { s: tf.tensor(p.scale, shape), z: tf.tensor(p.zeroPoint, shape) }
}

/**
 * Integer fake quantization: scale * (clamp(round(x / scale) + zeroPoint, qmin, qmax) - zeroPoint),
 * in float32, rounding half to even (as `tf.round`). The gradient is the clipped straight-through
 * estimator (Bengio et al. 2013; TF's `fake_quant_with_min_max_vars`): dy where x / scale +
 * zeroPoint lies in [qmin, qmax], 0 where it was clamped.
 * @since 0.2.0
 * @category fake quantization
 */
export function fakeQuantInt<T extends tf.Tensor>(x: T, p: QuantParams): T {
  // (customGrad's type spreads its arguments: the input and the save function)
  const f = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const { s, z } = paramTensors(input, p)
    const q = tf.add(tf.round(tf.div(input, s)), z)
    const inside = tf.logicalAnd(tf.greaterEqual(q, p.qmin), tf.lessEqual(q, p.qmax))
    save([tf.cast(inside, 'float32')])
    const value = tf.mul(tf.sub(tf.clipByValue(q, p.qmin, p.qmax), z), s)
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return tf.tidy(() => f(x) as T)
}

/**
 * Float format simulation: each value rounded to the nearest value of the format (ties to an even
 * mantissa), subnormals included, saturated at the largest finite value. In float32: with e =
 * floor(log2 |x|) no lower than 1 - bias, the step is 2^(e - mantissaBits). The gradient is the
 * straight-through estimator, 0 where the value saturated.
 * @since 0.2.0
 * @category fake quantization
 */
export function fakeQuantFloat<T extends tf.Tensor>(x: T, format: FloatFormat['format']): T {
  const layout = FLOAT_LAYOUTS[format]
  const emin = 1 - layout.bias
  const f = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const a = tf.abs(input)
    let e = tf.floor(tf.div(tf.log(tf.maximum(a, 1e-38)), Math.LN2))
    // log's rounding can be one off near a power of two: make 2^e <= |x| < 2^(e + 1)
    e = tf.where(tf.greater(tf.pow(2, e), a), tf.sub(e, 1), e)
    e = tf.where(tf.lessEqual(tf.pow(2, tf.add(e, 1)), a), tf.add(e, 1), e)
    e = tf.maximum(e, emin)
    const step = tf.pow(2, tf.sub(e, layout.mantissaBits))
    const rounded = tf.mul(tf.round(tf.div(a, step)), step)
    const inside = tf.lessEqual(a, layout.max)
    save([tf.cast(inside, 'float32')])
    // (not tf.sign: TF.js's wasm backend takes values below about 1e-7 for 0 there)
    const magnitude = tf.minimum(rounded, layout.max)
    const value = tf.where(tf.less(input, 0), tf.neg(magnitude), magnitude)
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return tf.tidy(() => f(x) as T)
}

/**
 * The real range of `x`: one [min, max] per tensor, or per channel along `axis`.
 * @since 0.2.0
 * @category fake quantization
 */
export function tensorRange(x: tf.Tensor, axis?: number): { min: number[]; max: number[] } {
  return tf.tidy(() => {
    if (axis === undefined) return { min: [tf.min(x).dataSync()[0]!], max: [tf.max(x).dataSync()[0]!] }
    const a = axis < 0 ? x.rank + axis : axis
    const others = x.shape.map((_, i) => i).filter((i) => i !== a)
    return {
      min: Array.from(tf.min(x, others).dataSync()),
      max: Array.from(tf.max(x, others).dataSync()),
    }
  })
}

/**
 * Fake quantization of `x` in `format`: integers with `params` (or, absent, the range of `x` itself,
 * per channel along `axis` when the format is per channel: the last axis by default, the output
 * channels of a TF.js conv or dense kernel); floats by {@link fakeQuantFloat}; fp32 returns a copy.
 * @since 0.2.0
 * @category fake quantization
 */
export function fakeQuant<T extends tf.Tensor>(
  x: T,
  format: NumberFormat,
  options: { readonly params?: QuantParams; readonly axis?: number } = {},
): T {
  if (format.kind === 'fp32') return tf.clone(x)
  if (format.kind === 'float') return fakeQuantFloat(x, format.format)
  const axis = format.perChannel ? (options.axis ?? -1) : undefined
  const params =
    options.params ??
    (() => {
      const r = tensorRange(x, axis)
      return quantParams(r.min, r.max, format, axis)
    })()
  return fakeQuantInt(x, params)
}

/**
 * The integer codes of `values` (a reference in plain JavaScript): clamp(round(v / scale) +
 * zeroPoint), rounding half to even as `tf.round`. With per-channel parameters, `channelOf(i)`
 * gives the channel of value i.
 * @since 0.2.0
 * @category fake quantization
 */
export function quantizeToInt(
  values: ArrayLike<number>,
  p: QuantParams,
  channelOf: (i: number) => number = () => 0,
): Int32Array {
  const out = new Int32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const c = p.scale.length === 1 ? 0 : channelOf(i)
    const q = roundHalfEven(Math.fround(values[i]! / p.scale[c]!)) + p.zeroPoint[c]!
    out[i] = Math.min(p.qmax, Math.max(p.qmin, q))
  }
  return out
}

/** Rounds to the nearest integer, a tie to the even one. @internal */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v)
  const d = v - f
  if (d > 0.5) return f + 1
  if (d < 0.5) return f
  return f % 2 === 0 ? f : f + 1
}
