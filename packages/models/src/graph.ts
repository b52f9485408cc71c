import { NasError } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'

/**
 * How BatchNorm layers behave when a proxy runs the network:
 * - `batch`: normalise with the statistics of the minibatch (PyTorch's `train()` mode), without
 *   touching the layer's moving statistics, so scoring has no side effect on the model;
 * - `moving`: normalise with the moving statistics (`eval()` mode; at initialisation mean 0, variance 1);
 * - `off`: BatchNorm layers pass their input through unchanged (SynFlow's network without BatchNorm).
 * @since 0.1.0
 * @category graph
 */
export type BatchNormMode = 'batch' | 'moving' | 'off'

/**
 * Options of {@link runGraph}.
 * @since 0.1.0
 * @category graph
 */
export interface RunGraphOptions {
  /** BatchNorm behaviour; `batch` by default */
  batchNorm?: BatchNormMode
  /** layers whose outputs to return in `taps`, by layer */
  tap?: (layer: tfl.layers.Layer) => boolean
  /** tensors added to the outputs of these layers (by name), to take gradients with respect to activations */
  probes?: ReadonlyMap<string, tf.Tensor>
  /**
   * Fixed activation patterns for ReLU layers (by name): the layer multiplies its input by the mask
   * instead, so the network is smooth in its weights around the point where the masks were taken
   * (a finite difference of gradients then gives the Hessian autograd would, which treats a ReLU's
   * second derivative as zero).
   */
  reluMasks?: ReadonlyMap<string, tf.Tensor>
  /**
   * Computes a layer's output in its place (e.g. a convolution with quantized, BatchNorm-folded
   * weights; a BatchNorm folded away returns its input): `undefined` runs the layer as usual.
   * @since 0.2.0
   */
  override?: (layer: tfl.layers.Layer, inputs: readonly tf.Tensor[]) => tf.Tensor | undefined
  /**
   * Transforms a layer's output before anything reads it (e.g. fake quantization of activations).
   * @since 0.2.0
   */
  transform?: (layer: tfl.layers.Layer, output: tf.Tensor) => tf.Tensor
}

/**
 * The result of {@link runGraph}: the model's (first) output and the tapped layer outputs, in the
 * order the layers run.
 * @since 0.1.0
 * @category graph
 */
export interface GraphRun {
  output: tf.Tensor
  taps: { layer: tfl.layers.Layer; value: tf.Tensor }[]
}

interface Sym {
  id: number
  sourceLayer: tfl.layers.Layer
  inputs: Sym[]
  outputTensorIndex?: number
}

const BN_CLASS = 'BatchNormalization'

/** A BatchNorm layer over the last axis, computed by hand so that `batch` mode leaves the moving statistics alone. */
function batchNorm(layer: tfl.layers.Layer, x: tf.Tensor, mode: BatchNormMode): tf.Tensor {
  if (mode === 'off') return x
  const config = layer.getConfig() as {
    axis?: number | number[]
    epsilon?: number
    center?: boolean
    scale?: boolean
  }
  const axis = Array.isArray(config.axis) ? config.axis[0]! : (config.axis ?? -1)
  if (axis !== -1 && axis !== x.rank - 1) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `runGraph handles BatchNorm over the last axis only; layer ${layer.name} normalises axis ${axis} of a rank-${x.rank} tensor`,
      value: axis,
      allowed: [-1, x.rank - 1],
    })
  }
  const weights = new Map(layer.weights.map((w) => [w.originalName.split('/').pop()!, w.read()]))
  let mean: tf.Tensor
  let variance: tf.Tensor
  if (mode === 'batch') {
    const m = tf.moments(
      x,
      Array.from({ length: x.rank - 1 }, (_, i) => i),
    )
    mean = m.mean
    variance = m.variance
  } else {
    mean = weights.get('moving_mean')!
    variance = weights.get('moving_variance')!
  }
  const eps = config.epsilon ?? 1e-3
  // one fused kernel (with its gradient) rather than four element-wise ops: a full network on a
  // batch of 64 keeps every intermediate for the backward pass, and the wasm heap is 4 GB
  return tf.batchNorm(x, mean, variance, weights.get('beta'), weights.get('gamma'), eps)
}

