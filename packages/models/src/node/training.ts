import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NasError } from '@nasjs/core'
import type { Evaluator, EvaluatorContext, EvaluatorInfo, Metrics } from '@nasjs/core'
import { getSpace } from '@nasjs/search-space'
import type { SearchSpace } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { BUILDABLE_SPACES } from '../build.js'
import { parseConfig } from '../config.js'
import { trainingEvaluator } from '../evaluator.js'
import { exportArtifacts, modelJson } from '../export.js'
import type { DatasetSpec, LoadedDataset } from './datasets.js'
import { DATASET_NAMES, loadDataset } from './datasets.js'

/**
 * A training evaluation described as plain data (what a journal header records and a worker thread
 * receives): the space, the data and its splits, the network's width and depth, the training recipe.
 * @since 0.1.0
 * @category evaluators
 */
export const TrainingSetup = z
  .object({
    space: z.string().default('nb201').describe('search space id (one with a builder)'),
    data: z
      .union([
        z.enum(DATASET_NAMES),
        z
          .object({
            csv: z.string(),
            label: z.union([z.string(), z.number().int()]).optional(),
            header: z.boolean().optional(),
          })
          .strict(),
      ])
      .default('fashion-mnist')
      .describe("a dataset name or { csv: 'file' }"),
    split: z
      .object({
        train: z.number().int().min(1).optional(),
        valid: z.number().positive().optional(),
        test: z.number().positive().optional(),
        seed: z.number().int().min(0).default(0),
      })
      .strict()
      .default({ seed: 0 })
      .describe('examples per split (counts or fractions) and the split seed'),
    network: z.record(z.string(), z.unknown()).default({}).describe("the builder's width and depth options"),
    train: z.record(z.string(), z.unknown()).default({}).describe('the training recipe (TrainConfig)'),
  })
  .strict()
/** @since 0.1.0 */
export type TrainingSetup = z.input<typeof TrainingSetup>

/** A {@link TrainingSetup} with every default filled in. @since 0.1.0 */
export type ResolvedTrainingSetup = z.output<typeof TrainingSetup>

/**
 * The setup checked, with defaults: one `CONFIG_INVALID` names a bad field, and a space without a
 * builder is `NOT_REGISTERED` listing the spaces that have one.
 * @since 0.1.0
 * @category evaluators
 */
export function resolveTrainingSetup(setup: TrainingSetup): ResolvedTrainingSetup {
  const s = parseConfig(TrainingSetup, setup, 'training setup')
  getSpace(s.space)
  if (!(BUILDABLE_SPACES as readonly string[]).includes(s.space)) {
    throw new NasError({
      code: 'NOT_REGISTERED',
      message: `no network builder for space '${s.space}'; spaces with a builder: ${BUILDABLE_SPACES.join(', ')}`,
      value: s.space,
      allowed: BUILDABLE_SPACES,
    })
  }
  return s
}

/**
 * Loads a setup's data (seeded, stratified splits, standardised with the training split's statistics).
 * @since 0.1.0
 * @category data
 */
export async function loadSetupData(setup: ResolvedTrainingSetup): Promise<LoadedDataset> {
  const { train, valid, test, seed } = setup.split
  return loadDataset(setup.data as DatasetSpec, {
    seed,
    ...(train === undefined ? {} : { train }),
    ...(valid === undefined ? {} : { valid }),
    ...(test === undefined ? {} : { test }),
  })
}

/**
 * A training evaluator from a plain-data setup: loads the data, then {@link trainingEvaluator}. The
 * TF.js backend is the caller's (pick it first, e.g. with `initBackend` of `@nasjs/backend`).
 * @example const { evaluator } = await openTraining({ space: 'nb201', data: 'fashion-mnist', split: { train: 2000 }, network: { channels: 8, cellsPerStage: 1 }, train: { epochs: 2 } })
 * @since 0.1.0
 * @category evaluators
 */
export async function openTraining(setup: TrainingSetup): Promise<{
  readonly evaluator: Evaluator<unknown> & { readonly info: EvaluatorInfo }
  readonly data: LoadedDataset
  readonly setup: ResolvedTrainingSetup
  readonly space: SearchSpace<unknown>
}> {
  const s = resolveTrainingSetup(setup)
  const data = await loadSetupData(s)
  const space = getSpace(s.space)
  const evaluator = trainingEvaluator({
    space,
    data,
    network: s.network,
    train: s.train,
  })
  return { evaluator, data, setup: s, space }
}

