import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { drive, make } from '../testing-internal/drive.js'

/** A smooth objective on NB201: +1 per nor_conv_3x3, +0.5 per skip on edges into node 3. */
const score = (a: Nb201Arch): number =>
  a.reduce((s, op, k) => s + (op === 'nor_conv_3x3' ? 1 : 0) + (k >= 3 && op === 'skip_connect' ? 0.5 : 0), 0)

describe('regularized evolution', () => {
  it('starts with populationSize random samples, then mutates tournament winners', () => {
    const s = make('rea', nb201, { populationSize: 10, sampleSize: 3 })
    const ps = drive(s, (a) => ({ acc: score(a) }), 60)
    const seen = ps.slice(0, 10).map((p) => p.arch)
    for (const p of ps.slice(10)) {
      // every child is one mutation away from some earlier proposal
      const parentFound = seen.some((q) => q.filter((op, k) => op !== p.arch[k]).length === 1)
      expect(parentFound).toBe(true)
      seen.push(p.arch)
    }
  })

  it('ages out the oldest: the population never exceeds populationSize', () => {
    const s = make('rea', nb201, { populationSize: 5, sampleSize: 2 })
    drive(s, (a) => ({ acc: score(a) }), 40)
    const st = s.snapshot().state as { population: unknown[] }
    expect(st.population).toHaveLength(5)
  })

  it('beats random search on a smooth objective (mean over 20 seeds)', () => {
    let rea = 0
    let rnd = 0
    for (let seed = 0; seed < 20; seed++) {
      rea += bestOf('rea', seed)
      rnd += bestOf('random', seed)
    }
    expect(rea).toBeGreaterThan(rnd)
  })

  it('drops failed children and rejects sampleSize > populationSize', () => {
    const s = make('rea', nb201, { populationSize: 4, sampleSize: 2 })
    drive(s, (a) => (a[0] === 'none' ? undefined : { acc: score(a) }), 50)
    const st = s.snapshot().state as { population: unknown[] }
    expect(st.population.length).toBeLessThanOrEqual(4)
    expect(() => make('rea', nb201, { populationSize: 4, sampleSize: 5 })).toThrow(/sampleSize/)
  })
})

function bestOf(name: string, seed: number): number {
  const s = make(name, nb201, name === 'rea' ? { populationSize: 10, sampleSize: 5 } : {}, seed)
  drive(s, (a) => ({ acc: score(a) }), 100)
  return score(s.recommend()!)
}
