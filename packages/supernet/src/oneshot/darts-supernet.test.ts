import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { DARTS_PRIMITIVES, darts } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { caught, quadrants } from '../testing-internal/fixtures.js'
import { DartsCellSupernet, dartsPrimitive, type DartsCellSupernetConfig } from './darts-supernet.js'
import { searchCell, type OneShotConfig, type OneShotState } from './search.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

/** 16x16 grey images, 4 classes, 4 channels and 3 cells (the second and third reduce). */
const TINY: DartsCellSupernetConfig = { channels: 4, layers: 3, inputShape: [16, 16, 1], classes: 4 }
const train = quadrants(32, 1)
const valid = quadrants(32, 2)
const images = (n: number) => tf.tensor4d(quadrants(n, 3).x, [n, 16, 16, 1])
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)
const P = (name: string) => DARTS_PRIMITIVES.indexOf(name as never)

/** DARTS-V2's genotype (genotypes.py of the DARTS code). */
const V2 = darts.parse(
  "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
)

/** The architecture weights (28 x 8) that choose `arch`: 30 on its edges' primitives, `none` elsewhere. */
function alphasOf(arch: typeof V2): number[][] {
  const rows: number[][] = []
  for (const cell of [arch.normal, arch.reduce]) {
    cell.forEach((node, i) => {
      for (let j = 0; j < i + 2; j++) {
        const at = node.inputs.indexOf(j)
        const row = new Array<number>(8).fill(0)
        row[at < 0 ? 0 : P(node.ops[at]!)] = 30
        rows.push(row)
      }
    })
  }
  return rows
}

/** A 1 x 6 x 6 x 1 map with distinct values, negative ones too. */
const map6 = () =>
  tf.tensor4d(
    Array.from({ length: 36 }, (_, i) => ((i * 7) % 36) - 17),
    [1, 6, 6, 1],
  )

describe('DARTS primitives', () => {
  const id = (y: tf.Tensor4D) => y
  const ones = (name: string): tf.Tensor4D => {
    const k = /\/dw\d?$/.test(name) ? (name.includes('dil5') ? 5 : 3) : 1
    return tf.ones([k, k, 1, 1])
  }

  it('pool with stride 2 as PyTorch does: windows centred on even pixels, padding left out', () => {
    const x = map6()
    const v = x.arraySync()[0]!.map((r) => r.map((c) => c[0]!))
    const window = (r: number, c: number) => {
      const out: number[] = []
      for (let a = r - 1; a <= r + 1; a++)
        for (let b = c - 1; b <= c + 1; b++) if (a >= 0 && b >= 0 && a < 6 && b < 6) out.push(v[a]![b]!)
      return out
    }
    const expectMap = (y: tf.Tensor4D, f: (xs: number[]) => number) => {
      const got = y.arraySync()[0]!.map((r) => r.map((c) => c[0]!))
      expect(got).toHaveLength(3)
      got.forEach((row, i) => row.forEach((g, j) => expect(g).toBeCloseTo(f(window(2 * i, 2 * j)), 5)))
    }
    expectMap(dartsPrimitive(P('max_pool_3x3'), x, 2, 'e', ones, id)!, (xs) => Math.max(...xs))
    expectMap(
      dartsPrimitive(P('avg_pool_3x3'), x, 2, 'e', ones, id)!,
      (xs) => xs.reduce((s, t) => s + t, 0) / xs.length,
    )
    x.dispose()
  })

  it('runs a dilated convolution with stride 2 as PyTorch: dilation 2, padding k - 1, centred on even pixels', () => {
    const x = map6()
    const v = x.arraySync()[0]!.map((r) => r.map((c) => Math.max(0, c[0]!))) // ReLU first
    const y = dartsPrimitive(P('dil_conv_3x3'), x, 2, 'e', ones, id)!
    const got = y.arraySync()[0]!.map((r) => r.map((c) => c[0]!))
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let sum = 0
        for (let a = -1; a <= 1; a++) {
          for (let b = -1; b <= 1; b++) {
            const [r, c] = [2 * i + 2 * a, 2 * j + 2 * b]
            if (r >= 0 && c >= 0 && r < 6 && c < 6) sum += v[r]![c]!
          }
        }
        expect(got[i]![j]).toBeCloseTo(sum, 4)
      }
    }
    // a strided skip_connect is a FactorizedReduce: two 1x1 convolutions, the second a pixel shifted
    const two = tf.concat([x, x], 3)
    const fr = dartsPrimitive(P('skip_connect'), two, 2, 'e', () => tf.ones([1, 1, 2, 1]), id)!
    const f = fr.arraySync()[0]!
    expect(f[1]![2]).toEqual([2 * v[2]![4]!, 2 * v[3]![5]!])
    expect(dartsPrimitive(P('none'), x, 1, 'e', ones, id)).toBeUndefined()
    // sharpDARTS's SharpSepConv: the dilated stage, then an undilated depthwise and pointwise stage
    const sharp = dartsPrimitive(P('dil_conv_3x3'), x, 2, 'e', ones, id, true)!
    const second = tf.conv2d(
      tf.depthwiseConv2d(tf.relu(y), tf.ones([3, 3, 1, 1]), 1, 'same'),
      tf.ones([1, 1, 1, 1]),
      1,
      'same',
    )
    expect(maxDiff(sharp, second)).toBeLessThan(1e-4)
    tf.dispose([sharp, second])
    tf.dispose([x, y, two, fr])
  })
})

