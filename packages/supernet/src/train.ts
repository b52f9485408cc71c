import { NasError } from '@nasjs/core'
import type { Batch, Dataset } from '@nasjs/models'
import { applyUpdate, batches, crossEntropy, parseConfig, parseTrainConfig } from '@nasjs/models'
import type { OfaArch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { z } from 'zod'
import type { ElasticSupernet, NamedArray } from './base.js'
import type { SupernetShape } from './config.js'
import { ElasticMbv3 } from './elastic.js'
import type { FbnetSupernetShape } from './fbnet.js'
import { ElasticFbnet, isFbnetSupernet } from './fbnet.js'
import type { Choices, ComplexityState } from './sampling.js'
import { ComplexitySampler, extremeSubnet, sampleSubnet, stepRng } from './sampling.js'
import { checkData, imagesAt } from './subnet.js'

/**
 * How a supernet is trained (zod, strict, every field defaulted).
 *
 * `progressive` is Once-for-All's progressive shrinking: the full network first, then elastic
 * kernel, then elastic depth and elastic expansion in two stages each, every phase after the first
 * distilled from the full network (the teacher) with its own cosine schedule and optimizer; the
 * phases share the epochs in OFA's proportions (180, 120, 25, 120, 25, 120 epochs) and their
 * learning rates are OFA's relative to the full network's `lr` (0.6, 0.05, 0.15, 0.05, 0.15 of it:
 * OFA's 3e-2, 2.5e-3, 7.5e-3 at `lr` 0.05). `bignas` is BigNAS's sandwich rule: each step trains the
 * largest subnet on the labels, then the smallest and `sandwichRandom` random subnets on the
 * largest's predictions (inplace distillation), one update for the sum.
 * @since 0.1.0
 * @category training
 */
export const SupernetTrainConfig = z
  .object({
    schedule: z.enum(['progressive', 'bignas']).default('progressive'),
    epochs: z
      .number()
      .positive()
      .default(10)
      .describe(
        'passes over the training data in all, shared by the phases (progressive) or sandwich steps (bignas)',
      ),
    shares: z
      .record(z.string(), z.number().positive())
      .optional()
      .describe(
        "progressive: the phases' shares of the epochs by name (full, kernel, depth-1, depth-2, expand-1, expand-2); OFA's 180, 120, 25, 120, 25, 120 where not given",
      ),
    batchSize: z.number().int().min(1).default(64),
    lr: z
      .number()
      .positive()
      .default(0.05)
      .describe("peak learning rate (progressive: the full network's phase)"),
    momentum: z.number().min(0).max(1).default(0.9),
    nesterov: z.boolean().default(true),
    weightDecay: z
      .number()
      .min(0)
      .default(3e-5)
      .describe('L2 on the weights, not on BatchNorm or biases (OFA: 3e-5)'),
    labelSmoothing: z.number().min(0).lt(1).default(0.1),
    kdRatio: z
      .number()
      .min(0)
      .default(1)
      .describe('progressive: weight of the distillation loss from the full network (OFA: 1)'),
    subnetsPerStep: z
      .object({
        kernel: z.number().int().min(1).default(1),
        depth: z.number().int().min(1).default(2),
        expand: z.number().int().min(1).default(4),
      })
      .strict()
      .default({ kernel: 1, depth: 2, expand: 4 })
      .describe("progressive: subnets whose gradients each step sums, per phase (OFA's dynamic batch sizes)"),
    sandwichRandom: z
      .number()
      .int()
      .min(0)
      .default(2)
      .describe('bignas: random subnets per step besides the largest and the smallest'),
    minLrRatio: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'the learning rate decays to this share of the peak (bignas 0.05: a constant ending; progressive 0)',
      ),
    warmup: z
      .number()
      .min(0)
      .lt(1)
      .default(0.04)
      .describe('share of a long phase spent warming the learning rate up (OFA: 5 of 125 epochs)'),
    sampling: z
      .enum(['uniform', 'complexity'])
      .default('uniform')
      .describe('uniform subnets, or complexity-aware (ShiftNAS-style FLOPs bins)'),
    complexity: z
      .object({
        bins: z.number().int().min(2).default(8),
        minFlops: z.number().positive().optional(),
        maxFlops: z.number().positive().optional(),
      })
      .strict()
      .default({ bins: 8 })
      .describe('complexity-aware sampling: FLOPs bins, and the range the search needs (default: all)'),
    checkpointEvery: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('steps between checkpoints (default: one epoch)'),
    seed: z.number().int().default(0),
  })
  .strict()
