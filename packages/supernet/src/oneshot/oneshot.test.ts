import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng, isNasError } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { caught, quadrants, TINY_CELL as TINY } from '../testing-internal/fixtures.js'
import { CELL_OPS, CellSupernet } from './cell-supernet.js'
import fc from 'fast-check'
import {
  binaryGates,
  gumbelSample,
  maxWWeights,
  nb201EdgeLatencies,
  oneShotLr,
  searchCell,
  type OneShotConfig,
  type OneShotState,
} from './search.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const train = quadrants(48, 1)
const valid = quadrants(32, 2)
const images = (n: number) => tf.tensor4d(quadrants(n, 3).x, [n, 16, 16, 1])
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)
const CELL = nb201.parse(
  '|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|',
)

describe('CellSupernet', () => {
  it('with one operation per edge dominating alpha, the mixed network is that cell', () => {
    const net = new CellSupernet(TINY)
    const x = images(8)
    tf.tidy(() => {
      const oneHot = CELL.map((op) => CELL_OPS.map((o) => (o === op ? 30 : 0)))
      net.alphas.assign(tf.tensor2d(oneHot))
    })
    const mixed = net.forward(x)
    const cell = net.forward(x, { kind: 'arch', arch: CELL })
    expect(mixed.shape).toEqual([8, 4])
    expect(maxDiff(mixed, cell)).toBeLessThan(1e-4)
    // GDAS's hard weights are one-hot in value: the same network as the cell
    const index = CELL.map((op) => CELL_OPS.indexOf(op))
    const weights = tf.cast(tf.oneHot(tf.tensor1d(index, 'int32'), 5), 'float32') as tf.Tensor2D
    const hard = net.forward(x, { kind: 'hard', weights, index })
    expect(maxDiff(hard, cell)).toBeLessThan(1e-5)
    // and another cell differs
    const other = net.forward(x, {
      kind: 'arch',
      arch: nb201.parse(
        '|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|',
      ),
    })
    expect(maxDiff(other, cell)).toBeGreaterThan(1e-3)
    tf.dispose([x, mixed, cell, weights, hard, other])
    net.dispose()
  })

  it('derives the largest weight of every edge, none included, and refuses bad hard weights', () => {
    const net = new CellSupernet(TINY)
    tf.tidy(() => {
      net.alphas.assign(tf.tensor2d(CELL.map((op) => CELL_OPS.map((o) => (o === op ? 1 : 0)))))
    })
    expect(net.derive()).toEqual(CELL)
    const x = images(2)
    const bad = caught(() => net.forward(x, { kind: 'hard', weights: net.alphas, index: [0, 1, 2] }))
    expect(isNasError(bad) && bad.code).toBe('INPUT_INVALID')
    const shape = caught(() => net.forward(tf.zeros([2, 8, 8, 1])))
    expect(isNasError(shape) && shape.code).toBe('INPUT_INVALID')
    x.dispose()
    net.dispose()
  })

  it('state() and load() round-trip, and a state of another config is refused', () => {
    const a = new CellSupernet({ ...TINY, seed: 1 })
    const b = new CellSupernet({ ...TINY, seed: 2 })
    const before = tf.memory().numTensors
    b.load(a.state())
    expect(b.state()).toEqual(a.state())
    expect(tf.memory().numTensors).toBe(before)
    const c = new CellSupernet({ ...TINY, channels: 8 })
    const e = caught(() => c.load(a.state()))
    expect(isNasError(e) && e.code).toBe('CONFIG_INVALID')
    for (const n of [a, b, c]) n.dispose()
  })
})

