import { NasError } from '@nasjs/core'
import type { Evaluator, EvaluatorContext, EvaluatorInfo, Metrics } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { buildModel, modelCost } from './build.js'
import type { Dataset } from './data/dataset.js'
import type { DartsNetworkOptions } from './darts.js'
import type { FbnetNetworkOptions } from './fbnet.js'
import type { Nb101NetworkOptions } from './nb101.js'
import type { Nb201NetworkOptions } from './nb201.js'
import type { OfaMbv3NetworkOptions } from './ofa-mbv3.js'
import type { TrainConfig, TrainState } from './train.js'
import type { VitNetworkOptions } from './vit.js'
import { evaluate, parseTrainConfig, train } from './train.js'

/**
 * Options of {@link trainingEvaluator}.
 * @since 0.1.0
 */
export interface TrainingEvaluatorOptions<A> {
  readonly space: SearchSpace<A>
  /** The splits: `valid` is the search signal; `test` is reported, never searched on. */
  readonly data: { readonly train: Dataset; readonly valid: Dataset; readonly test?: Dataset }
  /** The builder's width and depth (input shape and classes come from the data). */
  readonly network?:
    | Omit<Nb201NetworkOptions, 'inputShape' | 'classes'>
    | Omit<DartsNetworkOptions, 'inputShape' | 'classes'>
    | Omit<Nb101NetworkOptions, 'inputShape' | 'classes'>
    | Omit<OfaMbv3NetworkOptions, 'inputShape' | 'classes'>
    | Omit<FbnetNetworkOptions, 'inputShape' | 'classes'>
    | Omit<VitNetworkOptions, 'inputShape' | 'classes'>
  /** The training recipe; a trial's fidelity, when a strategy gives one, is its number of epochs. */
  readonly train?: TrainConfig
  /**
   * Where training states are kept, by architecture: a trial continues from the state of an earlier
   * one of the same architecture that trained fewer epochs (successive halving's promotions, a trial
   * killed mid-training), with the learning-rate schedule over the recipe's `epochs`, so a continued
   * trial ends as one trained straight through. Without it every trial trains from scratch.
   */
  readonly checkpoints?: CheckpointStore
}

/**
 * A place for {@link TrainState}s by key: {@link memoryCheckpoints} here, `fileCheckpoints(dir)` in
 * `@nasjs/models/node` (shared by worker threads and across a resumed run).
 * @since 0.1.0
 */
export interface CheckpointStore {
  get(key: string): TrainState | undefined | Promise<TrainState | undefined>
  set(key: string, state: TrainState): void | Promise<void>
}

/**
 * A checkpoint store in memory that keeps the `max` most recently written states.
 * @since 0.1.0
 * @category evaluators
 */
export function memoryCheckpoints(max = 64): CheckpointStore {
  const states = new Map<string, TrainState>()
  return {
    get: (key) => states.get(key),
    set(key, state) {
      states.delete(key)
      states.set(key, state)
      while (states.size > max) states.delete(states.keys().next().value!)
    },
  }
}

/** The metrics a training evaluation returns. */
export const TRAINING_METRICS = ['valid_acc', 'test_acc', 'params', 'flops', 'train_seconds'] as const

/**
 * An evaluator that trains: architecture -> {@link buildModel} -> {@link train} for the trial's
 * fidelity in epochs (else the recipe's `epochs`) -> `valid_acc` (%, the search signal), `test_acc`
 * (%, reported, never searched on; left out without a test split), `params`, `flops` and
 * `train_seconds`. The training seed is the trial's seed when the driver gives
 * one. A run that diverges rejects (the driver records a failed trial with the reason); the search's
 * abort signal stops training. Its `info` declares no functional cache: every architecture is
 * trained as written.
 * @since 0.1.0
 * @category evaluators
 */
export function trainingEvaluator<A>(
  opts: TrainingEvaluatorOptions<A>,
): Evaluator<A> & { readonly info: EvaluatorInfo } {
  const recipe = parseTrainConfig(opts.train)
  const { train: trainSet, valid, test } = opts.data
  if (valid.shape.join(',') !== trainSet.shape.join(',') || valid.classes !== trainSet.classes) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the validation split ('${valid.name}', [${valid.shape.join(', ')}], ${valid.classes} classes) does not match the training split ('${trainSet.name}', [${trainSet.shape.join(', ')}], ${trainSet.classes} classes)`,
    })
  }
  const network = {
    ...opts.network,
    inputShape: trainSet.shape as [number, number, number],
    classes: trainSet.classes,
  }
  const metrics =
    test === undefined ? TRAINING_METRICS.filter((m) => m !== 'test_acc') : [...TRAINING_METRICS]
  const evaluator = async (arch: A, ctx: EvaluatorContext): Promise<Metrics> => {
    if (ctx.signal.aborted)
      throw new NasError({
        code: 'ABORTED',
        message: 'the training evaluation was aborted before it started',
      })
    const epochs = ctx.fidelity ?? recipe.epochs
    if (!Number.isInteger(epochs) || epochs < 1)
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `a training fidelity is a whole number of epochs >= 1, got ${epochs}`,
        value: epochs,
      })
    const cost = modelCost(opts.space, arch, network)
    const model = buildModel(opts.space, arch, {
      ...network,
      seed: ctx.seed ?? (network as { seed?: number }).seed ?? 0,
    })
    let lossSum = 0
    let batches = 0
    const store = opts.checkpoints
    const key = store === undefined ? '' : opts.space.format(arch)
    let resume = store === undefined ? undefined : await store.get(key)
    if (resume !== undefined && (resume.epochs > epochs || resume.optimizer !== recipe.optimizer))
      resume = undefined
    try {
      const r = await train(
        model,
        trainSet,
        {
          ...opts.train,
          epochs,
          // a continued trial keeps the seed it started with, and the schedule runs over the recipe's epochs
          seed: resume?.seed ?? ctx.seed ?? recipe.seed,
          ...(store === undefined ? {} : { horizonEpochs: Math.max(recipe.epochs, epochs) }),
        },
        {
          ...(resume === undefined ? {} : { resume }),
          ...(store === undefined ? {} : { onEpochEnd: (s: TrainState) => store.set(key, s) }),
          signal: ctx.signal,
          onProgress: (p) => {
            lossSum += p.loss
            batches++
            if (p.step % Math.max(1, Math.floor(p.totalSteps / epochs)) === 0) {
              // once per epoch: the epoch's mean training loss and the speed so far
              ctx.report(p.epoch + 1, { train_loss: lossSum / batches, images_per_s: p.imagesPerSecond })
              lossSum = 0
              batches = 0
            }
          },
        },
      )
      if (r.status === 'failed')
        throw new NasError({ code: 'INTERNAL', message: r.reason ?? 'training failed' })
      if (r.status === 'aborted')
        throw new NasError({ code: 'ABORTED', message: `training aborted after ${r.steps} steps` })
      const out: Metrics = {
        valid_acc: 100 * evaluate(model, valid).acc,
        params: cost.params,
        flops: cost.flops,
        train_seconds: r.seconds,
      }
      if (test !== undefined) out.test_acc = 100 * evaluate(model, test).acc
      if (r.startEpoch > 0) out.epochs_resumed = r.startEpoch
      return out
    } finally {
      model.dispose()
    }
  }
  const info: EvaluatorInfo = Object.freeze({ metrics: Object.freeze(metrics), functionalCache: false })
  return Object.assign(evaluator, { info })
}