/** @since 0.1.0 */
export type SupernetTrainConfig = z.input<typeof SupernetTrainConfig>
type TrainShape = z.output<typeof SupernetTrainConfig>

/**
 * One phase of a schedule: its share of the steps, learning rate, choices and subnets per step.
 * @since 0.1.0
 */
export interface SupernetPhase {
  readonly name: string
  readonly steps: number
  readonly lr: number
  readonly warmupSteps: number
  readonly choices: Choices
  /** Subnets per step (BigNAS: the random ones besides the largest and smallest). */
  readonly subnets: number
  /** Distil from the teacher (progressive after the first phase). */
  readonly distil: boolean
  /** Sort the middle channels by importance before the phase (its `sortChannels` stage). */
  readonly sortChannels?: number
}

/**
 * Progress of {@link trainSupernet}, once per step.
 * @since 0.1.0
 */
export interface SupernetProgress {
  readonly phase: string
  readonly phaseIndex: number
  readonly phases: number
  readonly step: number
  readonly totalSteps: number
  /** Passes over the data so far. */
  readonly epoch: number
  readonly loss: number
  readonly lr: number
  readonly imagesPerSecond: number
  readonly etaSeconds: number
}

/**
 * Everything training needs to continue exactly where it stopped: a checkpoint.
 * @since 0.1.0
 */
export interface SupernetTrainState {
  readonly format: 'nasjs-supernet-train'
  readonly version: 1
  readonly supernet: SupernetShape | FbnetSupernetShape
  readonly train: TrainShape
  readonly step: number
  readonly seconds: number
  readonly weights: readonly NamedArray[]
  /** The full network progressive shrinking distils from (after its first phase). */
  readonly teacher?: readonly NamedArray[]
  /** SGD momentum, one per trainable weight, in `trainable` order. */
  readonly momentum: readonly Float32Array[]
  readonly sampler?: ComplexityState
}

/**
 * How training ended.
 * @since 0.1.0
 */
export interface SupernetTrainResult {
  readonly status: 'complete' | 'aborted' | 'budget' | 'failed'
  /** Why it failed (the loss diverged at a step). */
  readonly reason?: string
  readonly steps: number
  readonly totalSteps: number
  readonly seconds: number
  readonly imagesPerSecond: number
  /** Mean loss of the last 50 steps. */
  readonly loss: number
}

/**
 * Checks a supernet training config: one `CONFIG_INVALID` NasError names the bad field.
 * @since 0.1.0
 * @category training
 */
export function parseSupernetTrainConfig(config: unknown): TrainShape {
  return parseConfig(SupernetTrainConfig, config, 'supernet training config')
}

/**
 * The phases of a schedule for a supernet and data of `examples` training images: their steps,
 * learning rates and choices (see {@link SupernetTrainConfig}). A dimension with one choice has no
 * phase.
 * @since 0.1.0
 * @category training
 */
