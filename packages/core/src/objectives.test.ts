import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { NasError } from './errors.js'
import {
  constraintViolation,
  formatConstraint,
  formatObjective,
  parseConstraint,
  parseObjective,
  toMinimization,
} from './objectives.js'

const errorOf = (fn: () => unknown): unknown => {
  try {
    fn()
  } catch (e) {
    return e
  }
  return undefined
}
const codeOf = (fn: () => unknown): string | undefined => {
  const e = errorOf(fn)
  return e instanceof NasError ? e.code : e === undefined ? undefined : 'not a NasError'
}

describe('parseObjective', () => {
  it('parses good input', () => {
    expect(parseObjective('valid_acc:max')).toEqual({ name: 'valid_acc', direction: 'max' })
    expect(parseObjective('latency.pixel3:min')).toEqual({ name: 'latency.pixel3', direction: 'min' })
    expect(parseObjective('  params : min ')).toEqual({ name: 'params', direction: 'min' })
  })
  it('needs a direction: a bare metric name is OBJECTIVE_INVALID naming both forms', () => {
    const e = errorOf(() => parseObjective('latency.pixel3'))
    expect(e).toBeInstanceOf(NasError)
    expect((e as NasError).code).toBe('OBJECTIVE_INVALID')
    expect((e as NasError).message).toContain('latency.pixel3:max or latency.pixel3:min')
    expect((e as NasError).allowed).toEqual(['latency.pixel3:max', 'latency.pixel3:min'])
  })
  it('rejects bad input with OBJECTIVE_INVALID', () => {
    for (const bad of ['', ':max', 'acc:up', '1acc:max', 'a b:max', 'acc:max:min', 'acc:']) {
      expect({ bad, code: codeOf(() => parseObjective(bad)) }).toEqual({ bad, code: 'OBJECTIVE_INVALID' })
    }
  })
  it('names the bad direction and the allowed ones', () => {
    const e = errorOf(() => parseObjective('acc:up'))
    expect(e).toBeInstanceOf(NasError)
    expect((e as NasError).value).toBe('up')
    expect((e as NasError).allowed).toEqual(['max', 'min'])
  })
  test.prop([fc.stringMatching(/^[A-Za-z_]\w{0,8}(\.[\w-]{1,5})?$/), fc.constantFrom('min', 'max')])(
    'round-trips through formatObjective',
    (name, direction) => {
      const o = { name, direction }
      expect(parseObjective(formatObjective(o))).toEqual(o)
    },
  )
})

describe('parseConstraint', () => {
  it('parses good input', () => {
    expect(parseConstraint('latency.pixel3<=5')).toEqual({ metric: 'latency.pixel3', op: '<=', bound: 5 })
    expect(parseConstraint(' params > 1.5e6 ')).toEqual({ metric: 'params', op: '>', bound: 1.5e6 })
    expect(parseConstraint('acc>=-.5')).toEqual({ metric: 'acc', op: '>=', bound: -0.5 })
    expect(parseConstraint('flops<3.')).toEqual({ metric: 'flops', op: '<', bound: 3 })
  })
  it('rejects bad input with CONSTRAINT_INVALID', () => {
    for (const bad of ['', 'lat', 'lat<=', 'lat=5', 'lat<=abc', '<=5', 'lat=>5', 'lat<=5 6']) {
      expect({ bad, code: codeOf(() => parseConstraint(bad)) }).toEqual({ bad, code: 'CONSTRAINT_INVALID' })
    }
  })
  test.prop([fc.constantFrom('<=', '>=', '<', '>'), fc.integer({ min: -1000, max: 1000 })])(
    'round-trips through formatConstraint',
    (op, bound) => {
      const c = { metric: 'lat.cpu', op, bound }
      expect(parseConstraint(formatConstraint(c))).toEqual(c)
    },
  )
})

describe('constraintViolation', () => {
  it('is 0 when the constraint holds and the distance otherwise', () => {
    const le = { metric: 'l', op: '<=' as const, bound: 5 }
    expect(constraintViolation(le, 5)).toBe(0)
    expect(constraintViolation(le, 7)).toBe(2)
    const ge = { metric: 'a', op: '>=' as const, bound: 90 }
    expect(constraintViolation(ge, 91)).toBe(0)
    expect(constraintViolation(ge, 88)).toBe(2)
    expect(constraintViolation({ metric: 'l', op: '<', bound: 5 }, 5)).toBeGreaterThan(0)
    expect(constraintViolation({ metric: 'l', op: '>', bound: 5 }, 5)).toBeGreaterThan(0)
    expect(constraintViolation(le, Number.NaN)).toBe(Infinity)
  })
})

describe('toMinimization', () => {
  it('negates max objectives and names a missing metric', () => {
    const objs = [parseObjective('acc:max'), parseObjective('params:min')]
    expect(toMinimization(objs, { acc: 90, params: 3 })).toEqual([-90, 3])
    expect(codeOf(() => toMinimization(objs, { acc: 90 }))).toBe('METRIC_MISSING')
  })
})
