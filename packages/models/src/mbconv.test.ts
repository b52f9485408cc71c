import { initBackend } from '@nasjs/backend'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import type { MbNetwork } from './mbconv.js'
import {
  buildMbNetwork,
  channelShuffle,
  groupedPointwise,
  makeDivisible,
  mbNetworkCost,
  mbNetworkParts,
} from './mbconv.js'
import { trainableCount } from './testing-internal/model-checks.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

describe('makeDivisible', () => {
  it("rounds to multiples of 8 as OFA's make_divisible (never more than 10 % down)", () => {
    // widths of OFA's w1.2 network: 16, 24, 40, 80, 112, 160, 960, 1280 x 1.2
    expect([16, 24, 40, 80, 112, 160, 960, 1280].map((c) => makeDivisible(c * 1.2))).toEqual([
      24, 32, 48, 96, 136, 192, 1152, 1536,
    ])
    expect([18, 36, 60, 84, 4, 12].map((v) => makeDivisible(v))).toEqual([24, 40, 64, 88, 8, 16])
  })
})

describe('standard-layer building blocks', () => {
  it('groupedPointwise is a 1x1 convolution with groups (PyTorch channel order)', () => {
    const [h, w, cin, cout, groups] = [3, 2, 6, 4, 2]
    const input = tfl.input({ shape: [h, w, cin] })
    const model = tfl.model({ inputs: input, outputs: groupedPointwise(input, cout, groups, 1) })
    const [n, m] = [cin / groups, cout / groups]
    // depthwise kernel [1, 1, cin, m]: K[i, j] feeds output (group of i) m + j
    expect(model.getWeights().map((v) => v.shape)).toEqual([[1, 1, cin, m]])
    expect(trainableCount(model)).toBe((cin / groups) * cout)
    const k = Array.from(model.getWeights()[0]!.dataSync())
    const x = tf.randomNormal([2, h, w, cin], 0, 1, 'float32', 3)
    const xs = x.arraySync() as number[][][][]
    const y = tf.tidy(() => (model.predict(x) as tf.Tensor).arraySync() as number[][][][])
    for (let b = 0; b < 2; b++)
      for (let r = 0; r < h; r++)
        for (let c = 0; c < w; c++)
          for (let g = 0; g < groups; g++)
            for (let j = 0; j < m; j++) {
              let want = 0
              for (let t = 0; t < n; t++) want += xs[b]![r]![c]![g * n + t]! * k[(g * n + t) * m + j]!
              expect(y[b]![r]![c]![g * m + j]).toBeCloseTo(want, 5)
            }
    x.dispose()
    model.dispose()
  })

  it("channelShuffle sends channel g (c / groups) + j to j groups + g, as ShuffleNet's", () => {
    const input = tfl.input({ shape: [1, 2, 6] })
    const model = tfl.model({ inputs: input, outputs: channelShuffle(input, 2) })
    const x = tf.tensor4d([
      [
        [
          [0, 1, 2, 3, 4, 5],
          [10, 11, 12, 13, 14, 15],
        ],
      ],
    ])
    const y = tf.tidy(() => (model.predict(x) as tf.Tensor).arraySync())
    expect(y).toEqual([
      [
        [
          [0, 3, 1, 4, 2, 5],
          [10, 13, 11, 14, 12, 15],
        ],
      ],
    ])
    x.dispose()
    model.dispose()
  })
})

describe('mbNetworkCost and buildMbNetwork', () => {
  it('agree on every kind of layer (grouped, SE, strided 1x1 conv, odd sizes, feature mix)', () => {
    const net: MbNetwork = {
      name: 'tiny',
      inputShape: [13, 11, 2],
      stem: { cout: 8, kernel: 3, stride: 2, act: 'h_swish' },
      layers: [
        {
          kind: 'mbconv',
          cin: 8,
          cout: 8,
          mid: 8,
          kernel: 3,
          stride: 1,
          act: 'relu',
          expand: false,
          se: 0,
          groups: 1,
        },
        {
          kind: 'mbconv',
          cin: 8,
          cout: 8,
          mid: 8,
          kernel: 5,
          stride: 2,
          act: 'relu',
          expand: true,
          se: 0,
          groups: 2,
        },
        {
          kind: 'mbconv',
          cin: 8,
          cout: 12,
          mid: 24,
          kernel: 7,
          stride: 1,
          act: 'h_swish',
          expand: true,
          se: 8,
          groups: 1,
        },
        { kind: 'conv', cin: 12, cout: 16, kernel: 1, stride: 2, act: 'relu' },
      ],
      head: { cout: 20, act: 'h_swish' },
      mix: { cout: 24, act: 'h_swish' },
      dropout: 0.1,
      classes: 3,
    }
    const model = buildMbNetwork(net, 1)
    expect(trainableCount(model)).toBe(mbNetworkCost(net).params)
    // 13x11 -> 7x6 (stem) -> 4x3 (k5 s2) -> 2x2 (1x1 s2), with PyTorch's k // 2 padding
    const shapes = model.layers.map((l) => (l.outputShape as number[]).slice(1, 3).join('x'))
    expect(shapes).toContain('7x6')
    expect(shapes).toContain('4x3')
    expect(shapes).toContain('2x2')
    expect(model.outputs[0]!.shape).toEqual([null, 3])
    // every trainable weight gets a finite, non-zero gradient in training mode (BatchNorm on batch statistics)
    const x = tf.randomNormal([4, 13, 11, 2], 0, 1, 'float32', 5)
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3)
    const { value, grads } = tf.variableGrads(() =>
      tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor),
    )
    const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name)
    expect(Object.keys(grads).sort()).toEqual([...names].sort())
    for (const [name, g] of Object.entries(grads)) {
      const v = g.dataSync()
      expect(v.every(Number.isFinite), name).toBe(true)
      expect(
        v.some((t) => t !== 0),
        name,
      ).toBe(true)
    }
    tf.dispose([x, labels, value, ...Object.values(grads)])
    // the parts: every layer in exactly one, the stem first, the classifier last, each block's
    // weighted layers with it (no expansion: depthwise + project; expansion: + expand; SE: + 2 dense)
    const parts = mbNetworkParts(model)!
    expect(parts).toHaveLength(net.layers.length + 2)
    expect(parts.flat().sort()).toEqual(model.layers.map((l) => l.name).sort())
    const byName = new Map(model.layers.map((l) => [l.name, l.getClassName()]))
    const weighted = parts.map(
      (p) => p.filter((n) => ['Conv2D', 'DepthwiseConv2D', 'Dense'].includes(byName.get(n)!)).length,
    )
    expect(weighted).toEqual([1, 2, 3, 5, 1, 3])
    expect(parts[0]).toContain(model.layers[0]!.name)
    expect(parts.at(-1)).toContain(model.outputs[0]!.sourceLayer.name)
    expect(
      mbNetworkParts(tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] })),
    ).toBe(undefined)
    model.dispose()
  })
})