describe('gumbelSample', () => {
  it('picks operation k with probability softmax(alpha)_k (the Gumbel-max property), one-hot in value', () => {
    const alphas = tf.tensor2d([[0, 1, 2, -1, 0.5]])
    const p = tf.softmax(alphas).dataSync()
    const rng = new Rng(7)
    const counts = [0, 0, 0, 0, 0]
    const n = 4000
    const first = gumbelSample(alphas, 0.5, () => rng.uniform())
    expect([...first.weights.dataSync()].map((v) => Math.round(v * 1e6) / 1e6)).toEqual(
      CELL_OPS.map((_, k) => (k === first.index[0] ? 1 : 0)),
    )
    first.weights.dispose()
    for (let i = 0; i < n; i++) {
      const s = gumbelSample(alphas, 0.5, () => rng.uniform())
      counts[s.index[0]!]!++
      s.weights.dispose()
    }
    counts.forEach((c, k) => expect(Math.abs(c / n - p[k]!)).toBeLessThan(0.03))
    alphas.dispose()
  })

  it('passes the gradient of the softmax probabilities to alpha (straight through)', () => {
    const alphas = tf.variable(tf.tensor2d([[0.3, -0.2, 0.1, 0.0, 0.4]]))
    const u = [0.1, 0.5, 0.9, 0.3, 0.7]
    const tau = 2
    const c = tf.tensor2d([[1, 2, 3, 4, 5]])
    const { grads } = tf.variableGrads(() => {
      let i = 0
      const s = gumbelSample(alphas, tau, () => u[i++]!)
      return tf.sum<tf.Scalar>(tf.mul(s.weights, c))
    }, [alphas])
    // the same through p = softmax((log_softmax(alpha) + g) / tau) directly
    const g = tf.tensor2d([u.map((v) => -Math.log(-Math.log(v)))])
    const { grads: direct } = tf.variableGrads(
      () => tf.sum<tf.Scalar>(tf.mul(tf.softmax(tf.div(tf.add(tf.logSoftmax(alphas), g), tau)), c)),
      [alphas],
    )
    expect(maxDiff(grads[alphas.name]!, direct[alphas.name]!)).toBeLessThan(1e-6)
    tf.dispose([alphas, c, g, ...Object.values(grads), ...Object.values(direct)])
  })
})

describe('PC-DARTS', () => {
  const PC = { ...TINY, partialChannels: 2, edgeNormalization: true }

  it('runs 1/K of the channels through each edge, normalises edges by beta, and resumes exactly', async () => {
    const net = new CellSupernet(PC)
    expect(net.params.get('s0c0e0/conv3x3')!.shape).toEqual([3, 3, 2, 2])
    expect(net.params.get('s2c0e0/conv3x3')!.shape).toEqual([3, 3, 8, 8])
    expect(net.betas!.shape).toEqual([6])
    const betas = net.betas!.arraySync()
    const cfg = { method: 'darts' as const, epochs: 2, batchSize: 16, seed: 6, archLr: 0.01 }
    const r = await searchCell(net, train, valid, cfg)
    expect(r.status).toBe('complete')
    expect(Math.max(...net.betas!.arraySync().map((b, i) => Math.abs(b - betas[i]!)))).toBeGreaterThan(1e-4)
    let saved: OneShotState | undefined
    const part = new CellSupernet(PC)
    await searchCell(part, train, valid, cfg, { maxSteps: 4, onCheckpoint: (s) => void (saved = s) })
    part.dispose()
    expect(saved!.adam.m).toHaveLength(30 + 6)
    const again = new CellSupernet(PC)
    await searchCell(again, train, valid, cfg, { resume: saved! })
    expect(again.state()).toEqual(net.state())
    for (const n of [net, again]) n.dispose()
  })

  it('keeps the architecture still while the warm-up epochs last, and refuses the unrolled gradient', async () => {
    const net = new CellSupernet(PC)
    const before = net.state()
    await searchCell(net, train, valid, { epochs: 2, batchSize: 16, archWarmupEpochs: 1 }, { maxSteps: 3 })
    const after = net.state()
    const arch = (st: typeof before) => st.filter((a) => a.name === 'alphas' || a.name === 'betas')
    expect(arch(after)).toEqual(arch(before))
    expect(after.find((a) => a.name === 'stem/conv')).not.toEqual(before.find((a) => a.name === 'stem/conv'))
    await expect(searchCell(net, train, valid, { order: 2, epochs: 1, batchSize: 16 })).rejects.toMatchObject(
      {
        code: 'CONFIG_INVALID',
      },
    )
    const e = caught(() => new CellSupernet({ ...TINY, partialChannels: 3 }))
    expect(isNasError(e) && e.code).toBe('CONFIG_INVALID')
    net.dispose()
  })
})

