import { NasError } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { parseConfig } from './config.js'
import type { Dataset } from './data/dataset.js'
import { batches } from './data/dataset.js'

/**
 * A training recipe (zod, strict, every field defaulted): the optimizer, the learning-rate schedule,
 * regularisation and budgets.
 * @since 0.1.0
 * @category training
 */
export const TrainConfig = z
  .object({
    epochs: z.number().int().min(1).default(1).describe('passes over the training data'),
    batchSize: z.number().int().min(1).default(64),
    optimizer: z
      .enum(['sgd', 'adam', 'adamw', 'lion'])
      .default('sgd')
      .describe('sgd (momentum, Nesterov), adam, adamw (decoupled decay), lion (Chen et al. 2023)'),
    lr: z.number().positive().default(0.05).describe('peak learning rate'),
    momentum: z.number().min(0).max(1).default(0.9).describe('SGD momentum'),
    nesterov: z.boolean().default(true).describe('Nesterov momentum for SGD'),
    beta1: z.number().min(0).max(1).optional().describe('first-moment decay (adam/adamw 0.9, lion 0.9)'),
    beta2: z.number().min(0).max(1).optional().describe('second-moment decay (adam/adamw 0.999, lion 0.99)'),
    epsilon: z.number().positive().default(1e-8),
    weightDecay: z
      .number()
      .min(0)
      .default(5e-4)
      .describe('L2 added to the gradient (sgd, adam) or decoupled decay (adamw, lion)'),
    schedule: z.enum(['cosine', 'step', 'constant']).default('cosine'),
    warmupSteps: z.number().int().min(0).default(0).describe('linear warm-up from 0 to lr over these steps'),
    stepEvery: z.number().int().min(1).default(30).describe('step schedule: epochs between decays'),
    stepGamma: z.number().positive().max(1).default(0.1).describe('step schedule: factor per decay'),
    labelSmoothing: z.number().min(0).max(1).default(0),
    clipNorm: z.number().positive().optional().describe('clip the global gradient norm to this'),
    gradientNoise: z
      .object({ eta: z.number().positive().default(0.01), gamma: z.number().min(0).default(0.55) })
      .strict()
      .optional()
      .describe('Gaussian gradient noise of variance eta / (1 + step)^gamma (Neelakantan et al. 2015)'),
    augment: z
      .object({ cropPadding: z.number().int().min(0).default(0), flip: z.boolean().default(false) })
      .strict()
      .optional(),
    horizonEpochs: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        "the schedule's length in epochs (default: epochs); longer, training stops after `epochs` on the way and a resumed run continues on the same schedule",
      ),
    seed: z.number().int().default(0).describe('seed of the batch order and augmentation'),
    maxSteps: z.number().int().min(1).optional().describe('stop after this many steps'),
    maxSeconds: z.number().positive().optional().describe('stop after this much wall time'),
    divergenceLoss: z
      .number()
      .positive()
      .default(1e4)
      .describe('a training loss above this (or not finite) ends the run as failed'),
  })
  .strict()
/** @since 0.1.0 */
export type TrainConfig = z.input<typeof TrainConfig>

/**
 * What {@link train} reports as it goes (once per step).
 * @since 0.1.0
 */
export interface TrainProgress {
  readonly epoch: number
  readonly step: number
  readonly totalSteps: number
  readonly loss: number
  readonly lr: number
  readonly imagesPerSecond: number
}

/**
 * Everything a training run needs to continue exactly where it stopped, at the end of an epoch: the
 * model's weights (BatchNorm statistics included), the optimizer's slots, the step and the seed (the
 * batch order of an epoch depends on the seed and the epoch only). Plain typed arrays: it can be kept
 * in memory, posted to a worker, or written to a file (`saveTrainState` in `@nasjs/models/node`).
 * @since 0.1.0
 */
