import { existsSync, statSync } from 'node:fs'
import { NasError } from '@nasjs/core'
import type { EvaluatorInfo, Metrics } from '@nasjs/core'
import type { ResolvedTrainingSetup, TrainingSetup } from '@nasjs/models/node'
import { getSpace } from '@nasjs/search-space'
import { readJsonFile } from '../run-files.js'
import type { TableSession, TableTarget } from '../targets.js'
import type { TrainingFlags } from './parse.js'

/** What a training evaluation returns (`TRAINING_METRICS` of `@nasjs/models`, which loads TF.js). */
export const TRAINING_METRIC_NAMES = ['valid_acc', 'test_acc', 'params', 'flops', 'train_seconds'] as const

/** The defaults of a training search: small enough that 30 trials finish in well under 30 minutes on 2 cores. */
export const TRAINING_DEFAULTS = {
  data: 'fashion-mnist',
  epochs: 3,
  trainSize: 2000,
  validSize: 1000,
  testSize: 2000,
  width: 8,
  cells: 1,
  dartsCells: 5,
} as const

/** The data of `--data`: a dataset name, a CSV file of features with a label column, or a folder of images. */
export function dataSpec(arg: string): TrainingSetup['data'] {
  if (arg === 'fashion-mnist' || arg === 'digits' || arg === 'mnist') return arg
  if (/\.csv(\.gz)?$/i.test(arg)) return { csv: arg }
  if (existsSync(arg) && statSync(arg).isDirectory()) return { folder: arg }
  throw new NasError({
    code: 'NOT_REGISTERED',
    message: `--data '${arg}': with --evaluator train the data is fashion-mnist, digits, mnist, a .csv file of features with a label column, or a folder of PNG/JPEG images with one subfolder per class`,
    value: arg,
    allowed: ['fashion-mnist', 'digits', 'mnist', 'file.csv', 'folder/'],
  })
}

/** The name a run records for its data (the report's "dataset"). */
export const dataLabel = (spec: TrainingSetup['data']): string =>
  spec === undefined
    ? 'fashion-mnist'
    : typeof spec === 'string'
      ? spec
      : 'csv' in spec
        ? spec.csv
        : spec.folder

/**
 * The builder's width and depth from `--width` and `--cells`: NB201's channels and cells per stage,
 * DARTS' channels and cells in all (reductions at 1/3 and 2/3 of them), NB101's stem channels and
 * cells per stack. Flags not given take `defaults` (a training search's scaled-down network), or the
 * builder's own where `defaults` has none (a proxy search scores the full-size network).
 */
export function networkOptions(
  space: string,
  flags: TrainingFlags,
  defaults: {
    readonly width?: number
    readonly cells?: number
    readonly dartsCells?: number
  } = TRAINING_DEFAULTS,
): Record<string, number> {
  const pick = (width: string, cells: string, cellsDefault: number | undefined) => {
    const w = flags.width ?? defaults.width
    const c = flags.cells ?? cellsDefault
    return { ...(w === undefined ? {} : { [width]: w }), ...(c === undefined ? {} : { [cells]: c }) }
  }
  if (space === 'darts') return pick('channels', 'layers', defaults.dartsCells)
  if (space === 'nb101') return pick('stemChannels', 'cellsPerStack', defaults.cells)
  if (space === 'transformer') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message:
        'transformer networks read token sequences, and the training data here are images or feature rows; train vit (a vision transformer) instead',
      value: space,
      allowed: ['nb201', 'darts', 'nb101', 'ofa-mbv3', 'fbnet', 'vit'],
    })
  }
  if (space === 'ofa-mbv3' || space === 'fbnet' || space === 'vit') {
    // their widths and depths are the architecture's own: the network is the one the space picks
    const given = flags.width !== undefined ? '--width' : flags.cells !== undefined ? '--cells' : undefined
    if (given !== undefined) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `${given} scales nb201, darts and nb101 networks; a ${space} architecture sets its own widths and depths`,
        value: given,
        allowed: ['nb201', 'darts', 'nb101'],
      })
    }
    return {}
  }
  return pick('channels', 'cellsPerStage', defaults.cells)
}

