import { NasError } from '@nasjs/core'
import { batches, parseConfig, runGraph, type Dataset } from '@nasjs/models'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { CALIBRATION_METHODS, RangeObserver } from './calibrate.js'
import { fakeQuant } from './fake-quant.js'
import { formatBits, numberFormat } from './formats.js'
import {
  INPUT,
  WEIGHTED,
  activationQuantizer,
  applyWeighted,
  foldedWeights,
  formatPlan,
  inputOf,
  planFolding,
  quantizedForward,
  quantizedTrainer,
  type Range,
} from './quant-graph.js'

/**
 * How {@link quantizeNetwork} quantizes (zod, strict, defaults filled in): int8 weights with one
 * scale per output channel, int8 activations asymmetric per tensor with min-max ranges, every
 * BatchNorm that follows a convolution or dense layer folded into it (TFLite's int8 recipe).
 * @since 0.2.0
 * @category post-training quantization
 */
export const PtqConfig = z
  .object({
    weights: z
      .string()
      .default('int8')
      .describe('format of the weights (int2..int16, fp8_e4m3, fp8_e5m2, fp16, fp32)'),
    weightsPerChannel: z.boolean().default(true),
    activations: z.string().default('int8').describe('format of every activation'),
    activationsSymmetric: z.boolean().default(false),
    calibration: z.enum(CALIBRATION_METHODS as ['minmax', 'percentile', 'mse']).default('minmax'),
    percentile: z.number().gt(50).max(100).default(99.99),
    foldBatchNorm: z.boolean().default(true),
    batchSize: z.number().int().min(1).default(64).describe('calibration images per forward'),
    calibrationImages: z
      .number()
      .int()
      .min(1)
      .default(256)
      .describe('images taken from the front of a calibration dataset (a tensor is used whole)'),
    layers: z
      .array(z.object({ weights: z.string(), activations: z.string() }).strict())
      .optional()
      .describe(
        'a mixed-precision policy: one { weights, activations } per quantizable layer, in networkQuantLayers order',
      ),
  })
  .strict()
/** @since 0.2.0 */
export type PtqConfig = z.input<typeof PtqConfig>

/**
 * What {@link quantizeNetwork} did to one layer.
 * @since 0.2.0
 */
export interface QuantizedLayer {
  readonly name: string
  readonly className: string
  /** The BatchNorm folded into this layer's weights. */
  readonly folded?: string
  /** Set for a layer with quantized weights: its weights' format and the weights' count. */
  readonly weights?: { readonly format: string; readonly count: number }
  /** The calibrated range of the layer's output (absent: not quantized, e.g. a folded BatchNorm). */
  readonly range?: { readonly min: number; readonly max: number }
  /**
   * A quantized layer's input: its calibrated range, and the format it is quantized in with a
   * mixed policy (`layers`; a uniform config quantizes layer outputs instead, so there the range is
   * reported for reference, as `quantizationAwareTraining` and `fliqsSearch` reuse it).
   */
  readonly input?: { readonly format: string; readonly range: { readonly min: number; readonly max: number } }
}

/**
 * A network with quantized weights and quantized activations, simulated in float32.
 * @since 0.2.0
 */
export interface QuantizedNetwork {
  readonly config: z.output<typeof PtqConfig>
  readonly layers: readonly QuantizedLayer[]
  /** The calibrated range of the network's input. */
  readonly inputRange: { readonly min: number; readonly max: number }
  /**
   * Bytes of the weights as deployed: quantized kernels at their format's bits, biases (and the
   * BatchNorms that could not be folded) at 32 bits.
   */
  readonly weightBytes: number
  /** The same model's weights in float32, for comparison. */
  readonly float32Bytes: number
  /** Logits of a batch through the quantized network (run in `tf.tidy` or dispose the result). */
  predict(x: tf.Tensor): tf.Tensor
  /** Frees the quantized weights (the original model is untouched). */
  dispose(): void
}