export interface TrainState {
  /** Epochs done. */
  readonly epochs: number
  readonly step: number
  readonly seed: number
  readonly optimizer: string
  /** Every weight of the model, in `model.weights` order. */
  readonly weights: readonly { readonly shape: readonly number[]; readonly values: Float32Array }[]
  /** The optimizer's slots, one per trainable weight (`v` empty but for adam and adamw). */
  readonly slots: { readonly m: readonly Float32Array[]; readonly v: readonly Float32Array[] }
}

/**
 * How a run ended: `complete` (every epoch), `budget` (maxSteps or maxSeconds), `aborted` (the
 * signal), or `failed` (the loss diverged; `reason` says at which step).
 * @since 0.1.0
 */
export interface TrainResult {
  readonly status: 'complete' | 'budget' | 'aborted' | 'failed'
  readonly reason?: string
  readonly epochs: number
  readonly steps: number
  readonly seconds: number
  readonly imagesPerSecond: number
  /** Mean training loss of the last epoch run. */
  readonly trainLoss: number
  /** The epoch this run started from (0, or a resumed state's epochs). */
  readonly startEpoch: number
}

/**
 * The learning rate at `step` (0-based) of `totalSteps`: linear warm-up, then cosine decay to 0, a
 * step decay every `stepEvery` epochs, or constant.
 * @since 0.1.0
 * @category training
 */
export function learningRate(
  config: z.output<typeof TrainConfig>,
  step: number,
  totalSteps: number,
  stepsPerEpoch: number,
): number {
  const { lr, warmupSteps } = config
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps
  if (config.schedule === 'constant') return lr
  if (config.schedule === 'step')
    return lr * config.stepGamma ** Math.floor(step / stepsPerEpoch / config.stepEvery)
  const t = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps)
  return 0.5 * lr * (1 + Math.cos(Math.PI * t))
}

/**
 * Checks a training config: a `CONFIG_INVALID` NasError names the bad field and the fields.
 * @since 0.1.0
 * @category training
 */
export function parseTrainConfig(config: unknown): z.output<typeof TrainConfig> {
  return parseConfig(TrainConfig, config, 'training config')
}

/**
 * Cross-entropy of logits against integer labels, with label smoothing `eps` (the target puts
 * `1 - eps + eps / K` on the label and `eps / K` elsewhere), averaged over the batch.
 * @since 0.1.0
 * @category training
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, classes: number, eps = 0): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), classes), 'float32')
    const target = eps === 0 ? oneHot : tf.add(tf.mul(oneHot, 1 - eps), eps / classes)
    const logp = tf.logSoftmax(logits)
    return tf.neg(tf.mean(tf.sum(tf.mul(target, logp), -1)))
  })
}

/** Optimizer state: one or two slots per trainable variable. @internal */
export interface Slots {
  readonly m: tf.Variable[]
  readonly v: tf.Variable[]
}

/**
 * One update of `vars` with `grads` (already clipped and noised), in place. SGD is PyTorch's (and TF's
 * `momentum`) rule with dampening 0; Adam is Kingma and Ba's with bias correction; AdamW decays the
 * weights by `lr * weightDecay` apart from the gradient (Loshchilov and Hutter); Lion takes the sign
 * of an interpolation of momentum and gradient (Chen et al. 2023). `t` counts updates from 1.
 * @internal
 */