describe('ProxylessNAS', () => {
  it('binary gates: one operation drawn with probability softmax(alpha), one-hot in value, with the softmax gradient', () => {
    const alphas = tf.variable(tf.tensor2d([[0, 1, 2, -1, 0.5]]))
    const p = tf.softmax(alphas).dataSync()
    const rng = new Rng(11)
    const counts = [0, 0, 0, 0, 0]
    const n = 4000
    for (let i = 0; i < n; i++) {
      const g = binaryGates(alphas, () => rng.uniform())
      counts[g.index[0]!]!++
      g.weights.dispose()
    }
    counts.forEach((c, k) => expect(Math.abs(c / n - p[k]!)).toBeLessThan(0.03))
    const c = tf.tensor2d([[1, 2, 3, 4, 5]])
    const { value, grads } = tf.variableGrads(() => {
      const g = binaryGates(alphas, () => 0.5)
      return tf.sum<tf.Scalar>(tf.mul(g.weights, c))
    }, [alphas])
    const direct = tf.variableGrads(() => tf.sum<tf.Scalar>(tf.mul(tf.softmax(alphas), c)), [alphas])
    expect(maxDiff(grads[alphas.name]!, direct.grads[alphas.name]!)).toBeLessThan(1e-6)
    // one-hot in value: the sum picks the drawn operation's coefficient
    expect(Number.isInteger(Math.round(value.dataSync()[0]! * 1e5) / 1e5)).toBe(true)
    tf.dispose([alphas, c, value, direct.value, ...Object.values(grads), ...Object.values(direct.grads)])
  })

  it('the latency term pulls the architecture towards cheaper operations, by its weight', async () => {
    // convolutions cost, the rest is free
    const latency = Array.from({ length: 6 }, () => [0, 0, 5, 10, 0])
    const expected = async (latencyWeight: number) => {
      const net = new CellSupernet(TINY)
      await searchCell(net, train, valid, {
        method: 'proxyless',
        epochs: 2,
        batchSize: 16,
        seed: 3,
        archLr: 0.05,
        latency,
        latencyWeight,
      })
      const w = net.opWeights()
      net.dispose()
      return w.reduce((s, row, e) => s + row.reduce((t, v, k) => t + v * latency[e]![k]!, 0), 0)
    }
    const free = await expected(0)
    const costly = await expected(1)
    expect(costly).toBeLessThan(free - 1)
  })

  it('fits per-edge latencies that recover an additive latency over the whole space', () => {
    const effect = (e: number, k: number) => ((e + 1) * (k * k + 1)) % 7
    const cells: string[][] = []
    const lat: number[] = []
    const rec = (prefix: number[]) => {
      if (prefix.length === 6) {
        cells.push(prefix.map((k) => CELL_OPS[k]!))
        lat.push(3 + prefix.reduce((s, k, e) => s + effect(e, k), 0))
        return
      }
      for (let k = 0; k < 5; k++) rec([...prefix, k])
    }
    rec([])
    const fit = nb201EdgeLatencies(cells as never, lat)
    for (let e = 0; e < 6; e++) {
      const m = [0, 1, 2, 3, 4].reduce((s, k) => s + effect(e, k), 0) / 5
      for (let k = 0; k < 5; k++) expect(fit[e]![k]!).toBeCloseTo(effect(e, k) - m, 9)
    }
    expect(() => nb201EdgeLatencies(cells.slice(0, 2) as never, [Number.NaN, Number.NaN])).toThrow(
      /no cell has a finite latency/,
    )
  })
})

describe('sharpDARTS parts', () => {
  it('cosine power annealing runs from lr to minLr, below the cosine in between, and is the cosine at base 1', () => {
    const t = { lr: 0.025, minLr: 0.001 }
    fc.assert(
      fc.property(
        fc.double({ min: 1.01, max: 100, noNaN: true }),
        fc.integer({ min: 1, max: 999 }),
        (b, s) => {
          const at = (step: number) => oneShotLr({ ...t, lrPowerBase: b }, step, 1000)
          const cosine = oneShotLr({ ...t, lrPowerBase: 1 }, s, 1000)
          expect(at(0)).toBeCloseTo(0.025, 12)
          expect(at(1000)).toBeCloseTo(0.001, 12)
          expect(at(s)).toBeLessThan(cosine)
          expect(at(s)).toBeLessThanOrEqual(at(s - 1))
          expect(at(s)).toBeGreaterThan(0.001)
        },
      ),
    )
    // base 1 is the cosine; at the midpoint base 2 gives (2^1.5 - 2) / 2 of the range
    expect(oneShotLr({ ...t, lrPowerBase: 1 }, 500, 1000)).toBeCloseTo(0.013, 12)
    expect(oneShotLr({ lr: 1, minLr: 0, lrPowerBase: 2 }, 50, 100)).toBeCloseTo((2 ** 1.5 - 2) / 2, 12)
  })

  it('Max-W gives the strongest operation 1 and the others their distance below it, with gradients', () => {
    const alphas = tf.variable(tf.tensor2d([[0.3, -1, 2, 0.5, 0.1]]))
    const w = tf.softmax(alphas).arraySync()[0]!
    const m = maxWWeights(alphas).arraySync()[0]!
    const top = Math.max(...w)
    m.forEach((v, i) => expect(v).toBeCloseTo(1 - top + w[i]!, 6))
    expect(Math.max(...m)).toBeCloseTo(1, 6)
    const { grads } = tf.variableGrads(
      () => tf.sum<tf.Scalar>(tf.mul(maxWWeights(alphas), [[1, 2, 3, 4, 5]])),
      [alphas],
    )
    expect(Math.max(...grads[alphas.name]!.dataSync().map(Math.abs))).toBeGreaterThan(1e-3)
    tf.dispose([alphas, ...Object.values(grads)])
  })
})

