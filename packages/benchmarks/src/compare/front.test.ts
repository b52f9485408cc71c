import { fc, test } from '@fast-check/vitest'
import { isNasError } from '@nasjs/core'
import { describe, expect, it } from 'vitest'

import { loadNb201 } from '../node/nb201.js'
import { frontQuality, paretoFrontOfColumns, trueParetoFront } from './front.js'

const bench = loadNb201()
const truth = trueParetoFront(bench, 'cifar10', ['valid_acc:max', 'latency.pixel3:min'])
const valid = bench.column('cifar10', 'valid_acc')
const lat = bench.column('cifar10', 'latency.pixel3')
const rec = (i: number) => ({ key: i, metrics: bench.query(i, 'cifar10') })

describe('trueParetoFront', () => {
  it('computes the exact (validation accuracy, Pixel 3 latency) front of CIFAR-10', () => {
    expect(truth.keys.length).toBe(50)
    expect(truth.rows).toBe(15625)
    // nothing in the table dominates a front member, and every non-member is dominated by a member
    const onFront = new Set(truth.keys)
    const dominates = (i: number, k: number) =>
      valid[i]! >= valid[k]! && lat[i]! <= lat[k]! && (valid[i]! > valid[k]! || lat[i]! < lat[k]!)
    let violations = 0
    for (let i = 0; i < 15625; i++) {
      if (onFront.has(i)) {
        for (let j = 0; j < 15625; j++) if (dominates(j, i)) violations++
      } else if (!truth.keys.some((k) => dominates(k, i))) violations++
    }
    expect(violations).toBe(0)
    const best = bench.best('cifar10', 'valid_acc').index
    expect(onFront.has(best)).toBe(true)
    // sorted best accuracy first
    expect(truth.points[0]![0]).toBe(-valid[best]!)
  })

  it('scores the whole table as exactly 1', () => {
    const all = Array.from({ length: 15625 }, (_, i) => rec(i))
    const q = frontQuality(all, truth)
    expect(q.relativeHypervolume).toBe(1)
    expect(q.coverage).toBe(1)
  })

  test.prop([fc.uniqueArray(fc.integer({ min: 0, max: 15624 }), { minLength: 1, maxLength: 300 })], {
    numRuns: 30,
  })('a found front scores at most 1, and adding architectures never lowers it', (idx) => {
    const half = frontQuality(idx.slice(0, Math.ceil(idx.length / 2)).map(rec), truth)
    const full = frontQuality(idx.map(rec), truth)
    expect(full.relativeHypervolume).toBeLessThanOrEqual(1 + 1e-12)
    expect(full.relativeHypervolume).toBeGreaterThanOrEqual(half.relativeHypervolume - 1e-12)
    expect(full.coverage).toBeGreaterThanOrEqual(half.coverage)
    expect(full.coverage).toBe(idx.filter((i) => truth.keys.includes(i)).length / truth.keys.length)
  })

  it('fails clearly when an objective is missing for some architectures, unless told to skip them', () => {
    let err: unknown
    try {
      trueParetoFront(bench, 'cifar10', ['valid_acc:max', 'latency.edgetpu:min'])
    } catch (e) {
      err = e
    }
    expect(isNasError(err) && err.code).toBe('METRIC_MISSING')
    expect((err as Error).message).toMatch(/latency\.edgetpu.*missing for index \d+ \|/)
    const skipped = trueParetoFront(bench, 'cifar10', ['valid_acc:max', 'latency.edgetpu:min'], {
      missing: 'skip',
    })
    expect(skipped.rows).toBe(15625 - 4699)
    expect(() => trueParetoFront(bench, 'cifar10', ['accuracy:max'])).toThrow(/no metric 'accuracy'/)
    expect(() => trueParetoFront(bench, 'cifar10', [])).toThrow(/at least one objective/)
  })

  it('works on plain columns', () => {
    const f = paretoFrontOfColumns(
      [
        [1, 2, 3, 4],
        [4, 3, 5, 1],
      ],
      ['a:min', 'b:min'],
    )
    expect(f.keys).toEqual([0, 1, 3])
    expect(f.reference).toEqual([4.3, 5.4])
  })
})