export function applyUpdate(
  c: z.output<typeof TrainConfig>,
  vars: readonly tf.Variable[],
  grads: readonly tf.Tensor[],
  slots: Slots,
  lr: number,
  t: number,
): void {
  tf.tidy(() => {
    vars.forEach((w, i) => {
      let g = grads[i]!
      const coupled = c.optimizer === 'sgd' || c.optimizer === 'adam'
      if (coupled && c.weightDecay > 0) g = tf.add(g, tf.mul(w, c.weightDecay))
      const m = slots.m[i]!
      if (c.optimizer === 'sgd') {
        const buf = tf.add(tf.mul(m, c.momentum), g)
        m.assign(buf)
        const step = c.nesterov ? tf.add(g, tf.mul(buf, c.momentum)) : buf
        w.assign(tf.sub(w, tf.mul(step, lr)))
      } else if (c.optimizer === 'lion') {
        const b1 = c.beta1 ?? 0.9
        const b2 = c.beta2 ?? 0.99
        const update = tf.sign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)))
        const decayed = c.weightDecay > 0 ? tf.mul(w, 1 - lr * c.weightDecay) : w
        w.assign(tf.sub(decayed, tf.mul(update, lr)))
        m.assign(tf.add(tf.mul(m, b2), tf.mul(g, 1 - b2)))
      } else {
        const b1 = c.beta1 ?? 0.9
        const b2 = c.beta2 ?? 0.999
        const v = slots.v[i]!
        const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1))
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2))
        m.assign(m1)
        v.assign(v1)
        const mHat = tf.div(m1, 1 - b1 ** t)
        const vHat = tf.div(v1, 1 - b2 ** t)
        const step = tf.div(mHat, tf.add(tf.sqrt(vHat), c.epsilon))
        const decayed = c.optimizer === 'adamw' && c.weightDecay > 0 ? tf.mul(w, 1 - lr * c.weightDecay) : w
        w.assign(tf.sub(decayed, tf.mul(step, lr)))
      }
    })
  })
}

/** Gradients clipped to a global norm and noised, as new tensors (the caller disposes them). */
function prepareGrads(
  c: z.output<typeof TrainConfig>,
  grads: readonly tf.Tensor[],
  step: number,
  noiseSeed: number,
): tf.Tensor[] {
  return tf.tidy(() => {
    let out = grads.map((g) => g.clone())
    if (c.clipNorm !== undefined) {
      const norm = tf.sqrt(tf.addN(out.map((g) => tf.sum(tf.square(g))))).dataSync()[0]!
      if (norm > c.clipNorm) out = out.map((g) => tf.mul(g, c.clipNorm! / norm))
    }
    if (c.gradientNoise !== undefined) {
      const std = Math.sqrt(c.gradientNoise.eta / (1 + step) ** c.gradientNoise.gamma)
      out = out.map((g, i) => tf.add(g, tf.randomNormal(g.shape, 0, std, 'float32', noiseSeed + i)))
    }
    return out
  })
}

/** A state fits the model and config it is resumed with, or one CONFIG_INVALID says why not. */
function checkState(
  state: TrainState,
  model: tfl.LayersModel,
  vars: readonly tf.Variable[],
  c: z.output<typeof TrainConfig>,
): void {
  const bad = (why: string, value: unknown, allowed?: unknown) =>
    new NasError({
      code: 'CONFIG_INVALID',
      message: `cannot resume training from this state: ${why}`,
      value,
      ...(allowed === undefined ? {} : { allowed: [allowed] }),
    })
  if (state.seed !== c.seed)
    throw bad(`it was trained with seed ${state.seed}, not ${c.seed}`, c.seed, state.seed)
  if (state.optimizer !== c.optimizer)
    throw bad(`it was trained with ${state.optimizer}, not ${c.optimizer}`, c.optimizer, state.optimizer)
  if (state.epochs > c.epochs)
    throw bad(`it has ${state.epochs} epochs done, more than the ${c.epochs} asked for`, c.epochs)
  const shapes = model.weights.map((w) => w.shape.join('x')).join(',')
  const stored = state.weights.map((w) => w.shape.join('x')).join(',')
  if (shapes !== stored || state.slots.m.length !== vars.length)
    throw bad('its weights are not the shapes of this model (another architecture or width)', stored, shapes)
}

