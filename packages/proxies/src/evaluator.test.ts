import { initBackend } from '@nasjs/backend'
import { Rng, isNasError, type EvaluatorContext } from '@nasjs/core'
import { modelCost } from '@nasjs/models'
import { loadNb201, loadNb201ZeroCost } from '@nasjs/benchmarks/node'
import { loadDataset } from '@nasjs/models/node'
import { nb201 } from '@nasjs/search-space'
import { createStrategyRegistry, runSearch } from '@nasjs/strategies'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { proxyEvaluator, rankByProxy } from './evaluator.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const network = { channels: 4, cellsPerStage: 1, inputShape: [8, 8, 3], classes: 10 }
const ctx = (): EvaluatorContext => ({ signal: new AbortController().signal, report: () => {} })

describe('proxyEvaluator', () => {
  it('returns zc.<proxy>, the weighted zc_score, params and flops; the same architecture scores the same', async () => {
    const { evaluator, info } = proxyEvaluator({
      space: nb201,
      proxies: 'synflow,nwot',
      network,
      batchSize: 8,
      weights: { synflow: 1, nwot: 0.5 },
    })
    expect(info.metrics).toEqual(['zc.synflow', 'zc.nwot', 'zc_score', 'params', 'flops'])
    const arch = nb201.parse(
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
    )
    const before = tf.memory().numTensors
    const a = await evaluator(arch, ctx())
    const b = await evaluator(arch, ctx())
    expect(tf.memory().numTensors).toBe(before)
    expect(b).toEqual(a)
    expect(a.zc_score).toBeCloseTo(a['zc.synflow']! + 0.5 * a['zc.nwot']!, 10)
    expect(a.params).toBe(modelCost(nb201, arch, network as never).params)
  })

  it('fails a trial whose network has no path from input to output, and refuses weights of unknown proxies', async () => {
    const { evaluator } = proxyEvaluator({ space: nb201, proxies: 'nwot', network, batchSize: 8 })
    await expect(
      evaluator(nb201.parse('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'), ctx()),
    ).rejects.toThrow(/no score/)
    let e: unknown
    try {
      proxyEvaluator({ space: nb201, proxies: 'nwot', weights: { synflow: 1 } })
    } catch (err) {
      e = err
    }
    expect(isNasError(e) && e.code === 'CONFIG_INVALID' && e.allowed?.includes('nwot')).toBe(true)
  })

  it('lets every strategy search on a proxy: REA on synflow over a real minibatch', async () => {
    const data = (await loadDataset('digits', { seed: 1, train: 200 })).train
    const { evaluator } = proxyEvaluator({
      space: nb201,
      proxies: 'synflow,snip',
      network: { channels: 4, cellsPerStage: 1, inputShape: [8, 8, 1] },
      data,
      batchSize: 16,
    })
    const strategy = createStrategyRegistry().create(
      'rea',
      { populationSize: 4, sampleSize: 2 },
      {
        space: nb201,
        rng: new Rng(1),
        objectives: [{ name: 'zc.synflow', direction: 'max' }],
      },
    )
    const r = await runSearch({
      space: nb201,
      strategy,
      evaluator,
      objectives: ['zc.synflow:max'],
      budget: { evaluations: 8 },
      seed: 1,
    })
    expect(r.evaluations).toBe(8)
    expect(r.best?.outcome).toMatchObject({ status: 'complete' })
  }, 120_000)
})

describe('proxyEvaluator with a table', () => {
  it('reads published scores as zc.table.<proxy>, builds nothing, and fails a cell the table has no score for', async () => {
    const bench = loadNb201()
    const zc = loadNb201ZeroCost(bench, 'cifar10')
    const columns: Record<string, Float64Array> = { ...zc.columns, ...zc.suite }
    const { evaluator, info } = proxyEvaluator({
      space: nb201,
      proxies: 'synflow,nwot',
      weights: { synflow: 1, nwot: 1 },
      table: (a, p) => columns[p]![bench.indexOf(a)]!,
    })
    expect(info.metrics).toEqual(['zc.table.synflow', 'zc.table.nwot', 'zc_score', 'params', 'flops'])
    const arch = nb201.parse(
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
    )
    const before = tf.memory().numTensors
    const m = await evaluator(arch, ctx())
    expect(tf.memory().numTensors).toBe(before)
    expect(m['zc.table.synflow']).toBeCloseTo(101.389, 2)
    expect(m.zc_score).toBeCloseTo(m['zc.table.synflow']! + m['zc.table.nwot']!, 10)
    expect(m.params).toBe(1073466)
    await expect(
      evaluator(nb201.parse('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'), ctx()),
    ).rejects.toThrow(/no synflow score/)
  })
})

describe('rankByProxy', () => {
  it('ranks best first with NaN last and ties in input order, and evaluates only the top k', async () => {
    const evaluated: number[] = []
    const { ranked, evaluated: top } = await rankByProxy({
      candidates: [3, 1, Number.NaN, 5, 1],
      score: (x) => Promise.resolve(x),
      top: 2,
      evaluate: (x) => {
        evaluated.push(x)
        return Promise.resolve({ acc: x * 10 })
      },
    })
    expect(ranked.map((r) => r.index)).toEqual([3, 0, 1, 4, 2])
    expect(evaluated).toEqual([5, 3])
    expect(top.map((t) => t.metrics)).toEqual([{ acc: 50 }, { acc: 30 }])
    const low = await rankByProxy({
      candidates: [3, 1, 2],
      score: (x) => Promise.resolve(x),
      top: 1,
      higherIsBetter: false,
    })
    expect(low.ranked.map((r) => r.arch)).toEqual([1, 2, 3])
  })
})
