import { NasError } from '@nasjs/core'
import type { EvaluatorContext, EvaluatorInfo, Metrics, Evaluator } from '@nasjs/core'
import type { DatasetSpec, LoadedDataset } from '@nasjs/models/node'
import { loadDataset } from '@nasjs/models/node'
import type { FbnetArch, OfaArch } from '@nasjs/search-space'
import type { ElasticSupernet } from '../base.js'
import type { ElasticMbv3 } from '../elastic.js'
import type { ElasticFbnet } from '../fbnet.js'
import { supernetEvaluator } from '../evaluator.js'
import { loadSupernet } from './files.js'

/**
 * A supernet evaluation as plain data (what a journal header records and a worker thread
 * receives): the supernet directory, the data and its splits, the calibration images and the batch.
 * @since 0.1.0
 */
export interface SupernetEvalSetup {
  /** The supernet directory (`saveSupernetState`). */
  readonly dir: string
  readonly data: DatasetSpec
  /**
   * Examples per split (counts) and the split seed (`loadDataset`'s options); without `test` no test
   * split is scored (`test_acc` costs a pass over the test images per subnet).
   */
  readonly split: {
    readonly train?: number
    readonly valid: number
    readonly test?: number
    readonly seed: number
  }
  /** Training images BatchNorm is recalibrated on, per subnet. */
  readonly calibration: number
  /** Images per forward pass. */
  readonly batchSize: number
}

/**
 * Opens a supernet evaluation from its setup: loads the supernet and the data, and makes the
 * {@link supernetEvaluator} over them (the TF.js backend must be picked first). `close` frees the
 * supernet.
 * @since 0.1.0
 * @category evaluators
 */
export async function openSupernetEvaluation(setup: SupernetEvalSetup): Promise<{
  net: ElasticMbv3 | ElasticFbnet
  data: LoadedDataset
  evaluator: Evaluator<OfaArch | FbnetArch>
  info: EvaluatorInfo
  cheapMetrics: (arch: OfaArch | FbnetArch) => Metrics
  close(): void
}> {
  const { net } = loadSupernet(setup.dir)
  try {
    const data = await loadDataset(setup.data, {
      seed: setup.split.seed,
      valid: setup.split.valid,
      ...(setup.split.train === undefined ? {} : { train: setup.split.train }),
      ...(setup.split.test === undefined ? {} : { test: setup.split.test }),
    })
    const made = supernetEvaluator<OfaArch | FbnetArch>({
      net,
      data: {
        calibration: data.train,
        valid: data.valid,
        ...(setup.split.test === undefined ? {} : { test: data.test }),
      },
      calibrationImages: setup.calibration,
      batchSize: setup.batchSize,
    })
    return { net, data, ...made, close: () => net.dispose() }
  } catch (e) {
    net.dispose()
    throw e
  }
}

/**
 * The worker-thread entry of a supernet evaluation (a factory, as the strategies' worker pool calls
 * it: `createWorkerPool(supernetWorkerSpec(setup, 2), (a) => space.toJSON(a))`): picks this thread's
 * TF.js backend, loads the supernet and the data once, and returns the evaluator of `space.toJSON`
 * subnets.
 * @since 0.1.0
 * @category evaluators
 */
export async function supernetWorker(
  setup: SupernetEvalSetup,
): Promise<(archJson: unknown, ctx: EvaluatorContext) => Promise<Metrics>> {
  let backend: { initBackend(o: { quiet: boolean }): Promise<unknown> }
  try {
    backend = await import('@nasjs/backend')
  } catch {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message:
        'supernet evaluation in worker threads needs the package @nasjs/backend (npm install @nasjs/backend)',
    })
  }
  await backend.initBackend({ quiet: true })
  const { evaluator, net } = await openSupernetEvaluation(setup)
  return (json, ctx) =>
    evaluator((net.space as ElasticSupernet<OfaArch | FbnetArch>['space']).fromJSON(json), ctx)
}

/**
 * The worker-pool spec (`createWorkerPool` of `@nasjs/strategies/node`) that evaluates subnets in
 * `workers` threads with {@link supernetWorker}, each with its own copy of the supernet. Worker
 * threads load JavaScript: run from the sources, the spec names the built file
 * (`dist/node/workers.js`, made by `pnpm build`).
 * @since 0.1.0
 * @category evaluators
 */
export function supernetWorkerSpec(
  setup: SupernetEvalSetup,
  workers: number,
): { readonly module: string; readonly export: string; readonly options: unknown; readonly workers: number } {
  const module = import.meta.url.endsWith('.ts')
    ? new URL('../../dist/node/workers.js', import.meta.url).href
    : import.meta.url
  return { module, export: 'supernetWorker', options: setup, workers }
}
