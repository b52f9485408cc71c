import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { quadrants, TINY_CELL as TINY } from '../testing-internal/fixtures.js'
import { CELL_OPS, CellSupernet } from './cell-supernet.js'
import { fewShotSearch, gradientMatchingSplit, type FewShotResult } from './few-shot.js'
import { perturbationSelect } from './perturbation.js'
import { searchCell, type OneShotState } from './search.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const train = quadrants(48, 1)
const valid = quadrants(32, 2)
const ALL = () => Array.from({ length: 6 }, () => CELL_OPS.map(() => true))

describe('operation masks', () => {
  it('leave the masked operations out of the mixing, the weights and the derived cell', () => {
    const mask = ALL()
    mask[2] = [false, false, false, true, true] // edge 2: nor_conv_3x3 or avg_pool_3x3 only
    const net = new CellSupernet({ ...TINY, opMask: mask })
    // 'none' has by far the largest alpha on edge 2, yet is not allowed there
    tf.tidy(() => net.alphas.assign(tf.tensor2d(ALL().map(() => [9, 0, 0, 0.5, 0]))))
    const w = net.opWeights()
    expect(w[2]!.slice(0, 3)).toEqual([0, 0, 0])
    expect(w[2]![3]! + w[2]![4]!).toBeCloseTo(1, 6)
    expect(net.derive()[2]).toBe('nor_conv_3x3')
    expect(net.derive()[0]).toBe('none')
    const x = tf.tensor4d(quadrants(4, 3).x, [4, 16, 16, 1])
    const mixed = net.forward(x)
    const explicit = net.forward(x, { kind: 'weights', weights: tf.tensor2d(w) })
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(mixed, explicit))).dataSync()[0]!)).toBeLessThan(1e-5)
    tf.dispose([x, mixed, explicit])
    net.dispose()
    expect(
      () => new CellSupernet({ ...TINY, opMask: [[false, false, false, false, false], ...ALL().slice(1)] }),
    ).toThrow(/at least one operation/)
  })

  it('a checkpoint resumes on a narrower mask, not on a wider one', async () => {
    const wide = new CellSupernet(TINY)
    let saved: OneShotState | undefined
    await searchCell(
      wide,
      train,
      valid,
      { epochs: 2, batchSize: 16 },
      { maxSteps: 2, onCheckpoint: (s) => void (saved = s) },
    )
    wide.dispose()
    const mask = ALL()
    mask[0] = [true, true, false, false, false]
    const narrow = new CellSupernet({ ...TINY, opMask: mask })
    await expect(
      searchCell(narrow, train, valid, { epochs: 2, batchSize: 16 }, { resume: saved! }),
    ).resolves.toMatchObject({
      status: 'complete',
    })
    let narrowState: OneShotState | undefined
    await searchCell(
      narrow,
      train,
      valid,
      { epochs: 3, batchSize: 16 },
      { maxSteps: 1, onCheckpoint: (s) => void (narrowState = s) },
    )
    narrow.dispose()
    const back = new CellSupernet(TINY)
    await expect(
      searchCell(back, train, valid, { epochs: 3, batchSize: 16 }, { resume: narrowState! }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    await expect(
      searchCell(new CellSupernet({ ...TINY, opMask: mask }), train, valid, { method: 'gdas', epochs: 1 }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', allowed: ['darts', 'rarts'] })
    back.dispose()
  })
})

describe('gradientMatchingSplit', () => {
  it('cuts each unsplit edge where its operations disagree most, and picks the edge of the highest score', async () => {
    const net = new CellSupernet(TINY)
    await searchCell(net, train, valid, { epochs: 1, batchSize: 16, seed: 2 })
    const before = net.state()
    const s = gradientMatchingSplit(net, train, { batches: 2, batchSize: 16 })
    expect(net.state()).toEqual(before)
    expect(s.edges.map((e) => e.edge)).toEqual([0, 1, 2, 3, 4, 5])
    for (const e of s.edges) {
      const d = e.distances
      d.forEach((row, i) =>
        row.forEach((v, j) => {
          expect(v).toBeCloseTo(d[j]![i]!, 12)
          expect(v).toBeGreaterThanOrEqual(i === j ? 0 : -1e-6)
          expect(v).toBeLessThanOrEqual(2 + 1e-6)
        }),
      )
      expect([...e.groups[0], ...e.groups[1]].sort()).toEqual([0, 1, 2, 3, 4])
      expect(e.groups[0]).toHaveLength(2)
      // the score is the distance across the cut, and no other 2 | 3 cut has more
      const across = (g: readonly number[]) =>
        g.reduce(
          (t, i) => t + [0, 1, 2, 3, 4].filter((j) => !g.includes(j)).reduce((u, j) => u + d[i]![j]!, 0),
          0,
        )
      expect(e.score).toBeCloseTo(across(e.groups[0]), 9)
      for (let a = 0; a < 5; a++)
        for (let b = a + 1; b < 5; b++) expect(across([a, b])).toBeLessThanOrEqual(e.score + 1e-9)
    }
    expect(s.score).toBe(Math.max(...s.edges.map((e) => e.score)))
    // the gradients differ between operations: not every distance is 0
    expect(Math.max(...s.edges.flatMap((e) => e.distances.flat()))).toBeGreaterThan(1e-3)
    await expectNoLeaks(() => gradientMatchingSplit(net, train, { batches: 1, batchSize: 16 }))
    net.dispose()
    // a split edge is no longer a candidate
    const mask = ALL()
    mask[s.edge] = CELL_OPS.map((_, k) => s.groups[0].includes(k))
    const child = new CellSupernet({ ...TINY, opMask: mask })
    const again = gradientMatchingSplit(child, train, { batches: 1, batchSize: 16 })
    expect(again.edges.map((e) => e.edge)).not.toContain(s.edge)
    child.dispose()
  })
})

describe('fewShotSearch', () => {
  const config = {
    supernet: TINY,
    search: { epochs: 3, batchSize: 16, seed: 5 },
    splitEpochs: [1, 2],
    matchBatches: 1,
  }
  const summary = (r: FewShotResult) => ({
    arch: r.arch,
    best: r.best,
    splits: r.splits.map((s) => [s.path, s.edge, s.groups]),
    leaves: r.leaves.map((l) => [l.path, nb201.format(l.arch), l.validAccuracy, l.history]),
  })

  it('splits twice into four sub-supernets whose cells keep to their masks, and resumes a stopped run exactly', async () => {
    const straight = await fewShotSearch(train, valid, config)
    expect(straight.status).toBe('complete')
    expect(straight.splits.map((s) => s.path)).toEqual(['', '0', '1'])
    expect(straight.leaves.map((l) => l.path)).toEqual(['00', '01', '10', '11'])
    for (const l of straight.leaves) {
      l.arch.forEach((op, e) => expect(l.opMask[e]![CELL_OPS.indexOf(op)]).toBe(true))
      expect(l.history).toHaveLength(3)
    }
    // the first split's edge keeps one group in leaves 0x and the other in 1x
    const first = straight.splits[0]!
    expect(straight.leaves[0]!.opMask[first.edge]).toEqual(
      CELL_OPS.map((_, k) => first.groups[0].includes(k)),
    )
    expect(straight.leaves[3]!.opMask[first.edge]).toEqual(
      CELL_OPS.map((_, k) => first.groups[1].includes(k)),
    )
    const best = Math.max(...straight.leaves.map((l) => l.validAccuracy))
    expect(straight.leaves.find((l) => l.path === straight.best)!.validAccuracy).toBe(best)

    // stopped in sub-supernet '1', then resumed from the checkpoints
    const saved = new Map<string, OneShotState>()
    const controller = new AbortController()
    const stopped = await fewShotSearch(train, valid, config, {
      signal: controller.signal,
      onCheckpoint: (path, s) => {
        saved.set(path, s)
        if (path === '1') controller.abort()
      },
      load: (path) => saved.get(path),
    })
    expect(stopped.status).toBe('aborted')
    const resumed = await fewShotSearch(train, valid, config, { load: (path) => saved.get(path) })
    expect(summary(resumed)).toEqual(summary(straight))
  })

  it('reads each final sub-supernet by perturbation-based selection when asked, within its mask', async () => {
    const cfg = { ...config, search: { ...config.search, epochs: 2 }, splitEpochs: [1] }
    const saved = new Map<string, OneShotState>()
    const r = await fewShotSearch(
      train,
      valid,
      { ...cfg, selection: 'perturbation' },
      { onCheckpoint: (path, st) => void saved.set(path, st) },
    )
    expect(r.leaves.map((l) => l.path)).toEqual(['0', '1'])
    for (const l of r.leaves) {
      l.arch.forEach((op, e) => expect(l.opMask[e]![CELL_OPS.indexOf(op)]).toBe(true))
      // the cell is the one perturbation-based selection picks on the leaf's final supernet
      const net = new CellSupernet({ ...TINY, opMask: l.opMask.map((row) => [...row]) })
      const state = saved.get(l.path)!
      await searchCell(net, train, valid, cfg.search, { resume: state, maxSteps: state.step })
      const sel = await perturbationSelect(net, train, valid, { seed: 5, batchSize: 16 })
      expect(nb201.format(l.arch)).toBe(nb201.format(sel.arch))
      net.dispose()
    }
    await expect(
      fewShotSearch(train, valid, { ...cfg, selection: 'largest' as 'alpha' }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
  })

  it('refuses a method that samples one path, and split epochs past the end', async () => {
    await expect(
      fewShotSearch(train, valid, { ...config, search: { method: 'gdas', epochs: 3 } }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      allowed: ['darts', 'rarts'],
    })
    await expect(fewShotSearch(train, valid, { ...config, splitEpochs: [3] })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
    await expect(fewShotSearch(train, valid, { ...config, splitEpochs: [2, 1] })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
  })
})
