import type { Rng } from '@nasjs/core'
import { decisionError, formatPath, show } from '../internal.js'
import type { Decision } from '../types.js'
import type { Rule } from './rule.js'

/** A path into an architecture: field names and array indices. */
export type Path = readonly (string | number)[]
/** The encodings every DSL node writes itself. */
export type DslEncoding = 'onehot' | 'ordinal'

/** Thrown inside `build` when the decision list runs out: carries the next decision. */
export class NeedDecision extends Error {
  constructor(readonly decision: Decision) {
    super(`next decision: ${decision.name}`)
  }
}

/** Reads a decision list while a node tree builds an architecture from it. */
export class Cursor {
  i = 0
  constructor(
    readonly ds: readonly number[],
    readonly spaceId: string,
  ) {}
  take(d: Decision): number {
    if (this.i >= this.ds.length) throw new NeedDecision(d)
    const v = this.ds[this.i]!
    if (!Number.isInteger(v) || v < 0 || v >= d.size) {
      throw decisionError(
        this.spaceId,
        `decision ${d.name} is ${show(v)}; expected 0..${d.size - 1}`,
        v,
        this.i,
      )
    }
    this.i++
    return v
  }
}

/** One active decision (or embedded space): its single-change neighbours. */
export interface Site {
  neighbors(): unknown[]
}

/**
 * A compiled definition. `rule` is the one description of what the node accepts: the runtime check
 * and the JSON Schema are both read from it (see `rule.ts`).
 */
export interface Node {
  readonly rule: Rule
  sample(rng: Rng): unknown
  dflt(): unknown
  decide(v: unknown, out: number[]): void
  build(c: Cursor, path: Path): unknown
  sites(v: unknown, wrap: (nv: unknown) => unknown, out: Site[]): void
  /** The number of active decisions (embedded spaces count with their decisions). */
  weight(v: unknown): number
  /** Changes the active decision number `r` (0 <= r < weight(v)), sampling newly active parts. */
  mutateAt(v: unknown, r: number, rng: Rng): unknown
  cross(a: unknown, b: unknown, rng: Rng): unknown
  count(): bigint
  all(): Iterable<unknown>
  len(kind: DslEncoding): number
  enc(v: unknown, kind: DslEncoding, out: Float32Array, off: number): void
  canon(v: unknown): string
  summary(): string
}

/** The name of the decision at `path` (`value` at the root), with an optional suffix. */
export const decisionName = (path: Path, suffix?: string): string => {
  const base = path.length === 0 ? '' : formatPath(path)
  if (suffix === undefined) return base === '' ? 'value' : base
  return base === '' ? suffix : `${base}.${suffix}`
}

/** The cartesian product of lazily produced lists. */
export function* cartesian(
  parts: readonly (() => Iterable<unknown>)[],
  i = 0,
  acc: unknown[] = [],
): Generator<unknown[]> {
  if (i === parts.length) {
    yield acc.slice()
    return
  }
  for (const v of parts[i]!()) {
    acc.push(v)
    yield* cartesian(parts, i + 1, acc)
    acc.pop()
  }
}

/** A uniform index in `0..n-1` other than `cur` (one rng draw). */
export function pickOther(rng: Rng, n: number, cur: number): number {
  const r = rng.int(n - 1)
  return r >= cur ? r + 1 : r
}

/** All m-subsets of 0..n-1, sorted, in lexicographic order. */
export function combinations(n: number, m: number): number[][] {
  const out: number[][] = []
  const cur: number[] = []
  const rec = (start: number) => {
    if (cur.length === m) {
      out.push(cur.slice())
      return
    }
    for (let i = start; i <= n - (m - cur.length); i++) {
      cur.push(i)
      rec(i + 1)
      cur.pop()
    }
  }
  rec(0)
  return out
}
