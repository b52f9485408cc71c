import { fc, test } from '@fast-check/vitest'
import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng, isHardwareMetric, parseLatencyTable } from '@nasjs/core'
import { fbnet, nb201, ofaMbv3, parseNb201, type Nb201Arch, type SearchSpace } from '@nasjs/search-space'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildModel, type NetworkOptions } from '../build.js'
import { codeOf, errorOf, size } from '../testing-internal/model-checks.js'
import type { LatencyBlockSpec } from './block-spec.js'
import {
  buildLatencyTable,
  coverArchitectures,
  fitOverhead,
  latencyBlocks,
  latencyFit,
  measureBlock,
  predictLatency,
  warmUpBackend,
} from './lut.js'
import {
  measureColdStart,
  measureLatency,
  measureMemory,
  quietGate,
  robustSummary,
  weightBytes,
} from './measure.js'
import { hardwareMetrics, withHardwareMetrics } from './metrics.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

/** Layers of a model by class name, the input left out. */
function layerClasses(m: tfl.LayersModel, skip = 0): Map<string, number> {
  const out = new Map<string, number>()
  for (const l of m.layers.slice(1 + skip)) out.set(l.getClassName(), (out.get(l.getClassName()) ?? 0) + 1)
  return out
}

/**
 * The layers the blocks build, each counted as often as the network runs it, with what a block
 * contains taken off: for a decomposition that is exact, the network's own layers.
 */
function blockLayers(blocks: readonly LatencyBlockSpec[]): Map<string, number> {
  const out = new Map<string, number>()
  const byKey = new Map(blocks.map((b) => [b.key, b]))
  const layersOf = (b: LatencyBlockSpec) => {
    const input = tfl.input({ shape: [...b.inputShape] })
    const m = tfl.model({ inputs: input, outputs: b.apply(input, 0) })
    const classes = layerClasses(m)
    m.dispose()
    return classes
  }
  for (const b of blocks) {
    if (b.count === 0) continue
    const own = layersOf(b)
    for (const c of b.contains ?? []) {
      for (const [k, v] of layersOf(byKey.get(c.key)!)) own.set(k, own.get(k)! - c.count * v)
    }
    for (const [k, v] of own) if (v !== 0) out.set(k, (out.get(k) ?? 0) + b.count * v)
  }
  return out
}

function expectExactDecomposition<A>(space: SearchSpace<A>, arch: A, network: NetworkOptions) {
  const model = buildModel(space, arch, network)
  try {
    const sorted = (m: Map<string, number>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b))
    expect(sorted(blockLayers(latencyBlocks(space, arch, network)))).toEqual(sorted(layerClasses(model)))
  } finally {
    model.dispose()
  }
}

describe('latency blocks', () => {
  test.prop([fc.integer({ min: 0, max: 15_624 })], { numRuns: 25 })(
    'an NB201 network is exactly its blocks, each as often as it runs',
    (index) => {
      const arch = [...nb201.enumerate!()][index]!
      expectExactDecomposition(nb201, arch, { channels: 2, cellsPerStage: 2, inputShape: [8, 8, 3] })
    },
  )

  it('covers the NB201 cells that sum a tensor twice, have zero nodes or keep dead ones', () => {
    for (const text of [
      '|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|',
      '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|',
      '|nor_conv_1x1~0|+|avg_pool_3x3~0|none~1|+|nor_conv_3x3~0|none~1|none~2|',
    ]) {
      expectExactDecomposition(nb201, nb201.parse(text), {
        channels: 2,
        cellsPerStage: 1,
        inputShape: [8, 8, 3],
      })
    }
  })

  test.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 })], { numRuns: 6 })(
    'ofa-mbv3 and fbnet networks are exactly their stem, layers and head',
    (seed) => {
      const rng = new Rng(seed)
      expectExactDecomposition(ofaMbv3, ofaMbv3.sample(rng), { inputShape: [32, 32, 3], classes: 10 })
      expectExactDecomposition(fbnet, fbnet.sample(rng), { inputShape: [32, 32, 3], classes: 10 })
    },
  )

  it('the cover architectures have every block a random network has', () => {
    const network = { channels: 4, cellsPerStage: 1 }
    const keys = (space: SearchSpace<unknown>, archs: unknown[], n: NetworkOptions = {}) =>
      new Set(archs.flatMap((a) => latencyBlocks(space, a, n).map((b) => b.key)))
    const rng = new Rng(3)
    const all = keys(nb201, coverArchitectures(nb201), network)
    for (const k of keys(
      nb201,
      Array.from({ length: 50 }, () => nb201.sample(rng)),
      network,
    ))
      expect(all).toContain(k)
    const ofa = keys(ofaMbv3, coverArchitectures(ofaMbv3, { resolutions: [160] }))
    expect(ofa.size).toBe(1 + 1 + 5 * 2 * 9 + 1) // stem, first block, 5 stages x (first, rest) x 9, head
    for (let i = 0; i < 30; i++) {
      const a = { ...ofaMbv3.sample(rng), resolution: 160 }
      for (const b of latencyBlocks(ofaMbv3, a)) expect(ofa).toContain(b.key)
    }
    const fb = keys(fbnet, coverArchitectures(fbnet))
    for (let i = 0; i < 30; i++)
      for (const b of latencyBlocks(fbnet, fbnet.sample(rng))) expect(fb).toContain(b.key)
  })

  it('refuses a space it cannot decompose', () => {
    expect(codeOf(() => coverArchitectures({ id: 'darts' } as SearchSpace<unknown>))).toBe('NOT_REGISTERED')
  })
})

