import { describe, expect, it } from 'vitest'
import { thrown } from '../testing-internal/thrown.js'
import { readGzLines } from '../testing-internal/data.js'
import {
  formatNb201,
  nb201FromNaslibTuple,
  nb201FromOrdinal,
  nb201ToNaslibTuple,
  nb201ToOrdinal,
  parseNb201,
} from './nb201-codec.js'

describe('NB201 codec on the benchmark table', () => {
  const rows = readGzLines('nb201/nb201_master.csv.gz').slice(1)

  it('has the 15,625 rows', () => {
    expect(rows.length).toBe(15625)
  })

  it('parses and formats every arch_str identically and converts each NASLib tuple to it', () => {
    const seen = new Set<string>()
    for (const row of rows) {
      const m = /^(\d+),([^,]+),"([^"]+)",/.exec(row)
      expect(m).not.toBeNull()
      const [, , archStr, tuple] = m!
      const a = parseNb201(archStr!)
      expect(formatNb201(a)).toBe(archStr)
      expect(nb201FromNaslibTuple(tuple!)).toEqual(a)
      expect(nb201ToNaslibTuple(a).join(', ')).toBe(tuple!.slice(1, -1))
      seen.add(archStr!)
    }
    expect(seen.size).toBe(15625)
  })

  it('maps index 0 of the table to the NASLib tuple (4, 3, 3, 0, 0, 0)', () => {
    expect(formatNb201(nb201FromNaslibTuple('(4, 3, 3, 0, 0, 0)'))).toBe(
      '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|',
    )
  })
})

describe('NB201 codec errors', () => {
  const good = '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|'

  it('names the edge and the allowed ops for an unknown op', () => {
    const bad = good.replace('avg_pool_3x3~2', 'conv_7x7~2')
    const err = thrown(() => parseNb201(bad))
    expect(err.code).toBe('ARCH_INVALID')
    expect(err.message).toContain("'conv_7x7'")
    expect(err.message).toContain('edge 2->3')
    expect(err.allowed).toEqual(['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'])
    expect(err.path).toEqual([3, 2])
  })

  it('rejects a string with 5 edges, naming the node', () => {
    const five = '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|'
    expect(() => parseNb201(five)).toThrow(/node 3 has 2 incoming edge\(s\).*expected 3/)
    expect(() => parseNb201('|a~0|+|b~0|')).toThrow(
      expect.objectContaining({ code: 'ARCH_INVALID' }) as Error,
    )
  })

  it('rejects a wrong source node and bad tuples', () => {
    expect(() => parseNb201(good.replace('none~1', 'none~0'))).toThrow(/must come from node 1/)
    expect(() => nb201FromNaslibTuple([0, 1, 2])).toThrow(/6 entries/)
    expect(() => nb201FromNaslibTuple([0, 1, 2, 3, 4, 5])).toThrow(/op code 5 at position 5/)
    expect(() => nb201FromOrdinal(15625)).toThrow(/outside 0..15624/)
  })

  it('ordinals round-trip', () => {
    for (const k of [0, 1, 777, 15624]) expect(nb201ToOrdinal(nb201FromOrdinal(k))).toBe(k)
  })
})
