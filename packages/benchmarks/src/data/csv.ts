import { NasError, formatAllowed } from '@nasjs/core'

/**
 * Which columns of a CSV to keep, and how. Numeric columns become `Float64Array`s; everything else
 * is ignored unless listed in `strings`.
 * @since 0.1.0
 */
export interface CsvSpec<N extends string, S extends string> {
  /** Columns parsed as numbers. */
  readonly numbers: readonly N[]
  /** Columns kept as strings (unquoted). */
  readonly strings: readonly S[]
  /** Numeric columns whose empty or `nan` cells become `NaN` (any other column rejects them). */
  readonly nullable?: readonly N[]
  /** The exact number of data rows required, when known. */
  readonly rows?: number
}

/**
 * The parsed columns of a CSV.
 * @since 0.1.0
 */
export interface CsvTable<N extends string, S extends string> {
  readonly rowCount: number
  readonly header: readonly string[]
  readonly numbers: Readonly<Record<N, Float64Array>>
  readonly strings: Readonly<Record<S, string[]>>
}

const corrupt = (
  file: string,
  message: string,
  extra: { value?: unknown; allowed?: readonly unknown[] } = {},
) =>
  new NasError({
    code: 'DATA_CORRUPT',
    message: `benchmark file '${file}': ${message}`,
    path: [file],
    ...extra,
  })

const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
]
const MAX_EXACT = 9007199254740992 // 2^53

/**
 * Parses a plain decimal `[-+]digits[.digits][e[-+]digits]` in `text[a, b)` without allocating,
 * returning `NaN` when it cannot give the exact result `Number()` would (the caller falls back).
 * Exact by Clinger's fast path: an integer mantissa below 2^53 times or divided by a power of ten
 * up to 1e22 is one correctly rounded operation.
 */
function fastNumber(text: string, a: number, b: number): number {
  let i = a
  let neg = false
  let c = text.charCodeAt(i)
  if (c === 45 || c === 43) {
    neg = c === 45
    i++
  }
  let mant = 0
  let digits = 0
  let scale = 0
  let seenDot = false
  for (; i < b; i++) {
    c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48)
      digits++
      if (seenDot) scale--
    } else if (c === 46 && !seenDot) seenDot = true
    else break
  }
  if (digits === 0 || mant >= MAX_EXACT) return Number.NaN
  if (i < b) {
    if (c !== 101 && c !== 69) return Number.NaN
    i++
    let eneg = false
    c = text.charCodeAt(i)
    if (c === 45 || c === 43) {
      eneg = c === 45
      i++
    }
    let e = 0
    let ed = 0
    for (; i < b; i++) {
      c = text.charCodeAt(i)
      if (c < 48 || c > 57) return Number.NaN
      e = e * 10 + (c - 48)
      ed++
      if (e > 400) return Number.NaN
    }
    if (ed === 0) return Number.NaN
    scale += eneg ? -e : e
  }
  let v: number
  if (scale === 0) v = mant
  else if (scale < 0 && scale >= -22) v = mant / POW10[-scale]!
  else if (scale > 0 && scale <= 22 && mant * POW10[scale]! < MAX_EXACT) v = mant * POW10[scale]!
  else return Number.NaN
  return neg ? -v : v
}

const QUOTE = 34
const COMMA = 44
const LF = 10
const CR = 13

/**
 * Parses CSV text (RFC 4180 quoting, `\n` or `\r\n` line ends, a header row) keeping only the
 * requested columns. Every failure is a `DATA_CORRUPT` NasError naming `file`, the row and the column;
 * nothing partial is ever returned.
 * @since 0.1.0
 */
