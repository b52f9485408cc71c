import { Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { drive, make, obj } from '../testing-internal/drive.js'
import { gridSpace } from '../testing/index.js'
import { maxBracket } from './successive-halving.js'

const space = gridSpace(4, 6)

/** A synthetic multi-fidelity benchmark: a hidden quality plus a learning curve and fidelity noise. */
function multiFidelity(seed: number) {
  const quality = new Map<string, number>()
  const rng = new Rng(seed)
  for (const a of space.enumerate!()) quality.set(space.hash(a), rng.uniform())
  const q = (a: number[]) => quality.get(space.hash(a))!
  const noise = new Rng(seed + 1000)
  return {
    q,
    evaluate: (a: number[], fidelity = 81) => ({
      acc: q(a) - 0.5 / Math.sqrt(fidelity) + noise.normal(0, 0.3 / fidelity),
    }),
  }
}

describe('successive halving and Hyperband', () => {
  it('computes s_max = floor(log_eta(R / r))', () => {
    expect(maxBracket(1, 81, 3)).toBe(4)
    expect(maxBracket(1, 80, 3)).toBe(3)
    expect(maxBracket(1, 1, 3)).toBe(0)
    expect(maxBracket(3, 200, 2)).toBe(6)
  })

  it('SH: eta^s archs at the lowest fidelity, the best 1/eta promoted per rung', () => {
    const s = make('sh', space, { maxFidelity: 9, eta: 3 })
    const { evaluate } = multiFidelity(1)
    const ps = drive(s, (a, f) => evaluate(a, f), 13)
    expect(ps.map((p) => p.fidelity)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 9])
    const rung0 = ps.slice(0, 9).map((p) => ({ a: p.arch, v: evaluate(p.arch, 1).acc }))
    // promoted ones come from the first rung
    for (const p of ps.slice(9, 12))
      expect(rung0.some((r) => space.hash(r.a) === space.hash(p.arch))).toBe(true)
  })

  it('Hyperband: the brackets of Li et al. (R = 81, eta = 3)', () => {
    // every bracket samples afresh, as the paper's; repeats are not answered away (distinct off)
    const s = make('hyperband', space, { maxFidelity: 81, eta: 3 }, 1, [obj('acc')], false)
    const { evaluate } = multiFidelity(2)
    const ps = drive(s, (a, f) => evaluate(a, f), 10_000).slice(0, 81 + 27 + 9 + 3 + 1 + 34 + 11 + 3 + 1)
    const count = (from: number, n: number, f: number) =>
      ps.slice(from, from + n).every((p) => p.fidelity === f)
    // bracket s = 4: 81 at 1, 27 at 3, 9 at 9, 3 at 27, 1 at 81
    expect(
      count(0, 81, 1) && count(81, 27, 3) && count(108, 9, 9) && count(117, 3, 27) && count(120, 1, 81),
    ).toBe(true)
    // bracket s = 3: 34 at 3, 11 at 9, 3 at 27, 1 at 81
    expect(count(121, 34, 3) && count(155, 11, 9) && count(166, 3, 27) && count(169, 1, 81)).toBe(true)
  })

  it('on a synthetic multi-fidelity benchmark, SH and Hyperband beat random search at equal cost', () => {
    let sh = 0
    let hb = 0
    let rnd = 0
    const seeds = 20
    for (let seed = 0; seed < seeds; seed++) {
      const bench = multiFidelity(seed)
      const budget = 81 * 12 // cost in epochs: random search gets 12 full evaluations
      const run = (name: string) => {
        const s = make(name, space, { maxFidelity: 81, eta: 3 }, seed)
        let cost = 0
        let best = -Infinity
        let bestQ = 0
        while (cost < budget) {
          const [p] = s.ask(1)
          if (p === undefined) break
          const f = p.fidelity ?? 81
          cost += f
          const m = bench.evaluate(p.arch, f)
          s.tell(p.id, { status: 'complete', metrics: m })
          if (f === 81 && m.acc > best) {
            best = m.acc
            bestQ = bench.q(p.arch)
          }
        }
        return bestQ
      }
      sh += run('sh')
      hb += run('hyperband')
      const r = make('random', space, {}, seed)
      rnd += Math.max(...drive(r, (a) => bench.evaluate(a), 12).map((p) => bench.q(p.arch)))
    }
    expect(sh / seeds).toBeGreaterThan(rnd / seeds)
    expect(hb / seeds).toBeGreaterThan(rnd / seeds)
  })
})
