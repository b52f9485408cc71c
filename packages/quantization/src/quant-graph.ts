/**
 * The quantized forward pass shared by post-training quantization, quantization-aware training and
 * the FLIQS search: formats per layer, activation quantizers, BatchNorm folding and a network run
 * layer by layer with quantized weights and activations. Internal: not exported from the package.
 * @internal
 * @packageDocumentation
 */
import { NasError } from '@nasjs/core'
import { applyUpdate, crossEntropy, parseTrainConfig, runGraph, type Dataset } from '@nasjs/models'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { fakeQuant, fakeQuantInt, quantParams, type QuantParams } from './fake-quant.js'
import { foldBatchNorm } from './fold.js'
import { numberFormat, type NumberFormat } from './formats.js'

/** What a {@link FormatPlan} is made from (the format fields of a post-training quantization config). */
export interface FormatOptions {
  readonly weights: string
  readonly weightsPerChannel: boolean
  readonly activations: string
  readonly activationsSymmetric: boolean
  readonly layers?: readonly { readonly weights: string; readonly activations: string }[] | undefined
}

export const WEIGHTED = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense'])

interface LayerConfig {
  strides?: number | number[]
  padding?: 'same' | 'valid'
  dilationRate?: number | number[]
  activation?: string
  useBias?: boolean
  dataFormat?: string
}

const pair = (v: number | number[] | undefined): [number, number] =>
  v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0]!, v[1] ?? v[0]!]

/** The layer's computation with the given kernel and bias (what the layer does with its own). */
export function applyWeighted(
  layer: tfl.layers.Layer,
  x: tf.Tensor,
  kernel: tf.Tensor,
  bias: tf.Tensor | undefined,
): tf.Tensor {
  const c = layer.getConfig() as LayerConfig
  if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `quantizeNetwork runs channels-last layers; ${layer.name} is ${c.dataFormat}`,
      value: c.dataFormat,
      allowed: ['channelsLast'],
    })
  }
  let y: tf.Tensor
  const name = layer.getClassName()
  if (name === 'Dense') y = tf.matMul(x, kernel)
  else {
    const conv = name === 'Conv2D' ? tf.conv2d : tf.depthwiseConv2d
    y = conv(
      x as tf.Tensor4D,
      kernel as tf.Tensor4D,
      pair(c.strides),
      c.padding ?? 'valid',
      'NHWC',
      pair(c.dilationRate),
    )
  }
  if (bias !== undefined) y = tf.add(y, bias)
  const act = c.activation ?? 'linear'
  if (act === 'relu') return tf.relu(y)
  if (act !== 'linear') {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `quantizeNetwork handles layers with a linear or relu activation; ${layer.name} has ${act}`,
      value: act,
      allowed: ['linear', 'relu'],
    })
  }
  return y
}

/** The key of the network input among the activation ranges (no layer has this name). */
export const INPUT = '\u0000input'
/** The key of a weighted layer's input among the activation ranges. */
export const inputOf = (name: string) => `\u0000in:${name}`

export type Range = { readonly min: number; readonly max: number }

/**
 * Fake quantization of each activation by its key (the name of the layer that made it, or
 * {@link inputOf} a layer): in the key's format, with integer parameters from `ranges` (an
 * activation without a range passes as it is). @internal
 */
export function activationQuantizer(
  formatOf: (key: string) => NumberFormat,
  ranges: ReadonlyMap<string, Range>,
): (key: string, t: tf.Tensor) => tf.Tensor {
  const params = new Map<string, QuantParams>()
  for (const [key, r] of ranges) {
    const f = formatOf(key)
    if (f.kind === 'int') params.set(key, quantParams(r.min, r.max, f))
  }
  return (key, t) => {
    const f = formatOf(key)
    if (f.kind === 'fp32') return t
    if (f.kind === 'float') return fakeQuant(t, f)
    const p = params.get(key)
    return p === undefined ? t : fakeQuantInt(t, p)
  }
}

/**
 * The formats of a network's quantizable layers: one for every weight and activation (`layers`
 * absent), or a weight and an activation format per quantizable layer (a mixed-precision policy,
 * checked against the network). @internal
 */
export interface FormatPlan {
  readonly mixed: boolean
  /** The weight format of a quantizable layer, and its name. */
  readonly weights: (layer: string) => { format: NumberFormat; name: string }
  /** The format of an activation by its key. */
  readonly activation: (key: string) => NumberFormat
  /** The activation format's name of a quantizable layer (mixed) or of every activation. */
  readonly activationName: (layer: string) => string
}

