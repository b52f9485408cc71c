import { NasError, Rng } from '@nasjs/core'
import { batches, parseConfig, type Dataset } from '@nasjs/models'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { networkQuantLayers, quantCosts } from './cost.js'
import { formatBits, numberFormat } from './formats.js'
import { PtqConfig, calibratedRanges, ptqPart, quantizeNetwork, type QuantizedNetwork } from './ptq.js'
import { formatPlan, quantizedTrainer } from './quant-graph.js'

/**
 * How {@link fliqsSearch} searches (zod, strict, defaults filled in): the calibration of
 * {@link PtqConfig}; the formats every quantizable layer chooses among (its weights and the
 * activations it reads take the same one); the cost (`bytes` or `bitops`) and its target as a
 * fraction of the network's cost with every layer in the widest format; TuNAS's absolute reward
 * `quality + beta x |cost / target - 1|`; the steps, the share of them that only trains the weights
 * (warm-up: formats drawn uniformly), the weights' SGD, the controller's Adam, its reward baseline
 * and its entropy regularisation, decayed along a cosine to 0 (FLIQS).
 * @since 0.2.0
 * @category search
 */
export const FliqsConfig = PtqConfig.omit({ weights: true, activations: true, layers: true })
  .extend({
    formats: z
      .array(z.string())
      .min(2)
      .default(['int4', 'int8'])
      .describe('the formats each layer chooses among (int2..int16, fp8_e4m3, fp8_e5m2, fp16, fp32)'),
    cost: z.enum(['bytes', 'bitops']).default('bytes'),
    target: z
      .number()
      .gt(0)
      .max(1)
      .default(0.75)
      .describe("the cost target, a fraction of the network's cost with every layer in the widest format"),
    beta: z.number().max(0).default(-0.5).describe('the cost coefficient of the absolute reward (<= 0)'),
    steps: z.number().int().min(1).default(300),
    warmup: z.number().min(0).lt(1).default(0.25).describe('share of the steps before the controller learns'),
    lr: z.number().positive().default(0.001).describe("the weights' SGD learning rate"),
    momentum: z.number().min(0).max(1).default(0.9),
    controllerLr: z.number().positive().default(0.05).describe("the controller's Adam learning rate"),
    baselineMomentum: z.number().min(0).lt(1).default(0.95),
    entropy: z
      .number()
      .min(0)
      .default(0.05)
      .describe('the entropy bonus at the first controller step, decayed along a cosine to 0'),
    trainBatchSize: z.number().int().min(1).default(64),
    validBatchSize: z.number().int().min(1).default(128),
    seed: z.number().int().default(1),
  })
  .strict()
/** @since 0.2.0 */
export type FliqsConfig = z.input<typeof FliqsConfig>

/**
 * One step of {@link fliqsSearch}.
 * @since 0.2.0
 */
export interface FliqsStep {
  readonly step: number
  /** The training loss of the step's weight update. */
  readonly loss: number
  /** After the warm-up: the controller's sample, its accuracy on the held-out batch, its cost, its reward. */
  readonly quality?: number
  readonly cost?: number
  readonly reward?: number
  /** The mean entropy of the layers' distributions (nats). */
  readonly entropy: number
}

/**
 * The result of {@link fliqsSearch}.
 * @since 0.2.0
 */
export interface FliqsResult {
  /** The most likely format of each quantizable layer (`networkQuantLayers` order), weights and input. */
  readonly policy: readonly { readonly weights: string; readonly activations: string }[]
  /** Each layer's probabilities over `formats` at the end. */
  readonly probabilities: readonly (readonly number[])[]
  readonly formats: readonly string[]
  /** The policy's cost and the target, in the searched cost. */
  readonly cost: number
  readonly target: number
  /** The network with the tuned weights, quantized with the policy (dispose it). */
  readonly network: QuantizedNetwork
  readonly history: readonly FliqsStep[]
}