describe('DartsCellSupernet', () => {
  it('with one primitive per edge dominating alpha, the mixed network is the cell it derives', () => {
    const net = new DartsCellSupernet(TINY)
    const x = images(6)
    tf.tidy(() => net.alphas.assign(tf.tensor2d(alphasOf(V2))))
    expect(darts.format(net.derive())).toBe(darts.format(V2))
    const mixed = net.forward(x)
    const cell = net.forward(x, { kind: 'arch', arch: V2 })
    expect(mixed.shape).toEqual([6, 4])
    expect(maxDiff(mixed, cell)).toBeLessThan(1e-4)
    // GDAS's hard weights, one-hot in value: the same network
    const index = alphasOf(V2).map((row) => row.indexOf(30))
    const weights = tf.cast(tf.oneHot(tf.tensor1d(index, 'int32'), 8), 'float32') as tf.Tensor2D
    const hard = net.forward(x, { kind: 'hard', weights, index })
    // (the hard path runs `none` as zeros where the cell leaves an edge out)
    expect(maxDiff(hard, cell)).toBeLessThan(1e-4)
    const other = net.forward(x, {
      kind: 'arch',
      arch: {
        normal: V2.reduce.map((n) => ({ ...n, ops: n.ops.map(() => 'sep_conv_5x5' as const) })),
        reduce: V2.reduce,
      },
    })
    expect(maxDiff(other, cell)).toBeGreaterThan(1e-3)
    tf.dispose([x, mixed, cell, weights, hard, other])
    net.dispose()
  })

  it("derives as the DARTS code's genotype(): the two strongest edges per node, none left out, ties to the earlier", () => {
    const net = new DartsCellSupernet(TINY)
    const rows = Array.from({ length: 28 }, () => new Array<number>(8).fill(0))
    // node 0 of the normal cell (edges 0, 1): none is strongest on edge 0 but does not count
    rows[0]![0] = 9
    rows[0]![P('avg_pool_3x3')] = 1
    rows[1]![P('sep_conv_5x5')] = 2
    // node 1 (edges 2, 3, 4): edge 4 strongest, then edges 2 and 3 tie: the earlier (input 0) wins
    rows[4]![P('dil_conv_5x5')] = 3
    rows[2]![P('skip_connect')] = 1
    rows[3]![P('max_pool_3x3')] = 1
    tf.tidy(() => net.alphas.assign(tf.tensor2d(rows)))
    const g = net.derive()
    expect(g.normal[0]).toEqual({ inputs: [0, 1], ops: ['avg_pool_3x3', 'sep_conv_5x5'] })
    expect(g.normal[1]).toEqual({ inputs: [0, 2], ops: ['skip_connect', 'dil_conv_5x5'] })
    // all-equal rows: the first primitive after none on the first two edges
    expect(g.reduce[3]).toEqual({ inputs: [0, 1], ops: ['max_pool_3x3', 'max_pool_3x3'] })
    expect(darts.check(g)).toBeUndefined()
    net.dispose()
  })

  it('with sharpSepConv, holds the second stage of every dilated convolution and runs it', () => {
    const plain = new DartsCellSupernet(TINY)
    const sharp = new DartsCellSupernet({ ...TINY, sharpSepConv: true })
    const count = (n: DartsCellSupernet) => n.weights.reduce((t, v) => t + v.size, 0)
    // per edge: 3x3 and 5x5 depthwise kernels plus two C x C pointwise weights, C the cell's channels
    const perCell = (ch: number) => 14 * (9 * ch + 25 * ch + 2 * ch * ch)
    // (three cells: C = 4, then two reduction cells of 8 and 16)
    expect(count(sharp) - count(plain)).toBe(perCell(4) + perCell(8) + perCell(16))
    const x = images(2)
    const [a, b] = [plain.forward(x), sharp.forward(x)]
    expect(b.shape).toEqual([2, 4])
    tf.dispose([x, a, b])
    plain.dispose()
    sharp.dispose()
  })

  it('refuses a bad config, bad weights and images of another shape with one clear error', () => {
    expect(caught(() => new DartsCellSupernet({ ...TINY, channels: 6, partialChannels: 4 }))).toMatchObject({
      code: 'CONFIG_INVALID',
    })
    const net = new DartsCellSupernet(TINY)
    const x = images(2)
    expect(caught(() => net.forward(x, { kind: 'hard', weights: net.alphas, index: [0] }))).toMatchObject({
      code: 'INPUT_INVALID',
    })
    expect(caught(() => net.forward(tf.zeros([2, 8, 8, 1])))).toMatchObject({ code: 'INPUT_INVALID' })
    x.dispose()
    net.dispose()
    expect(caught(() => net.forward(images(1)))).toMatchObject({ code: 'INPUT_INVALID' })
  })
})