/**
 * Post-training quantization of a functional `tf.LayersModel` (the networks `@nasjs/models` builds):
 *
 * 1. every BatchNorm whose input is a convolution or dense layer used by nothing else is folded into
 *    it ({@link foldBatchNorm}; BatchNorms after an addition stay in float, as their bytes say);
 * 2. the kernels are fake-quantized in `weights` format (per output channel by default: the last
 *    axis, the channel axis of a depthwise kernel);
 * 3. the network input and every layer's output get a range from the `calibration` images (run in
 *    float through the folded network, BatchNorms in inference mode) by `calibration`;
 * 4. `predict` runs the network with the quantized weights and every activation fake-quantized in
 *    `activations` format with those ranges.
 *
 * With `layers` (a mixed-precision policy: one `{ weights, activations }` per quantizable layer, in
 * `networkQuantLayers`' order, as `quantCosts` takes it), each layer's kernel is quantized
 * in its own weight format, and the activations are quantized where they enter a quantized layer,
 * each in that layer's activation format (what its multiply-accumulates read, the activation
 * precision a BitOps count charges it; HAQ and FLIQS assign formats this way); tensors that enter no
 * weighted layer, such as the logits, stay in float. `weights` and `activations` are then unused.
 *
 * The model itself is not changed. Dense, Conv2D (with dilation) and DepthwiseConv2D layers are
 * quantized; other layers with weights run in float. The calibration images are a tensor (used
 * whole) or a dataset (its first `calibrationImages`).
 * @since 0.2.0
 * @category post-training quantization
 */
export function quantizeNetwork(
  model: tfl.LayersModel,
  calibrationData: tf.Tensor | Dataset,
  config: PtqConfig = {},
): QuantizedNetwork {
  const c = parseConfig(PtqConfig, config, 'post-training quantization option')
  const fromData = !(calibrationData instanceof tf.Tensor)
  const calibration =
    calibrationData instanceof tf.Tensor
      ? calibrationData
      : (() => {
          const n = Math.min(c.calibrationImages, calibrationData.y.length)
          const size = calibrationData.shape.reduce((p, d) => p * d, 1)
          return tf.tensor(calibrationData.x.subarray(0, n * size), [n, ...calibrationData.shape])
        })()
  try {
    return quantizeWith(model, calibration, c)
  } finally {
    if (fromData) calibration.dispose()
  }
}

