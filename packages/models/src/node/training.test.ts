import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { initBackend } from '@nasjs/backend'
import { NasError, Rng } from '@nasjs/core'
import { getSpace, nb201 } from '@nasjs/search-space'
import type { SearchSpace } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildModel } from '../build.js'
import { evaluate } from '../train.js'
import { loadDataset } from './datasets.js'
import type { TrainState } from '../train.js'
import {
  fileCheckpoints,
  loadSavedModel,
  loadTrainState,
  saveTrainState,
  openTraining,
  resolveTrainingSetup,
  saveModel,
  trainingWorker,
  trainingWorkerSpec,
} from './training.js'

const dir = mkdtempSync(join(tmpdir(), 'nas-models-'))
beforeAll(async () => {
  await initBackend({ quiet: true })
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const setup = {
  space: 'nb201',
  data: 'digits' as const,
  split: { train: 300, valid: 100, test: 100, seed: 2 },
  network: { channels: 3, cellsPerStage: 1 },
  train: { optimizer: 'adam', lr: 0.01, epochs: 3, batchSize: 32 },
}
const arch = nb201.parse(
  '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|',
)
const ctx = { signal: new AbortController().signal, report: () => {} }
const codeOf = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (e) {
    return e instanceof NasError ? e.code : `not a NasError: ${String(e)}`
  }
  return undefined
}

describe('training from a plain-data setup', () => {
  it('openTraining loads the splits and trains; the worker entry gives the same metrics for the JSON form', async () => {
    const { evaluator, data, setup: s } = await openTraining(setup)
    expect([data.train.y.length, data.valid.y.length, data.test.y.length]).toEqual([300, 100, 100])
    expect(s.split.seed).toBe(2)
    const m = await evaluator(arch, { ...ctx, seed: 4 })
    const fromWorker = await (await trainingWorker(setup))(nb201.toJSON(arch), { ...ctx, seed: 4 })
    const { train_seconds: _a, ...same } = m
    const { train_seconds: _b, ...same2 } = fromWorker
    expect(same2).toEqual(same)
    expect(m.valid_acc).toBeGreaterThan(20) // chance is 10 %
  })

  it('the worker spec carries the resolved setup as plain data', () => {
    const spec = trainingWorkerSpec(setup, 2)
    expect(spec).toMatchObject({ export: 'trainingWorker', workers: 2 })
    expect(spec.module).toMatch(/^file:/)
    expect(structuredClone(spec.options)).toEqual(resolveTrainingSetup(setup))
  })

  it('bad setups: one NasError each', async () => {
    expect(await codeOf(() => resolveTrainingSetup({ space: 'gnn' }))).toBe('NOT_REGISTERED')
    expect(await codeOf(() => resolveTrainingSetup({ space: 'nb999' }))).toBe('NOT_REGISTERED')
    expect(await codeOf(() => resolveTrainingSetup({ data: 'cifar10' as never }))).toBe('CONFIG_INVALID')
    expect(await codeOf(() => resolveTrainingSetup({ split: { train: 0 } }))).toBe('CONFIG_INVALID')
    expect(await codeOf(() => resolveTrainingSetup({ epochs: 3 } as never))).toBe('CONFIG_INVALID')
    expect(await codeOf(openTraining({ ...setup, network: { channels: -1 } }))).toBe(undefined) // checked per build
    const bad = join(dir, 'bad.csv')
    writeFileSync(bad, 'a,b,label\n1,2,0\n1,x,1\n')
    expect(await codeOf(openTraining({ data: { csv: bad } }))).toBe('DATA_CORRUPT')
  })
})

describe('saveModel / loadSavedModel', () => {
  it('writes model.json + weights.bin + nasjs.json that load back with equal outputs and accuracy', async () => {
    const data = await loadDataset('digits', { seed: 0, train: 100, valid: 50, test: 50 })
    const model = buildModel(nb201, arch, { channels: 3, cellsPerStage: 1, inputShape: [8, 8, 1], seed: 1 })
    const out = join(dir, 'saved')
    const r = await saveModel(model, out, { space: 'nb201', arch: nb201.format(arch) })
    expect(r.files.map((f) => f.slice(out.length + 1))).toEqual(['model.json', 'weights.bin', 'nasjs.json'])
    expect(JSON.parse(readFileSync(join(out, 'nasjs.json'), 'utf8'))).toMatchObject({ space: 'nb201' })
    const loaded = await loadSavedModel(out)
    expect(evaluate(loaded, data.test).acc).toBe(evaluate(model, data.test).acc)
    const x = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 3)
    const d = tf.tidy(
      () =>
        tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor))).dataSync()[0]!,
    )
    expect(d).toBeLessThan(1e-5)
    tf.dispose(x)
    model.dispose()
    loaded.dispose()
  })

  it('a fresh process loads saved models of every builder with plain TF.js packages only, outputs equal to 1e-5', async () => {
    const rng = new Rng(4)
    const cases: [string, SearchSpace<unknown>, unknown, Record<string, unknown>][] = [
      [
        'nb201',
        nb201,
        nb201.parse('|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|'),
        { channels: 3, cellsPerStage: 1 },
      ],
      ['darts', getSpace('darts'), getSpace('darts').sample(rng), { channels: 4, layers: 3, dropPath: 0.2 }],
      ['nb101', getSpace('nb101'), getSpace('nb101').sample(rng), { stemChannels: 8, cellsPerStack: 1 }],
      ['ofa-mbv3', getSpace('ofa-mbv3'), getSpace('ofa-mbv3').sample(rng), {}],
      ['fbnet', getSpace('fbnet'), getSpace('fbnet').sample(rng), {}],
    ]
    const require = createRequire(createRequire(import.meta.url).resolve('@nasjs/backend/package.json'))
    const cpu = require.resolve('@tensorflow/tfjs-backend-cpu')
    const fixture = fileURLToPath(new URL('./__fixtures__/load-plain.mjs', import.meta.url))
    for (const [name, space, arch, options] of cases) {
      const model = buildModel(space, arch, {
        ...options,
        inputShape: [16, 16, 1],
        classes: 10,
        seed: 9,
      } as never)
      const out = join(dir, `plain-${name}`)
      await saveModel(model, out)
      const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 5)
      const inputs = join(dir, `inputs-${name}.json`)
      writeFileSync(inputs, JSON.stringify({ shape: x.shape, values: Array.from(x.dataSync()) }))
      const y = model.predict(x) as tf.Tensor
      const ours = Array.from(y.dataSync())
      const r = spawnSync(process.execPath, [fixture, out, inputs, cpu], { encoding: 'utf8' })
      expect(r.status, `${name}: ${r.stderr}`).toBe(0)
      const theirs = JSON.parse(r.stdout) as number[]
      expect(theirs, name).toHaveLength(ours.length)
      const scale = Math.max(1, ...ours.map(Math.abs))
      expect(Math.max(...theirs.map((v, i) => Math.abs(v - ours[i]!))) / scale, name).toBeLessThan(1e-5)
      tf.dispose([x, y])
      model.dispose()
    }
  }, 120_000)

  it('vit and transformer models save with their nasjs layers kept and load in a fresh process that imports @nasjs/models, outputs equal to 1e-5', async () => {
    const vitSpace = getSpace('vit')
    const textSpace = getSpace('transformer')
    const cases: [string, SearchSpace<unknown>, unknown, Record<string, unknown>, tf.Tensor][] = [
      [
        'vit',
        vitSpace,
        vitSpace.sample(new Rng(2)),
        { inputShape: [8, 8, 3], classes: 4 },
        tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 6),
      ],
      [
        'transformer',
        textSpace,
        textSpace.sample(new Rng(3)),
        { vocabSize: 20, sequenceLength: 7, classes: 3 },
        tf.tensor2d([
          [1, 2, 3, 4, 5, 6, 7],
          [19, 0, 0, 3, 3, 8, 1],
        ]),
      ],
    ]
    const fixture = fileURLToPath(new URL('./__fixtures__/load-nasjs.ts', import.meta.url))
    const tsx = createRequire(import.meta.url).resolve('tsx')
    for (const [name, space, arch, options, x] of cases) {
      const model = buildModel(space, arch, { ...options, seed: 9 })
      const out = join(dir, `nasjs-${name}`)
      await expect(saveModel(model, out)).rejects.toMatchObject({ code: 'NOT_REGISTERED' })
      await saveModel(model, out, { space: name }, { nasjsLayers: 'keep' })
      const info = JSON.parse(readFileSync(join(out, 'nasjs.json'), 'utf8')) as { nasjsLayers: string[] }
      expect(info.nasjsLayers).toContain('NasMultiHeadAttention')
      const inputs = join(dir, `inputs-nasjs-${name}.json`)
      writeFileSync(
        inputs,
        JSON.stringify({ shape: x.shape, values: Array.from(x.dataSync()), dtype: x.dtype }),
      )
      const y = model.predict(x) as tf.Tensor
      const ours = Array.from(y.dataSync())
      const r = spawnSync(
        process.execPath,
        ['--conditions=@nasjs/source', '--import', pathToFileURL(tsx).href, fixture, out, inputs],
        {
          encoding: 'utf8',
        },
      )
      expect(r.status, `${name}: ${r.stderr}`).toBe(0)
      const theirs = JSON.parse(r.stdout) as number[]
      expect(theirs, name).toHaveLength(ours.length)
      const scale = Math.max(1, ...ours.map(Math.abs))
      expect(Math.max(...theirs.map((v, i) => Math.abs(v - ours[i]!))) / scale, name).toBeLessThan(1e-5)
      tf.dispose([x, y])
      model.dispose()
    }
  }, 120_000)

  it('a missing or unreadable directory is one IO error', async () => {
    expect(await codeOf(loadSavedModel(join(dir, 'nothing-here')))).toBe('IO')
  })
})

