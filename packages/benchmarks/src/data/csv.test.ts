import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'

import { parseCsv } from './csv.js'

const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)

describe('parseCsv', () => {
  test.prop([
    fc.array(fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 12 })), {
      minLength: 1,
      maxLength: 40,
    }),
    fc.constantFrom('\n', '\r\n'),
  ])('round-trips numbers and quoted strings', (rows, eol) => {
    const text = ['x,label,extra', ...rows.map(([x, s]) => `${x},${quote(s)},ignored`)].join(eol) + eol
    const t = parseCsv(text, { numbers: ['x'], strings: ['label'] }, 'p.csv')
    expect(t.rowCount).toBe(rows.length)
    expect(Array.from(t.numbers.x)).toEqual(rows.map(([x]) => (Object.is(x, -0) ? 0 : x))) // String(-0) is '0'
    expect(t.strings.label).toEqual(rows.map(([, s]) => s))
  })

  test.prop([fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 1, max: 21 })])(
    'parses every decimal spelling exactly as Number() does',
    (d, digits) => {
      const spellings = [
        String(d),
        d.toPrecision(digits),
        d.toExponential(digits - 1),
        d.toFixed(Math.min(digits, 20)),
        `+${Math.abs(d)}`,
        '-0',
        '1e+22',
        '.5',
        '5.',
      ]
      const text = ['v', ...spellings].join('\n')
      const t = parseCsv(text, { numbers: ['v'], strings: [] }, 'n.csv')
      spellings.forEach((s, i) => expect(Object.is(t.numbers.v[i], Number(s))).toBe(true))
    },
  )

  it('reads quoted commas, nullable cells and the exact row count', () => {
    const t = parseCsv(
      'net,a,b\n"(1, 2)",1,\n"(3, 4)",2,nan\n',
      { numbers: ['a', 'b'], strings: ['net'], nullable: ['b'], rows: 2 },
      'f',
    )
    expect(t.strings.net).toEqual(['(1, 2)', '(3, 4)'])
    expect(Array.from(t.numbers.b)).toEqual([NaN, NaN])
  })

  it('names the file, row and column of every problem', () => {
    const spec = { numbers: ['a'] as const, strings: [] as const }
    expect(() => parseCsv('', spec, 'e.csv')).toThrow(/'e.csv': the file is empty/)
    expect(() => parseCsv('b\n1\n', spec, 'e.csv')).toThrow(/missing column 'a'; the header has 'b'/)
    expect(() => parseCsv('a\n1\nx\n', spec, 'e.csv')).toThrow(/row 2, column 'a': 'x' is not a number/)
    expect(() => parseCsv('a\n1\n\n', { ...spec, rows: 1 }, 'e.csv')).not.toThrow()
    expect(() => parseCsv('a\n\n1\n,\n', spec, 'e.csv')).toThrow(/row 2 has 2 fields; the header has 1/)
    expect(() => parseCsv('a\n1\n2\n', { ...spec, rows: 1 }, 'e.csv')).toThrow(
      /more than the expected 1 data rows/,
    )
    expect(() => parseCsv('a\n1\n', { ...spec, rows: 3 }, 'e.csv')).toThrow(/has 1 data rows; expected 3/)
    expect(() => parseCsv('a,b\n"x,1\n', { numbers: ['b'], strings: [] }, 'e.csv')).toThrow(
      /unterminated quoted field/,
    )
    expect(() => parseCsv('a\n\n', spec, 'e.csv')).not.toThrow()
    expect(() => parseCsv('a,b\n,1\n', spec, 'e.csv')).toThrow(/column 'a' is empty/)
  })
})