/**
 * Trains `model` (logits out) on `train` with `config`: seeded batches, the optimizer and schedule of
 * the config, BatchNorm in training mode. Stops at the epochs, `maxSteps`, `maxSeconds` or the
 * signal; a loss that is not finite or exceeds `divergenceLoss` ends the run as `failed` with the
 * step. Same seed and backend, same weights. Leaks no tensor (the optimizer state is disposed).
 * `onEpochEnd` receives a {@link TrainState} after every epoch; `resume` continues from one, and the
 * continued run ends with the weights of an uninterrupted one.
 * @since 0.1.0
 * @category training
 */
export async function train(
  model: tfl.LayersModel,
  data: Dataset,
  config: TrainConfig = {},
  opts: {
    readonly signal?: AbortSignal
    readonly onProgress?: (p: TrainProgress) => void
    /** Continue from this state (taken by `onEpochEnd` of an earlier run of the same model and config). */
    readonly resume?: TrainState
    /** Called after every epoch with the state to continue from (a checkpoint). */
    readonly onEpochEnd?: (state: TrainState) => void | Promise<void>
  } = {},
): Promise<TrainResult> {
  const c = parseTrainConfig(config)
  const inShape = model.inputs[0]!.shape.slice(1)
  if (inShape.join(',') !== data.shape.join(',')) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the model takes examples of shape [${inShape.join(', ')}] but '${data.name}' has [${data.shape.join(', ')}]`,
      value: data.shape,
    })
  }
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const resume = opts.resume
  if (resume !== undefined) checkState(resume, model, vars, c)
  // tidy frees the zeros each variable is made from and keeps the variables
  const zeroSlots = () => tf.tidy(() => vars.map((w) => tf.variable(tf.zerosLike(w), false)))
  const fromState = (xs: readonly Float32Array[]) =>
    vars.map((w, i) => tf.tidy(() => tf.variable(tf.tensor(xs[i]!, w.shape), false)))
  const adam = c.optimizer === 'adam' || c.optimizer === 'adamw'
  const slots: Slots = {
    m: resume === undefined ? zeroSlots() : fromState(resume.slots.m),
    v: adam ? (resume === undefined ? zeroSlots() : fromState(resume.slots.v)) : [],
  }
  if (resume !== undefined) {
    const ws = resume.weights.map((w) => tf.tensor(w.values, [...w.shape]))
    model.setWeights(ws)
    tf.dispose(ws)
  }
  const stepsPerEpoch = Math.ceil(data.y.length / c.batchSize)
  const totalSteps = Math.min(stepsPerEpoch * c.epochs, c.maxSteps ?? Infinity)
  // the learning-rate schedule runs over the horizon (default: these epochs)
  const scheduleSteps = Math.max(totalSteps, stepsPerEpoch * (c.horizonEpochs ?? 0))
  const startEpoch = resume?.epochs ?? 0
  const t0 = performance.now()
  let step = resume?.step ?? 0
  let seen = 0
  let epochLoss = 0
  let epochBatches = 0
  let epochsDone = 0
  let status: TrainResult['status'] = 'complete'
  let reason: string | undefined
  try {
    outer: for (let epoch = startEpoch; epoch < c.epochs; epoch++) {
      epochLoss = 0
      epochBatches = 0
      for (const b of batches(data, {
        batchSize: c.batchSize,
        shuffleSeed: c.seed * 1_000_003 + epoch,
        ...(c.augment === undefined ? {} : { augment: c.augment }),
      })) {
        if (opts.signal?.aborted === true) {
          status = 'aborted'
          break outer
        }
        if (
          step >= totalSteps ||
          (c.maxSeconds !== undefined && (performance.now() - t0) / 1000 >= c.maxSeconds)
        ) {
          status = 'budget'
          break outer
        }
        const lr = learningRate(c, step, scheduleSteps, stepsPerEpoch)
        const x = tf.tensor(b.xs, [b.n, ...data.shape])
        const y = tf.tensor1d(b.ys, 'int32')
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.apply(x, { training: true }) as tf.Tensor2D
          return crossEntropy(logits, y, data.classes, c.labelSmoothing)
        }, vars)
        const loss = value.dataSync()[0]!
        value.dispose()
        tf.dispose([x, y])
        // a weight the loss does not depend on (a cell node no operation carries on) has no
        // gradient: like PyTorch's optimizers, leave it alone (no update, no decay)
        const live = vars.flatMap((v, i) => (grads[v.name] === undefined ? [] : [i]))
        const ordered = live.map((i) => grads[vars[i]!.name]!)
        if (!Number.isFinite(loss) || loss > c.divergenceLoss) {
          tf.dispose(ordered)
          status = 'failed'
          reason = `the training loss diverged at step ${step} (epoch ${epoch}): ${loss}`
          break outer
        }
        const ready = prepareGrads(c, ordered, step, c.seed * 7919 + step * 131)
        tf.dispose(ordered)
        const pick = <T>(xs: readonly T[]) => (xs.length === 0 ? [] : live.map((i) => xs[i]!))
        applyUpdate(c, pick(vars), ready, { m: pick(slots.m), v: pick(slots.v) }, lr, step + 1)
        tf.dispose(ready)
        step++
        seen += b.n
        epochLoss += loss
        epochBatches++
        opts.onProgress?.({
          epoch,
          step,
          totalSteps,
          loss,
          lr,
          imagesPerSecond: seen / ((performance.now() - t0) / 1000),
        })
        if (step % 8 === 0) await new Promise((r) => setTimeout(r, 0)) // let signals and timers run
      }
      epochsDone = epoch + 1
      if (opts.onEpochEnd !== undefined) {
        const read = (ts: readonly tf.Tensor[]) => ts.map((t) => new Float32Array(t.dataSync()))
        await opts.onEpochEnd({
          epochs: epochsDone,
          step,
          seed: c.seed,
          optimizer: c.optimizer,
          weights: model.weights.map((w) => {
            const t = w.read()
            return { shape: [...t.shape], values: new Float32Array(t.dataSync()) }
          }),
          slots: { m: read(slots.m), v: read(slots.v) },
        })
      }
    }
  } finally {
    tf.dispose([...slots.m, ...slots.v])
  }
  const seconds = (performance.now() - t0) / 1000
  return {
    status,
    ...(reason === undefined ? {} : { reason }),
    epochs: Math.max(epochsDone, startEpoch),
    startEpoch,
    steps: step,
    seconds,
    imagesPerSecond: seen / Math.max(seconds, 1e-9),
    trainLoss: epochBatches === 0 ? NaN : epochLoss / epochBatches,
  }
}

/**
 * Loss and accuracy of `model` on `data` (BatchNorm in inference mode), in batches; leaks no tensor.
 * @since 0.1.0
 * @category training
 */
export function evaluate(
  model: tfl.LayersModel,
  data: Dataset,
  batchSize = 256,
): { loss: number; acc: number } {
  return evaluateLogits(data, (x) => model.predict(x) as tf.Tensor2D, batchSize)
}

/**
 * Loss and accuracy on `data` of any function from a batch of examples to logits (a network run
 * some other way than `model.predict`, such as a supernet's subnet), in batches; leaks no tensor.
 * @since 0.1.0
 * @category training
 */
export function evaluateLogits(
  data: Dataset,
  logitsOf: (x: tf.Tensor) => tf.Tensor2D,
  batchSize = 256,
): { loss: number; acc: number } {
  let loss = 0
  let correct = 0
  for (const b of batches(data, { batchSize })) {
    const [l, k] = tf.tidy(() => {
      const logits = logitsOf(tf.tensor(b.xs, [b.n, ...data.shape]))
      const y = tf.tensor1d(b.ys, 'int32')
      const ce = crossEntropy(logits, y, data.classes).dataSync()[0]!
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), y), 'float32')).dataSync()[0]!
      return [ce, hits]
    })
    loss += l * b.n
    correct += k
  }
  const n = data.y.length
  return { loss: loss / n, acc: correct / n }
}
