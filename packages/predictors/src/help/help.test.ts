import { NasError, Rng, spearmanRho } from '@nasjs/core'
import { NB201_OPS, nb201FromOrdinal, parseNb201, type Nb201Arch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { prepareTf } from '../tf-backend.js'
import { HELP_NB201_NODE_TYPES, nb201HelpGraph } from './graph.js'
import {
  adaptHelp,
  createHelp,
  helpEmbedding,
  loadHelp,
  metaTrainHelp,
  trimmedPool,
  type HelpDevice,
} from './help.js'

beforeAll(async () => {
  await prepareTf()
})

describe('nb201HelpGraph', () => {
  it('encodes the cell as an operation-on-node graph with a global node', () => {
    const a = parseNb201(
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
    )
    const g = nb201HelpGraph(a)
    expect(g.nodes).toBe(9)
    expect(g.features).toBe(8)
    const type = (i: number) => {
      const row = Array.from(g.x.slice(i * 8, i * 8 + 8))
      expect(row.reduce((s, v) => s + v, 0)).toBe(1)
      return row.indexOf(1)
    }
    expect(type(0)).toBe(HELP_NB201_NODE_TYPES.indexOf('input'))
    a.forEach((op, k) => expect(type(k + 1)).toBe(HELP_NB201_NODE_TYPES.indexOf(op)))
    expect(type(7)).toBe(HELP_NB201_NODE_TYPES.indexOf('output'))
    expect(type(8)).toBe(7)
    const from = (i: number) =>
      Array.from({ length: 9 }, (_, j) => j).filter((j) => j !== i && g.adjacency[i * 9 + j] === 1)
    // edges in arch_str order: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3 are nodes 1..6
    expect(from(1)).toEqual([0])
    expect(from(2)).toEqual([0])
    expect(from(3)).toEqual([1]) // 1->2 follows 0->1
    expect(from(5)).toEqual([1]) // 1->3 follows 0->1
    expect(from(6)).toEqual([2, 3]) // 2->3 follows 0->2 and 1->2
    expect(from(7)).toEqual([4, 5, 6])
    expect(from(8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    for (let i = 0; i < 9; i++) expect(g.adjacency[i * 9 + i]).toBe(1)
  })

  it('rejects what is not an NB201 cell', () => {
    expect(() => nb201HelpGraph(['nor_conv_3x3'] as unknown as Nb201Arch)).toThrow(NasError)
    const bad = ['conv', 'none', 'none', 'none', 'none', 'none'] as unknown as Nb201Arch
    expect(() => nb201HelpGraph(bad)).toThrow(/unknown NB201 operation 'conv'/)
  })
})

/**
 * Synthetic devices: a fixed cost per operation and device plus a per-device nonlinearity, so that
 * devices rank architectures differently and a few measurements tell them apart.
 */
function syntheticWorld(n = 600) {
  const archs = Array.from({ length: n }, (_, i) => nb201FromOrdinal((i * 7919) % 15625))
  const graphs = archs.map((a) => nb201HelpGraph(a))
  const device = (name: string, seed: number): HelpDevice => {
    const rng = new Rng(seed)
    const cost = Object.fromEntries(NB201_OPS.map((op) => [op, op === 'none' ? 0 : 0.2 + 3 * rng.uniform()]))
    const base = 1 + rng.uniform()
    const power = 0.7 + 0.6 * rng.uniform()
    return {
      name,
      latency: Float64Array.from(archs, (a) => base + a.reduce((s, op) => s + cost[op]!, 0) ** power),
    }
  }
  return { archs, graphs, device }
}

const TINY = { layerSize: 16, graphLayers: 2, mcSamples: 2, metaLr: 1e-2, klScaling: 0.001 }
const REFS = [0, 1, 2, 3, 4, 5]

describe('HELP', () => {
  it('meta-trains on devices and transfers to a new one from 10 measurements, better than untrained', async () => {
    const w = syntheticWorld()
    const devices = Array.from({ length: 6 }, (_, i) => w.device(`d${i}`, i + 1))
    const held = w.device('new', 99)
    const pool = Array.from({ length: 300 }, (_, i) => i)
    const query = Array.from({ length: 300 }, (_, i) => 300 + i)
    const score = (m: Awaited<ReturnType<typeof createHelp>>) => {
      const sup = new Rng(5).shuffle(trimmedPool(pool, held.latency, 0.1)).slice(0, 10)
      const fitted = adaptHelp(m, {
        references: REFS.map((i) => held.latency[i]!),
        support: sup.map((i) => ({ graph: w.graphs[i]!, ms: held.latency[i]! })),
      })
      try {
        const p = fitted.predict(query.map((i) => w.graphs[i]!))
        return spearmanRho(
          p.normalized,
          query.map((i) => held.latency[i]!),
        )
      } finally {
        fitted.dispose()
      }
    }
    const model = await createHelp({ graph: w.graphs[0]!, references: REFS, space: 'nb201', config: TINY })
    const before = tf.memory().numTensors
    const untrained = score(model)
    const seen: number[] = []
    const last = await metaTrainHelp(model, {
      graphs: w.graphs,
      devices,
      pool,
      episodes: 150,
      tasks: 4,
      query: 40,
      validation: { devices: [w.device('v', 50)], query, every: 50 },
      onProgress: (p) => seen.push(p.episode),
    })
    expect(seen).toEqual(Array.from({ length: 150 }, (_, i) => i + 1))
    expect(Number.isFinite(last.loss)).toBe(true)
    expect(model.training).toMatchObject({ devices: devices.map((d) => d.name), episodes: 150 })
    expect([50, 100, 150]).toContain(model.training!.kept)
    expect(model.rangeReferences).toHaveLength(2)
    const trained = score(model)
    expect(trained).toBeGreaterThan(0.75)
    expect(trained).toBeGreaterThan(untrained + 0.05)
    // nothing left behind by training and adaptation
    expect(tf.memory().numTensors).toBe(before)
    model.dispose()
  }, 120_000)

  it('same seed, same weights; saved and loaded, same predictions; ms from the support range', async () => {
    const w = syntheticWorld(200)
    const devices = [w.device('a', 1), w.device('b', 2)]
    const pool = Array.from({ length: 120 }, (_, i) => i)
    const train = async () => {
      const m = await createHelp({
        graph: w.graphs[0]!,
        references: REFS,
        space: 'nb201',
        config: { ...TINY, seed: 4 },
      })
      await metaTrainHelp(m, { graphs: w.graphs, devices, pool, episodes: 3, tasks: 2, query: 20 })
      return m
    }
    const a = await train()
    const b = await train()
    expect(b.toJSON().params).toEqual(a.toJSON().params)
    const c = await loadHelp(JSON.parse(JSON.stringify(a.toJSON())))
    const d = devices[0]!
    const support = pool.slice(10, 20).map((i) => ({ graph: w.graphs[i]!, ms: d.latency[i]! }))
    const opts = { references: REFS.map((i) => d.latency[i]!), support, seed: 7 }
    const fa = adaptHelp(a, opts)
    const fc = adaptHelp(c, opts)
    const q = pool.slice(50, 70).map((i) => w.graphs[i]!)
    const pa = fa.predict(q)
    expect(fc.predict(q).normalized).toEqual(pa.normalized)
    // the support's own predictions map onto its measured range exactly at the ends
    const ps = fa.predict(support.map((s) => s.graph)).ms
    expect(Math.min(...ps)).toBeCloseTo(Math.min(...support.map((s) => s.ms)), 6)
    expect(Math.max(...ps)).toBeCloseTo(Math.max(...support.map((s) => s.ms)), 6)
    for (const f of [fa, fc]) f.dispose()
    // a model scaled by its references adapts on the references' range whatever else was measured
    const r = await loadHelp({ ...a.toJSON(), config: { ...a.config, targetRange: 'references' } })
    const refs = REFS.map((i) => d.latency[i]!)
    const byDefault = adaptHelp(r, opts)
    const explicit = adaptHelp(r, { ...opts, range: { lo: Math.min(...refs), hi: Math.max(...refs) } })
    const pr = byDefault.predict(q)
    expect(pr.normalized).toEqual(explicit.predict(q).normalized)
    // and reads milliseconds back through the same scale
    const lo = Math.min(...refs)
    const hi = Math.max(...refs)
    pr.ms.forEach((v, k) => expect(v).toBeCloseTo(lo + ((pr.normalized[k]! - 0.05) / 0.9) * (hi - lo), 9))
    const measured = adaptHelp(a, { ...opts, range: { lo: Math.min(...refs), hi: Math.max(...refs) } })
    expect(measured.predict(q).normalized).not.toEqual(pa.normalized)
    for (const f of [byDefault, explicit, measured]) f.dispose()
    for (const m of [a, b, c, r]) m.dispose()
    // stopped after 2 of 50 episodes: the run ends there and says so
    const ctl = new AbortController()
    const s = await createHelp({ graph: w.graphs[0]!, references: REFS, space: 'nb201', config: TINY })
    const end = await metaTrainHelp(s, {
      graphs: w.graphs,
      devices,
      pool,
      episodes: 50,
      tasks: 2,
      query: 20,
      signal: ctl.signal,
      onProgress: (p) => {
        if (p.episode === 2) ctl.abort()
      },
    })
    expect(end).toMatchObject({ episode: 2, stopped: true })
    expect(s.training).toMatchObject({ episodes: 2, kept: 2 })
    s.dispose()
  }, 60_000)

  it('gives one clear error for bad input', async () => {
    const w = syntheticWorld(50)
    await expect(createHelp({ graph: w.graphs[0]!, references: [1], space: 'nb201' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
    await expect(
      createHelp({ graph: w.graphs[0]!, references: REFS, space: 'nb201', config: { layerSize: 0 } }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    await expect(loadHelp({ format: 'other' })).rejects.toMatchObject({ code: 'DATA_CORRUPT' })
    const m = await createHelp({ graph: w.graphs[0]!, references: REFS, space: 'nb201', config: TINY })
    const state = m.toJSON()
    await expect(loadHelp({ ...state, params: { ...state.params, 'gc1.w': [1, 2] } })).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      value: 'gc1.w',
    })
    const support = [0, 1, 2].map((i) => ({ graph: w.graphs[i]!, ms: 1 + i }))
    expect(() => adaptHelp(m, { references: [1, 2], support })).toThrow(/reads 6 reference latencies; got 2/)
    expect(() => adaptHelp(m, { references: [1, 2, 3, 4, 5, NaN], support })).toThrow(
      /reference latency 5 is NaN/,
    )
    expect(() => adaptHelp(m, { references: [1, 1, 1, 1, 1, 1], support })).toThrow(/all 1 ms/)
    expect(() =>
      adaptHelp(m, {
        references: [1, 2, 3, 4, 5, 6],
        support: [...support, { graph: w.graphs[3]!, ms: -1 }],
      }),
    ).toThrow(/support latency 3 is -1/)
    const odd = { nodes: 3, features: 8, x: new Float32Array(24), adjacency: new Float32Array(9) }
    expect(() =>
      adaptHelp(m, { references: [1, 2, 3, 4, 5, 6], support: [...support, { graph: odd, ms: 2 }] }),
    ).toThrow(expect.objectContaining({ code: 'SPACE_MISMATCH' }))
    await expect(
      metaTrainHelp(m, {
        graphs: w.graphs,
        devices: [{ name: 'short', latency: [1, 2, 3] }],
        pool: [0, 1, 2],
      }),
    ).rejects.toThrow(/device 'short' has 3 latencies; there are 50 architectures/)
    const ctl = new AbortController()
    ctl.abort()
    await expect(
      metaTrainHelp(m, {
        graphs: w.graphs,
        devices: [w.device('a', 1)],
        pool: w.graphs.map((_, i) => i),
        signal: ctl.signal,
      }),
    ).rejects.toMatchObject({ code: 'ABORTED' })
    m.dispose()
    expect(Array.from(helpEmbedding([2, 4, 3]))).toEqual([0, 1, 0.5])
  })
})
