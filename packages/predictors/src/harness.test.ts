import { NasError } from '@nasjs/core'
import { loadNb201 } from '@nasjs/benchmarks/node'
import { nb201 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { formatHarnessTable, rmse, runPredictorHarness, summarizeHarness } from './harness.js'
import { bayesianLinear, ridge } from './linear.js'
import { randomForest } from './forest.js'
import { syntheticBinary } from './testing-internal/synthetic.js'

describe('rmse', () => {
  it('is the root mean squared error and rejects mismatched samples', () => {
    expect(rmse([1, 2], [1, 4])).toBeCloseTo(Math.SQRT2, 12)
    expect(() => rmse([1], [1, 2])).toThrow(NasError)
  })
})

describe('runPredictorHarness', () => {
  const { X, y } = syntheticBinary(400, 10, 1)

  it('scores every entry on nested training sets and a fixed test set per seed', async () => {
    const rows = await runPredictorHarness({
      entries: [
        { label: 'ridge', predictor: ridge() },
        { label: 'blr', predictor: bayesianLinear() },
      ],
      features: { x: X },
      defaultFeatures: 'x',
      y,
      trainSizes: [20, 100],
      testSize: 200,
      seeds: [0, 1],
    })
    expect(rows).toHaveLength(8)
    const s = summarizeHarness(rows)
    expect(s.map((r) => [r.label, r.n, r.seeds])).toEqual([
      ['ridge', 20, 2],
      ['blr', 20, 2],
      ['ridge', 100, 2],
      ['blr', 100, 2],
    ])
    // more data, better ranking
    expect(s[2]!.kendallTau).toBeGreaterThan(s[0]!.kendallTau)
    expect(formatHarnessTable(s)).toMatch(/^\| predictor \| n \| Kendall tau/)
  })

  it('rejects a pool too small for the protocol and unknown feature sets', async () => {
    const base = { features: { x: X }, defaultFeatures: 'x', y, testSize: 300, seeds: [0] }
    await expect(
      runPredictorHarness({ ...base, entries: [{ label: 'r', predictor: ridge() }], trainSizes: [200] }),
    ).rejects.toThrow(/fewer than testSize 300 \+ the largest train size 200/)
    await expect(
      runPredictorHarness({
        ...base,
        entries: [{ label: 'r', predictor: ridge(), features: 'path' }],
        trainSizes: [20],
      }),
    ).rejects.toThrow(/asks for features 'path'/)
  })

  it('on NAS-Bench-201, predictors rank CIFAR-10 validation accuracy well from 100 architectures', async () => {
    const bench = loadNb201()
    const y10 = bench.column('cifar10', 'valid_acc')
    const path = Array.from({ length: bench.size }, (_, i) => nb201.encode(bench.archAt(i), 'path'))
    const rows = await runPredictorHarness({
      entries: [
        { label: 'ridge', predictor: ridge() },
        { label: 'rf', predictor: randomForest({ nTrees: 50 }) },
      ],
      features: { path },
      defaultFeatures: 'path',
      y: y10,
      trainSizes: [100],
      testSize: 1000,
      seeds: [0, 1],
    })
    const s = summarizeHarness(rows)
    expect(s[0]!.kendallTau).toBeGreaterThan(0.5) // White et al. 2021 report 0.45-0.55 for the best at n = 100
    expect(s[1]!.kendallTau).toBeGreaterThan(0.35)
  })
})
