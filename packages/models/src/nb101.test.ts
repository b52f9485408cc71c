import { initBackend, expectNoLeaks } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { nb101, type Nb101Arch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportArtifacts, modelJson } from './export.js'
import { buildNb101, nb101Cost, nb101VertexChannels, type Nb101NetworkOptions } from './nb101.js'
import { errorOf, modelMacs, size, trainableCount } from './testing-internal/model-checks.js'

const [IN, OUT, C3, C1, MP] = ['input', 'output', 'conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3']

/** The Inception-like cell of the NAS-Bench-101 README and notebook. */
const README_CELL = nb101.parse(
  JSON.stringify({
    matrix: [
      [0, 1, 1, 1, 0, 1, 0],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 1, 0, 0],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0, 0],
    ],
    ops: [IN, C1, C3, C3, C3, MP, OUT],
  }),
)
/** The same cell as the benchmark stores it (the notebook prints this `module_adjacency`). */
const README_CELL_STORED = nb101.parse(
  JSON.stringify({
    matrix: [
      [0, 1, 1, 1, 1, 0, 0],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 1, 0],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0, 0],
    ],
    ops: [IN, C3, C1, MP, C3, C3, OUT],
  }),
)
/** Vertex 1 (3 channels at C = 8) feeds vertex 3 (2 channels): vertex 3 reads its first 2 channels. */
const TRUNCATING: Nb101Arch = {
  matrix: [
    [0, 1, 0, 0, 1],
    [0, 0, 1, 1, 1],
    [0, 0, 0, 0, 1],
    [0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0],
  ],
  ops: [IN, C3, MP, C1, OUT],
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)

let tensorsAtStart = 0
beforeAll(async () => {
  await initBackend({ quiet: true })
  tensorsAtStart = tf.memory().numTensors
})
afterAll(() => {
  // every model the tests make is disposed
  const left = tf.memory().numTensors - tensorsAtStart
  if (left !== 0) throw new Error(`${left} tensors leaked by this file's tests`)
})

