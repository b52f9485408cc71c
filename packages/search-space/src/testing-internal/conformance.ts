import { fc, test } from '@fast-check/vitest'
import { NasError, Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import type { SearchSpace } from '../types.js'

/** Options of {@link describeSpaceConformance}. */
export interface ConformanceOptions {
  /** Every mutation changes exactly one entry of a decision list of unchanged length. */
  readonly fixedDecisions?: boolean
  /** Property-test runs (default 40). */
  readonly runs?: number
  /** Expected size, when known in closed form. */
  readonly size?: bigint
}

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 })

/** Runs the invariants every search space must satisfy. */
export function describeSpaceConformance<A>(space: SearchSpace<A>, opts: ConformanceOptions = {}): void {
  const runs = opts.runs ?? 40
  const valid = (x: unknown) => {
    expect(space.check(x)).toBeUndefined()
    expect(space.schema.safeParse(x).success).toBe(true)
  }
  describe(`${space.id} conformance`, () => {
    test.prop([seed], { numRuns: runs })('samples, mutants, crossovers and neighbours are valid', (s) => {
      const rng = new Rng(s)
      const a = space.sample(rng)
      const b = space.sample(rng)
      valid(a)
      const m = space.mutate(a, rng)
      valid(m)
      expect(m).not.toEqual(a)
      valid(space.crossover(a, b, rng))
      const ns = space.neighbors(a)
      expect(ns.length).toBeGreaterThan(0)
      for (const n of ns) {
        valid(n)
        expect(n).not.toEqual(a)
      }
    })

    test.prop([seed], { numRuns: runs })('mutate changes exactly one active decision', (s) => {
      const rng = new Rng(s)
      const a = space.sample(rng)
      const da = space.decisions.decide(a)
      const dm = space.decisions.decide(space.mutate(a, rng))
      if (opts.fixedDecisions) {
        expect(dm.length).toBe(da.length)
        expect(da.filter((d, i) => d !== dm[i]).length).toBe(1)
      } else {
        // the decisions before the changed one are kept; the changed one differs
        let i = 0
        while (i < da.length && i < dm.length && da[i] === dm[i]) i++
        expect(i).toBeLessThan(Math.max(da.length, dm.length))
      }
    })

    if (opts.fixedDecisions) {
      test.prop([seed], { numRuns: runs })('crossover takes every decision from a parent', (s) => {
        const rng = new Rng(s)
        const a = space.sample(rng)
        const b = space.sample(rng)
        const da = space.decisions.decide(a)
        const db = space.decisions.decide(b)
        const dc = space.decisions.decide(space.crossover(a, b, rng))
        dc.forEach((d, i) => expect([da[i], db[i]]).toContain(d))
      })
    }

    test.prop([seed], { numRuns: runs })('JSON, text and decision forms round-trip', (s) => {
      const a = space.sample(new Rng(s))
      const json = JSON.parse(JSON.stringify(space.toJSON(a))) as unknown
      expect(space.fromJSON(json)).toEqual(a)
      const text = space.format(a)
      expect(space.parse(text)).toEqual(a)
      expect(space.format(space.parse(text))).toBe(text)
      const ds = space.decisions.decide(a)
      expect(space.decisions.build(ds)).toEqual(a)
      for (let k = 0; k < ds.length; k++) {
        const d = space.decisions.next(ds.slice(0, k))
        expect(d).toBeDefined()
        expect(ds[k]).toBeLessThan(d!.size)
        expect(d!.size).toBeGreaterThan(1)
      }
      expect(space.decisions.next(ds)).toBeUndefined()
      expect(space.hash(space.fromJSON(json))).toBe(space.hash(a))
    })

    test.prop([seed], { numRuns: runs })(
      'a random walk through the decision tree builds a valid architecture',
      (s) => {
        const rng = new Rng(s)
        const ds: number[] = []
        for (let d = space.decisions.next(ds); d !== undefined; d = space.decisions.next(ds)) {
          expect(d.labels === undefined || d.labels.length === d.size).toBe(true)
          ds.push(rng.int(d.size))
        }
        valid(space.decisions.build(ds))
      },
    )

    test.prop([seed], { numRuns: runs })('encodings have a constant length', (s) => {
      const a = space.sample(new Rng(s))
      expect(space.encodings).toContain('onehot')
      expect(space.encodings).toContain('ordinal')
      for (const kind of space.encodings) {
        const v = space.encode(a, kind)
        expect(v.length).toBe(space.encodingLength(kind))
        expect(v.every(Number.isFinite)).toBe(true)
      }
      expect(space.encode(a)).toEqual(space.encode(a, 'onehot'))
    })

    it('rejects an architecture of another space and malformed JSON with a NasError', () => {
      const a = space.sample(new Rng(1))
      const wrong = { space: space.id === 'nb201' ? 'darts' : 'nb201', arch: a }
      expect(() => space.fromJSON(wrong)).toThrow(
        expect.objectContaining({ code: 'SPACE_MISMATCH' }) as Error,
      )
      expect(() => space.fromJSON({ space: space.id, arch: { bogus: 1 } })).toThrow(NasError)
      expect(() => space.fromJSON({ space: space.id, arch: { bogus: 1 } })).toThrow(
        expect.objectContaining({ code: 'ARCH_INVALID', path: expect.any(Array) as unknown }) as Error,
      )
      expect(() => space.fromJSON('nonsense')).toThrow(
        expect.objectContaining({ code: 'ARCH_INVALID' }) as Error,
      )
      expect(() => space.encode(a, 'bogus' as 'onehot')).toThrow(
        expect.objectContaining({ code: 'INPUT_INVALID' }) as Error,
      )
      expect(() => space.decisions.build([])).toThrow(NasError)
    })

    it('describes itself with its size', () => {
      expect(space.describe()).toContain(space.id)
      expect(space.describe()).toContain(String(space.size()))
      if (opts.size !== undefined) expect(space.size()).toBe(opts.size)
    })

    it('is deterministic for a seed', () => {
      const x = Array.from({ length: 5 }, (_, i) => space.sample(new Rng(i)))
      const y = Array.from({ length: 5 }, (_, i) => space.sample(new Rng(i)))
      expect(x).toEqual(y)
      expect(new Set(x.map((a) => space.format(a))).size).toBeGreaterThan(1)
    })
  })
}
