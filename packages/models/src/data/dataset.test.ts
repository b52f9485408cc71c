import { fc, test } from '@fast-check/vitest'
import { NasError } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import type { Dataset } from './dataset.js'
import { batches, channelStats, normalize, splitDataset } from './dataset.js'
import { datasetFromCsv, parseIdx } from './parse.js'

function codeOf(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    return e instanceof NasError ? `${e.code}: ${e.message}` : `not a NasError: ${String(e)}`
  }
  return undefined
}

/** `n` examples of shape [2, 2, 1] whose pixels are their index, labels `i % classes`. */
function toy(n: number, classes: number): Dataset {
  const x = new Float32Array(n * 4)
  for (let i = 0; i < n; i++) x.fill(i, i * 4, i * 4 + 4)
  return {
    name: 'toy',
    shape: [2, 2, 1],
    classes,
    x,
    y: Int32Array.from({ length: n }, (_, i) => i % classes),
  }
}

const ids = (d: Dataset) => Array.from({ length: d.y.length }, (_, k) => d.x[k * 4]!)

describe('parseIdx', () => {
  it('reads dimensions and bytes, and names the file in errors', () => {
    const ok = new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])
    expect(parseIdx(ok, 'a.idx')).toEqual({ dims: [2, 3], data: new Uint8Array([1, 2, 3, 4, 5, 6]) })
    expect(codeOf(() => parseIdx(new Uint8Array([1, 2, 3, 4]), 'b.idx'))).toMatch(
      /^DATA_CORRUPT: b\.idx: not an IDX file/,
    )
    expect(codeOf(() => parseIdx(ok.subarray(0, 15), 'c.idx'))).toMatch(
      /^DATA_CORRUPT: c\.idx: the header announces 2x3 = 6 values but 3 follow/,
    )
    expect(codeOf(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 0]), 'd.idx'))).toMatch(
      /not unsigned bytes/,
    )
  })
})

