import { fc, test } from '@fast-check/vitest'
import {
  NB201_OPS,
  formatNb201,
  nb201ToNaslibTuple,
  nb201ToOrdinal,
  type Nb201Arch,
} from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'

import { fastArchStrOrdinal, fastNaslibTupleOrdinal, nb201OrdinalOf } from './arch.js'

const arch = fc.tuple(
  ...Array.from({ length: 6 }, () => fc.constantFrom(...NB201_OPS)),
) as unknown as fc.Arbitrary<Nb201Arch>

describe('NB201 architecture forms', () => {
  test.prop([arch])('the fast scanners agree with the full parsers', (a) => {
    const ord = nb201ToOrdinal(a)
    const str = formatNb201(a)
    const tuple = `(${nb201ToNaslibTuple(a).join(', ')})`
    expect(fastArchStrOrdinal(str)).toBe(ord)
    expect(fastNaslibTupleOrdinal(tuple)).toBe(ord)
    expect(nb201OrdinalOf(str)).toBe(ord)
    expect(nb201OrdinalOf(tuple)).toBe(ord)
    expect(nb201OrdinalOf(a)).toBe(ord)
    expect(nb201OrdinalOf(nb201ToNaslibTuple(a))).toBe(ord)
  })

  test.prop([arch, fc.integer({ min: 0, max: 80 }), fc.string({ minLength: 1, maxLength: 2 })])(
    'the fast scanners never accept a mangled spelling',
    (a, at, junk) => {
      const str = formatNb201(a)
      const bad = str.slice(0, at) + junk + str.slice(at)
      const r = fastArchStrOrdinal(bad)
      // either rejected, or the junk happened to re-create a valid canonical string
      if (r >= 0) expect(formatNb201(nb201OrdinalToArch(r))).toBe(bad)
      const t = `(${nb201ToNaslibTuple(a).join(', ')})`
      const badT = t.slice(0, at % 18) + junk + t.slice(at % 18)
      const rt = fastNaslibTupleOrdinal(badT)
      if (rt >= 0) expect(`(${nb201ToNaslibTuple(nb201OrdinalToArch(rt)).join(', ')})`).toBe(badT)
    },
  )

  it('falls back to the full parsers for other spellings and reports their errors', () => {
    expect(fastNaslibTupleOrdinal('(4,3,3,0,0,0)')).toBe(-1)
    expect(nb201OrdinalOf('(4,3,3,0,0,0)')).toBe(nb201OrdinalOf('(4, 3, 3, 0, 0, 0)'))
    expect(fastArchStrOrdinal(' |none~0|+|none~0|none~1|+|none~0|none~1|none~2|')).toBe(-1)
    expect(nb201OrdinalOf(' |none~0|+|none~0|none~1|+|none~0|none~1|none~2| ')).toBe(0)
    expect(() => nb201OrdinalOf('|none~1|+|none~0|none~1|+|none~0|none~1|none~2|')).toThrow(
      /must come from node 0/,
    )
    expect(() => nb201OrdinalOf({} as unknown as string)).toThrow(
      /cannot read an NB201 architecture from object/,
    )
  })
})

function nb201OrdinalToArch(k: number): Nb201Arch {
  const ops: string[] = []
  for (let i = 0; i < 6; i++) {
    ops.unshift(NB201_OPS[k % 5]!)
    k = Math.floor(k / 5)
  }
  return ops as unknown as Nb201Arch
}
