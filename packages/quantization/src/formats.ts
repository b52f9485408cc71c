import { NasError, formatAllowed } from '@nasjs/core'
import { QUANT_FORMATS } from '@nasjs/search-space'

/**
 * An integer format: `bits` wide (2..16), symmetric (zero point 0, range -(2^(b-1) - 1) ..
 * 2^(b-1) - 1, as TFLite's int8 weights) or asymmetric (an affine zero point, range 0 .. 2^b - 1),
 * with one scale per tensor or one per channel.
 * @since 0.2.0
 */
export interface IntFormat {
  readonly kind: 'int'
  readonly bits: number
  readonly symmetric: boolean
  readonly perChannel: boolean
}

/**
 * A floating-point format simulated in float32: FP8 E4M3 (the OCP "FN" variant: bias 7, no
 * infinities, largest 448), FP8 E5M2 (bias 15, largest 57344) and IEEE float16 (bias 15, largest
 * 65504), subnormals included; values beyond the largest saturate to it.
 * @since 0.2.0
 */
export interface FloatFormat {
  readonly kind: 'float'
  readonly format: 'fp8_e4m3' | 'fp8_e5m2' | 'fp16'
}

/** No quantization (float32). @since 0.2.0 */
export interface Fp32Format {
  readonly kind: 'fp32'
}

/** A number format of weights or activations. @since 0.2.0 */
export type NumberFormat = IntFormat | FloatFormat | Fp32Format

/**
 * The layout of a simulated float format.
 * @since 0.2.0
 */
export interface FloatLayout {
  readonly exponentBits: number
  readonly mantissaBits: number
  readonly bias: number
  /** The largest finite value. */
  readonly max: number
}

/**
 * The three simulated float formats (FLIQS searches FP8 E4M3 and E5M2 beside the integers).
 * @since 0.2.0
 */
export const FLOAT_LAYOUTS: Readonly<Record<FloatFormat['format'], FloatLayout>> = {
  fp8_e4m3: { exponentBits: 4, mantissaBits: 3, bias: 7, max: 448 },
  fp8_e5m2: { exponentBits: 5, mantissaBits: 2, bias: 15, max: 57344 },
  fp16: { exponentBits: 5, mantissaBits: 10, bias: 15, max: 65504 },
}

/**
 * The {@link NumberFormat} of a `quant-policy` format name (`int2` .. `int16`, `fp8_e4m3`,
 * `fp8_e5m2`, `fp16`, `fp32`; any `int<b>` for b in 2..16 too). Integers are symmetric and per
 * tensor unless `options` say otherwise (weights are usually per channel, activations per tensor).
 * A name that is not a format is `CONFIG_INVALID`, with the allowed names.
 * @since 0.2.0
 * @category formats
 */
export function numberFormat(
  /** A {@link QuantFormat} name, or `int<b>`. */
  name: string,
  options: { readonly symmetric?: boolean; readonly perChannel?: boolean } = {},
): NumberFormat {
  const int = /^int(\d+)$/.exec(name)
  if (int !== null) {
    const bits = Number(int[1])
    if (bits >= 2 && bits <= 16) {
      return {
        kind: 'int',
        bits,
        symmetric: options.symmetric ?? true,
        perChannel: options.perChannel ?? false,
      }
    }
  }
  if (name === 'fp32') return { kind: 'fp32' }
  if (name === 'fp8_e4m3' || name === 'fp8_e5m2' || name === 'fp16') return { kind: 'float', format: name }
  throw new NasError({
    code: 'CONFIG_INVALID',
    message: `unknown number format ${JSON.stringify(name)}; expected int2 .. int16 or ${formatAllowed(QUANT_FORMATS)}`,
    value: name,
    allowed: [...QUANT_FORMATS],
  })
}

/**
 * Bits per value of a format (32 for fp32).
 * @since 0.2.0
 * @category formats
 */
export function formatBits(f: NumberFormat): number {
  if (f.kind === 'int') return f.bits
  if (f.kind === 'fp32') return 32
  const l = FLOAT_LAYOUTS[f.format]
  return 1 + l.exponentBits + l.mantissaBits
}

/**
 * The integer range of an integer format: symmetric `[-(2^(b-1) - 1), 2^(b-1) - 1]` (the most
 * negative code left unused, so that the range is symmetric about 0), asymmetric `[0, 2^b - 1]`.
 * @since 0.2.0
 * @category formats
 */
export function intRange(bits: number, symmetric: boolean): { qmin: number; qmax: number } {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `integer formats have 2 to 16 bits, got ${bits}`,
      value: bits,
      allowed: ['2..16'],
    })
  }
  return symmetric
    ? { qmin: -(2 ** (bits - 1) - 1), qmax: 2 ** (bits - 1) - 1 }
    : { qmin: 0, qmax: 2 ** bits - 1 }
}
