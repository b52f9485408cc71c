import { NasError } from '@nasjs/core'
import type * as tf from '@tensorflow/tfjs-core'

/**
 * The weight formats of TF.js's own weight quantization (what `tensorflowjs_converter
 * --quantize_uint8` and `--quantize_float16` write): plain `@tensorflow/tfjs` decodes them when it
 * loads the model.
 * @since 0.2.0
 */
export type WeightDtype = 'float16' | 'uint16' | 'uint8'

/** The weight formats of {@link quantizeArtifacts}. @since 0.2.0 */
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['float16', 'uint16', 'uint8']

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 }

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/**
 * The IEEE half-precision bits of a number: rounded to the nearest half, ties to even; beyond the
 * largest half (65,504) it is infinity; subnormal halves included; NaN stays NaN.
 * @since 0.2.0
 * @category export
 */
export function float16Bits(value: number): number {
  f32[0] = value
  const x = u32[0]!
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  const mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0) // inf, NaN
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00 // overflow: infinity
  if (e <= 0) {
    // a subnormal half (or zero): the 24-bit significand shifted right, rounded to nearest even
    if (e < -10) return sign
    const m = mant | 0x800000
    const shift = 14 - e
    const half = 1 << (shift - 1)
    const rest = m & ((1 << shift) - 1)
    let out = m >>> shift
    if (rest > half || (rest === half && (out & 1) === 1)) out++
    return sign | out
  }
  // a normal half: 10 of the 23 mantissa bits, rounded to nearest even (a carry may raise the exponent)
  let out = (e << 10) | (mant >>> 13)
  const rest = mant & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out++
  return sign | out
}

/**
 * Model artifacts (as `exportArtifacts` of `@nasjs/models` gives them) with every float32 weight
 * stored in `dtype`, the way TF.js's converter quantizes weights, so that plain `@tensorflow/tfjs`
 * loads the model and dequantizes the weights itself:
 * - `uint8` / `uint16`: per weight tensor, value = min + scale q, with scale = (max - min) / (2^b - 1)
 *   and q = round((value - min) / scale) (a constant tensor keeps scale 1);
 * - `float16`: IEEE half precision ({@link float16Bits}).
 * Weights of other dtypes, weights already quantized, and tensors of fewer than `minElements`
 * values (64: a BatchNorm's few statistics, whose quantization fields in `model.json` would cost
 * more bytes than they save) stay as they are.
 * @since 0.2.0
 * @category export
 */
export function quantizeArtifacts(
  artifacts: tf.io.ModelArtifacts,
  dtype: WeightDtype,
  options: { readonly minElements?: number } = {},
): tf.io.ModelArtifacts {
  const minElements = options.minElements ?? 64
  if (!WEIGHT_DTYPES.includes(dtype)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `unknown weight dtype ${JSON.stringify(dtype)}; expected ${WEIGHT_DTYPES.join(', ')}`,
      value: dtype,
      allowed: [...WEIGHT_DTYPES],
    })
  }
  const specs = artifacts.weightSpecs
  const raw = artifacts.weightData
  if (specs === undefined || raw === undefined || Array.isArray(raw)) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: 'the artifacts need weightSpecs and one weightData buffer (as exportArtifacts gives them)',
      value: { specs: specs === undefined, data: raw === undefined },
    })
  }
  const data = new Uint8Array(raw)
  const chunks: Uint8Array[] = []
  const out: tf.io.WeightsManifestEntry[] = []
  let offset = 0
  for (const spec of specs) {
    const n = spec.shape.reduce((p, d) => p * d, 1)
    const stored = spec.quantization?.dtype ?? spec.dtype
    const bytes = n * (BYTES[stored] ?? 4)
    const slice = data.slice(offset, offset + bytes)
    offset += bytes
    if (spec.dtype !== 'float32' || spec.quantization !== undefined || n < minElements) {
      chunks.push(slice)
      out.push(spec)
      continue
    }
    const values = new Float32Array(slice.buffer)
    if (dtype === 'float16') {
      const q = new Uint16Array(n)
      for (let i = 0; i < n; i++) q[i] = float16Bits(values[i]!)
      chunks.push(new Uint8Array(q.buffer))
      out.push({ ...spec, quantization: { dtype: 'float16' } })
      continue
    }
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    for (const v of values) {
      if (v < min) min = v
      if (v > max) max = v
    }
    if (n === 0) min = max = 0
    const levels = dtype === 'uint8' ? 255 : 65535
    const scale = max > min ? (max - min) / levels : 1
    const q = dtype === 'uint8' ? new Uint8Array(n) : new Uint16Array(n)
    for (let i = 0; i < n; i++) q[i] = Math.min(levels, Math.max(0, Math.round((values[i]! - min) / scale)))
    chunks.push(new Uint8Array(q.buffer))
    out.push({ ...spec, quantization: { dtype, min, scale } })
  }
  const total = chunks.reduce((s, c) => s + c.length, 0)
  const joined = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    joined.set(c, at)
    at += c.length
  }
  return { ...artifacts, weightSpecs: out, weightData: joined.buffer }
}