export function supernetPhases(
  supernet: SupernetShape | FbnetSupernetShape,
  config: SupernetTrainConfig,
  examples: number,
): SupernetPhase[] {
  const t = trainConfigFor(supernet, config)
  if (isFbnetSupernet(supernet)) {
    checkFbnetTraining(t)
    return fbnetPhases(t, examples, supernet.resolution)
  }
  const stepsPerEpoch = Math.ceil(examples / t.batchSize)
  const total = Math.max(1, Math.round(t.epochs * stepsPerEpoch))
  const c = supernet
  const max = (xs: readonly number[]) => [Math.max(...xs)]
  if (t.schedule === 'bignas') {
    return [
      {
        name: 'sandwich',
        steps: total,
        lr: t.lr,
        warmupSteps: Math.round(t.warmup * total),
        choices: { kernels: c.kernels, expands: c.expands, depths: c.depths, resolutions: c.resolutions },
        subnets: t.sandwichRandom,
        distil: false,
      },
    ]
  }
  type Draft = Omit<SupernetPhase, 'steps' | 'warmupSteps'> & { share: number; long: boolean }
  const drafts: Draft[] = [
    {
      name: 'full',
      share: 180,
      long: true,
      lr: t.lr,
      choices: {
        kernels: max(c.kernels),
        expands: max(c.expands),
        depths: max(c.depths),
        resolutions: c.resolutions,
      },
      subnets: 1,
      distil: false,
    },
  ]
  if (c.kernels.length > 1) {
    drafts.push({
      name: 'kernel',
      share: 120,
      long: true,
      lr: 0.6 * t.lr,
      choices: {
        kernels: c.kernels,
        expands: max(c.expands),
        depths: max(c.depths),
        resolutions: c.resolutions,
      },
      subnets: t.subnetsPerStep.kernel,
      distil: true,
    })
  }
  const depthsDesc = [...c.depths].sort((a, b) => b - a)
  for (let j = 1; j < depthsDesc.length; j++) {
    const last = j === depthsDesc.length - 1
    drafts.push({
      name: `depth-${j}`,
      share: last ? 120 : 25,
      long: last,
      lr: (last ? 0.15 : 0.05) * t.lr,
      choices: {
        kernels: c.kernels,
        expands: max(c.expands),
        depths: depthsDesc.slice(0, j + 1).reverse(),
        resolutions: c.resolutions,
      },
      subnets: t.subnetsPerStep.depth,
      distil: true,
    })
  }
  const expandsDesc = [...c.expands].sort((a, b) => b - a)
  for (let j = 1; j < expandsDesc.length; j++) {
    const last = j === expandsDesc.length - 1
    drafts.push({
      name: `expand-${j}`,
      share: last ? 120 : 25,
      long: last,
      lr: (last ? 0.15 : 0.05) * t.lr,
      choices: {
        kernels: c.kernels,
        expands: expandsDesc.slice(0, j + 1).reverse(),
        depths: c.depths,
        resolutions: c.resolutions,
      },
      subnets: t.subnetsPerStep.expand,
      distil: true,
      sortChannels: j - 1,
    })
  }
  for (const name of Object.keys(t.shares ?? {})) {
    if (!drafts.some((d) => d.name === name)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `supernet training config 'shares': this supernet's progressive shrinking has no phase '${name}'`,
        value: name,
        allowed: drafts.map((d) => d.name),
      })
    }
  }
  const shareOf = (d: Draft) => t.shares?.[d.name] ?? d.share
  const shares = drafts.reduce((s, d) => s + shareOf(d), 0)
  return drafts.map((draft) => {
    const { share: _share, long, ...d } = draft
    const steps = Math.max(1, Math.round((total * shareOf(draft)) / shares))
    return { ...d, steps, warmupSteps: long ? Math.round(t.warmup * steps) : 0 }
  })
}

/** Cross-entropy against soft targets (OFA's `cross_entropy_loss_with_soft_target`), batch mean. */
function softCrossEntropy(logits: tf.Tensor2D, soft: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(soft, tf.logSoftmax(logits)), -1))))
}

/** Weights without weight decay: BatchNorm scales and shifts, biases (OFA's `no_decay_keys` bn#bias). */
/** Whether weight decay skips the supernet weight `name` (BatchNorm and biases). @internal */
export const noDecay = (name: string): boolean => /\/(gamma|beta)$|bias$/.test(name)

const BUDGET_KEYS = ['checkpointEvery'] as const

/**
 * Options of {@link trainSupernet}.
 * @since 0.1.0
 */
export interface TrainSupernetOptions {
  readonly signal?: AbortSignal
  readonly onProgress?: (p: SupernetProgress) => void
  /** Receives a checkpoint every `checkpointEvery` steps, at each phase's end, at the end and when stopped. */
  readonly onCheckpoint?: (state: SupernetTrainState) => void | Promise<void>
  /** Continue from a checkpoint of the same supernet and training config. */
  readonly resume?: SupernetTrainState
  /** Stop (status `budget`, a checkpoint written) after this many steps in all. */
  readonly maxSteps?: number
  /** Stop (status `budget`, a checkpoint written) after this much wall time in this call. */
  readonly maxSeconds?: number
}

/**
 * Trains supernet `net` on `data` with `config`'s schedule (see {@link SupernetTrainConfig}).
 * Every step is reproducible from the seed and the step alone (the batch order of an epoch, the
 * resolution, the subnets and the dropout masks), so a run resumed from a checkpoint ends with the
 * weights of one run straight through. Leaks no tensor.
 * @since 0.1.0
 * @category training
 */
