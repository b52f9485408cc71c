import { Rng } from '@nasjs/core'
import { formatNb201, nb201Canonical } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { loadNb201 } from '../node/index.js'
import { NB201_CANONICAL_CONNECTED, sampleCanonicalCells } from './sample.js'

const bench = loadNb201()

describe('sampleCanonicalCells', () => {
  it('draws distinct canonical connected cells, the same for the same seed', () => {
    const a = sampleCanonicalCells(bench, 200, new Rng(3))
    expect(sampleCanonicalCells(bench, 200, new Rng(3))).toEqual(a)
    expect(new Set(a).size).toBe(200)
    for (const i of a) {
      const arch = bench.archAt(i)
      expect(formatNb201(nb201Canonical(arch))).toBe(formatNb201(arch))
      expect(arch.every((op) => op === 'none')).toBe(false)
    }
    // a smaller sample is a prefix of a larger one
    expect(sampleCanonicalCells(bench, 50, new Rng(3))).toEqual(a.slice(0, 50))
  })

  it('there are 9,444 such cells, and asking for more is one NasError', () => {
    const keys = new Set<string>()
    for (let i = 0; i < bench.size; i++) {
      const c = nb201Canonical(bench.archAt(i))
      if (!c.every((op) => op === 'none')) keys.add(formatNb201(c))
    }
    expect(keys.size).toBe(NB201_CANONICAL_CONNECTED)
    expect(() => sampleCanonicalCells(bench, NB201_CANONICAL_CONNECTED + 1, new Rng(1))).toThrow(/1\.\.9444/)
  })
})