/**
 * The worker-thread entry of a training evaluation (a factory, as the strategies' worker pool calls
 * it: `createWorkerPool(trainingWorkerSpec(setup, 2), (a) => space.toJSON(a))`): picks this thread's
 * own TF.js backend, loads the data once, and returns the evaluator of `space.toJSON` architectures.
 * @since 0.1.0
 * @category evaluators
 */
export async function trainingWorker(
  setup: TrainingSetup,
): Promise<(archJson: unknown, ctx: EvaluatorContext) => Promise<Metrics>> {
  let backend: { initBackend(o: { quiet: boolean }): Promise<unknown> }
  try {
    backend = await import('@nasjs/backend')
  } catch {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: 'training in worker threads needs the package @nasjs/backend (npm install @nasjs/backend)',
    })
  }
  await backend.initBackend({ quiet: true })
  const { evaluator, space } = await openTraining(setup)
  return (json, ctx) => evaluator(space.fromJSON(json), ctx)
}

/**
 * The worker-pool spec (`createWorkerPool` of `@nasjs/strategies/node`) that trains in `workers`
 * threads with {@link trainingWorker}. Worker threads load JavaScript: run from the sources, the spec
 * names the built file (`dist/node/training.js`, made by `pnpm build`).
 * @since 0.1.0
 * @category evaluators
 */
export function trainingWorkerSpec(
  setup: TrainingSetup,
  workers: number,
): { readonly module: string; readonly export: string; readonly options: unknown; readonly workers: number } {
  // from the sources (tests, tsx), point the workers at the built file: worker threads load JavaScript
  const module = import.meta.url.endsWith('.ts')
    ? new URL('../../dist/node/training.js', import.meta.url).href
    : import.meta.url
  return {
    module,
    export: 'trainingWorker',
    options: resolveTrainingSetup(setup),
    workers,
  }
}

/** What {@link saveModel} writes beside `model.json`, for people and tools that use the model. */
export interface SavedModelInfo {
  readonly space?: string
  readonly arch?: string
  /** Inputs are standardised as `(x - mean[c]) / std[c]` per channel, with x as the dataset loads it (pixels in [0, 1]). */
  readonly inputStats?: { readonly mean: readonly number[]; readonly std: readonly number[] }
  readonly classNames?: readonly string[]
  readonly metrics?: Metrics
  readonly [key: string]: unknown
}

/**
 * Writes `model` to `dir` as `model.json` + `weights.bin` that plain `@tensorflow/tfjs` loads
 * (`tf.loadLayersModel('file://dir/model.json')` with tfjs-node, or over HTTP in a browser): the
 * {@link exportArtifacts} form, without nasjs layers. `info` goes to `nasjs.json` beside them.
 * @since 0.1.0
 * @category models
 */
export async function saveModel(
  model: tfl.LayersModel,
  dir: string,
  info: SavedModelInfo = {},
): Promise<{ readonly files: readonly string[]; readonly bytes: number }> {
  const a = await exportArtifacts(model)
  try {
    mkdirSync(dir, { recursive: true })
    const weights = new Uint8Array(a.weightData as ArrayBuffer)
    const write = (name: string, data: string | Uint8Array) => {
      const tmp = join(dir, `.${name}.tmp`)
      writeFileSync(tmp, data)
      renameSync(tmp, join(dir, name))
    }
    write('weights.bin', weights)
    write('model.json', modelJson(a, 'weights.bin'))
    write('nasjs.json', JSON.stringify(info, null, 2) + '\n')
    return {
      files: ['model.json', 'weights.bin', 'nasjs.json'].map((f) => join(dir, f)),
      bytes: weights.length,
    }
  } catch (e) {
    throw new NasError({
      code: 'IO',
      message: `cannot write the model to ${dir}: ${(e as Error).message}`,
      value: dir,
      cause: e,
    })
  }
}

/**
 * Loads a model {@link saveModel} wrote (no network, no tfjs-node needed).
 * @since 0.1.0
 * @category models
 */
export async function loadSavedModel(dir: string): Promise<tfl.LayersModel> {
  let json: {
    modelTopology: object
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]
  }
  let weights: Uint8Array
  try {
    json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as typeof json
    weights = readFileSync(join(dir, json.weightsManifest[0]!.paths[0]!))
  } catch (e) {
    throw new NasError({
      code: 'IO',
      message: `cannot read a saved model in ${dir}: ${(e as Error).message}`,
      value: dir,
      cause: e,
    })
  }
  return tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  )
}