/** Endless batches of a dataset, a new order every pass. */
function* forever(data: Dataset, batchSize: number, seed: number) {
  for (let epoch = 0; ; epoch++) yield* batches(data, { batchSize, shuffleSeed: seed * 1_000_003 + epoch })
}

/**
 * FLIQS-style one-shot mixed-precision search (Dotzel et al., "FLIQS: One-Shot Mixed-Precision
 * Floating-Point and Integer Quantization Search"): one network's weights and a controller over each
 * quantizable layer's format are trained together, so that the chosen policy needs no retraining.
 *
 * The controller holds one categorical distribution per layer over `formats` (independent
 * logits, starting uniform). Every step:
 * 1. a policy drawn from it (uniformly during the warm-up) trains the shared weights on a training
 *    batch (quantization-aware: the network quantized with that policy, straight-through gradients);
 * 2. after the warm-up, another draw is scored on a held-out batch: its accuracy `Q`, its cost `C`
 *    (`quantCosts`), the absolute reward `R = Q + beta |C / T - 1|` of TuNAS, which FLIQS uses;
 *    REINFORCE with a moving-average baseline updates the logits (Adam), with an entropy bonus whose
 *    weight decays along a cosine to 0 (FLIQS's cosine entropy regularisation: explore first, then
 *    settle).
 *
 * At the end each layer takes its most likely format, and the network with the tuned weights is
 * quantized with that policy (`quantizeNetwork`). Activation ranges are calibrated once, at the
 * start, on the training images, for int8 (with `calibration: 'mse'` a narrower format's range is
 * fitted again only for the final network). Constants that FLIQS tunes per model (beta, learning rates, the
 * entropy weight, the warm-up) are options with defaults of ours. The model's weights change.
 * Same seed, same result.
 * @since 0.2.0
 * @category search
 */