export function parseCsv<N extends string, S extends string>(
  text: string,
  spec: CsvSpec<N, S>,
  file: string,
): CsvTable<N, S> {
  const len = text.length
  let pos = 0
  // one row -> array of [start, end, quoted] triples
  const readRow = (out: number[]): boolean => {
    out.length = 0
    if (pos >= len) return false
    for (;;) {
      if (text.charCodeAt(pos) === QUOTE) {
        const start = pos + 1
        let p = start
        for (;;) {
          const q = text.indexOf('"', p)
          if (q < 0) throw corrupt(file, `unterminated quoted field starting at character ${start - 1}`)
          if (text.charCodeAt(q + 1) === QUOTE) {
            p = q + 2
            continue
          }
          out.push(start, q, 1)
          pos = q + 1
          break
        }
      } else {
        let p = pos
        while (p < len) {
          const c = text.charCodeAt(p)
          if (c === COMMA || c === LF || c === CR) break
          p++
        }
        out.push(pos, p, 0)
        pos = p
      }
      const c = pos < len ? text.charCodeAt(pos) : LF
      if (c === COMMA) {
        pos++
        continue
      }
      if (c === CR) pos++
      if (pos < len && text.charCodeAt(pos) === LF) pos++
      else if (c !== CR && c !== LF && pos < len) {
        throw corrupt(file, `unexpected character after a quoted field at character ${pos}`)
      }
      return true
    }
  }
  const cell = (buf: number[], i: number): string => {
    const s = text.slice(buf[3 * i], buf[3 * i + 1])
    return buf[3 * i + 2] === 1 && s.includes('"') ? s.replace(/""/g, '"') : s
  }

  const buf: number[] = []
  if (text.length === 0 || !readRow(buf)) throw corrupt(file, 'the file is empty (no header row)')
  const header: string[] = []
  for (let i = 0; i < buf.length / 3; i++) header.push(cell(buf, i).trim())
  const colIndex = (name: string): number => {
    const i = header.indexOf(name)
    if (i < 0) {
      throw corrupt(file, `missing column '${name}'; the header has ${formatAllowed(header, 60)}`, {
        value: name,
        allowed: header,
      })
    }
    return i
  }
  const numIdx = spec.numbers.map(colIndex)
  const strIdx = spec.strings.map(colIndex)
  const nullable = new Set<string>(spec.nullable ?? [])
  const numNullable = spec.numbers.map((n) => nullable.has(n))

  let cap = spec.rows ?? 1024
  let numCols = spec.numbers.map(() => new Float64Array(cap))
  const strCols: string[][] = spec.strings.map(() => [])
  let row = 0
  while (readRow(buf)) {
    const nf = buf.length / 3
    if (nf === 1 && buf[0] === buf[1]) continue // blank line
    if (nf !== header.length) {
      throw corrupt(file, `row ${row + 1} has ${nf} fields; the header has ${header.length}`)
    }
    if (row >= cap) {
      if (spec.rows !== undefined) {
        throw corrupt(file, `has more than the expected ${spec.rows} data rows (wrong row count)`, {
          allowed: [spec.rows],
        })
      }
      cap *= 2
      numCols = numCols.map((c) => {
        const n = new Float64Array(cap)
        n.set(c)
        return n
      })
    }
    for (let j = 0; j < numIdx.length; j++) {
      const ci = numIdx[j]!
      const a = buf[3 * ci]!
      const b = buf[3 * ci + 1]!
      let v: number
      if (a === b) v = Number.NaN
      else {
        v = fastNumber(text, a, b)
        if (Number.isNaN(v)) v = Number(text.slice(a, b))
        if (Number.isNaN(v)) {
          const s = text.slice(a, b).trim().toLowerCase()
          if (s !== 'nan') {
            throw corrupt(
              file,
              `row ${row + 1}, column '${spec.numbers[j]}': '${text.slice(a, b)}' is not a number`,
              { value: text.slice(a, b) },
            )
          }
        }
      }
      if (Number.isNaN(v) && !numNullable[j]) {
        throw corrupt(file, `row ${row + 1}, column '${spec.numbers[j]}' is empty or NaN`, {
          value: text.slice(a, b),
        })
      }
      numCols[j]![row] = v
    }
    for (let j = 0; j < strIdx.length; j++) strCols[j]!.push(cell(buf, strIdx[j]!))
    row++
  }
  if (spec.rows !== undefined && row !== spec.rows) {
    throw corrupt(file, `has ${row} data rows; expected ${spec.rows} (wrong row count)`, {
      value: row,
      allowed: [spec.rows],
    })
  }
  const numbers = {} as Record<N, Float64Array>
  spec.numbers.forEach((n, j) => {
    numbers[n] = row === cap ? numCols[j]! : numCols[j]!.slice(0, row)
  })
  const strings = {} as Record<S, string[]>
  spec.strings.forEach((s, j) => {
    strings[s] = strCols[j]!
  })
  return { rowCount: row, header, numbers, strings }
}