export async function trainSupernet(
  net: ElasticMbv3 | ElasticFbnet,
  data: Dataset,
  config: SupernetTrainConfig = {},
  options: TrainSupernetOptions = {},
): Promise<SupernetTrainResult> {
  checkData(net, data)
  const t = trainConfigFor(net.config, config)
  const ofa = net instanceof ElasticMbv3 ? net : undefined
  const fb = net instanceof ElasticFbnet ? net : undefined
  const phases = supernetPhases(net.config, t, data.y.length)
  const any = net as unknown as ElasticSupernet<unknown>
  const totalSteps = phases.reduce((s, p) => s + p.steps, 0)
  const stepsPerEpoch = Math.ceil(data.y.length / t.batchSize)
  const checkpointEvery = t.checkpointEvery ?? stepsPerEpoch
  const vars = net.trainable
  const names = [...net.params.keys()]
  const decay = names.map((n) => !noDecay(n))
  const sgd = parseTrainConfig({
    optimizer: 'sgd',
    momentum: t.momentum,
    nesterov: t.nesterov,
    weightDecay: t.weightDecay,
  })
  const sgdNoDecay = { ...sgd, weightDecay: 0 }
  const resume = options.resume
  if (resume !== undefined) checkResume(resume, net, t)
  let step = resume?.step ?? 0
  let teacher: ElasticMbv3 | undefined
  if (resume?.teacher !== undefined && ofa !== undefined) {
    teacher = new ElasticMbv3(ofa.config)
    teacher.load(resume.teacher)
  }
  if (resume !== undefined) net.load(resume.weights)
  const momentum = vars.map((v, i) =>
    tf.tidy(() =>
      tf.variable(resume === undefined ? tf.zerosLike(v) : tf.tensor(resume.momentum[i]!, v.shape), false),
    ),
  )
  const sampler =
    t.sampling === 'complexity'
      ? new ComplexitySampler(t.complexity.bins, (a) => ofa!.cost(a).flops, resume?.sampler)
      : undefined
  const phaseStart = (i: number) => phases.slice(0, i).reduce((s, p) => s + p.steps, 0)
  const phaseAt = (g: number) => {
    let i = 0
    while (i < phases.length - 1 && g >= phaseStart(i + 1)) i++
    return i
  }
  const t0 = performance.now()
  const secondsBefore = resume?.seconds ?? 0
  let images = 0
  const recent: number[] = []
  const checkpoint = async () => {
    if (options.onCheckpoint === undefined) return
    await options.onCheckpoint({
      format: 'nasjs-supernet-train',
      version: 1,
      supernet: net.config,
      train: t,
      step,
      seconds: secondsBefore + (performance.now() - t0) / 1000,
      weights: net.state(),
      ...(teacher === undefined ? {} : { teacher: teacher.state() }),
      momentum: momentum.map((m) => new Float32Array(m.dataSync())),
      ...(sampler === undefined ? {} : { sampler: sampler.snapshot() }),
    })
  }
  let status: SupernetTrainResult['status'] = 'complete'
  let reason: string | undefined
  let lastCheckpoint = step
  try {
    let epoch = -1
    let it: Generator<Batch> | undefined
    while (step < totalSteps) {
      if (options.signal?.aborted === true) {
        status = 'aborted'
        break
      }
      if (
        (options.maxSteps !== undefined && step >= options.maxSteps) ||
        (options.maxSeconds !== undefined && (performance.now() - t0) / 1000 >= options.maxSeconds)
      ) {
        status = 'budget'
        break
      }
      const pi = phaseAt(step)
      const phase = phases[pi]!
      const local = step - phaseStart(pi)
      if (local === 0) {
        // a phase starts: a fresh optimizer (OFA runs each phase as its own training), the teacher
        // frozen after the full network's phase, the channels sorted before an expand phase
        tf.tidy(() => momentum.forEach((m) => m.assign(tf.zerosLike(m))))
        if (phase.distil && teacher === undefined && ofa !== undefined) {
          teacher = new ElasticMbv3(ofa.config)
          teacher.load(ofa.state())
        }
        if (phase.sortChannels !== undefined) ofa?.sortChannels(phase.sortChannels)
      }
      // the batch: epoch e's order depends on the seed and e only
      const e = Math.floor(step / stepsPerEpoch)
      if (e !== epoch || it === undefined) {
        epoch = e
        it = batches(data, { batchSize: t.batchSize, shuffleSeed: t.seed * 1_000_003 + e })
        for (let k = 0; k < step % stepsPerEpoch; k++) it.next()
      }
      const next = it.next()
      if (next.done === true) throw new Error(`batch ${step % stepsPerEpoch} of epoch ${e} is missing`)
      const batch = next.value
      const lr = phaseLr(phase, local, t)
      const rng = stepRng(t.seed, step)
      const loss = t.schedule === 'bignas' ? sandwichStep(batch) : progressiveStep(batch, phase, rng)
      if (!Number.isFinite(loss.value)) {
        // nothing is applied: the last checkpoint holds the weights before the loss diverged
        tf.dispose(loss.grads.filter((g): g is tf.Tensor => g !== undefined))
        net.discardRunningStats()
        status = 'failed'
        reason = `the training loss is ${loss.value} at step ${step} (phase ${phase.name}); try a lower learning rate than ${t.lr}`
        lastCheckpoint = step
        break
      }
      tf.tidy(() => {
        const grads = loss.grads
        const pick = (useDecay: boolean) => {
          const idx = grads.flatMap((g, i) => (g !== undefined && decay[i] === useDecay ? [i] : []))
          return {
            idx,
            vars: idx.map((i) => vars[i]!),
            grads: idx.map((i) => grads[i]!),
            m: idx.map((i) => momentum[i]!),
          }
        }
        for (const [useDecay, cfg] of [
          [true, sgd],
          [false, sgdNoDecay],
        ] as const) {
          const p = pick(useDecay)
          if (p.idx.length > 0) applyUpdate(cfg, p.vars, p.grads, { m: p.m, v: [] }, lr, step + 1)
        }
      })
      tf.dispose(loss.grads.filter((g): g is tf.Tensor => g !== undefined))
      step++
      images += batch.n * loss.passes
      recent.push(loss.value)
      if (recent.length > 50) recent.shift()
      const seconds = (performance.now() - t0) / 1000
      options.onProgress?.({
        phase: phase.name,
        phaseIndex: pi,
        phases: phases.length,
        step,
        totalSteps,
        epoch: step / stepsPerEpoch,
        loss: loss.value,
        lr,
        imagesPerSecond: images / seconds,
        etaSeconds: ((totalSteps - step) * seconds) / Math.max(1, step - (resume?.step ?? 0)),
      })
      const phaseEnds = step === phaseStart(pi) + phase.steps
      if (step % checkpointEvery === 0 || phaseEnds || step === totalSteps) {
        await checkpoint()
        lastCheckpoint = step
      }
      if (step % 4 === 0) await new Promise((r) => setTimeout(r, 0)) // let signals and timers run
    }
    if (lastCheckpoint !== step) await checkpoint()
  } finally {
    tf.dispose(momentum)
    teacher?.dispose()
    net.discardRunningStats()
  }
  const seconds = (performance.now() - t0) / 1000
  return {
    status,
    ...(reason === undefined ? {} : { reason }),
    steps: step,
    totalSteps,
    seconds,
    imagesPerSecond: images / Math.max(seconds, 1e-9),
    loss: recent.length === 0 ? NaN : recent.reduce((s, x) => s + x, 0) / recent.length,
  }

  /** Gradients of one subnet's loss, added to `acc`; its loss value. */
  function accumulate(acc: (tf.Tensor | undefined)[], f: () => tf.Scalar): number {
    const { value, grads } = tf.variableGrads(f, vars)
    const v = value.dataSync()[0]!
    value.dispose()
    vars.forEach((w, i) => {
      const g = grads[w.name]
      if (g === undefined) return
      const prev = acc[i]
      if (prev === undefined) acc[i] = g
      else {
        acc[i] = tf.add(prev, g)
        tf.dispose([prev, g])
      }
    })
    net.updateRunningStats()
    return v
  }

  function progressiveStep(
    b: Batch,
    phase: SupernetPhase,
    rng: ReturnType<typeof stepRng>,
  ): { value: number; grads: (tf.Tensor | undefined)[]; passes: number } {
    const resolution = rng.choice(phase.choices.resolutions)
    const acc: (tf.Tensor | undefined)[] = vars.map(() => undefined)
    const x = imagesAt(b.xs, b.n, data.shape, resolution)
    const y = tf.tensor1d(b.ys, 'int32')
    const dropoutSeed = rng.int(2 ** 30)
    let soft: tf.Tensor2D | undefined
    try {
      if (phase.distil && teacher !== undefined && t.kdRatio > 0) {
        const tNet = teacher
        // the teacher runs as OFA's does: training mode (batch statistics, dropout), no gradient
        soft = tf.tidy(() =>
          tf.softmax(
            tNet.forward(extremeSubnet(phase.choices, 'largest', resolution), x, {
              training: true,
              seed: dropoutSeed + 1,
              onBatchStats: () => {},
            }),
          ),
        )
      }
      let total = 0
      for (let k = 0; k < phase.subnets; k++) {
        let arch: OfaArch
        let bin = -1
        if (pi(phase) === 0) arch = extremeSubnet(phase.choices, 'largest', resolution)
        else if (sampler !== undefined) {
          const s = sampler.sample(phase.choices, rng, complexityRange(phase.choices, resolution), resolution)
          arch = s.arch
          bin = s.bin
        } else arch = sampleSubnet(phase.choices, rng, resolution)
        const v = accumulate(acc, () => {
          const logits = ofa!.forward(arch, x, { training: true, seed: dropoutSeed + 2 + k })
          const ce = crossEntropy(logits, y, net.config.classes, t.labelSmoothing)
          return soft === undefined ? ce : tf.add(ce, tf.mul(softCrossEntropy(logits, soft), t.kdRatio))
        })
        if (bin >= 0) sampler!.observe(bin, v)
        total += v
      }
      return { value: total / phase.subnets, grads: acc, passes: phase.subnets }
    } finally {
      tf.dispose([x, y, ...(soft === undefined ? [] : [soft])])
    }
  }

  function pi(phase: SupernetPhase): number {
    return phases.indexOf(phase)
  }

  function complexityRange(choices: Choices, resolution?: number): { lo: number; hi: number } {
    const lo =
      t.complexity.minFlops ??
      ofa!.cost(extremeSubnet(choices, 'smallest', resolution ?? Math.min(...choices.resolutions))).flops
    const hi =
      t.complexity.maxFlops ??
      ofa!.cost(extremeSubnet(choices, 'largest', resolution ?? Math.max(...choices.resolutions))).flops
    return { lo, hi }
  }

  function sandwichStep(b: Batch): {
    value: number
    grads: (tf.Tensor | undefined)[]
    passes: number
  } {
    const phase = phases[0]!
    const rng = stepRng(t.seed, step)
    const ch = phase.choices
    const acc: (tf.Tensor | undefined)[] = vars.map(() => undefined)
    const y = tf.tensor1d(b.ys, 'int32')
    const dropoutSeed = rng.int(2 ** 30)
    const maxRes = Math.max(...ch.resolutions)
    const minRes = Math.min(...ch.resolutions)
    let soft: tf.Tensor2D | undefined
    const inputs = new Map<number, tf.Tensor4D>()
    const at = (r: number) => {
      let x = inputs.get(r)
      if (x === undefined) {
        x = imagesAt(b.xs, b.n, data.shape, r)
        inputs.set(r, x)
      }
      return x
    }
    // the sandwich: the largest, the smallest and random subnets of the space
    const largestArch: unknown = fb?.largestArch() ?? extremeSubnet(ch, 'largest', maxRes)
    const smallestArch: unknown = fb?.smallestArch() ?? extremeSubnet(ch, 'smallest', minRes)
    try {
      // the largest subnet learns from the labels (with dropout: BigNAS regularises only it)
      const xMax = at(any.resolutionOf(largestArch))
      const largest = accumulate(acc, () => {
        const logits = any.forward(largestArch, xMax, {
          training: true,
          seed: dropoutSeed,
        })
        // a copy: the gradient pass frees the softmax output it saved
        soft = tf.keep(tf.clone(tf.softmax<tf.Tensor2D>(logits)))
        return crossEntropy(logits, y, net.config.classes, t.labelSmoothing)
      })
      let total = largest
      const children: { arch: unknown; bin: number }[] = [{ arch: smallestArch, bin: -1 }]
      for (let k = 0; k < phase.subnets; k++) {
        if (fb !== undefined) children.push({ arch: fb.sampleArch(rng), bin: -1 })
        else if (sampler !== undefined) children.push(sampler.sample(ch, rng, complexityRange(ch)))
        else children.push({ arch: sampleSubnet(ch, rng), bin: -1 })
      }
      for (const { arch, bin } of children) {
        const x = at(any.resolutionOf(arch)) // made outside the gradient's scope, which frees what it makes
        const v = accumulate(acc, () =>
          softCrossEntropy(any.forward(arch, x, { training: true, dropout: 0 }), soft!),
        )
        if (bin >= 0) sampler!.observe(bin, v)
        total += v
      }
      return { value: total / (children.length + 1), grads: acc, passes: children.length + 1 }
    } finally {
      tf.dispose([y, ...inputs.values(), ...(soft === undefined ? [] : [soft])])
    }
  }
}