export async function fliqsSearch(
  model: tfl.LayersModel,
  data: { readonly train: Dataset; readonly valid: Dataset },
  config: FliqsConfig = {},
  options: { readonly signal?: AbortSignal; readonly onStep?: (s: FliqsStep) => void } = {},
): Promise<FliqsResult> {
  const c = parseConfig(FliqsConfig, config, 'FLIQS option')
  const formats = c.formats.map((f) => ({ name: f, format: numberFormat(f) }))
  if (new Set(c.formats).size !== c.formats.length) {
    throw new NasError({ code: 'CONFIG_INVALID', message: 'a format is listed twice', value: c.formats })
  }
  for (const [name, d] of Object.entries(data)) {
    if (d.y.length === 0) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `the ${name} split is empty; the search needs ${name} images`,
        value: d.y.length,
        allowed: ['>= 1'],
      })
    }
  }
  const layers = networkQuantLayers(model)
  const L = layers.length
  const F = formats.length
  if (L === 0) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: 'the network has no quantizable layer (Conv2D, DepthwiseConv2D, Dense)',
    })
  }
  const policyOf = (choice: readonly number[]) =>
    choice.map((k) => ({ weights: formats[k]!.name, activations: formats[k]!.name }))
  const costOf = (choice: readonly number[]) => {
    const q = quantCosts(layers, policyOf(choice))
    return c.cost === 'bytes' ? q.bytes : q.bitOps
  }
  const widest = formats.reduce(
    (w, f, i) => (formatBits(f.format) > formatBits(formats[w]!.format) ? i : w),
    0,
  )
  const target = c.target * costOf(Array.from({ length: L }, () => widest))
  const ptq: PtqConfig = { ...ptqPart({ ...c, weights: 'int8', activations: 'int8' }) }
  const base = { ...c, weights: 'int8', activations: 'int8' }
  const trainer = quantizedTrainer(model, calibratedRanges(model, data.train, ptq), {
    foldBatchNorm: c.foldBatchNorm,
    momentum: c.momentum,
    activations: numberFormat('int8'),
  })
  const planOf = (choice: readonly number[]) => formatPlan(model, { ...base, layers: policyOf(choice) })
  const logits = tf.tidy(() => tf.variable(tf.zeros([L, F]), true))
  const adam = tf.train.adam(c.controllerLr)
  const rng = new Rng(c.seed)
  const draw = (probs: Float32Array | undefined) =>
    Array.from({ length: L }, (_, l) => {
      if (probs === undefined) return rng.int(F)
      let u = rng.uniform()
      for (let k = 0; k < F; k++) {
        u -= probs[l * F + k]!
        if (u < 0) return k
      }
      return F - 1
    })
  const probsNow = () => tf.tidy(() => tf.softmax(logits).dataSync() as Float32Array)
  const entropyOf = (p: Float32Array) => {
    let h = 0
    for (const v of p) if (v > 0) h -= v * Math.log(v)
    return h / L
  }
  const warm = Math.floor(c.warmup * c.steps)
  const trainBatches = forever(data.train, c.trainBatchSize, c.seed)
  const validBatches = forever(data.valid, c.validBatchSize, c.seed + 1)
  const history: FliqsStep[] = []
  let baseline: number | undefined
  try {
    for (let step = 1; step <= c.steps; step++) {
      if (options.signal?.aborted === true) break
      const searching = step > warm
      const probs = probsNow()
      const loss = trainer.step(
        trainBatches.next().value!,
        data.train,
        planOf(draw(searching ? probs : undefined)),
        c.lr,
      )
      let record: FliqsStep = { step, loss, entropy: entropyOf(probs) }
      if (searching) {
        const choice = draw(probs)
        const b = validBatches.next().value!
        const quality = tf.tidy(() => {
          const x = tf.tensor(b.xs, [b.n, ...data.valid.shape])
          const pred = tf.argMax(trainer.forward(x, planOf(choice)), -1).dataSync()
          let right = 0
          for (let i = 0; i < b.n; i++) if (pred[i] === b.ys[i]) right++
          return right / b.n
        })
        const cost = costOf(choice)
        const reward = quality + c.beta * Math.abs(cost / target - 1)
        baseline ??= reward
        const advantage = reward - baseline
        baseline = c.baselineMomentum * baseline + (1 - c.baselineMomentum) * reward
        const progress = (step - warm - 1) / Math.max(1, c.steps - warm - 1)
        const entropyWeight = (c.entropy * (1 + Math.cos(Math.PI * Math.min(1, progress)))) / 2
        const picked = tf.tidy(() => tf.oneHot(tf.tensor1d(choice, 'int32'), F))
        try {
          adam.minimize(
            () =>
              tf.tidy((): tf.Scalar => {
                const logp = tf.logSoftmax(logits)
                const chosen = tf.sum(tf.mul(logp, picked))
                const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp)))
                return tf.sub(tf.mul(chosen, -advantage), tf.mul(entropy, entropyWeight / L))
              }),
            false,
            [logits],
          )
        } finally {
          picked.dispose()
        }
        record = { ...record, quality, cost, reward }
      }
      history.push(record)
      options.onStep?.(record)
      if (step % 8 === 0) await new Promise((r) => setTimeout(r, 0))
    }
    const probs = probsNow()
    const best = Array.from({ length: L }, (_, l) => {
      let k = 0
      for (let j = 1; j < F; j++) if (probs[l * F + j]! > probs[l * F + k]!) k = j
      return k
    })
    const policy = policyOf(best)
    return {
      policy,
      probabilities: Array.from({ length: L }, (_, l) => Array.from(probs.subarray(l * F, (l + 1) * F))),
      formats: c.formats,
      cost: costOf(best),
      target,
      network: quantizeNetwork(model, data.train, { ...ptq, layers: policy }),
      history,
    }
  } finally {
    trainer.dispose()
    logits.dispose()
    adam.dispose()
  }
}
