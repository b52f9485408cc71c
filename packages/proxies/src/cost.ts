import type * as tfl from '@tensorflow/tfjs-layers'

type Shape = readonly (number | null)[]

const single = (s: Shape | Shape[]): Shape => (Array.isArray(s[0]) ? (s as Shape[])[0]! : (s as Shape))
const inputShape = (layer: tfl.layers.Layer): Shape => single(layer.inboundNodes[0]!.inputShapes)
const prod = (s: Shape, from = 1) => s.slice(from).reduce<number>((p, v) => p * (v ?? 1), 1)

/**
 * Multiply-accumulates of one example through a functional model, counted layer by layer from the
 * layers' shapes as the NAS-Bench-201 code counts them: convolutions (depthwise and dilated
 * included) and dense layers, each with its bias when it has one; nothing for pooling, BatchNorm,
 * activations or additions. Equals {@link modelCost} of `@nasjs/models` on the NB201, NB101 and DARTS
 * networks, and is what the `flops` proxy reports for any model.
 * @since 0.1.0
 * @category proxies
 */
export function countFlops(model: tfl.LayersModel): number {
  let flops = 0
  for (const layer of model.layers) {
    const cls = layer.getClassName()
    const config = layer.getConfig() as {
      kernelSize?: number | number[]
      useBias?: boolean
      depthMultiplier?: number
      filters?: number
      units?: number
    }
    if (cls === 'Conv2D' || cls === 'DepthwiseConv2D' || cls === 'NasDilatedDepthwiseConv2d') {
      const out = single(layer.outputShape)
      const input = inputShape(layer)
      const k = Array.isArray(config.kernelSize)
        ? config.kernelSize
        : [config.kernelSize ?? 1, config.kernelSize ?? 1]
      const perPosition = k[0]! * k[1]! * (cls === 'Conv2D' ? input[input.length - 1]! : 1)
      const positions = prod(out) // H * W * C_out of one example
      flops += positions * perPosition + (config.useBias === true ? positions : 0)
    } else if (cls === 'SeparableConv2D') {
      // a depthwise k x k convolution, then a pointwise one
      const out = single(layer.outputShape)
      const input = inputShape(layer)
      const k = Array.isArray(config.kernelSize)
        ? config.kernelSize
        : [config.kernelSize ?? 1, config.kernelSize ?? 1]
      const spatial = out[1]! * out[2]!
      const mid = input[input.length - 1]! * (config.depthMultiplier ?? 1)
      flops += spatial * mid * (k[0]! * k[1]! + out[3]!) + (config.useBias === true ? spatial * out[3]! : 0)
    } else if (cls === 'Dense') {
      const out = single(layer.outputShape)
      const input = inputShape(layer)
      const rows = prod(out.slice(0, -1)) // tokens of a sequence, 1 for a vector
      const units = out[out.length - 1]!
      flops += rows * (input[input.length - 1]! * units + (config.useBias === true ? units : 0))
    }
  }
  return flops
}

/**
 * Trainable parameters of a model (weights of every layer, BatchNorm scales and shifts included,
 * moving statistics not), as `model.countParams()` counts the trainable ones.
 * @since 0.1.0
 * @category proxies
 */
export function countTrainableParams(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce<number>((p, s) => p * (s ?? 1), 1), 0)
}

/**
 * FLOPs of one example counted as NAS-Bench-Suite-Zero counts its `flops` column (the `tensorwatch`
 * model statistics of NASLib): convolutions kh * kw * C_in * C_out * H_out * W_out per group (plus
 * the bias), dense layers in * out (no bias), BatchNorm 2 per element, ReLU 1 per element, pooling
 * k * k per output element, and global average pooling C * (H + 1) * (W + 1) (the counter's
 * adaptive-pooling rule); additions, zeros and identities nothing. On NB201 this gives the table's
 * values exactly (`(4, 0, 3, 1, 4, 3)`: 19.248832 M), which are not the benchmark's own FLOPs.
 * @since 0.1.0
 * @category proxies
 */
export function countSuiteFlops(model: tfl.LayersModel): number {
  let flops = 0
  for (const layer of model.layers) {
    const cls = layer.getClassName()
    const config = layer.getConfig() as {
      kernelSize?: number | number[]
      poolSize?: number | number[]
      useBias?: boolean
      depthMultiplier?: number
      center?: boolean
      scale?: boolean
    }
    const pair = (v: number | number[] | undefined) => (Array.isArray(v) ? v : [v ?? 1, v ?? 1])
    const out = () => single(layer.outputShape)
    if (cls === 'Conv2D') {
      const [kh, kw] = pair(config.kernelSize)
      const input = inputShape(layer)
      const o = out()
      flops += kh! * kw! * input[3]! * prod(o) + (config.useBias === true ? prod(o) : 0)
    } else if (cls === 'DepthwiseConv2D' || cls === 'NasDilatedDepthwiseConv2d') {
      const [kh, kw] = pair(config.kernelSize)
      flops += kh! * kw! * prod(out())
    } else if (cls === 'SeparableConv2D') {
      const [kh, kw] = pair(config.kernelSize)
      const input = inputShape(layer)
      const o = out()
      const mid = input[3]! * (config.depthMultiplier ?? 1)
      flops += kh! * kw! * o[1]! * o[2]! * mid + mid * prod(o)
    } else if (cls === 'Dense') {
      const input = inputShape(layer)
      const o = out()
      flops += prod(o.slice(0, -1)) * input[input.length - 1]! * o[o.length - 1]!
    } else if (cls === 'BatchNormalization') {
      const affine = config.center !== false || config.scale !== false
      flops += (affine ? 2 : 1) * prod(out())
    } else if (
      cls === 'ReLU' ||
      (cls === 'Activation' && (layer.getConfig() as { activation?: string }).activation === 'relu')
    ) {
      flops += prod(out())
    } else if (cls === 'AveragePooling2D' || cls === 'MaxPooling2D') {
      const [kh, kw] = pair(config.poolSize)
      flops += kh! * kw! * prod(out())
    } else if (cls === 'GlobalAveragePooling2D') {
      const input = inputShape(layer)
      flops += input[3]! * (input[1]! + 1) * (input[2]! + 1)
    }
  }
  return flops
}
