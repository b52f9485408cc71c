import { NasError } from '@nasjs/core'
import type { Rng } from '@nasjs/core'
import type { Decision, DecisionTree, SampleError, SearchSpace } from '@nasjs/search-space'
import { z } from 'zod'

/**
 * A decision function: the next decision after a prefix, or `undefined` when complete.
 * @since 0.1.0
 */
export type NextDecision = (prefix: readonly number[]) => Decision | undefined

/**
 * Builds a complete {@link SearchSpace} whose architectures are decision lists (`number[]`) of a
 * decision tree, possibly conditional and of variable length. For testing strategies (and for
 * third parties' conformance runs); `hash` is the list itself, `neighbors` change one decision
 * (re-completing a changed suffix with zeros), `mutate` one decision at random.
 *
 * @example
 * ```ts
 * const space = createDecisionSpace('toy', (p) => (p.length < 3 ? { name: `d${p.length}`, size: 4 } : undefined))
 * space.size() // 64n
 * ```
 * @since 0.1.0
 */
export function createDecisionSpace(id: string, next: NextDecision): SearchSpace<number[]> {
  const complete = (prefix: number[], fill: (d: Decision, k: number) => number): number[] => {
    const out = prefix.slice()
    for (let d = next(out); d !== undefined; d = next(out)) out.push(fill(d, out.length))
    return out
  }
  const check = (x: unknown): SampleError | undefined => {
    if (!Array.isArray(x))
      return { path: [], message: `a ${id} architecture is an array of integers`, value: x }
    const xs = x as unknown[]
    for (let k = 0; ; k++) {
      const d = next(xs.slice(0, k) as number[])
      if (d === undefined) {
        return k === xs.length
          ? undefined
          : {
              path: [k],
              message: `${id}: too many decisions (${xs.length}, complete after ${k})`,
              value: xs.length,
            }
      }
      const v = xs[k]
      if (v === undefined)
        return { path: [k], message: `${id}: decision ${d.name} is missing`, value: xs.length }
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= d.size) {
        return {
          path: [k],
          message: `${id}: decision ${d.name} is ${JSON.stringify(v)}; expected an integer 0..${d.size - 1}`,
          value: v,
          allowed: Array.from({ length: d.size }, (_, i) => i),
        }
      }
    }
  }
  const validate = (x: unknown): number[] => {
    const e = check(x)
    if (e !== undefined) {
      throw new NasError({
        code: 'ARCH_INVALID',
        message: e.message,
        value: e.value,
        path: e.path,
        ...(e.allowed ? { allowed: e.allowed } : {}),
      })
    }
    return (x as number[]).slice()
  }
  /** Keeps `a`'s values after position k where they are still valid, else 0. */
  const repair = (a: readonly number[], prefix: number[]): number[] =>
    complete(prefix, (d, k) => {
      const v = a[k]
      return v !== undefined && v < d.size ? v : 0
    })
  const decisions: DecisionTree<number[]> = {
    next,
    build: (ds) => validate(ds),
    decide: (a) => a.slice(),
  }
  const enumerateAll = function* (): Generator<number[]> {
    const rec = function* (prefix: number[]): Generator<number[]> {
      const d = next(prefix)
      if (d === undefined) {
        yield prefix.slice()
        return
      }
      for (let i = 0; i < d.size; i++) yield* rec([...prefix, i])
    }
    yield* rec([])
  }
  let sizeCache: bigint | undefined
  const space: SearchSpace<number[]> = {
    id,
    schema: z.array(z.number().int().min(0)),
    encodings: ['ordinal'],
    decisions,
    sample: (rng: Rng) => complete([], (d) => rng.int(d.size)),
    mutate(a, rng) {
      const k = rng.int(a.length)
      const d = next(a.slice(0, k))!
      if (d.size < 2) return a.slice()
      const r = rng.int(d.size - 1)
      const v = r >= a[k]! ? r + 1 : r
      return repair(a, [...a.slice(0, k), v])
    },
    crossover(a, b, rng) {
      const out: number[] = []
      for (let d = next(out); d !== undefined; d = next(out)) {
        const k = out.length
        const pick = rng.uniform() < 0.5 ? a[k] : b[k]
        const alt = pick === a[k] ? b[k] : a[k]
        out.push(pick !== undefined && pick < d.size ? pick : alt !== undefined && alt < d.size ? alt : 0)
      }
      return out
    },
    neighbors(a) {
      const out: number[][] = []
      for (let k = 0; k < a.length; k++) {
        const d = next(a.slice(0, k))!
        for (let v = 0; v < d.size; v++) if (v !== a[k]) out.push(repair(a, [...a.slice(0, k), v]))
      }
      return out
    },
    size() {
      if (sizeCache === undefined) {
        const rec = (prefix: number[]): bigint => {
          const d = next(prefix)
          if (d === undefined) return 1n
          let s = 0n
          for (let i = 0; i < d.size; i++) s += rec([...prefix, i])
          return s
        }
        sizeCache = rec([])
      }
      return sizeCache
    },
    enumerate: enumerateAll,
    encode(a) {
      const n = space.encodingLength()
      const v = new Float32Array(n)
      a.forEach((x, i) => {
        if (i < n) v[i] = x + 1
      })
      return v
    },
    encodingLength() {
      let n = 0
      const rec = (prefix: number[]): void => {
        const d = next(prefix)
        n = Math.max(n, prefix.length)
        if (d === undefined) return
        rec([...prefix, d.size - 1])
      }
      rec([])
      return n
    },
    hash: (a) => a.join('.'),
    format: (a) => `[${a.join(',')}]`,
    parse(text) {
      const m = /^\[([\d,]*)\]$/.exec(text.trim())
      if (!m)
        throw new NasError({ code: 'ARCH_INVALID', message: `${id}: cannot parse '${text}'`, value: text })
      return validate(m[1] === '' ? [] : m[1]!.split(',').map(Number))
    },
    check,
    validate,
    toJSON: (a) => a.slice(),
    fromJSON: (j) => validate(j),
    describe: () => `${id}: a decision-list space of ${space.size()} architectures`,
  }
  return space
}

/**
 * A fixed-length toy space: `length` decisions of `options` options each.
 * @since 0.1.0
 */
export function gridSpace(length = 4, options = 4): SearchSpace<number[]> {
  return createDecisionSpace(`grid${length}x${options}`, (p) =>
    p.length < length ? { name: `d${p.length}`, size: options } : undefined,
  )
}

/**
 * A conditional, variable-length toy space: first the number of blocks (1..3), then per block an op
 * (4 options); op 3 ("conv") has a further kernel decision (3 options). 258 architectures.
 * @since 0.1.0
 */
export function conditionalSpace(): SearchSpace<number[]> {
  return createDecisionSpace('cond', (p) => {
    if (p.length === 0) return { name: 'depth', size: 3, labels: ['1', '2', '3'] }
    const depth = p[0]! + 1
    let k = 1
    for (let b = 0; b < depth; b++) {
      if (p.length === k) return { name: `b${b}.op`, size: 4 }
      const op = p[k]!
      k++
      if (op === 3) {
        if (p.length === k) return { name: `b${b}.kernel`, size: 3 }
        k++
      }
    }
    return undefined
  })
}
