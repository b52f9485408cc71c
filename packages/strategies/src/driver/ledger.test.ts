import { fc, test } from '@fast-check/vitest'
import { paretoFrontOfMetrics, totalViolation } from '@nasjs/core'
import type { Constraint, Metrics, Objective, TrialOutcome } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { gridSpace } from '../testing/index.js'
import { TrialLedger } from './ledger.js'
import type { TrialRecord } from './ledger.js'

const space = gridSpace(2, 4)
const objectives: Objective[] = [
  { name: 'a', direction: 'max' },
  { name: 'b', direction: 'min' },
]
const constraints: Constraint[] = [{ metric: 'c', op: '<=', bound: 5 }]

const outcome = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        a: fc.integer({ min: 0, max: 6 }),
        b: fc.integer({ min: 0, max: 6 }),
        c: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
      })
      .map(({ a, b, c }): TrialOutcome => ({
        status: 'complete',
        metrics: c === undefined ? { a, b } : { a, b, c },
      })),
  },
  { weight: 1, arbitrary: fc.constant<TrialOutcome>({ status: 'failed', reason: 'x' }) },
  { weight: 1, arbitrary: fc.constant<TrialOutcome>({ status: 'pruned', step: 1 }) },
)
const trial = fc.record({
  outcome,
  fidelity: fc.constantFrom(undefined, 1, 3),
  cached: fc.boolean(),
})

/** What the ledger keeps up to date, computed from scratch. */
function brute(ts: readonly TrialRecord<unknown>[], objs: readonly Objective[], cs: readonly Constraint[]) {
  const done = ts.filter((t) => t.outcome?.status === 'complete' && !t.cached)
  const top = Math.max(-Infinity, ...done.map((t) => t.fidelity ?? Infinity))
  const final = done.filter((t) => (t.fidelity ?? Infinity) === top)
  const metrics = (t: TrialRecord<unknown>) => (t.outcome as { metrics: Metrics }).metrics
  const front =
    final.length === 0
      ? []
      : paretoFrontOfMetrics(final.map(metrics), objs, { constraints: cs }).map((i) => final[i]!)
  let best: TrialRecord<unknown> | undefined
  for (const t of final) {
    const v = totalViolation(cs, metrics(t))
    const x = metrics(t)[objs[0]!.name]!
    if (best === undefined) best = t
    else {
      const bv = totalViolation(cs, metrics(best))
      const bx = metrics(best)[objs[0]!.name]!
      if (v < bv || (v === bv && (objs[0]!.direction === 'max' ? x > bx : x < bx))) best = t
    }
  }
  return { front, best }
}

describe('TrialLedger', () => {
  test.prop([fc.array(trial, { maxLength: 60 }), fc.boolean()])(
    'keeps the best and the front equal to a from-scratch computation after every tell',
    (trials, withConstraints) => {
      const cs = withConstraints ? constraints : []
      const ledger = new TrialLedger<unknown>({ space, objectives, constraints: cs, cache: 'off' })
      trials.forEach((x, id) => {
        ledger.add({
          id,
          arch: [0, 0],
          hash: 'h',
          ...(x.fidelity === undefined ? {} : { fidelity: x.fidelity }),
        })
        ledger.record(id, x.outcome, { cached: x.cached, durationMs: 0, cost: 1, skipped: false })
        const want = brute(ledger.trials, objectives, cs)
        expect(
          ledger
            .front()
            .map((t) => t.id)
            .sort((p, q) => p - q),
        ).toEqual(want.front.map((t) => t.id).sort((p, q) => p - q))
        expect(ledger.best()?.id).toBe(want.best?.id)
      })
      expect(ledger.trials).toHaveLength(trials.length)
      expect(ledger.cacheHits).toBe(trials.filter((t) => t.cached).length)
      expect(ledger.evaluations + ledger.cacheHits).toBe(trials.length)
    },
  )

  test.prop([fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 80 })])(
    'one objective: the anytime curve is the running best, one point per change',
    (values) => {
      const ledger = new TrialLedger<unknown>({
        space,
        objectives: [objectives[1]!],
        constraints: [],
        cache: 'off',
      })
      values.forEach((b, id) => {
        ledger.add({ id, arch: [0, 0], hash: 'h' })
        ledger.record(
          id,
          { status: 'complete', metrics: { b } },
          { cached: false, durationMs: 0, cost: 1, skipped: false },
        )
      })
      const curve = ledger.anytime
      const running = values.map((_, i) => Math.min(...values.slice(0, i + 1)))
      for (const [x, y] of curve) expect(y).toBe(running[x - 1])
      expect(curve.map(([, y]) => y)).toEqual([...new Set(running)])
    },
  )

  it('several objectives: the curve scores the feasible front each time it changes', () => {
    const seen: number[] = []
    const ledger = new TrialLedger<unknown>({
      space,
      objectives,
      constraints,
      cache: 'off',
      frontScore: (front) => (seen.push(front.length), front.length),
    })
    const tell = (id: number, m: Metrics) => {
      ledger.add({ id, arch: [0, 0], hash: 'h' })
      ledger.record(
        id,
        { status: 'complete', metrics: m },
        { cached: false, durationMs: 0, cost: 1, skipped: false },
      )
    }
    tell(0, { a: 1, b: 1, c: 9 }) // infeasible: no point
    tell(1, { a: 1, b: 1, c: 0 }) // feasible: front of 1
    tell(2, { a: 0, b: 2, c: 0 }) // dominated: no change
    tell(3, { a: 2, b: 2, c: 0 }) // a trade-off: front of 2
    tell(4, { a: 1, b: 1 }) // no 'c': infeasible by the missing-metric rule
    expect(ledger.anytime).toEqual([
      [2, 1],
      [4, 2],
    ])
    expect(ledger.front().map((t) => t.id)).toEqual([1, 3])
  })

  it('rejects telling a trial twice or one never asked', () => {
    const ledger = new TrialLedger<unknown>({ space, objectives, constraints: [], cache: 'exact' })
    ledger.add({ id: 0, arch: [0, 0], hash: 'h' })
    const info = { cached: false, durationMs: 0, cost: 1, skipped: false }
    ledger.record(0, { status: 'failed', reason: 'x' }, info)
    expect(() => ledger.record(0, { status: 'failed', reason: 'x' }, info)).toThrow(/no outstanding trial/)
    expect(() => ledger.record(7, { status: 'failed', reason: 'x' }, info)).toThrow(/no outstanding trial/)
  })
})