export function formatPlan(model: tfl.LayersModel, c: FormatOptions): FormatPlan {
  const w = numberFormat(c.weights, { perChannel: c.weightsPerChannel })
  const a = numberFormat(c.activations, { symmetric: c.activationsSymmetric })
  if (c.layers === undefined) {
    return {
      mixed: false,
      weights: () => ({ format: w, name: c.weights }),
      activation: () => a,
      activationName: () => c.activations,
    }
  }
  const names = model.layers.filter((l) => WEIGHTED.has(l.getClassName())).map((l) => l.name)
  if (c.layers.length !== names.length) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the policy has ${c.layers.length} layer formats for a network of ${names.length} quantizable layers (its Conv2D, DepthwiseConv2D and Dense layers: networkQuantLayers)`,
      value: c.layers.length,
      allowed: [names.length],
    })
  }
  const byLayer = new Map(
    names.map((n, i) => {
      const l = c.layers![i]!
      return [
        n,
        {
          weights: numberFormat(l.weights, { perChannel: c.weightsPerChannel }),
          activations: numberFormat(l.activations, { symmetric: c.activationsSymmetric }),
          names: l,
        },
      ] as const
    }),
  )
  const fp32: NumberFormat = { kind: 'fp32' }
  const inputKeys = new Map(names.map((n) => [inputOf(n), byLayer.get(n)!.activations]))
  return {
    mixed: true,
    weights: (layer) => ({ format: byLayer.get(layer)!.weights, name: byLayer.get(layer)!.names.weights }),
    activation: (key) => inputKeys.get(key) ?? fp32,
    activationName: (layer) => byLayer.get(layer)?.names.activations ?? 'fp32',
  }
}

/**
 * The network's forward pass with the given weights of its quantizable layers and its activations
 * fake-quantized: with a uniform plan every output and the network input, with a mixed one each
 * quantizable layer's input in that layer's activation format. @internal
 */
export function quantizedForward(
  model: tfl.LayersModel,
  x: tf.Tensor,
  plan: FormatPlan,
  folded: ReadonlySet<string>,
  weightsOf: (layer: tfl.layers.Layer) => { kernel: tf.Tensor; bias?: tf.Tensor } | undefined,
  quantAct: (key: string, t: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  return runGraph(model, plan.mixed ? x : quantAct(INPUT, x), {
    batchNorm: 'moving',
    override: (layer, args) => {
      if (folded.has(layer.name)) return args[0]
      const k = weightsOf(layer)
      if (k === undefined) return undefined
      const input = plan.mixed ? quantAct(inputOf(layer.name), args[0]!) : args[0]!
      return applyWeighted(layer, input, k.kernel, k.bias)
    },
    transform: (layer, out) =>
      plan.mixed || folded.has(layer.name) || layer.getClassName() === 'InputLayer'
        ? out
        : quantAct(layer.name, out),
  }).output
}

/**
 * The BatchNorms to fold: each right after a weighted layer that has no other consumer (a depthwise
 * convolution only with depth multiplier 1). @internal
 */
export function planFolding(
  model: tfl.LayersModel,
  fold: boolean,
): { foldInto: Map<string, tfl.layers.Layer>; folded: Set<string> } {
  const foldInto = new Map<string, tfl.layers.Layer>() // weighted layer name -> its BatchNorm
  const folded = new Set<string>()
  if (!fold) return { foldInto, folded }
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue
    const from = layer.inboundNodes[0]?.inboundLayers
    const src = from?.length === 1 ? from[0]! : undefined
    if (src === undefined || !WEIGHTED.has(src.getClassName()) || src.outboundNodes.length !== 1) continue
    const depthwise = src.getClassName() === 'DepthwiseConv2D'
    if (depthwise && (src.getConfig() as { depthMultiplier?: number }).depthMultiplier !== 1) continue
    foldInto.set(src.name, layer)
    folded.add(layer.name)
  }
  return { foldInto, folded }
}

/**
 * A weighted layer's kernel and bias, with BatchNorm `bn` folded in when given: tensor operations
 * on the layer's variables, so gradients reach them (quantization-aware training). Without `bn` the
 * layer's own variables are returned (not copies). @internal
 */
export function foldedWeights(
  layer: tfl.layers.Layer,
  bn?: tfl.layers.Layer,
): { kernel: tf.Tensor; bias?: tf.Tensor } {
  const values = layer.getWeights()
  const useBias = (layer.getConfig() as LayerConfig).useBias !== false && values.length > 1
  const kernel = values[0]!
  const bias = useBias ? values[1]! : undefined
  if (bn === undefined) return { kernel, ...(bias === undefined ? {} : { bias }) }
  const w = new Map(bn.weights.map((v) => [v.originalName.split('/').pop()!, v.read() as tf.Tensor1D]))
  const bnc = bn.getConfig() as { epsilon?: number }
  const shape = kernel.shape
  const depthwise = layer.getClassName() === 'DepthwiseConv2D'
  // a depthwise kernel [kh, kw, c, 1] has its channels on axis 2: fold as [kh, kw, 1, c]
  const k = depthwise ? tf.reshape(kernel, [shape[0], shape[1]!, 1, shape[2]!]) : kernel
  const f = foldBatchNorm(k as tf.Tensor4D, bias as tf.Tensor1D | undefined, {
    mean: w.get('moving_mean')!,
    variance: w.get('moving_variance')!,
    ...(w.has('gamma') ? { gamma: w.get('gamma')! } : {}),
    ...(w.has('beta') ? { beta: w.get('beta')! } : {}),
    epsilon: bnc.epsilon ?? 1e-3,
  })
  return { kernel: depthwise ? tf.reshape(f.kernel, shape) : f.kernel, bias: f.bias }
}

/**
 * Quantization-aware training steps of a network (its weights change): each step runs the quantized
 * forward pass of a plan on a batch (activation ranges fixed, BatchNorms folded in inference mode,
 * kernels fake-quantized after folding) and applies one SGD step with momentum to every trainable
 * weight through the straight-through gradients. The plan may change from step to step. @internal
 */
export function quantizedTrainer(
  model: tfl.LayersModel,
  ranges: ReadonlyMap<string, Range>,
  opts: { readonly foldBatchNorm: boolean; readonly momentum: number; readonly activations: NumberFormat },
): {
  /** One step on a batch; the loss before the step (a non-finite loss skips the update). */
  step(
    b: { readonly xs: Float32Array; readonly ys: ArrayLike<number>; readonly n: number },
    data: Pick<Dataset, 'shape' | 'classes'>,
    plan: FormatPlan,
    lr: number,
  ): number
  /** The quantized logits of a batch with the current weights (run in `tf.tidy`). */
  forward(x: tf.Tensor, plan: FormatPlan): tf.Tensor
  dispose(): void
} {
  const { foldInto, folded } = planFolding(model, opts.foldBatchNorm)
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const sgd = parseTrainConfig({ optimizer: 'sgd', momentum: opts.momentum, weightDecay: 0 })
  const slots = { m: vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false))), v: [] }
  let t = 0
  const forward = (x: tf.Tensor, plan: FormatPlan) =>
    quantizedForward(
      model,
      x,
      plan,
      folded,
      (layer) => {
        if (!WEIGHTED.has(layer.getClassName())) return undefined
        const { kernel, bias } = foldedWeights(layer, foldInto.get(layer.name))
        const axis = layer.getClassName() === 'DepthwiseConv2D' ? 2 : kernel.rank - 1
        return {
          kernel: fakeQuant(kernel, plan.weights(layer.name).format, { axis }),
          ...(bias === undefined ? {} : { bias }),
        }
      },
      activationQuantizer(plan.mixed ? plan.activation : () => opts.activations, ranges),
    )
  return {
    step(b, data, plan, lr) {
      const x = tf.tensor(b.xs, [b.n, ...data.shape])
      const y = tf.tensor1d(Float32Array.from(b.ys), 'float32')
      const { value, grads } = tf.variableGrads(
        () => crossEntropy(forward(x, plan) as tf.Tensor2D, y, data.classes),
        vars,
      )
      const loss = value.dataSync()[0]!
      tf.dispose([x, y, value])
      const ids = vars.flatMap((v, i) => (grads[v.name] === undefined ? [] : [i]))
      t++
      if (Number.isFinite(loss))
        applyUpdate(
          sgd,
          ids.map((i) => vars[i]!),
          ids.map((i) => grads[vars[i]!.name]!),
          { m: ids.map((i) => slots.m[i]!), v: [] },
          lr,
          t,
        )
      tf.dispose(Object.values(grads))
      return loss
    },
    forward,
    dispose: () => tf.dispose(slots.m),
  }
}