describe('searchCell', () => {
  const config = (method: 'darts' | 'gdas' | 'proxyless' | 'rarts'): OneShotConfig => ({
    method,
    epochs: 2,
    batchSize: 16,
    seed: 3,
  })
  /** Each method's config, by name (sd-darts: two teachers, a snapshot every second step). */
  const configOf = (name: string): OneShotConfig =>
    name === 'sd-darts'
      ? { ...config('darts'), teachers: 2, teacherEvery: 2 }
      : name === 'sharp-darts'
        ? { ...config('darts'), edgeWeighting: 'max-w', lrPowerBase: 2 }
        : config(name as 'darts')

  it.each(['darts', 'gdas', 'rarts', 'sd-darts', 'sharp-darts'] as const)(
    '%s moves the architecture weights and derives a cell',
    async (method) => {
      const net = new CellSupernet(TINY)
      const before = net.opWeights()
      const progress: number[] = []
      const r = await searchCell(net, train, valid, configOf(method), {
        onProgress: (p) => progress.push(p.step),
      })
      expect(r.status).toBe('complete')
      expect(r.steps).toBe(6)
      expect(progress).toEqual([1, 2, 3, 4, 5, 6])
      expect(r.history).toHaveLength(2)
      expect(r.history[1]).toEqual(net.opWeights())
      expect(nb201.validate(r.arch)).toEqual(r.arch)
      const moved = Math.max(
        ...net.opWeights().flatMap((row, e) => row.map((v, k) => Math.abs(v - before[e]![k]!))),
      )
      expect(moved).toBeGreaterThan(1e-4)
      net.dispose()
    },
  )

  it.each(['darts', 'gdas', 'proxyless', 'rarts', 'sd-darts'] as const)(
    '%s: stopped and resumed from its checkpoint, ends with the weights and alphas of one run',
    async (method) => {
      const straight = new CellSupernet(TINY)
      await searchCell(straight, train, valid, configOf(method))
      const first = new CellSupernet(TINY)
      let saved: OneShotState | undefined
      const stopped = await searchCell(first, train, valid, configOf(method), {
        maxSteps: 4,
        onCheckpoint: (s) => {
          saved = s
        },
      })
      expect(stopped.status).toBe('budget')
      expect(saved!.step).toBe(4)
      first.dispose()
      const again = new CellSupernet(TINY)
      // RARTS keeps its validation network, SD-DARTS its two teachers, in the checkpoint
      const aux = (saved!.aux ?? []).map((a) => a.name)
      expect(aux.filter((n) => n.startsWith('y/'))).toHaveLength(
        method === 'rarts' ? again.weights.length : 0,
      )
      expect(aux.some((n) => n.startsWith('teacher/1/'))).toBe(method === 'sd-darts')
      const r = await searchCell(again, train, valid, configOf(method), { resume: saved! })
      expect(r.status).toBe('complete')
      expect(again.state()).toEqual(straight.state())
      expect(r.history[1]).toEqual(straight.opWeights())
      straight.dispose()
      again.dispose()
    },
  )

  it('RARTS: the proximity term beta keeps the validation network y near the weights w', async () => {
    const gap = async (rartsBeta: number) => {
      const net = new CellSupernet(TINY)
      let saved: OneShotState | undefined
      await searchCell(
        net,
        train,
        valid,
        { ...config('rarts'), rartsBeta },
        { onCheckpoint: (s) => void (saved = s) },
      )
      const w = net.state()
      const ys = saved!.aux!.filter((a) => a.name.startsWith('y/'))
      net.dispose()
      // the network weights are the state's arrays before the architecture weights
      let sq = 0
      ys.forEach((y, i) => y.values.forEach((v, j) => (sq += (v - w[i]!.values[j]!) ** 2)))
      return Math.sqrt(sq)
    }
    const loose = await gap(0)
    const tight = await gap(20)
    expect(loose).toBeGreaterThan(0)
    expect(tight).toBeLessThan(0.5 * loose)
  })

  it('SD-DARTS: with distillation weight 0 the teachers change nothing; with weight 1 they do', async () => {
    const run = async (c: OneShotConfig) => {
      const net = new CellSupernet(TINY)
      await searchCell(net, train, valid, c)
      const s = net.state()
      net.dispose()
      return s
    }
    const plain = await run(config('darts'))
    expect(await run({ ...configOf('sd-darts'), distillWeight: 0 })).toEqual(plain)
    expect(await run(configOf('sd-darts'))).not.toEqual(plain)
  })

  it('Max-W and self-distillation are refused for methods that sample one operation', async () => {
    const net = new CellSupernet(TINY)
    await expect(
      searchCell(net, train, valid, { ...config('gdas'), edgeWeighting: 'max-w' }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', allowed: ['darts', 'rarts'] })
    await expect(
      searchCell(net, train, valid, { ...config('proxyless'), teachers: 1 }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
    net.dispose()
  })

  it('second-order DARTS: the unrolled gradient, which tends to the first-order one as the step vanishes, resumes exactly', async () => {
    const run = async (order: 1 | 2, lr: number, maxSteps?: number) => {
      const net = new CellSupernet(TINY)
      const r = await searchCell(
        net,
        train,
        valid,
        { method: 'darts', order, epochs: 1, batchSize: 16, lr, minLr: 0, seed: 4 },
        maxSteps === undefined ? {} : { maxSteps },
      )
      const a = net.alphas.arraySync()
      net.dispose()
      return { a, r }
    }
    const close = (x: number[][], y: number[][]) =>
      Math.max(...x.flatMap((row, e) => row.map((v, k) => Math.abs(v - y[e]![k]!))))
    const first = await run(1, 1e-7, 1)
    const tiny = await run(2, 1e-7, 1)
    expect(close(tiny.a, first.a)).toBeLessThan(1e-6)
    const second = await run(2, 0.5, 2)
    const firstBig = await run(1, 0.5, 2)
    expect(close(second.a, firstBig.a)).toBeGreaterThan(1e-7)
    // stopped and resumed, the same as straight through
    const straight = new CellSupernet(TINY)
    const cfg = { method: 'darts' as const, order: 2 as const, epochs: 1, batchSize: 16, seed: 4 }
    await searchCell(straight, train, valid, cfg)
    let saved: OneShotState | undefined
    const part = new CellSupernet(TINY)
    await searchCell(part, train, valid, cfg, { maxSteps: 1, onCheckpoint: (s) => void (saved = s) })
    part.dispose()
    const again = new CellSupernet(TINY)
    await expectNoLeaks(() => searchCell(again, train, valid, cfg, { resume: saved! }))
    expect(again.state()).toEqual(straight.state())
    straight.dispose()
    again.dispose()
  })

  it('leaks no tensor or wasm memory over a search epoch, nor when made and disposed', async () => {
    await expectNoLeaks(() => new CellSupernet(TINY).dispose())
    const net = new CellSupernet(TINY)
    await expectNoLeaks(() => searchCell(net, train, valid, { ...config('darts'), epochs: 1 }))
    await expectNoLeaks(() => searchCell(net, train, valid, { ...config('gdas'), epochs: 1 }))
    await expectNoLeaks(() => searchCell(net, train, valid, { ...config('rarts'), epochs: 1 }))
    await expectNoLeaks(() =>
      searchCell(net, train, valid, { ...configOf('sd-darts'), edgeWeighting: 'max-w' }),
    )
    net.dispose()
  })

  it('refuses data of another shape, and a checkpoint of another config', async () => {
    const net = new CellSupernet(TINY)
    const wrong = { ...train, shape: [8, 8, 4] }
    await expect(searchCell(net, wrong, valid)).rejects.toMatchObject({ code: 'INPUT_INVALID' })
    let saved: OneShotState | undefined
    await searchCell(net, train, valid, config('darts'), {
      maxSteps: 1,
      onCheckpoint: (s) => void (saved = s),
    })
    await expect(
      searchCell(net, train, valid, { ...config('darts'), archLr: 1e-2 }, { resume: saved! }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    // a checkpoint written before fields with defaults existed still resumes
    const { order: _o, archWarmupEpochs: _w, latencyWeight: _l, ...oldSearch } = saved!.search
    const { partialChannels: _p, edgeNormalization: _n, ...oldSupernet } = saved!.supernet
    const old = { ...saved!, search: oldSearch, supernet: oldSupernet } as unknown as OneShotState
    await expect(searchCell(net, train, valid, config('darts'), { resume: old })).resolves.toMatchObject({
      status: 'complete',
    })
    net.dispose()
  })
})
