import { formatAllowed } from '@nasjs/core'
import { choice, struct, type ProductDef } from '../dsl/constructors.js'
import { defineSpaceAs, type DslSpace } from '../dsl/define.js'
import { archError, show } from '../internal.js'

/** Number formats of weights and activations (integer widths, FP8 E4M3/E5M2, FP16, FP32). @since 0.1.0 */
export const QUANT_FORMATS = [
  'int2',
  'int4',
  'int8',
  'int16',
  'fp8_e4m3',
  'fp8_e5m2',
  'fp16',
  'fp32',
] as const
/** A number format. @since 0.1.0 */
export type QuantFormat = (typeof QUANT_FORMATS)[number]
/** The format of one layer's weights and activations. @since 0.1.0 */
export interface LayerQuant {
  weights: QuantFormat
  activations: QuantFormat
}
/** A mixed-precision policy: one entry per quantizable layer. @since 0.1.0 */
export type QuantPolicy = LayerQuant[]

const layerQuant = struct({ weights: choice(QUANT_FORMATS), activations: choice(QUANT_FORMATS) })

/** The formats a policy space offers: `formats` checked (known, no repeats), or all of them. */
function layerQuantOf(formats: readonly QuantFormat[] | undefined): typeof layerQuant {
  if (formats === undefined) return layerQuant
  const names: readonly string[] = formats
  if (!Array.isArray(formats) || names.length === 0) {
    throw archError(
      `a policy space needs at least one format; expected some of ${formatAllowed(QUANT_FORMATS)}`,
      formats,
    )
  }
  for (const f of names) {
    if (!(QUANT_FORMATS as readonly string[]).includes(f)) {
      throw archError(`unknown format ${show(f)}; expected ${formatAllowed(QUANT_FORMATS)}`, f, QUANT_FORMATS)
    }
  }
  if (new Set(formats).size !== formats.length) throw archError('a format is listed twice', formats)
  return struct({ weights: choice(formats), activations: choice(formats) })
}

/** Formats a policy as `weights:activations` per layer, separated by spaces (`int8:int8 int4:fp16 ...`). @since 0.1.0 */
export function formatQuantPolicy(p: QuantPolicy): string {
  return p.map((l) => `${l.weights}:${l.activations}`).join(' ')
}

/** Parses {@link formatQuantPolicy}'s form for a policy of `layers` layers. @since 0.1.0 */
export function parseQuantPolicy(text: string, layers: number): QuantPolicy {
  const items = String(text)
    .trim()
    .split(/\s+/)
    .filter((s) => s !== '')
  if (items.length !== layers) {
    throw archError(
      `a quantization policy has ${layers} 'weights:activations' entries, got ${items.length}`,
      text,
      [layers],
    )
  }
  return items.map((item, i) => {
    const [w, a, extra] = item.split(':')
    if (a === undefined || extra !== undefined) {
      throw archError(`layer ${i} entry ${show(item)} is not 'weights:activations'`, item, undefined, [i])
    }
    for (const [f, v] of [
      ['weights', w],
      ['activations', a],
    ] as const) {
      if (!(QUANT_FORMATS as readonly string[]).includes(v!)) {
        throw archError(
          `layer ${i} ${f} format ${show(v)}; expected ${formatAllowed(QUANT_FORMATS)}`,
          v,
          QUANT_FORMATS,
          [i, f],
        )
      }
    }
    return { weights: w as QuantFormat, activations: a as QuantFormat }
  })
}

/**
 * A per-layer mixed-precision policy space (the quantization half of SimQ-NAS and FLIQS): each of
 * `layers` layers picks a weight and an activation format among {@link QUANT_FORMATS}. Join it with an
 * architecture space by `product`: `defineSpace('nb201-q', product(space(nb201), quantPolicyDef(n)))`.
 * @example createQuantPolicySpace(8).size() // 64n ** 8n
 * @since 0.1.0
 * @category constructors
 */
export function createQuantPolicySpace(
  layers: number,
  id = `quant-policy-${layers}`,
  /** The formats each layer chooses among (all of {@link QUANT_FORMATS} by default). */
  formats?: readonly QuantFormat[],
): DslSpace<QuantPolicy> {
  return defineSpaceAs<QuantPolicy>(id, quantPolicyDef(layers, formats), {
    title: `per-layer weight/activation formats, ${layers} layers`,
    format: formatQuantPolicy,
    parse: (text) => parseQuantPolicy(text, layers),
  })
}

/**
 * The DSL definition of a `layers`-layer policy (to embed in larger definitions), each layer's
 * weights and activations choosing among `formats` (all of {@link QUANT_FORMATS} by default).
 * @since 0.1.0
 */
export function quantPolicyDef(
  layers: number,
  formats?: readonly QuantFormat[],
): ProductDef<(typeof layerQuant)[]> {
  if (!Number.isSafeInteger(layers) || layers < 1 || layers > 4096) {
    throw archError(`a quantization policy needs 1..4096 layers, got ${show(layers)}`, layers)
  }
  const item = layerQuantOf(formats)
  return { kind: 'product', parts: Array.from({ length: layers }, () => item) }
}

/**
 * The registered `quant-policy` space: 20 layers, one per MBConv block of the deepest
 * Once-for-All MobileNetV3 subnet, so `product(space(ofaMbv3), quantPolicyDef(20))` covers OFA.
 * @since 0.1.0
 * @category models
 */
export const quantPolicy: DslSpace<QuantPolicy> = createQuantPolicySpace(20, 'quant-policy')