/** The learning rate at step `local` of `phase`: linear warm-up, then cosine decay to the floor. */
function phaseLr(phase: SupernetPhase, local: number, t: TrainShape): number {
  const floor = (t.minLrRatio ?? (t.schedule === 'bignas' ? 0.05 : 0)) * phase.lr
  if (local < phase.warmupSteps) return (phase.lr * (local + 1)) / phase.warmupSteps
  const span = Math.max(1, phase.steps - phase.warmupSteps)
  return floor + (phase.lr - floor) * 0.5 * (1 + Math.cos((Math.PI * (local - phase.warmupSteps)) / span))
}

/** A checkpoint fits the supernet and the training config it resumes, or one CONFIG_INVALID says why. */
function checkResume(state: SupernetTrainState, net: ElasticMbv3 | ElasticFbnet, t: TrainShape): void {
  const bad = (why: string, value: unknown) =>
    new NasError({ code: 'CONFIG_INVALID', message: `cannot resume supernet training: ${why}`, value })
  if (state.format !== 'nasjs-supernet-train' || state.version !== 1) {
    throw bad('this is not a nasjs supernet training checkpoint (version 1)', state.format)
  }
  // the initial weights' seed does not matter once the checkpoint's weights are loaded
  const shape = (c: SupernetShape | FbnetSupernetShape) => JSON.stringify({ ...c, seed: 0 })
  if (shape(state.supernet) !== shape(net.config)) {
    throw bad('it is a checkpoint of another supernet config', state.supernet)
  }
  const strip = (x: TrainShape) => {
    const o: Record<string, unknown> = { ...x }
    for (const k of BUDGET_KEYS) delete o[k]
    return JSON.stringify(o)
  }
  if (strip(state.train) !== strip(t)) {
    throw bad(`it was trained with another config (${strip(state.train)})`, state.train)
  }
  if (state.momentum.length !== net.trainable.length)
    throw bad('its optimizer state does not fit', state.momentum.length)
}