describe('searchCell on the DARTS space', () => {
  const base: OneShotConfig = { epochs: 2, batchSize: 16, archLr: 0.05, lr: 0.05 }
  const cases: [string, DartsCellSupernetConfig, OneShotConfig][] = [
    ['darts', {}, { method: 'darts' }],
    ['pc-darts', { partialChannels: 2, edgeNormalization: true }, { method: 'darts' }],
    ['gdas', {}, { method: 'gdas' }],
    // (RARTS, SD-DARTS and sharpDARTS only change the steps, tested on NB201; they run here unchanged)
  ]
  it.each(cases)(
    '%s moves the architecture weights and derives a valid genotype',
    async (_name, shape, cfg) => {
      const net = new DartsCellSupernet({ ...TINY, ...shape, seed: 4 })
      const before = net.alphas.arraySync()
      const r = await searchCell(net, train, valid, { ...base, ...cfg })
      expect(r.status).toBe('complete')
      expect(r.steps).toBe(4)
      expect(darts.check(r.arch)).toBeUndefined()
      expect(r.history).toHaveLength(2)
      expect(r.history[0]).toHaveLength(28)
      expect(maxDiff(net.alphas, tf.tensor2d(before))).toBeGreaterThan(1e-4)
      net.dispose()
    },
  )

  it('stopped and resumed, ends with the weights and alphas of one run (the same seed, the same run); leaks nothing over an epoch', async () => {
    const cfg: OneShotConfig = { ...base, method: 'gdas', seed: 3 }
    const straight = new DartsCellSupernet({ ...TINY, seed: 5 })
    const resumed = new DartsCellSupernet({ ...TINY, seed: 5 })
    await searchCell(straight, train, valid, cfg)
    let saved: OneShotState | undefined
    const part = await searchCell(resumed, train, valid, cfg, {
      maxSteps: 1,
      onCheckpoint: (s) => void (saved = s),
    })
    expect(part.status).toBe('budget')
    expect(saved?.supernet).toMatchObject({ space: 'darts' })
    await searchCell(resumed, train, valid, cfg, { resume: saved! })
    const a = straight.state()
    const b = resumed.state()
    a.forEach((s, i) => {
      const d = s.values.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i]!.values[j]!)), 0)
      expect([s.name, d]).toEqual([s.name, 0])
    })
    // another supernet config cannot resume it
    const other = new DartsCellSupernet({ ...TINY, channels: 8, seed: 5 })
    await expect(searchCell(other, train, valid, cfg, { resume: saved! })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
    other.dispose()
    await expectNoLeaks(() => searchCell(straight, train, valid, { ...cfg, epochs: 1 }))
    straight.dispose()
    resumed.dispose()
  })

  it("refuses ProxylessNAS's one-operation-per-edge cells on the DARTS space", async () => {
    const net = new DartsCellSupernet(TINY)
    await expect(searchCell(net, train, valid, { method: 'proxyless' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      allowed: ['darts', 'gdas', 'rarts'],
    })
    net.dispose()
  })
})