describe('nb101VertexChannels', () => {
  const cell = (matrix: number[][]): Nb101Arch => ({
    matrix,
    ops: [IN, ...new Array<string>(matrix.length - 2).fill(C3), OUT],
  })
  // the cases of the reference's model_builder_test.py
  it.each([
    [
      'a chain',
      [
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
      ],
      8,
      16,
      [8, 16, 16, 16],
    ],
    [
      'a chain, fewer channels out',
      [
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
      ],
      16,
      8,
      [16, 8, 8, 8],
    ],
    [
      'input and output only',
      [
        [0, 1],
        [0, 0],
      ],
      5,
      1,
      [5, 1],
    ],
    [
      'two vertices feed the output',
      [
        [0, 1, 1, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
      ],
      8,
      15,
      [8, 8, 7, 15],
    ],
    [
      'three vertices feed the output',
      [
        [0, 1, 1, 1, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
      ],
      8,
      8,
      [8, 3, 3, 2, 8],
    ],
    [
      'a vertex takes the largest count it feeds',
      [
        [0, 1, 0, 0, 0],
        [0, 0, 1, 1, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
      ],
      8,
      9,
      [8, 5, 5, 4, 9],
    ],
  ])('%s', (_, matrix, cin, cout, expected) => {
    expect(nb101VertexChannels(cell(matrix), cin, cout)).toEqual(expected)
  })
})

describe('nb101Cost', () => {
  it("the README cell: 2,694,282 parameters, the benchmark's trainable_parameters for it", () => {
    expect(nb101Cost(README_CELL)).toEqual({ params: 2_694_282, flops: 402_002_954 })
    expect(nb101Cost(README_CELL_STORED)).toEqual(nb101Cost(README_CELL))
  })

  it('the full-size README network has those trainable weights and multiply-accumulates', () => {
    const model = buildNb101(README_CELL)
    expect(trainableCount(model)).toBe(2_694_282)
    expect(modelMacs(model)).toBe(402_002_954)
    // countParams() also counts BatchNorm's moving mean and variance, which are not parameters
    const moving = model.nonTrainableWeights
    expect(moving.every((w) => /moving_(mean|variance)/.test(w.originalName))).toBe(true)
    expect(model.countParams()).toBe(2_694_282 + moving.reduce((s, w) => s + size(w.shape), 0))
    model.dispose()
  })
})

describe('buildNb101', () => {
  it('trainable weights and layer MACs equal nb101Cost (20 random cells, several sizes)', () => {
    const rng = new Rng(101)
    const sizes: Nb101NetworkOptions[] = [
      { stemChannels: 8, cellsPerStack: 1, inputShape: [16, 16, 3] },
      { stemChannels: 5, stacks: 2, cellsPerStack: 2, inputShape: [8, 12, 1], classes: 3 },
      { stemChannels: 7, stacks: 1, cellsPerStack: 1, inputShape: [5, 7, 2] },
      { stemChannels: 11, stacks: 4, cellsPerStack: 1, inputShape: [16, 8, 3] },
    ]
    let cropped = 0
    for (let i = 0; i < 20; i++) {
      const arch = nb101.sample(rng)
      const options = { ...sizes[i % sizes.length]!, seed: i }
      const model = buildNb101(arch, options)
      const cost = nb101Cost(arch, options)
      expect(trainableCount(model), nb101.format(arch)).toBe(cost.params)
      expect(modelMacs(model), nb101.format(arch)).toBe(cost.flops)
      expect(model.outputs[0]!.shape).toEqual([null, options.classes ?? 10])
      cropped += model.layers.filter((l) => l.getClassName() === 'Cropping2D').length
      model.dispose()
    }
    expect(cropped).toBeGreaterThan(0) // some sampled cells truncate
  })

  it('a vertex reads the first channels of a wider one (a channels-first Cropping2D)', () => {
    expect(nb101VertexChannels(TRUNCATING, 8, 8)).toEqual([8, 3, 3, 2, 8])
    const model = buildNb101(TRUNCATING, {
      stemChannels: 8,
      stacks: 1,
      cellsPerStack: 1,
      inputShape: [4, 4, 1],
    })
    const crops = model.layers.filter((l) => l.getClassName() === 'Cropping2D')
    expect(crops).toHaveLength(1)
    const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 7)
    const [y, first] = tf.tidy(() => [
      crops[0]!.apply(x) as tf.Tensor,
      tf.slice(x, [0, 0, 0, 0], [2, 4, 4, 2]),
    ])
    expect(y.shape).toEqual([2, 4, 4, 2])
    expect(maxDiff(y, first)).toBe(0)
    tf.dispose([x, y, first])
    model.dispose()
  })

  it('a cell of input and output only is the 1x1 projection of its input', () => {
    const arch = nb101.parse(
      JSON.stringify({
        matrix: [
          [0, 1],
          [0, 0],
        ],
        ops: [IN, OUT],
      }),
    )
    const model = buildNb101(arch, { stemChannels: 6, cellsPerStack: 2, inputShape: [8, 8, 3] })
    const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D')
    // stem, then 2 projections per stack
    expect(convs.map((l) => (l.getConfig().kernelSize as number[])[0])).toEqual([3, 1, 1, 1, 1, 1, 1])
    expect(convs.map((l) => l.getConfig().filters)).toEqual([6, 6, 6, 12, 12, 24, 24])
    model.dispose()
  })

  it('runs forward without leaking tensors; saves, loads back and exports with equal outputs', async () => {
    const model = buildNb101(README_CELL, { stemChannels: 8, cellsPerStack: 1, seed: 4 })
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 2)
    await expectNoLeaks(() => {
      tf.tidy(() => {
        expect((model.predict(x) as tf.Tensor).shape).toEqual([2, 10])
      })
    })
    let saved: tf.io.ModelArtifacts | undefined
    await model.save(
      tf.io.withSaveHandler(
        (a) => (
          (saved = a),
          Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })
        ),
      ),
    )
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!))
    const exported = await exportArtifacts(model)
    // only standard layers: the export is the saved model unchanged
    expect(modelJson(exported)).not.toMatch(/"Nas[A-Za-z]+"/)
    expect(exported.modelTopology).toEqual(saved!.modelTopology)
    const plain = await tfl.loadLayersModel(tf.io.fromMemory(exported))
    const [a, b, c] = tf.tidy(() => [model, loaded, plain].map((m) => m.predict(x) as tf.Tensor))
    expect(maxDiff(a!, b!)).toBeLessThan(1e-5)
    expect(maxDiff(a!, c!)).toBeLessThan(1e-5)
    tf.dispose([x, a!, b!, c!])
    for (const m of [model, loaded, plain]) m.dispose()
  })

  it('the truncating cell saves and loads back with equal outputs', async () => {
    const model = buildNb101(TRUNCATING, {
      stemChannels: 8,
      stacks: 2,
      cellsPerStack: 1,
      inputShape: [8, 8, 3],
    })
    const plain = await tfl.loadLayersModel(tf.io.fromMemory(await exportArtifacts(model)))
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3)
    const [a, b] = tf.tidy(() => [model.predict(x) as tf.Tensor, plain.predict(x) as tf.Tensor])
    expect(maxDiff(a, b)).toBeLessThan(1e-5)
    tf.dispose([x, a, b])
    model.dispose()
    plain.dispose()
  })

  it('trains: every weight of a truncating network gets a finite, non-zero gradient', () => {
    const model = buildNb101(TRUNCATING, {
      stemChannels: 8,
      stacks: 2,
      cellsPerStack: 1,
      inputShape: [8, 8, 3],
    })
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 5)
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([1, 7, 3, 0], 'int32'), 10))
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor),
      vars,
    )
    expect(Number.isFinite(value.dataSync()[0])).toBe(true)
    expect(Object.keys(grads)).toHaveLength(vars.length)
    for (const g of Object.values(grads)) {
      expect(tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0])).toBe(1)
      expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0)
    }
    tf.dispose([x, labels, value, grads])
    model.dispose()
  })

  it('same seed, same weights; another seed, other weights', () => {
    const w = (seed: number) => {
      const m = buildNb101(README_CELL, { stemChannels: 5, stacks: 1, cellsPerStack: 1, seed })
      const v = Array.from(m.getWeights()[0]!.dataSync())
      m.dispose()
      return v
    }
    expect(w(1)).toEqual(w(1))
    expect(w(2)).not.toEqual(w(1))
  })

  it('bad options are one CONFIG_INVALID NasError naming the field and the value; bad cells ARCH_INVALID', () => {
    const cases: [Nb101NetworkOptions, string, unknown][] = [
      [{ stemChannels: 4 }, 'stemChannels', 4],
      [{ stacks: 0 }, 'stacks', 0],
      [{ cellsPerStack: 1.5 }, 'cellsPerStack', 1.5],
      [{ inputShape: [30, 30, 3] }, 'inputShape', [30, 30, 3]], // 3 stacks: multiples of 4
      [{ stacks: 4, inputShape: [32, 36, 3] }, 'inputShape', [32, 36, 3]],
      [{ classes: 1 }, 'classes', 1],
      [{ width: 2 } as never, 'width', { width: 2 }], // an unknown field: the value is the whole input
    ]
    for (const [options, field, value] of cases) {
      for (const f of [() => buildNb101(README_CELL, options), () => nb101Cost(README_CELL, options)]) {
        const e = errorOf(f)
        expect(e.code).toBe('CONFIG_INVALID')
        expect(e.message).toContain(field)
        expect(e.value).toEqual(value)
      }
    }
    // vertex 2 lies on no input-to-output path: prune it first
    const unpruned = {
      matrix: [
        [0, 1, 1, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
      ops: [IN, C3, C1, OUT],
    }
    expect(errorOf(() => buildNb101(unpruned)).code).toBe('ARCH_INVALID')
    expect(errorOf(() => nb101Cost(unpruned)).code).toBe('ARCH_INVALID')
  })
})
