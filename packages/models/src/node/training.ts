import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
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
import type { CheckpointStore } from '../evaluator.js'
import { trainingEvaluator } from '../evaluator.js'
import type { TrainState } from '../train.js'
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
        z.object({ folder: z.string() }).strict(),
      ])
      .default('fashion-mnist')
      .describe("a dataset name, { csv: 'file' } or { folder: 'dir' } (one subfolder per class)"),
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
    checkpointDir: z
      .string()
      .min(1)
      .optional()
      .describe('keep training states here (fileCheckpoints): promoted and retried trials continue'),
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
    ...(s.checkpointDir === undefined ? {} : { checkpoints: fileCheckpoints(s.checkpointDir) }),
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
 * {@link exportArtifacts} form, without nasjs layers. `info` goes to `nasjs.json` beside them. A
 * model with nasjs layers that have no standard equivalent (`vit`, `transformer`) is refused unless
 * `options.nasjsLayers` is `'keep'`; `nasjs.json` then lists them under `nasjsLayers`, and
 * {@link loadSavedModel} (or any program that imports `@nasjs/models`) loads it.
 * @since 0.1.0
 * @category models
 */
export async function saveModel(
  model: tfl.LayersModel,
  dir: string,
  info: SavedModelInfo = {},
  options: {
    readonly nasjsLayers?: 'refuse' | 'keep'
    /**
     * Rewrites the artifacts before they are written (e.g. `quantizeArtifacts` of
     * `@nasjs/quantization`: TF.js weight quantization).
     * @since 0.2.0
     */
    readonly transform?: (artifacts: tf.io.ModelArtifacts) => tf.io.ModelArtifacts
  } = {},
): Promise<{ readonly files: readonly string[]; readonly bytes: number }> {
  const exported = await exportArtifacts(model, options)
  const a = options.transform === undefined ? exported : options.transform(exported)
  const kept = [
    ...new Set(
      ((a.modelTopology as { config?: { layers?: { class_name: string }[] } }).config?.layers ?? [])
        .map((l) => l.class_name)
        .filter((c) => c.startsWith('Nas')),
    ),
  ]
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
    write(
      'nasjs.json',
      JSON.stringify(kept.length > 0 ? { ...info, nasjsLayers: kept } : info, null, 2) + '\n',
    )
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

const STATE_MAGIC = 'nasjs-train-state-1'

/**
 * Writes a {@link TrainState} to `file` (atomically: a temporary file, then a rename): a JSON header
 * with the counters and shapes, then the float32 values.
 * @since 0.1.0
 * @category training
 */
export function saveTrainState(file: string, state: TrainState): void {
  const arrays = [...state.weights.map((w) => w.values), ...state.slots.m, ...state.slots.v]
  const header = Buffer.from(
    JSON.stringify({
      magic: STATE_MAGIC,
      epochs: state.epochs,
      step: state.step,
      seed: state.seed,
      optimizer: state.optimizer,
      weights: state.weights.map((w) => w.shape),
      m: state.slots.m.map((a) => a.length),
      v: state.slots.v.map((a) => a.length),
    }),
  )
  const size = Buffer.alloc(4)
  size.writeUInt32LE(header.length)
  // the header is padded to a multiple of 4 bytes so the values can be read as a Float32Array
  const pad = Buffer.alloc((4 - ((4 + header.length) % 4)) % 4, 0x20)
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  try {
    writeFileSync(
      tmp,
      Buffer.concat([
        size,
        header,
        pad,
        ...arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)),
      ]),
    )
    renameSync(tmp, file)
  } catch (e) {
    throw new NasError({
      code: 'IO',
      message: `cannot write the training state ${file}: ${(e as Error).message}`,
      value: file,
      cause: e,
    })
  }
}

/**
 * Reads a state {@link saveTrainState} wrote; a file that is not one is `DATA_CORRUPT` naming it.
 * @since 0.1.0
 * @category training
 */
export function loadTrainState(file: string): TrainState {
  const corrupt = (why: string) =>
    new NasError({
      code: 'DATA_CORRUPT',
      message: `${file} is not a nasjs training state: ${why}`,
      value: file,
    })
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (e) {
    throw new NasError({
      code: 'IO',
      message: `cannot read ${file}: ${(e as Error).message}`,
      value: file,
      cause: e,
    })
  }
  if (bytes.length < 4) throw corrupt('too short')
  const n = bytes.readUInt32LE(0)
  let h: {
    magic: string
    epochs: number
    step: number
    seed: number
    optimizer: string
    weights: number[][]
    m: number[]
    v: number[]
  }
  try {
    h = JSON.parse(bytes.subarray(4, 4 + n).toString('utf8')) as typeof h
  } catch {
    throw corrupt('unreadable header')
  }
  if (h.magic !== STATE_MAGIC) throw corrupt('wrong magic')
  const start = 4 + n + ((4 - ((4 + n) % 4)) % 4)
  if ((bytes.length - start) % 4 !== 0 || start > bytes.length) throw corrupt('truncated')
  const values = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length),
  )
  let at = 0
  const take = (len: number) => {
    if (at + len > values.length) throw corrupt('truncated')
    const out = values.slice(at, at + len)
    at += len
    return out
  }
  const weights = h.weights.map((shape) => ({ shape, values: take(shape.reduce((p, d) => p * d, 1)) }))
  const m = h.m.map(take)
  const v = h.v.map(take)
  if (at !== values.length) throw corrupt('trailing bytes')
  return { epochs: h.epochs, step: h.step, seed: h.seed, optimizer: h.optimizer, weights, slots: { m, v } }
}

/**
 * A checkpoint store of files in `dir` (one per key, named by its SHA-1): worker threads share it,
 * and a resumed search finds the states of the run before. A corrupt file counts as missing.
 * @since 0.1.0
 * @category evaluators
 */
export function fileCheckpoints(dir: string): CheckpointStore {
  const path = (key: string) => join(dir, `${createHash('sha1').update(key).digest('hex')}.state`)
  return {
    get(key) {
      const file = path(key)
      if (!existsSync(file)) return undefined
      try {
        return loadTrainState(file)
      } catch {
        return undefined
      }
    },
    set(key, state) {
      mkdirSync(dir, { recursive: true })
      saveTrainState(path(key), state)
    },
  }
}
