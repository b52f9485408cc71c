import { Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { describeSpaceConformance } from '../testing-internal/conformance.js'
import { formatOfa, OFA_MBV3_SIZE, ofaMbv3, parseOfa } from './ofa.js'

describeSpaceConformance(ofaMbv3, { size: OFA_MBV3_SIZE })

describe('ofa-mbv3 space', () => {
  it('has the closed-form size, above 10^19', () => {
    expect(ofaMbv3.size()).toBe(25n * (9n ** 2n + 9n ** 3n + 9n ** 4n) ** 5n)
    expect(ofaMbv3.size()).toBe(543966387314312146275n)
    expect(ofaMbv3.size() > 10n ** 19n).toBe(true)
    expect('enumerate' in ofaMbv3).toBe(false)
  })

  it('reads and writes the OFA arch dict', () => {
    // inactive slots (stage 0 has depth 2) are ignored on input and written as 3
    const given =
      '{"ks":[3,5,7,7,5,5,5,5,7,7,7,7,3,3,3,7,5,7,5,5],"e":[6,4,6,6,4,4,4,4,6,6,6,6,3,3,3,4,4,6,6,6],"d":[2,4,4,3,2],"r":[160]}'
    const text =
      '{"ks":[3,5,3,3,5,5,5,5,7,7,7,7,3,3,3,3,5,7,3,3],"e":[6,4,3,3,4,4,4,4,6,6,6,6,3,3,3,3,4,6,3,3],"d":[2,4,4,3,2],"r":[160]}'
    const a = parseOfa(given)
    expect(parseOfa(text)).toEqual(a)
    expect(a.resolution).toBe(160)
    expect(a.stages.map((s) => s.length)).toEqual([2, 4, 4, 3, 2])
    expect(a.stages[0]).toEqual([
      { kernel: 3, expand: 6 },
      { kernel: 5, expand: 4 },
    ])
    expect(formatOfa(a)).toBe(text)
    // python dict text too
    expect(parseOfa(text.replace(/"/g, "'"))).toEqual(a)
  })

  it('rejects bad dicts naming the field, the slot and the allowed values', () => {
    const ok = { ks: new Array(20).fill(3), e: new Array(20).fill(4), d: [2, 2, 2, 2, 2], r: [224] }
    expect(() => parseOfa(JSON.stringify({ ...ok, d: [2, 2, 5, 2, 2] }))).toThrow(
      /d\[2\] is 5; expected 2, 3 or 4/,
    )
    expect(() => parseOfa(JSON.stringify({ ...ok, r: [225] }))).toThrow(/r\[0\] is 225/)
    expect(() => parseOfa(JSON.stringify({ ...ok, ks: [3] }))).toThrow(/'ks' must be a list of 20/)
    expect(() => parseOfa('not json')).toThrow(/OFA arch is a dict/)
  })

  it('moves ordered choices by one step when mutating kernel, expand or resolution', () => {
    const rng = new Rng(5)
    for (let i = 0; i < 50; i++) {
      const a = ofaMbv3.sample(rng)
      const m = ofaMbv3.mutate(a, rng)
      const dr = Math.abs(m.resolution - a.resolution)
      expect(dr === 0 || dr === 4).toBe(true)
    }
  })

  it('names decisions by stage and block', () => {
    expect(ofaMbv3.decisions.next([])).toMatchObject({ name: 'resolution', size: 25 })
    expect(ofaMbv3.decisions.next([0])).toMatchObject({
      name: 'stages[0].count',
      size: 3,
      labels: ['2', '3', '4'],
    })
    expect(ofaMbv3.decisions.next([0, 0])).toMatchObject({ name: 'stages[0][0].kernel', size: 3 })
  })
})
