import { NasError } from '@nasjs/core'
import type { QuantPolicy } from '@nasjs/search-space'
import type * as tfl from '@tensorflow/tfjs-layers'
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

const WEIGHTED_LAYERS = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense'])

/** Elements of one example of a layer shape (the batch dimension left out). */
const elements = (shape: readonly (number | null)[]) =>
  shape.slice(1).reduce<number>((p, d) => p * (d ?? 1), 1)

/**
 * The quantizable layers of a built functional network (its Conv2D, DepthwiseConv2D and Dense
 * layers, in order), described for {@link quantCosts}: weights, biases, multiply-accumulates of one
 * example (output positions x kernel size: for a convolution the kernel area x input x output
 * channels, for a depthwise one the kernel area x channels; for a dense layer the kernel size per
 * input row) and the elements of the layer's input and output (of its first call). A `quant-policy`
 * for the network has one entry per layer listed here.
 * @since 0.2.0
 * @category costs
 */
export function networkQuantLayers(
  model: tfl.LayersModel,
): (QuantLayer & { readonly name: string; readonly className: string })[] {
  const out: (QuantLayer & { name: string; className: string })[] = []
  for (const layer of model.layers) {
    const cls = layer.getClassName()
    if (!WEIGHTED_LAYERS.has(cls)) continue
    const [kernel, bias] = layer.getWeights()
    const node = layer.inboundNodes[0]!
    const inShape = node.inputTensors[0]!.shape
    const outShape = node.outputTensors[0]!.shape
    // positions the kernel is applied at: every output position of a convolution, every input row of a dense layer
    const positions =
      cls === 'Dense'
        ? elements(inShape) / (inShape.at(-1) ?? 1)
        : elements(outShape) / (outShape.at(-1) ?? 1)
    out.push({
      name: layer.name,
      className: cls,
      params: kernel!.size,
      biases: bias?.size ?? 0,
      macs: positions * kernel!.size,
      inputElements: elements(inShape),
      outputElements: elements(outShape),
    })
  }
  return out
}