/** A training setup from the flags: `--train-config` gives the recipe, the flags override its fields. */
export function trainingSetup(
  space: string,
  data: string | undefined,
  seed: number,
  flags: TrainingFlags,
  sizes: { trainSize: number; validSize: number; testSize: number } = TRAINING_DEFAULTS,
): TrainingSetup {
  const recipe =
    flags.configFile === undefined ? {} : (readJsonFile(flags.configFile, 'training config') as object)
  if (typeof recipe !== 'object' || recipe === null || Array.isArray(recipe)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--train-config ${flags.configFile} must hold a JSON object of training fields (epochs, lr, optimizer, ...)`,
      value: recipe,
    })
  }
  const d = TRAINING_DEFAULTS
  const spec = dataSpec(data ?? d.data)
  // the default sizes are Fashion-MNIST's (60,000 + 10,000 images); smaller data keeps the loader's
  // fractions (10 % validation, 20 % test, the rest to train)
  const big = spec === 'fashion-mnist'
  const size = (given: number | undefined, d: number) => (given !== undefined ? given : big ? d : undefined)
  const split = {
    train: size(flags.trainSize, sizes.trainSize),
    valid: size(flags.validSize, sizes.validSize),
    test: size(flags.testSize, sizes.testSize),
  }
  return {
    space,
    data: spec,
    split: {
      ...Object.fromEntries(Object.entries(split).filter(([, v]) => v !== undefined)),
      seed,
    },
    network: networkOptions(space, flags),
    train: {
      ...recipe,
      epochs: flags.epochs ?? (recipe as { epochs?: number }).epochs ?? d.epochs,
      ...(flags.batchSize === undefined ? {} : { batchSize: flags.batchSize }),
      ...(flags.lr === undefined ? {} : { lr: flags.lr }),
    },
  }
}

/**
 * The target of a training search on `space`: metrics are what training returns; there is no table,
 * so no true front and no index. The space must have a network builder (checked when the session opens).
 */
export function trainingTarget(spaceId: string): TableTarget {
  const space = getSpace(spaceId)
  return {
    space,
    datasets: [],
    defaultDataset: TRAINING_DEFAULTS.data,
    defaultObjectives: ['valid_acc:max', 'params:min'],
    recordMetrics: TRAINING_METRIC_NAMES,
    showMetrics: ['test_acc', 'params', 'flops', 'train_seconds'],
    checkMetrics(_dataset, names) {
      for (const n of names) {
        if (!(TRAINING_METRIC_NAMES as readonly string[]).includes(n)) {
          throw new NasError({
            code: 'METRIC_MISSING',
            message: `metric '${n}' is not measured by training; the metrics are ${TRAINING_METRIC_NAMES.join(', ')}`,
            value: n,
            allowed: TRAINING_METRIC_NAMES,
          })
        }
      }
    },
    open: () => reportOnlySession(),
  }
}

/** A session for reporting a finished training run: nothing to evaluate, no table behind it. */
export function reportOnlySession(): TableSession {
  return {
    evaluator: () => {
      throw new NasError({ code: 'INTERNAL', message: 'a report session does not evaluate' })
    },
    cheapMetrics: () => undefined,
    features: () => () => [],
    indexOf: () => undefined,
    truth: () => undefined,
  }
}

/** A training session: the evaluator (in this thread, or `workers` worker threads) and its costs. */
export interface TrainingSession extends TableSession {
  /** What was loaded, for the log line. */
  readonly description: string
  readonly setup: ResolvedTrainingSetup
  /** The builder setting of the trained networks (the data's input shape and classes included). */
  readonly network: Record<string, unknown>
  close(): Promise<void>
}

/**
 * Opens a training session: picks the TF.js backend, loads the data (shape and classes for the cost
 * counters; with `workers > 1` each worker thread loads its own copy and trains one candidate), and
 * checks the setup. TF.js is loaded here and only here.
 */
export async function openTrainingSession(setup: TrainingSetup, workers: number): Promise<TrainingSession> {
  const [{ initBackend, formatBackendInfo }, models, node] = await Promise.all([
    import('@nasjs/backend'),
    import('@nasjs/models'),
    import('@nasjs/models/node'),
  ])
  const backend = await initBackend({ quiet: true })
  const opened = await node.openTraining(setup)
  const { data, space } = opened
  const s = opened.setup
  const network = {
    ...(s.network as object),
    inputShape: data.train.shape as [number, number, number],
    classes: data.train.classes,
  }
  // the builder's checks (input shape, width) before any trial starts
  const cost = (a: unknown) => models.modelCost(space, a, network)
  cost(space.sample(new (await import('@nasjs/core')).Rng(0)))
  let evaluator = opened.evaluator
  let close = async () => {}
  if (workers > 1) {
    const { createWorkerPool } = await import('@nasjs/strategies/node')
    const pool = createWorkerPool(node.trainingWorkerSpec(s, workers), (a) => space.toJSON(a))
    try {
      await pool.ready()
    } catch (e) {
      await pool.close()
      throw e
    }
    const info: EvaluatorInfo = opened.evaluator.info
    evaluator = Object.assign(pool.evaluator, { info })
    let closed: Promise<void> | undefined
    close = () => (closed ??= pool.close())
  }
  const sizes = `${data.train.y.length} train / ${data.valid.y.length} valid / ${data.test.y.length} test`
  const shape = `[${data.train.shape.join('x')}], ${data.train.classes} classes`
  return {
    description: `training on ${data.source}: ${sizes}, ${shape}; TF.js ${formatBackendInfo(backend).split('; ')[0] ?? ''}${workers > 1 ? `; ${workers} worker threads` : ''}`,
    setup: s,
    network,
    evaluator: () => evaluator,
    ...builtSessionParts(cost),
    close,
  }
}

/**
 * The parts of a session over networks built by `@nasjs/models` (training, proxies): `params` and
 * `flops` from the exact counter before any evaluation, the same two (logged) as free features, no
 * table behind it.
 */
export function builtSessionParts(
  cost: (arch: unknown) => { params: number; flops: number },
): Pick<TableSession, 'cheapMetrics' | 'features' | 'indexOf' | 'truth'> {
  return {
    cheapMetrics(_dataset, metrics) {
      const cheap = metrics.filter((m) => m === 'params' || m === 'flops')
      if (cheap.length === 0) return undefined
      return (a) => {
        const c = cost(a) as unknown as Metrics
        return Object.fromEntries(cheap.map((k) => [k, c[k]!]))
      }
    },
    features: () => (a) => {
      const c = cost(a)
      return [Math.log1p(c.params), Math.log1p(c.flops)]
    },
    indexOf: () => undefined,
    truth: () => undefined,
  }
}
