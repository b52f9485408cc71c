import { isNasError, type EvaluatorContext } from '@nasjs/core'
import { describe, expect, it } from 'vitest'

import { createNb201Evaluator } from './evaluator.js'
import { nb201MetricNames } from './metrics.js'
import { loadNb201 } from '../node/nb201.js'

const bench = loadNb201()
const ctx = (signal = new AbortController().signal): EvaluatorContext => ({ signal, report: () => undefined })

describe('createNb201Evaluator', () => {
  it('returns the chosen metrics and counts every query', async () => {
    const ev = createNb201Evaluator(bench, {
      dataset: 'cifar10',
      metrics: ['valid_acc', 'test_acc', 'latency.pixel3'],
    })
    expect(ev.info.metrics).toEqual(['valid_acc', 'test_acc', 'latency.pixel3'])
    expect(ev.info.cheapMetrics).toEqual(['latency.pixel3'])
    const arch = bench.archAt(1)
    await expect(ev(arch, ctx())).resolves.toEqual({
      valid_acc: bench.query(1, 'cifar10').valid_acc,
      test_acc: bench.query(1, 'cifar10').test_acc,
      'latency.pixel3': bench.query(1, 'cifar10')['latency.pixel3'],
    })
    await ev(arch, ctx())
    await ev(bench.archStrAt(2), ctx())
    expect(ev.queries).toBe(3)
    ev.resetQueries()
    expect(ev.queries).toBe(0)
  })

  it('defaults to every metric present for all cells', async () => {
    const ev = createNb201Evaluator(bench, { dataset: 'cifar100' })
    const expected = nb201MetricNames('cifar100').filter((m) => m !== 'latency.edgetpu' && m !== 'zen')
    expect(ev.info.metrics).toEqual(expected)
    const m = await ev(0, ctx())
    expect(Object.keys(m)).toEqual(expected)
  })

  it('fails clearly when a requested metric is missing for the architecture', async () => {
    const ev = createNb201Evaluator(bench, { dataset: 'cifar10', metrics: ['valid_acc', 'latency.edgetpu'] })
    const missing = bench.column('cifar10', 'latency.edgetpu').findIndex(Number.isNaN)
    const err: unknown = await ev(missing, ctx()).catch((e: unknown) => e)
    expect(isNasError(err) && err.code).toBe('METRIC_MISSING')
    expect((err as Error).message).toMatch(/Edge TPU/)
    await expect(ev(0, ctx())).resolves.toHaveProperty('latency.edgetpu')
  })

  it('rejects bad options, bad architectures and aborted signals with NasErrors', async () => {
    expect(() => createNb201Evaluator(bench, { dataset: 'cifar1000' })).toThrow(
      /unknown NB201 dataset 'cifar1000'/,
    )
    expect(() =>
      createNb201Evaluator(bench, { dataset: 'imagenet16-120', metrics: ['latency.gold_6226'] }),
    ).toThrow(/CIFAR-10 inputs/)
    expect(() => createNb201Evaluator(bench, { dataset: 'cifar10', metrics: [] })).toThrow(
      /at least one metric/,
    )
    const ev = createNb201Evaluator(bench, { dataset: 'cifar10', metrics: ['test_acc'] })
    await expect(ev('|nope~0|', ctx())).rejects.toThrow(/node groups/)
    const ac = new AbortController()
    ac.abort()
    const err: unknown = await ev(0, ctx(ac.signal)).catch((e: unknown) => e)
    expect(isNasError(err) && err.code).toBe('ABORTED')
  })
})
