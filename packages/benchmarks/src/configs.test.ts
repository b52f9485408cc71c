import { isNasError } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'

import {
  BenchmarkConfig,
  MultiFidelityConfig,
  Nb201EvaluatorConfig,
  SyntheticConfig,
  createBenchmarkFromConfig,
  parseBenchmarkConfig,
} from './configs.js'
import { loadNb201 } from './node/nb201.js'

describe('benchmark configs', () => {
  it('fills defaults and builds the benchmark', () => {
    const syn = parseBenchmarkConfig(BenchmarkConfig, { kind: 'synthetic', seed: 3 })
    expect(syn).toEqual({ kind: 'synthetic', seed: 3, peaks: 8, noise: 0.5, floor: 10, top: 95 })
    const b = createBenchmarkFromConfig(syn, { space: nb201 })
    expect('optimum' in b && b.optimum.test_acc).toBe(95)
    const mf = parseBenchmarkConfig(MultiFidelityConfig, { kind: 'synthetic-mf', seed: 1, maxFidelity: 12 })
    const m = createBenchmarkFromConfig(mf, { space: nb201 })
    expect('fidelities' in m && m.fidelities).toEqual({ min: 1, max: 12 })
    const ev = createBenchmarkFromConfig(
      parseBenchmarkConfig(Nb201EvaluatorConfig, { kind: 'nb201', dataset: 'cifar100' }),
      {
        nb201: loadNb201(),
      },
    )
    expect('queries' in ev && ev.queries).toBe(0)
  })

  it('rejects bad configs with one CONFIG_INVALID NasError naming the path and the allowed values', () => {
    const fail = (schema: z.ZodType, v: unknown) => {
      try {
        parseBenchmarkConfig(schema, v)
      } catch (e) {
        if (isNasError(e)) return e
      }
      throw new Error('accepted')
    }
    const e = fail(Nb201EvaluatorConfig, { kind: 'nb201', dataset: 'svhn' })
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.path).toEqual(['dataset'])
    expect(e.value).toBe('svhn')
    expect(e.allowed).toEqual(['cifar10', 'cifar100', 'imagenet16-120'])
    expect(fail(SyntheticConfig, { kind: 'synthetic', seed: 1, top: 5 }).message).toMatch(
      /at top: top must be above floor/,
    )
    expect(fail(SyntheticConfig, { kind: 'synthetic', seed: 1, extra: 1 }).message).toMatch(/extra/)
    expect(
      fail(MultiFidelityConfig, { kind: 'synthetic-mf', seed: 1, minFidelity: 9, maxFidelity: 3 }).path,
    ).toEqual(['maxFidelity'])
    expect(() => createBenchmarkFromConfig({ kind: 'nb201', dataset: 'cifar10' }, {})).toThrow(
      /needs the loaded NB201 table/,
    )
    expect(() =>
      createBenchmarkFromConfig({ kind: 'synthetic', seed: 1, peaks: 8, noise: 0, floor: 10, top: 95 }, {}),
    ).toThrow(/needs a search space/)
  })

  it('exports JSON Schemas for config files and forms', () => {
    const js = z.toJSONSchema(Nb201EvaluatorConfig, { io: 'input' }) as {
      properties: Record<string, unknown>
      required: string[]
    }
    expect(Object.keys(js.properties)).toEqual(['kind', 'dataset', 'metrics'])
    expect(js.required).toEqual(['kind', 'dataset'])
  })
})
