import { nb201 } from '@nasjs/search-space'
import { beforeAll, describe, expect, it } from 'vitest'

import { loadNb201 } from '../node/nb201.js'
import type { CompareResult } from './compare.js'
import { compareOnNb201 } from './nb201-compare.js'
import { randomSamplingRunner } from './random-runner.js'
import { formatSummary, toCsv, toJson } from './report.js'

let single: CompareResult
let multi: CompareResult
beforeAll(async () => {
  const bench = loadNb201()
  const runners = {
    random: randomSamplingRunner(nb201),
    'random, no repeats': randomSamplingRunner(nb201, { replacement: false, hash: (a) => nb201.hash(a) }),
  }
  single = await compareOnNb201({ bench, dataset: 'cifar10', budget: 12, seeds: 3, runners })
  multi = await compareOnNb201({
    bench,
    dataset: 'imagenet16-120',
    budget: 12,
    seeds: 2,
    runners,
    objectives: ['valid_acc:max', 'flops:min'],
  })
})

describe('comparison reports', () => {
  it('writes one CSV row per strategy, seed and query', () => {
    const lines = toCsv(single).trimEnd().split('\n')
    expect(lines[0]).toBe('strategy,seed,query,search_best,report_incumbent,regret')
    expect(lines.length).toBe(1 + 2 * 3 * 12)
    expect(lines[1]).toMatch(/^random,0,1,\d+(\.\d+)?,\d+(\.\d+)?,\d+(\.\d+)?$/)
    expect(lines.some((l) => l.startsWith('"random, no repeats",2,12,'))).toBe(true)
    const mlines = toCsv(multi).trimEnd().split('\n')
    expect(mlines[0]).toBe('strategy,seed,query,search_best,report_incumbent,regret,hypervolume,coverage')
    expect(mlines.length).toBe(1 + 2 * 2 * 12)
  })

  it('writes a summary CSV and a Markdown table', () => {
    const lines = toCsv(single, 'summary').trimEnd().split('\n')
    expect(lines.length).toBe(3)
    expect(lines[0]).toContain('relative_improvement_over_random_search')
    const md = formatSummary(multi)
    expect(md).toContain('| random | 2 |')
    expect(md).toContain('rel. hypervolume')
    expect(() => toCsv(single, 'other' as 'summary')).toThrow(/unknown CSV kind 'other'/)
  })

  it('round-trips through JSON', () => {
    const back = JSON.parse(toJson(multi)) as CompareResult
    expect(back.summary[0]!.final.mean).toBe(multi.summary[0]!.final.mean)
    expect(back.runs[1]!.hypervolumeCurve).toEqual(multi.runs[1]!.hypervolumeCurve)
    expect(back.objectives).toEqual([
      { name: 'valid_acc', direction: 'max' },
      { name: 'flops', direction: 'min' },
    ])
  })
})
