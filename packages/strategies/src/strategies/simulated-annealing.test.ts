import { Rng } from '@nasjs/core'
import type { Constraint } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { drive, make, registry } from '../testing-internal/drive.js'
import type { Strategy } from '../types.js'

// The conformance suite runs on every builtin in builtins.test.ts; this file checks what is
// particular to simulated annealing.

/** A smooth objective on NB201: +1 per nor_conv_3x3, +0.5 per skip on edges into node 3. */
const score = (a: Nb201Arch): number =>
  a.reduce((s, op, k) => s + (op === 'nor_conv_3x3' ? 1 : 0) + (k >= 3 && op === 'skip_connect' ? 0.5 : 0), 0)

interface SaState {
  current: { arch: unknown; value: number; violation: number } | null
  scale: number
  steps: number
}
const stateOf = (s: Strategy<Nb201Arch>): SaState => s.snapshot().state as SaState
const currentOf = (s: Strategy<Nb201Arch>): Nb201Arch | undefined => {
  const c = stateOf(s).current
  return c === null ? undefined : nb201.fromJSON(c.arch)
}
const distance = (a: Nb201Arch, b: Nb201Arch): number => a.filter((op, k) => op !== b[k]).length

describe('simulated annealing', () => {
  it('starts from the best of initSamples random samples, with the temperature scale their spread', () => {
    const s = make('sa', nb201, { initSamples: 6 })
    const ps = drive(s, (a) => ({ acc: score(a) }), 6)
    const values = ps.map((p) => score(p.arch))
    expect(currentOf(s)).toEqual(ps[values.indexOf(Math.max(...values))]!.arch)
    const mean = values.reduce((a, b) => a + b, 0) / values.length
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1))
    expect(stateOf(s).scale).toBeCloseTo(sd, 12)
  })

  it('waits for the initial batch, then proposes neighbours of the current state', () => {
    const s = make('sa', nb201, { initSamples: 3 })
    const init = s.ask(5)
    expect(init).toHaveLength(3) // the rest waits for the initial batch
    for (const p of init) s.tell(p.id, { status: 'complete', metrics: { acc: score(p.arch) } })
    for (let round = 0; round < 20; round++) {
      const from = currentOf(s)!
      const batch = s.ask(4) // parallel asks: all neighbours of the same state
      expect(batch).toHaveLength(4)
      for (const p of batch) expect(distance(p.arch, from)).toBe(1)
      for (const p of batch) s.tell(p.id, { status: 'complete', metrics: { acc: score(p.arch) } })
    }
    expect(stateOf(s).steps).toBe(80)
  })

  it('decides in the order of the tells: each accepted neighbour becomes the state the next tell is compared with', () => {
    // near-zero temperature: only improvements (and equal values) are accepted
    const s = make('sa', nb201, { initSamples: 2, initialTemperature: 1e-12 })
    for (const p of s.ask(2)) s.tell(p.id, { status: 'complete', metrics: { acc: 0 } })
    const [a, b] = s.ask(2)
    s.tell(b!.id, { status: 'complete', metrics: { acc: 5 } }) // told first: accepted
    s.tell(a!.id, { status: 'complete', metrics: { acc: 3 } }) // better than the start, worse than b: rejected
    expect(currentOf(s)).toEqual(b!.arch)
  })

  it('never accepts a worse neighbour when cold, and sometimes does when hot', () => {
    const walk = (initialTemperature: number): number[] => {
      const s = make('sa', nb201, { initSamples: 5, initialTemperature, cooling: 0.999 }, 3)
      const values: number[] = []
      for (let i = 0; i < 150; i++) {
        const [p] = s.ask(1)
        s.tell(p!.id, { status: 'complete', metrics: { acc: score(p!.arch) } })
        if (i >= 5) values.push(stateOf(s).current!.value)
      }
      return values
    }
    const drops = (vs: number[]) => vs.filter((v, i) => i > 0 && v < vs[i - 1]!).length
    expect(drops(walk(1e-9))).toBe(0)
    expect(drops(walk(100))).toBeGreaterThan(0)
  })

  it('never trades feasibility for objective value, and rejects failed neighbours', () => {
    // a constraint: at most 2 nor_conv_3x3 (counted in the metric 'convs'), at a high temperature
    const constraints: Constraint[] = [{ metric: 'convs', op: '<=', bound: 2 }]
    const s = registry.create(
      'sa',
      { initSamples: 8, initialTemperature: 100, cooling: 0.999 },
      { space: nb201, rng: new Rng(4), objectives: [{ name: 'acc', direction: 'max' }], constraints },
    )
    const violations: number[] = [] // of the current state, from the first feasible one on
    let failedAccepted = 0
    for (let i = 0; i < 300; i++) {
      const [p] = s.ask(1)
      const convs = p!.arch.filter((op) => op === 'nor_conv_3x3').length
      const failed = i >= 8 && i % 5 === 0
      s.tell(
        p!.id,
        failed
          ? { status: 'failed', reason: 'x' }
          : { status: 'complete', metrics: { acc: score(p!.arch), convs } },
      )
      const cur = stateOf(s).current
      if (cur !== null && (violations.length > 0 || cur.violation === 0)) violations.push(cur.violation)
      if (failed && distance(currentOf(s)!, p!.arch) === 0) failedAccepted++
    }
    expect(violations.length).toBeGreaterThan(250)
    expect(violations.every((v) => v === 0)).toBe(true)
    expect(failedAccepted).toBe(0)
  })

  it('draws a new initial batch when every initial sample failed', () => {
    const s = make('sa', nb201, { initSamples: 3 })
    for (const p of s.ask(3)) s.tell(p.id, { status: 'failed', reason: 'x' })
    const again = s.ask(5)
    expect(again).toHaveLength(3)
    expect(stateOf(s).current).toBeNull()
  })

  it('beats random search on a smooth objective (mean over 20 seeds)', () => {
    let sa = 0
    let rnd = 0
    for (let seed = 0; seed < 20; seed++) {
      sa += bestOf('sa', seed)
      rnd += bestOf('random', seed)
    }
    expect(sa).toBeGreaterThan(rnd)
  })
})

function bestOf(name: string, seed: number): number {
  const s = make(name, nb201, {}, seed)
  drive(s, (a) => ({ acc: score(a) }), 100)
  return score(s.recommend()!)
}