/**
 * Runs a functional `tf.LayersModel` layer by layer on concrete tensors, as `model.apply` would, but
 * with the control zero-cost proxies and quantization need: BatchNorm mode, the outputs of chosen
 * layers, tensors added to chosen layers' outputs (gradients with respect to them are gradients
 * with respect to those activations), layers computed in another way, and outputs transformed.
 * Runs inside the caller's `tf.tidy` / `tf.grads`; nothing is disposed here.
 * @since 0.1.0
 * @category graph
 */
export function runGraph(model: tfl.LayersModel, x: tf.Tensor, options: RunGraphOptions = {}): GraphRun {
  const mode = options.batchNorm ?? 'batch'
  const inputs = model.inputs as unknown as Sym[]
  if (inputs.length !== 1) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `runGraph runs models with one input; this model has ${inputs.length}`,
      value: inputs.length,
      allowed: [1],
    })
  }
  const values = new Map<number, tf.Tensor>([[inputs[0]!.id, x]])
  const layerOutputs = new Map<tfl.layers.Layer, tf.Tensor | tf.Tensor[]>()
  const taps: GraphRun['taps'] = []
  const evalSym = (s: Sym): tf.Tensor => {
    const known = values.get(s.id)
    if (known) return known
    // iterative post-order over the inputs to keep deep networks off the call stack
    const stack: Sym[] = [s]
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      if (values.has(top.id)) {
        stack.pop()
        continue
      }
      const pending = top.inputs.filter((i) => !values.has(i.id))
      if (pending.length > 0) {
        stack.push(...pending)
        continue
      }
      stack.pop()
      const layer = top.sourceLayer
      let out = layerOutputs.get(layer)
      if (!out) {
        const args = top.inputs.map((i) => values.get(i.id)!)
        const mask = options.reluMasks?.get(layer.name)
        const replaced = options.override?.(layer, args)
        if (replaced !== undefined) out = replaced
        else if (layer.getClassName() === BN_CLASS) out = batchNorm(layer, args[0]!, mode)
        else if (mask !== undefined && isRelu(layer)) out = tf.mul(args[0]!, mask)
        else
          out = layer.apply(args.length === 1 ? args[0]! : args, { training: false }) as
            tf.Tensor | tf.Tensor[]
        if (options.transform !== undefined && !Array.isArray(out)) out = options.transform(layer, out)
        const probe = options.probes?.get(layer.name)
        if (probe && !Array.isArray(out)) out = tf.add(out, probe)
        if (options.tap?.(layer) && !Array.isArray(out)) taps.push({ layer, value: out })
        layerOutputs.set(layer, out)
      }
      values.set(top.id, Array.isArray(out) ? out[top.outputTensorIndex ?? 0]! : out)
    }
    return values.get(s.id)!
  }
  const output = evalSym((model.outputs as unknown as Sym[])[0]!)
  return { output, taps }
}

/** Class names of the layers whose weights proxies prune or score (PyTorch's `Conv2d` and `Linear`). */
const PRUNABLE = new Set([
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'Dense',
  'NasDilatedDepthwiseConv2d',
  'NasMultiHeadAttention',
])

/**
 * The layers a proxy sums over: convolutions (depthwise included) and dense layers, as the
 * reference implementations take every `nn.Conv2d` and `nn.Linear`.
 * @since 0.1.0
 * @category graph
 */
export function isPrunable(layer: tfl.layers.Layer): boolean {
  return PRUNABLE.has(layer.getClassName())
}

/**
 * The weights a proxy sums over: the kernels of {@link isPrunable} layers (biases and BatchNorm
 * parameters are left out, as in the reference implementations), with their layer.
 * @since 0.1.0
 * @category graph
 */
export function prunableWeights(
  model: tfl.LayersModel,
): { layer: tfl.layers.Layer; variable: tf.Variable }[] {
  const out: { layer: tfl.layers.Layer; variable: tf.Variable }[] = []
  for (const layer of model.layers) {
    if (!isPrunable(layer)) continue
    for (const w of layer.trainableWeights) {
      if (/kernel$/.test(w.originalName)) out.push({ layer, variable: w.read() as tf.Variable })
    }
  }
  return out
}

/**
 * Whether a layer is a ReLU (a `ReLU` layer or a ReLU `Activation`).
 * @since 0.1.0
 * @category graph
 */
export function isRelu(layer: tfl.layers.Layer): boolean {
  return (
    layer.getClassName() === 'ReLU' ||
    (layer.getClassName() === 'Activation' &&
      (layer.getConfig() as { activation?: string }).activation === 'relu')
  )
}
