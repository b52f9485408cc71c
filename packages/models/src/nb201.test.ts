import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { dataDir } from '@nasjs/benchmark-data/node'
import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { getSpace, nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildModel, modelCost, nb201Cost } from './index.js'
import { codeOf } from './testing-internal/model-checks.js'

/** The cell with the best CIFAR-10 test accuracy (94.37 %, index 6111). */
const BEST = nb201.parse(
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
)

/** The fields of one CSV line (double-quoted fields may hold commas). */
function csvFields(line: string): string[] {
  const out: string[] = []
  let field = ''
  let quoted = false
  for (const ch of line) {
    if (ch === '"') quoted = !quoted
    else if (ch === ',' && !quoted) {
      out.push(field)
      field = ''
    } else field += ch
  }
  out.push(field)
  return out
}

function gz(rel: string): string {
  return gunzipSync(readFileSync(join(dataDir(), rel))).toString('utf8')
}

beforeAll(async () => {
  await initBackend({ quiet: true })
})

describe('nb201Cost: parameters and FLOPs as the benchmark counts them', () => {
  it('equals the official NATS-Bench records (params and FLOPs, CIFAR-10 and ImageNet16-120)', () => {
    const records = JSON.parse(gz('nb201/nats_tss_official_records_0_11_284.json.gz')) as Record<
      string,
      { '200': { arch_str: string; all_results: Record<string, { flop: number; params: number }> } }
    >
    let checked = 0
    for (const r of Object.values(records)) {
      const arch = nb201.parse(r['200'].arch_str)
      for (const [key, res] of Object.entries(r['200'].all_results)) {
        const imagenet = key.includes('ImageNet16-120')
        const options = imagenet
          ? { inputShape: [16, 16, 3] as [number, number, number], classes: 120 }
          : key.includes('cifar100')
            ? { classes: 100 }
            : {}
        const c = nb201Cost(arch, options)
        expect(c.params / 1e6, `${r['200'].arch_str} ${key} params`).toBeCloseTo(res.params, 6)
        expect(c.flops / 1e6, `${r['200'].arch_str} ${key} flops`).toBeCloseTo(res.flop, 5)
        checked++
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3 * 4)
  })

  it('equals params_cifar10_M of the master table to its printed precision for 15,421 of 15,625 cells', () => {
    const lines = gz('nb201/nb201_master.csv.gz').trim().split('\n')
    const header = csvFields(lines[0]!)
    const archCol = header.indexOf('arch_str')
    const paramsCol = header.indexOf('params_cifar10_M')
    let equal = 0
    const off: number[] = []
    for (const line of lines.slice(1)) {
      const cells = csvFields(line)
      const text = cells[paramsCol]!
      const decimals = text.split('.')[1]?.length ?? 0
      const ours = nb201Cost(nb201.parse(cells[archCol]!)).params / 1e6
      if (ours.toFixed(decimals) === Number(text).toFixed(decimals)) equal++
      else off.push(Number(text) - ours)
    }
    expect(lines.length - 1).toBe(15_625)
    // The other 204 rows differ by a third of one operation's parameters over the network (one of
    // three averaged source records counted another cell): e.g. 81,013 = 243,040 / 3 for a 3x3 conv.
    expect(equal).toBe(15_421)
    const thirds = [9_333, 18_667, 81_013, 121_520, 162_027, 14_000].map((x) => x / 1e6)
    for (const d of off) expect(thirds.some((t) => Math.abs(Math.abs(d) - t) < 2e-6)).toBe(true)
  })
})

describe('buildModel(nb201, arch)', () => {
  it('builds the network whose countParams() equals the analytic count (20 random cells, two sizes)', () => {
    const rng = new Rng(3)
    for (let i = 0; i < 20; i++) {
      const arch = nb201.sample(rng)
      const options =
        i % 2 === 0
          ? {}
          : { channels: 8, cellsPerStage: 1, inputShape: [28, 28, 1] as [number, number, number] }
      const model = buildModel(nb201, arch, options)
      // trainable weights only: BatchNorm's moving statistics are buffers, not parameters
      const trainable = model.trainableWeights.reduce(
        (s, w) => s + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1),
        0,
      )
      expect(trainable, nb201.format(arch)).toBe(modelCost(nb201, arch, options).params)
      expect(model.outputs[0]!.shape).toEqual([null, 10])
      model.dispose()
    }
  })

  it('the best CIFAR-10 cell (index 6111): 1,073,466 parameters (the table: 1.07347 M)', () => {
    expect(nb201Cost(BEST).params).toBe(1_073_466)
  })

  it('runs forward without leaking tensors; `none` everywhere gives a constant output', async () => {
    const model = buildModel(nb201, BEST, { channels: 4, cellsPerStage: 1 })
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1)
    await expectNoLeaks(() => {
      tf.tidy(() => {
        const y = model.predict(x) as tf.Tensor
        expect(y.shape).toEqual([2, 10])
      })
    })
    const none = buildModel(nb201, ['none', 'none', 'none', 'none', 'none', 'none'], {
      channels: 4,
      cellsPerStage: 1,
    })
    const y = tf.tidy(() => (none.predict(x) as tf.Tensor).arraySync() as number[][])
    expect(y[0]).toEqual(y[1]) // the last cell outputs zeros whatever the input
    x.dispose()
    model.dispose()
    none.dispose()
  })

  it('averages 3x3 windows without counting the padding, as the benchmark (count_include_pad=False)', () => {
    const model = buildModel(nb201, ['avg_pool_3x3', 'none', 'none', 'none', 'none', 'none'], {
      channels: 4,
      cellsPerStage: 1,
    })
    const pool = model.layers.find(
      (l) => l.getClassName() === 'AveragePooling2D' && l.getConfig().padding === 'same',
    )!
    const ones = tf.ones([1, 4, 4, 1])
    const y = pool.apply(ones) as tf.Tensor
    expect(Array.from(y.dataSync())).toEqual(new Array(16).fill(1))
    tf.dispose([ones, y])
    model.dispose()
  })

  it('saves and loads back (the Zero layer is registered) with equal outputs', async () => {
    const model = buildModel(
      nb201,
      ['none', 'nor_conv_1x1', 'none', 'none', 'avg_pool_3x3', 'skip_connect'],
      {
        channels: 4,
        cellsPerStage: 1,
        seed: 5,
      },
    )
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
    const x = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 2)
    const [a, b] = tf.tidy(() => [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor])
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)
    expect(diff).toBeLessThan(1e-5)
    tf.dispose([x, a, b])
    model.dispose()
    loaded.dispose()
  })

  it('a sum of one tensor twice (two skip connections from one node) runs in inference', () => {
    const arch = nb201.parse(
      '|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|',
    )
    const model = buildModel(nb201, arch, { channels: 3, cellsPerStage: 2, inputShape: [8, 8, 1] })
    const x = tf.ones([2, 8, 8, 1])
    const before = tf.memory().numTensors
    const y = model.predict(x) as tf.Tensor
    expect(y.shape).toEqual([2, 10])
    y.dispose()
    expect(tf.memory().numTensors).toBe(before)
    x.dispose()
    model.dispose()
  })

  it('same seed, same weights; another seed, other weights', () => {
    const w = (seed: number) => {
      const m = buildModel(nb201, BEST, { channels: 4, cellsPerStage: 1, seed })
      const v = Array.from(m.getWeights()[0]!.dataSync())
      m.dispose()
      return v
    }
    expect(w(1)).toEqual(w(1))
    expect(w(2)).not.toEqual(w(1))
  })

  it('bad input is one NasError with a code', () => {
    expect(
      codeOf(() => buildModel(nb201, ['conv_7x7', 'none', 'none', 'none', 'none', 'none'] as never)),
    ).toBe('ARCH_INVALID')
    expect(codeOf(() => buildModel(nb201, BEST, { channels: 0 }))).toBe('CONFIG_INVALID')
    expect(codeOf(() => buildModel(nb201, BEST, { inputShape: [30, 30, 3] }))).toBe('CONFIG_INVALID')
    expect(codeOf(() => buildModel(nb201, BEST, { width: 2 } as never))).toBe('CONFIG_INVALID')
    const gnn = getSpace('gnn')
    expect(codeOf(() => buildModel(gnn, gnn.sample(new Rng(1))))).toBe('NOT_REGISTERED')
  })
})