function quantizeWith(
  model: tfl.LayersModel,
  calibration: tf.Tensor,
  c: z.output<typeof PtqConfig>,
): QuantizedNetwork {
  const plan = formatPlan(model, c)
  const aFormat = numberFormat(c.activations, { symmetric: c.activationsSymmetric })
  if (calibration.shape[0] === 0 || calibration.shape[0] === undefined) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: 'calibration needs at least one image',
      value: calibration.shape,
    })
  }
  // 1. BatchNorms to fold: after a weighted layer whose only consumer they are
  const { foldInto, folded } = planFolding(model, c.foldBatchNorm)
  // 2. the weights: folded, then quantized
  const kernels = new Map<
    string,
    { kernel: tf.Tensor; bias?: tf.Tensor; floatKernel: tf.Tensor; floatBias?: tf.Tensor }
  >()
  const layersOut: QuantizedLayer[] = []
  let weightBits = 0
  let float32Bits = 0
  const keep: tf.Tensor[] = []
  try {
    for (const layer of model.layers) {
      const count = layer.weights.reduce((n, w) => n + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0)
      float32Bits += 32 * count
      if (!WEIGHTED.has(layer.getClassName())) {
        if (!folded.has(layer.name)) weightBits += 32 * count
        continue
      }
      const bn = foldInto.get(layer.name)
      const depthwise = layer.getClassName() === 'DepthwiseConv2D'
      const { kernel, bias } =
        bn === undefined ? foldedWeights(layer) : tf.tidy(() => foldedWeights(layer, bn))
      if (bn !== undefined) keep.push(kernel, ...(bias === undefined ? [] : [bias]))
      const axis = depthwise ? 2 : kernel.rank - 1
      const wf = plan.weights(layer.name)
      const q = fakeQuant(kernel, wf.format, { axis })
      keep.push(q)
      kernels.set(layer.name, {
        kernel: q,
        floatKernel: kernel,
        ...(bias === undefined ? {} : { bias, floatBias: bias }),
      })
      const n = kernel.size
      weightBits += n * formatBits(wf.format) + (bias?.size ?? 0) * 32
      layersOut.push({
        name: layer.name,
        className: layer.getClassName(),
        ...(bn === undefined ? {} : { folded: bn.name }),
        weights: { format: wf.name, count: n },
      })
    }
    // 3. calibration: the folded float network, every output and every quantizable layer's input
    // observed (an MSE range is fitted for the format the activation is quantized in)
    const observers = new Map<string, RangeObserver>()
    const observerFor = (key: string) => {
      let o = observers.get(key)
      if (o === undefined) {
        const f = plan.mixed ? plan.activation(key) : aFormat
        o = new RangeObserver(
          c.calibration,
          f.kind === 'int' ? f : { bits: 8, symmetric: c.activationsSymmetric },
          { percentile: c.percentile },
        )
        observers.set(key, o)
      }
      return o
    }
    const n = calibration.shape[0]
    for (let at = 0; at < n; at += c.batchSize) {
      tf.tidy(() => {
        const x = tf.slice(calibration, [at], [Math.min(c.batchSize, n - at)])
        observerFor(INPUT).observe(x)
        runGraph(model, x, {
          batchNorm: 'moving',
          override: (layer, args) => {
            if (folded.has(layer.name)) return args[0]
            const k = kernels.get(layer.name)
            if (k === undefined) return undefined
            observerFor(inputOf(layer.name)).observe(args[0]!)
            return applyWeighted(layer, args[0]!, k.floatKernel, k.floatBias)
          },
          transform: (layer, out) => {
            if (!folded.has(layer.name) && layer.getClassName() !== 'InputLayer')
              observerFor(layer.name).observe(out)
            return out
          },
        })
      })
    }
    const ranges = new Map([...observers].map(([key, o]) => [key, o.range()]))
    const quantAct = activationQuantizer(plan.mixed ? plan.activation : () => aFormat, ranges)
    const byName = new Map(layersOut.map((l) => [l.name, l]))
    const report: QuantizedLayer[] = model.layers
      .filter((l) => l.getClassName() !== 'InputLayer')
      .map((l) => {
        const r = ranges.get(l.name)
        const inRange = ranges.get(inputOf(l.name))
        const base = byName.get(l.name) ?? { name: l.name, className: l.getClassName() }
        return {
          ...base,
          ...(r === undefined ? {} : { range: r }),
          ...(inRange === undefined
            ? {}
            : { input: { format: plan.activationName(l.name), range: inRange } }),
        }
      })
    const predict = (x: tf.Tensor): tf.Tensor =>
      tf.tidy(() => quantizedForward(model, x, plan, folded, (l) => kernels.get(l.name), quantAct))
    let disposed = false
    const inputRange = ranges.get(INPUT)!
    return {
      config: c,
      layers: report,
      inputRange,
      weightBytes: Math.ceil(weightBits / 8),
      float32Bytes: float32Bits / 8,
      predict: (x) => {
        if (disposed)
          throw new NasError({ code: 'INPUT_INVALID', message: 'this quantized network was disposed' })
        return predict(x)
      },
      dispose: () => {
        disposed = true
        tf.dispose(keep)
      },
    }
  } catch (e) {
    tf.dispose(keep)
    throw e
  }
}

/**
 * How {@link quantizationAwareTraining} fine-tunes (zod, strict, defaults filled in): the formats and
 * calibration of {@link PtqConfig}, then SGD (momentum 0.9, learning rate 0.001, weight decay 0)
 * over `epochs` passes of the training data, or `steps` steps if fewer.
 * @since 0.2.0
 * @category post-training quantization
 */
