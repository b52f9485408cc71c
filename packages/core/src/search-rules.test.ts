import { fc, test } from '@fast-check/vitest'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { NasError } from './errors.js'
import {
  missingMetrics,
  objectiveVector,
  parseBudget,
  parseConstraints,
  parseObjectives,
  totalViolation,
} from './search-rules.js'
import type { Budget, ObjectiveList } from './search-rules.js'

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (e) {
    return e instanceof NasError ? e.code : 'not a NasError'
  }
  return undefined
}

describe('parseBudget', () => {
  it('keeps the limits given', () => {
    expect(parseBudget({ trials: 10 })).toEqual({ trials: 10 })
    expect(parseBudget({ evaluations: 5, seconds: 1.5 })).toEqual({ evaluations: 5, seconds: 1.5 })
  })
  it('rejects empty, unknown, negative and fractional budgets with BUDGET_INVALID naming the field', () => {
    for (const bad of [
      {},
      { epochs: 3 },
      { trials: -1 },
      { trials: 1.5 },
      { seconds: 0 },
      null,
      'ten',
      { trials: undefined },
    ]) {
      expect({ bad, code: codeOf(() => parseBudget(bad)) }).toEqual({ bad, code: 'BUDGET_INVALID' })
    }
    expect(() => parseBudget({ trials: -1 })).toThrow(/budget trials: .*got -1/)
  })
  it('types: an empty budget does not compile', () => {
    expectTypeOf({ trials: 1 }).toMatchTypeOf<Budget>()
    // @ts-expect-error at least one limit
    const empty: Budget = {}
    void empty
  })
})

describe('parseObjectives', () => {
  it('parses strings and objects, at least one, none twice, each with a direction', () => {
    expect(parseObjectives(['acc:max', { name: 'lat', direction: 'min' }])).toEqual([
      { name: 'acc', direction: 'max' },
      { name: 'lat', direction: 'min' },
    ])
    expect(codeOf(() => parseObjectives([]))).toBe('OBJECTIVE_INVALID')
    expect(codeOf(() => parseObjectives(['acc:max', 'acc:min']))).toBe('OBJECTIVE_INVALID')
    expect(codeOf(() => parseObjectives(['acc']))).toBe('OBJECTIVE_INVALID')
    expect(codeOf(() => parseObjectives([{ name: 'acc', direction: 'up' } as never]))).toBe(
      'OBJECTIVE_INVALID',
    )
    expect(codeOf(() => parseObjectives('acc:max' as never))).toBe('OBJECTIVE_INVALID')
  })
  it('types: objective strings need a direction, and the list is not empty', () => {
    expectTypeOf<['valid_acc:max']>().toMatchTypeOf<ObjectiveList>()
    // @ts-expect-error an empty list
    const none: ObjectiveList = []
    // @ts-expect-error no direction
    const bare: ObjectiveList = ['valid_acc']
    void none
    void bare
  })
})

describe('parseConstraints', () => {
  it('parses strings and objects and names a bad one', () => {
    expect(parseConstraints(['lat<=5', { metric: 'p', op: '>', bound: 1 }])).toEqual([
      { metric: 'lat', op: '<=', bound: 5 },
      { metric: 'p', op: '>', bound: 1 },
    ])
    expect(parseConstraints(undefined)).toEqual([])
    expect(codeOf(() => parseConstraints([{ metric: 'p', op: '=', bound: 1 } as never]))).toBe(
      'CONSTRAINT_INVALID',
    )
    expect(codeOf(() => parseConstraints('lat<=5' as never))).toBe('CONSTRAINT_INVALID')
  })
})

describe('the missing-metric rule', () => {
  const cs = parseConstraints(['lat<=5', 'p>=1'])
  it('a missing constraint metric violates without bound; a present one by its distance', () => {
    expect(totalViolation(cs, { lat: 4, p: 2 })).toBe(0)
    expect(totalViolation(cs, { lat: 7, p: 2 })).toBe(2)
    expect(totalViolation(cs, { lat: 4 })).toBe(Infinity)
    expect(totalViolation([], {})).toBe(0)
  })
  test.prop([
    fc.dictionary(fc.constantFrom('lat', 'p', 'x'), fc.double({ noNaN: true, min: -100, max: 100 })),
  ])('feasible exactly when every constraint metric is present and satisfied', (m) => {
    const ok = m['lat'] !== undefined && m['lat'] <= 5 && m['p'] !== undefined && m['p'] >= 1
    expect(totalViolation(cs, m) === 0).toBe(ok)
    expect(missingMetrics([{ name: 'x', direction: 'max' }], cs, m)).toEqual(
      ['x', 'lat', 'p'].filter((k) => !(k in m)),
    )
  })
  it('an objective vector needs every objective, finite', () => {
    const os = parseObjectives(['a:max', 'b:min'])
    expect(objectiveVector(os, { a: 1, b: 2, c: 3 })).toEqual([1, 2])
    expect(objectiveVector(os, { a: 1 })).toBeUndefined()
    expect(objectiveVector(os, { a: 1, b: Number.NaN })).toBeUndefined()
    expect(objectiveVector(os, { a: Infinity, b: 1 })).toBeUndefined()
  })
})