describe('measurement', () => {
  test.prop([fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 1, maxLength: 40 })])(
    'a robust summary does not depend on order, and its median lies among the kept timings',
    (xs) => {
      const a = robustSummary(xs)
      const b = robustSummary([...xs].reverse())
      expect(b).toEqual(a)
      expect(a.median).toBeGreaterThanOrEqual(a.min)
      expect(a.median).toBeLessThanOrEqual(a.max)
      expect(a.runs - a.rejected).toBeGreaterThanOrEqual(Math.ceil(xs.length / 2))
    },
  )

  it('rejects a pause as an outlier and keeps the rest', () => {
    const s = robustSummary([1.0, 1.02, 0.98, 1.01, 0.99, 1.0, 35])
    expect(s.rejected).toBe(1)
    expect(s.max).toBe(1.02)
    expect(s.median).toBe(1.0)
    expect(errorOf(() => robustSummary([])).code).toBe('INPUT_INVALID')
    expect(errorOf(() => robustSummary([1, Number.NaN])).code).toBe('INPUT_INVALID')
  })

  it('times warm inferences with the given clock, and leaves nothing allocated', async () => {
    const model = buildModel(nb201, nb201.sample(new Rng(1)), {
      channels: 2,
      cellsPerStage: 1,
      inputShape: [8, 8, 3],
    })
    // a clock that advances 2 ms per reading: every timed run reads it twice
    let t = 0
    const clock = () => (t += 2)
    const m = await expectNoLeaks(() => measureLatency(model, { runs: 7, warmup: 2, clock }))
    expect(m.samples).toEqual(Array(7).fill(2))
    expect(m).toMatchObject({
      median: 2,
      runs: 7,
      rejected: 0,
      batch: 1,
      inputShape: [8, 8, 3],
      backend: 'wasm',
    })
    const real = await expectNoLeaks(() => measureLatency(model, { runs: 5, warmup: 1, batch: 2 }))
    expect(real.median).toBeGreaterThan(0)
    await expect(measureLatency(model, { runs: 0 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    const cold = await measureColdStart(() =>
      buildModel(nb201, nb201.sample(new Rng(2)), { channels: 2, cellsPerStage: 1, inputShape: [8, 8, 3] }),
    )
    expect(cold.totalMs).toBeCloseTo(cold.loadMs + cold.firstInferenceMs, 9)
    const mem = await expectNoLeaks(() => measureMemory(model, { batch: 4 }), {
      heapSlackBytes: Number.POSITIVE_INFINITY,
    })
    // at least the input and the first feature map (4 x 8 x 8 x 2 floats) are alive at once
    expect(mem.peakTensorBytes).toBeGreaterThanOrEqual(4 * (4 * 8 * 8 * 3 + 4 * 8 * 8 * 2))
    expect(mem.weightBytes).toBe(4 * model.weights.reduce((s, w) => s + size(w.shape), 0))
    expect(mem.wasmHeapBytes).toBeGreaterThan(0)
    model.dispose()
  })

  it('counts the weights to download in float32, float16 and uint8', () => {
    const model = buildModel(nb201, nb201.sample(new Rng(1)))
    const n = model.weights.reduce((s, w) => s + size(w.shape), 0)
    expect(weightBytes(model)).toMatchObject({ weights: n, float32: 4 * n, float16: 2 * n, uint8: n })
    model.dispose()
  })
})

describe('latency tables', () => {
  const network = { channels: 2, cellsPerStage: 1, inputShape: [8, 8, 3] as [number, number, number] }

  it('measures a block against the identity alone and leaves nothing allocated', async () => {
    const [block] = latencyBlocks(nb201, nb201.sample(new Rng(1)), network).filter((b) =>
      b.key.startsWith('op:'),
    )
    const m = await expectNoLeaks(() => measureBlock(block!, { runs: 4, warmup: 1 }))
    expect(Number.isFinite(m.ms)).toBe(true)
    expect(m.spread).toBeGreaterThanOrEqual(0)
  })

  it('builds a versioned table that predicts every network of the space, and refuses what it does not describe', async () => {
    const progress: string[] = []
    const table = await expectNoLeaks(
      () =>
        buildLatencyTable(nb201, {
          network,
          runs: 2,
          calibrate: 2,
          rounds: 1,
          warmupSeconds: 0.2,
          gate: quietGate({ retries: 0 }),
          onProgress: (p) => progress.push(p.phase),
        }),
      { heapSlackBytes: Number.POSITIVE_INFINITY },
    )
    expect(parseLatencyTable(JSON.parse(JSON.stringify(table)))).toEqual(table)
    expect(table).toMatchObject({
      space: 'nb201',
      source: 'measured',
      device: { name: 'tfjs-wasm', backend: 'wasm' },
      setting: { batch: 1, network },
      fit: { networks: 2 },
    })
    expect(table.versions['@tensorflow/tfjs-core']).toMatch(/^\d+\.\d+\.\d+/)
    expect(progress.filter((p) => p === 'blocks').length).toBe(Object.keys(table.entries).length)
    expect(progress.filter((p) => p === 'calibrate').length).toBe(2)
    const rng = new Rng(9)
    for (let i = 0; i < 20; i++)
      expect(Number.isFinite(predictLatency(table, nb201, nb201.sample(rng)))).toBe(true)
    expect(codeOf(() => predictLatency(table, fbnet, fbnet.sample(rng)))).toBe('SPACE_MISMATCH')
    const narrower = { ...table, setting: { ...table.setting, network: { ...network, channels: 3 } } }
    expect(codeOf(() => predictLatency(narrower, nb201, nb201.sample(rng)))).toBe('METRIC_MISSING')
    expect(
      codeOf(() => predictLatency(table, nb201, nb201.sample(rng), { ...network, inputShape: [16, 16, 3] })),
    ).toBe('METRIC_MISSING')
  })

  it("reads the FBNet table fitted to HELP's latencies: the same keys, the same predictions", async () => {
    const { fitLatencyLut, latencyTableOfLut } = await import('@nasjs/benchmarks')
    const { loadFbnet } = await import('@nasjs/benchmarks/node')
    const lut = fitLatencyLut(loadFbnet(), 'pixel3')
    const table = latencyTableOfLut(lut)
    const rng = new Rng(5)
    for (let i = 0; i < 20; i++) {
      const arch = fbnet.sample(rng)
      expect(predictLatency(table, fbnet, arch)).toBeCloseTo(lut.predict(arch), 9)
    }
  })

  it('reports the share within 10 %, the RMSE and Kendall tau of predictions', () => {
    const f = latencyFit([
      { arch: 'a', measured: 10, predicted: 10.5 },
      { arch: 'b', measured: 20, predicted: 25 },
      { arch: 'c', measured: 30, predicted: 29 },
    ])
    expect(f.within10).toBeCloseTo(2 / 3, 12)
    expect(f.rmse).toBeCloseTo(Math.sqrt((0.25 + 25 + 1) / 3), 12)
    expect(f.kendallTau).toBe(1)
    expect(f.medianMs).toBe(20)
  })
})

describe('hardware metrics', () => {
  const network = { channels: 2, cellsPerStage: 1, inputShape: [8, 8, 3] as [number, number, number] }

  it('names the metrics it computes and refuses the others', () => {
    for (const m of ['latency.tfjs-wasm', 'latency.lut', 'latency.help', 'memory.peak', 'size.bytes'])
      expect(isHardwareMetric(m)).toBe(true)
    for (const m of ['latency.pixel3', 'valid_acc', 'size']) expect(isHardwareMetric(m)).toBe(false)
    expect(codeOf(() => hardwareMetrics({ space: nb201, metrics: ['latency.tfjs-webgl'] }))).toBe(
      'METRIC_MISSING',
    )
    expect(codeOf(() => hardwareMetrics({ space: nb201, metrics: ['latency.pixel3'] }))).toBe(
      'METRIC_MISSING',
    )
    expect(codeOf(() => hardwareMetrics({ space: nb201, metrics: ['latency.lut'] }))).toBe('CONFIG_INVALID')
  })

  it('adds measured and table latency, memory and size to every result, the table latency known first', async () => {
    const table = await buildLatencyTable(nb201, {
      network,
      runs: 2,
      calibrate: 1,
      rounds: 1,
      warmupSeconds: 0,
      gate: quietGate({ retries: 0 }),
    })
    const hw = hardwareMetrics({
      gate: quietGate({ retries: 0 }),
      warmupSeconds: 0.2,
      space: nb201,
      network,
      table,
      metrics: ['latency.tfjs-wasm', 'latency.lut', 'memory.peak', 'size.bytes'],
      runs: 3,
      warmup: 1,
    })
    expect(hw.cheap).toEqual(['latency.lut'])
    const inner = () => Promise.resolve({ valid_acc: 50 })
    const { evaluator, info } = withHardwareMetrics(
      inner,
      { metrics: ['valid_acc'], functionalCache: true },
      hw,
    )
    expect(info).toMatchObject({ cheapMetrics: ['latency.lut'], functionalCache: false })
    expect(info.metrics).toEqual([
      'valid_acc',
      'latency.tfjs-wasm',
      'latency.lut',
      'memory.peak',
      'size.bytes',
    ])
    const arch = nb201.sample(new Rng(3))
    const ctx = { signal: new AbortController().signal, report: () => {} }
    // two at once: measured one after the other, both complete
    const [m, again] = await expectNoLeaks(() => Promise.all([evaluator(arch, ctx), evaluator(arch, ctx)]), {
      heapSlackBytes: Number.POSITIVE_INFINITY,
    })
    expect(m['valid_acc']).toBe(50)
    expect(m['latency.lut']).toBe(predictLatency(table, nb201, arch))
    expect(m['latency.tfjs-wasm']).toBeGreaterThan(0)
    expect(m['memory.peak']).toBeGreaterThan(0)
    const model = buildModel(nb201, arch, network)
    expect(m['size.bytes']).toBe(weightBytes(model).float32)
    model.dispose()
    expect(again['size.bytes']).toBe(m['size.bytes'])
    expect(hw.cheapOf(arch)).toEqual({ 'latency.lut': m['latency.lut'] })
  })

  it('predicts latency.help with the predictor given, and asks for one when none is', () => {
    const help = (a: Nb201Arch) => 1 + a.filter((op) => op === 'nor_conv_3x3').length
    const hw = hardwareMetrics({ space: nb201, metrics: ['latency.help'], help })
    expect(hw.cheap).toEqual(['latency.help'])
    const arch = parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|')
    expect(hw.cheapOf(arch)).toEqual({ 'latency.help': 3 })
    expect(() => hardwareMetrics({ space: nb201, metrics: ['latency.help'] })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', value: 'latency.help' }),
    )
  })
})

describe('measuring on a shared machine', () => {
  it('reports the lowest median of several passes, a slow pass being the disturbed one', async () => {
    const model = buildModel(nb201, nb201.sample(new Rng(1)), {
      channels: 2,
      cellsPerStage: 1,
      inputShape: [8, 8, 3],
    })
    // the clock is read once at the start, then twice a run: the second pass's runs take 3 ms, the others 1
    const durations = [1, 1, 1, 3, 3, 3, 1, 1, 1]
    let t = 0
    let reads = 0
    const clock = () => {
      const r = reads++
      if (r > 0 && r % 2 === 0) t += durations[r / 2 - 1] ?? 1
      return t
    }
    const m = await measureLatency(model, { runs: 9, warmup: 0, passes: 3, clock })
    expect(m.passMedians).toEqual([1, 3, 1])
    expect(m.median).toBe(1)
    await expect(measureLatency(model, { runs: 2, passes: 3 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
    model.dispose()
  })

  it('repeats a measurement the probes call busy, and keeps the quiet one', async () => {
    const probes = [10, 10, 30, 10, 10]
    const gate = quietGate({ pauseMs: 0, probe: () => Promise.resolve(probes.shift() ?? 10) })
    const results = [5, 4]
    // probes: 10 before, 10 after (quiet): accepted at once
    expect(
      await gate.run(
        () => Promise.resolve(results[0]!),
        (r) => r,
      ),
    ).toBe(5)
    // 30 after: busy, repeated; 10 and 10: quiet
    expect(
      await gate.run(
        () => Promise.resolve(results[1]!),
        (r) => r,
      ),
    ).toBe(4)
    expect(gate.retried).toBe(1)
    const busy = quietGate({ retries: 2, pauseMs: 0, probe: () => Promise.resolve(busyProbe()) })
    let n = 0
    const busyProbe = () => (n++ === 0 ? 10 : 40)
    const tries = [9, 7, 8]
    expect(
      await busy.run(
        () => Promise.resolve(tries.shift()!),
        (r) => r,
      ),
    ).toBe(7)
    expect(busy.retried).toBe(2)
    expect(codeOf(() => quietGate({ retries: -1 }))).toBe('CONFIG_INVALID')
  })

  test.prop([
    fc.double({ min: -2, max: 2, noNaN: true }),
    fc.double({ min: 0.6, max: 1.8, noNaN: true }),
    fc.array(fc.double({ min: 1, max: 50, noNaN: true }), { minLength: 3, maxLength: 30 }),
  ])('recovers the overhead and scale of exactly linear data', (overhead, scale, sums) => {
    fc.pre(Math.max(...sums) - Math.min(...sums) > 1)
    const fit = fitOverhead(
      sums,
      sums.map((s) => overhead + scale * s),
    )
    expect(fit.scale).toBeCloseTo(scale, 6)
    expect(fit.overhead).toBeCloseTo(overhead, 6)
  })

  it('falls back to a median overhead and scale 1 when the networks cannot tell the two apart', () => {
    expect(fitOverhead([5, 6], [6, 7.5])).toEqual({ overhead: 1.25, scale: 1 })
    expect(fitOverhead([5, 5, 5], [6, 7, 8])).toEqual({ overhead: 2, scale: 1 })
  })

  it('warms the backend up for the seconds asked and leaves nothing allocated', async () => {
    const t0 = performance.now()
    await expectNoLeaks(
      () => warmUpBackend(nb201, { channels: 2, cellsPerStage: 1, inputShape: [8, 8, 3] }, { seconds: 0.2 }),
      {
        heapSlackBytes: Number.POSITIVE_INFINITY,
      },
    )
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190)
  })

  it('chains a block that keeps its input shape, and times the others once', async () => {
    const blocks = latencyBlocks(
      nb201,
      nb201.parse('|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|'),
      {
        channels: 2,
        cellsPerStage: 1,
        inputShape: [8, 8, 3],
      },
    )
    const conv = blocks.find((b) => b.key.startsWith('op:nor_conv_3x3'))!
    const reduce = blocks.find((b) => b.key.startsWith('reduce:'))!
    expect((await measureBlock(conv, { runs: 2, warmup: 0, chain: 4 })).copies).toBe(4)
    expect((await measureBlock(reduce, { runs: 2, warmup: 0, chain: 4 })).copies).toBe(1)
  })
})