export const QatConfig = PtqConfig.extend({
  epochs: z.number().int().min(1).default(1),
  steps: z.number().int().min(1).optional().describe('stop after this many steps'),
  lr: z.number().positive().default(0.001),
  momentum: z.number().min(0).max(1).default(0.9),
  trainBatchSize: z.number().int().min(1).default(64),
  seed: z.number().int().default(1).describe('seed of the batch order'),
}).strict()
/** @since 0.2.0 */
export type QatConfig = z.input<typeof QatConfig>

/**
 * A short quantization-aware fine-tuning of a trained network, then its post-training quantization
 * ({@link quantizeNetwork}) with the new weights. The forward pass is the quantized network's: the
 * activation ranges calibrated first and kept fixed, BatchNorms in inference mode with their
 * statistics frozen and folded into the weights before these are fake-quantized (as integer
 * training recipes do once the statistics are frozen, Jacob et al. 2018), every activation
 * fake-quantized; the straight-through gradients reach the kernels and the BatchNorms' scale and
 * shift through the folding. The model's weights change (it is the network being tuned).
 * @since 0.2.0
 * @category post-training quantization
 */
export async function quantizationAwareTraining(
  model: tfl.LayersModel,
  train: Dataset,
  config: QatConfig = {},
  options: {
    readonly signal?: AbortSignal
    readonly onProgress?: (p: {
      readonly step: number
      readonly totalSteps: number
      readonly loss: number
    }) => void
  } = {},
): Promise<{
  readonly network: QuantizedNetwork
  readonly steps: number
  readonly losses: readonly number[]
}> {
  const c = parseConfig(QatConfig, config, 'quantization-aware training option')
  const plan = formatPlan(model, c)
  const ptq = ptqPart(c)
  const trainer = quantizedTrainer(model, calibratedRanges(model, train, ptq), {
    foldBatchNorm: c.foldBatchNorm,
    momentum: c.momentum,
    activations: numberFormat(c.activations, { symmetric: c.activationsSymmetric }),
  })
  const perEpoch = Math.ceil(train.y.length / c.trainBatchSize)
  const totalSteps = Math.min(c.steps ?? Number.POSITIVE_INFINITY, perEpoch * c.epochs)
  const losses: number[] = []
  let step = 0
  try {
    for (let epoch = 0; epoch < c.epochs && step < totalSteps; epoch++) {
      for (const b of batches(train, {
        batchSize: c.trainBatchSize,
        shuffleSeed: c.seed * 1_000_003 + epoch,
      })) {
        if (step >= totalSteps || options.signal?.aborted === true) break
        const loss = trainer.step(b, train, plan, c.lr)
        step++
        losses.push(loss)
        options.onProgress?.({ step, totalSteps, loss })
        if (step % 8 === 0) await new Promise((r) => setTimeout(r, 0))
      }
      if (options.signal?.aborted === true) break
    }
  } finally {
    trainer.dispose()
  }
  return { network: quantizeNetwork(model, train, ptq), steps: step, losses }
}

/** The post-training quantization fields of a config that extends {@link PtqConfig}. @internal */
export function ptqPart(c: z.output<typeof PtqConfig>): PtqConfig {
  return Object.fromEntries(
    Object.keys(PtqConfig.shape).flatMap((k) =>
      c[k as keyof typeof c] === undefined ? [] : [[k, c[k as keyof typeof c]]],
    ),
  )
}

/**
 * The calibrated ranges of a network's activations (every layer output, every quantizable layer's
 * input and the network input), from its post-training quantization as it is. @internal
 */
export function calibratedRanges(model: tfl.LayersModel, data: Dataset, ptq: PtqConfig): Map<string, Range> {
  const first = quantizeNetwork(model, data, ptq)
  const ranges = new Map<string, Range>(
    first.layers.flatMap((l) => [
      ...(l.range === undefined ? [] : [[l.name, l.range] as const]),
      ...(l.input === undefined ? [] : [[inputOf(l.name), l.input.range] as const]),
    ]),
  )
  ranges.set(INPUT, first.inputRange)
  first.dispose()
  return ranges
}