describe('training states on disk', () => {
  it('saveTrainState / loadTrainState round-trip; a corrupt file is DATA_CORRUPT and a missing store entry', async () => {
    const state: TrainState = {
      epochs: 2,
      step: 40,
      seed: 3,
      optimizer: 'adam',
      weights: [
        { shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, 6]) },
        { shape: [1], values: Float32Array.from([0.5]) },
      ],
      slots: {
        m: [Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])],
        v: [Float32Array.from([9, 8, 7, 6, 5, 4])],
      },
    }
    const file = join(dir, 'a.state')
    saveTrainState(file, state)
    expect(loadTrainState(file)).toEqual(state)
    writeFileSync(join(dir, 'bad.state'), 'not a state')
    expect(await codeOf(() => loadTrainState(join(dir, 'bad.state')))).toBe('DATA_CORRUPT')
    const store = fileCheckpoints(join(dir, 'ckpt'))
    expect(await store.get('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|')).toBeUndefined()
    await store.set('k', state)
    expect(await store.get('k')).toEqual(state)
  })

  it('a setup with checkpointDir continues promoted trials from its files', async () => {
    const ckpt = { ...setup, train: { ...setup.train, epochs: 2 }, checkpointDir: join(dir, 'run-ckpt') }
    const { evaluator } = await openTraining(ckpt)
    await evaluator(arch, { ...ctx, fidelity: 1, seed: 1 })
    // another evaluator of the same setup (another worker thread, or a resumed run) finds the state
    const again = await openTraining(ckpt)
    const m = await again.evaluator(arch, { ...ctx, fidelity: 2, seed: 2 })
    expect(m.epochs_resumed).toBe(1)
  })
})
