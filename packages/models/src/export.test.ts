import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { darts, nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildModel, exportArtifacts, modelJson } from './index.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const DARTS_V2 =
  "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)

describe('exportArtifacts: a model plain TF.js loads', () => {
  it('has no nasjs layer, drops only dead nodes, and gives equal outputs', async () => {
    // node 1 is none (Zero); nodes 1 and 2 reach no output (KeepFirst keeps them in the built model)
    const arch = nb201.parse('|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|')
    const model = buildModel(nb201, arch, { channels: 4, cellsPerStage: 1, seed: 3 })
    const a = await exportArtifacts(model)
    const text = modelJson(a)
    expect(text).not.toMatch(/"Nas[A-Za-z]+"/)
    expect(JSON.parse(text).weightsManifest[0].paths).toEqual(['weights.bin'])
    const exported = await tfl.loadLayersModel(tf.io.fromMemory(a))
    // the dead conv of node 2 in each of the three cells is gone: 3 x (4, 8, 16 channel) 3x3 convs + BatchNorm (4 weights per channel)
    const dead = [4, 8, 16].reduce((s, c) => s + 9 * c * c + 4 * c, 0)
    expect(exported.countParams()).toBe(model.countParams() - dead)
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 4)
    const [y1, y2] = tf.tidy(() => [model.predict(x) as tf.Tensor, exported.predict(x) as tf.Tensor])
    expect(maxDiff(y1, y2)).toBeLessThan(1e-5)
    tf.dispose([x, y1, y2])
    model.dispose()
    exported.dispose()
  })

  it('equal outputs for random cells (every op, dead nodes and all-none cells)', async () => {
    const rng = new Rng(11)
    for (let i = 0; i < 6; i++) {
      const model = buildModel(nb201, nb201.sample(rng), {
        channels: 3,
        cellsPerStage: 1,
        inputShape: [8, 8, 1],
        seed: i,
      })
      const exported = await tfl.loadLayersModel(tf.io.fromMemory(await exportArtifacts(model)))
      const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', i)
      const [y1, y2] = tf.tidy(() => [model.predict(x) as tf.Tensor, exported.predict(x) as tf.Tensor])
      expect(maxDiff(y1, y2)).toBeLessThan(1e-5)
      tf.dispose([x, y1, y2])
      model.dispose()
      exported.dispose()
    }
  })

  it('DARTS networks (dilated convolutions, drop-path) export to standard layers with equal outputs', async () => {
    const rng = new Rng(5)
    for (let i = 0; i < 3; i++) {
      const arch = i === 0 ? darts.parse(DARTS_V2) : darts.sample(rng)
      const model = buildModel(darts, arch, {
        channels: 4,
        layers: 3,
        inputShape: [16, 16, 3],
        dropPath: 0.2,
        seed: i,
      })
      const a = await exportArtifacts(model)
      expect(modelJson(a)).not.toMatch(/"Nas[A-Za-z]+"/)
      const exported = await tfl.loadLayersModel(tf.io.fromMemory(a))
      const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', i)
      const [y1, y2] = tf.tidy(() => [model.predict(x) as tf.Tensor, exported.predict(x) as tf.Tensor])
      expect(maxDiff(y1, y2)).toBeLessThan(1e-5)
      tf.dispose([x, y1, y2])
      model.dispose()
      exported.dispose()
    }
  })
})
