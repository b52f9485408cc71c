import { NasError } from '@nasjs/core'
import type { QuantPolicy } from '@nasjs/search-space'
import { formatBits, numberFormat, type NumberFormat } from './formats.js'

/**
 * What a cost model needs of one quantizable layer.
 * @since 0.2.0
 */
export interface QuantLayer {
  readonly name?: string
  /** Weights of the layer (its kernel; biases stay 32-bit). */
  readonly params: number
  readonly biases?: number
  /** Multiply-accumulates of one inference. */
  readonly macs: number
  /** Elements of its input and output activations (one inference). */
  readonly inputElements: number
  readonly outputElements: number
}

/**
 * The costs of a network under a quantization policy.
 * @since 0.2.0
 */
export interface QuantCosts {
  /** Weight storage: each layer's weights at its weight format's bits, biases at 32. */
  readonly bytes: number
  /** Bit operations: sum over layers of MACs x weight bits x activation bits (float32 counts 32). */
  readonly bitOps: number
  /**
   * The peak activation memory of a layer-by-layer run: the largest over layers of its input and
   * output held together, at its activation format's bits (the MCUFormer-style memory budget of a
   * plain chain; a network with branches holds more).
   */
  readonly peakActivationBytes: number
}

type Format = NumberFormat | string

/**
 * The costs of `layers` under `policy` (one `{ weights, activations }` format per layer: a
 * `quant-policy` architecture, or formats), each a format name or a {@link NumberFormat}.
 * @since 0.2.0
 * @category costs
 */
export function quantCosts(
  layers: readonly QuantLayer[],
  policy: QuantPolicy | readonly { readonly weights: Format; readonly activations: Format }[],
): QuantCosts {
  if (policy.length !== layers.length) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the policy has ${policy.length} layer formats for a network of ${layers.length} quantizable layers`,
      value: policy.length,
      allowed: [layers.length],
    })
  }
  const bitsOf = (f: Format) => formatBits(typeof f === 'string' ? numberFormat(f) : f)
  let bits = 0
  let bitOps = 0
  let peak = 0
  layers.forEach((l, i) => {
    const wb = bitsOf(policy[i]!.weights)
    const ab = bitsOf(policy[i]!.activations)
    bits += l.params * wb + (l.biases ?? 0) * 32
    bitOps += l.macs * wb * ab
    peak = Math.max(peak, ((l.inputElements + l.outputElements) * ab) / 8)
  })
  return { bytes: Math.ceil(bits / 8), bitOps, peakActivationBytes: Math.ceil(peak) }
}