/**
 * The training config of `supernet`: an FBNet supernet's schedule is `bignas` unless the config
 * names one (progressive shrinking, the default otherwise, is OFA's).
 */
function trainConfigFor(
  supernet: SupernetShape | FbnetSupernetShape,
  config: SupernetTrainConfig,
): TrainShape {
  const given = config as { schedule?: unknown }
  return parseSupernetTrainConfig(
    isFbnetSupernet(supernet) && given.schedule === undefined ? { ...config, schedule: 'bignas' } : config,
  )
}

/** An FBNet supernet trains with the sandwich rule and uniform subnets, or one CONFIG_INVALID says why. */
function checkFbnetTraining(t: TrainShape): void {
  if (t.schedule !== 'bignas') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `supernet training config 'schedule': an FBNet supernet trains with 'bignas' (progressive shrinking's phases are OFA's kernel, depth and expand ratio), got '${t.schedule}'`,
      value: t.schedule,
      allowed: ['bignas'],
    })
  }
  if (t.sampling !== 'uniform') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `supernet training config 'sampling': an FBNet supernet samples its subnets uniformly, got '${t.sampling}'`,
      value: t.sampling,
      allowed: ['uniform'],
    })
  }
}

/**
 * The one sandwich phase of an FBNet supernet: every layer any of its 9 block types (kernel 3 or 5,
 * expand ratio 1, 3 or 6, depth 0 where a layer is skipped), at the supernet's one resolution.
 */
function fbnetPhases(t: TrainShape, examples: number, resolution: number): SupernetPhase[] {
  const total = Math.max(1, Math.round(t.epochs * Math.ceil(examples / t.batchSize)))
  return [
    {
      name: 'sandwich',
      steps: total,
      lr: t.lr,
      warmupSteps: Math.round(t.warmup * total),
      choices: { kernels: [3, 5], expands: [1, 3, 6], depths: [0, 1], resolutions: [resolution] },
      subnets: t.sandwichRandom,
      distil: false,
    },
  ]
}