describe('datasetFromCsv', () => {
  it('reads features and labels; names become classes in sorted order', () => {
    const d = datasetFromCsv('a,b,kind\n1,2,dog\n3,4,cat\n5,6,dog\n', { name: 'pets.csv', label: 'kind' })
    expect(d.shape).toEqual([2])
    expect(d.classNames).toEqual(['cat', 'dog'])
    expect(Array.from(d.y)).toEqual([1, 0, 1])
    expect(Array.from(d.x)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('names the file, line and value of a bad row', () => {
    expect(codeOf(() => datasetFromCsv('a,b,y\n1,2,0\n3,x,1\n', { name: 'f.csv' }))).toBe(
      "DATA_CORRUPT: f.csv: line 3, column 2: 'x' is not a number",
    )
    expect(codeOf(() => datasetFromCsv('1,2,0\n3,1\n', { name: 'g.csv' }))).toBe(
      'DATA_CORRUPT: g.csv: line 2 has 2 values, not 3',
    )
    expect(codeOf(() => datasetFromCsv('a,y\n1,0\n', { name: 'h.csv', label: 'z' }))).toMatch(
      /^CONFIG_INVALID: h\.csv: no column 'z'/,
    )
    expect(codeOf(() => datasetFromCsv('1,2,0\n', { name: 'i.csv', shape: [3] }))).toMatch(/^CONFIG_INVALID/)
  })
})

describe('splitDataset', () => {
  it('splits by counts or fractions, stratified, reproducibly', () => {
    const d = toy(100, 4)
    const a = splitDataset(d, { valid: 0.2, test: 20, seed: 1 })
    expect([a.train.y.length, a.valid.y.length, a.test.y.length]).toEqual([60, 20, 20])
    for (const part of [a.train, a.valid, a.test]) {
      const counts = [0, 0, 0, 0]
      for (const v of part.y) counts[v]!++
      for (const c of counts) expect(Math.abs(c - part.y.length / 4)).toBeLessThanOrEqual(1)
    }
    const b = splitDataset(d, { valid: 0.2, test: 20, seed: 1 })
    expect(ids(b.train)).toEqual(ids(a.train))
    expect(ids(splitDataset(d, { valid: 0.2, test: 20, seed: 2 }).train)).not.toEqual(ids(a.train))
    expect(splitDataset(d, { valid: 10, seed: 1, train: 30 }).train.y.length).toBe(30)
    expect(codeOf(() => splitDataset(d, { valid: 60, test: 40, seed: 1 }))).toMatch(
      /^CONFIG_INVALID: a split of 60 validation and 40 test/,
    )
    expect(codeOf(() => splitDataset(d, { valid: -2, seed: 1 }))).toMatch(/^CONFIG_INVALID/)
  })

  test.prop([fc.integer({ min: 3, max: 300 }), fc.integer({ min: 1, max: 7 }), fc.integer()])(
    'the splits are disjoint and together hold every example',
    (n, classes, seed) => {
      const d = toy(n, classes)
      const nValid = Math.max(1, Math.floor(n / 5))
      const s = splitDataset(d, { valid: nValid, test: 1, seed })
      const all = [...ids(s.train), ...ids(s.valid), ...ids(s.test)].sort((p, q) => p - q)
      expect(all).toEqual(Array.from({ length: n }, (_, i) => i))
      expect(s.valid.y.length).toBe(nValid)
    },
  )
})

describe('normalize and batches', () => {
  it('standardises each channel to mean 0 and deviation 1 on the data it was computed on', () => {
    const d = toy(50, 2)
    const n = normalize(d, channelStats(d))
    const s = channelStats(n)
    expect(s.mean[0]).toBeCloseTo(0, 5)
    expect(s.std[0]).toBeCloseTo(1, 5)
  })

  it('yields every example once per pass, in seeded order, the last batch smaller', () => {
    const d = toy(10, 2)
    const order = (seed?: number) =>
      [...batches(d, { batchSize: 4, ...(seed === undefined ? {} : { shuffleSeed: seed }) })].flatMap((b) =>
        Array.from({ length: b.n }, (_, k) => b.xs[k * 4]!),
      )
    expect([...batches(d, { batchSize: 4 })].map((b) => b.n)).toEqual([4, 4, 2])
    expect(order()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect([...order(3)].sort((p, q) => p - q)).toEqual(order())
    expect(order(3)).toEqual(order(3))
    expect(order(3)).not.toEqual(order(4))
    expect(codeOf(() => [...batches(d, { batchSize: 0 })])).toMatch(/^CONFIG_INVALID/)
  })

  it('augments images: a padded random crop moves pixels, a flip mirrors them, both seeded', () => {
    // one 3x3 image 1..9
    const d: Dataset = {
      name: 'img',
      shape: [3, 3, 1],
      classes: 1,
      x: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      y: new Int32Array(1),
    }
    const flips = new Set<string>()
    for (let seed = 0; seed < 20; seed++) {
      const [b] = [...batches(d, { batchSize: 1, shuffleSeed: seed, augment: { flip: true } })]
      flips.add(Array.from(b!.xs).join(','))
    }
    expect([...flips].sort()).toEqual(['1,2,3,4,5,6,7,8,9', '3,2,1,6,5,4,9,8,7'])
    const crops = new Set<string>()
    for (let seed = 0; seed < 50; seed++) {
      const [b] = [...batches(d, { batchSize: 1, shuffleSeed: seed, augment: { cropPadding: 1 } })]
      const v = Array.from(b!.xs)
      expect(v.filter((p) => p !== 0).every((p) => p >= 1 && p <= 9)).toBe(true)
      crops.add(v.join(','))
    }
    expect(crops.size).toBe(9) // every offset in -1..1 x -1..1
    const text = { name: 'f', shape: [4], classes: 1, x: new Float32Array(4), y: new Int32Array(1) }
    expect(codeOf(() => [...batches(text, { batchSize: 1, augment: { flip: true } })])).toMatch(
      /needs image examples/,
    )
  })
})
