import { NasError } from './errors.js'

/** The four 32-bit words of a xoshiro128** state; JSON-serialisable. */
export type RngState = readonly [number, number, number, number]

const TWO_POW_32 = 4294967296
const TWO_POW_53 = 9007199254740992

/** splitmix32: expands a 32-bit seed into well-mixed state words. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** Hashes any integer seed (also beyond 32 bits, negative, or a string) to a 32-bit word. */
function seedWord(seed: number | string): number {
  if (typeof seed === 'string') {
    let h = 0x811c9dc5 // FNV-1a
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193)
    return h >>> 0
  }
  if (!Number.isFinite(seed) || !Number.isInteger(seed)) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `seed must be a finite integer or a string, got ${String(seed)}`,
      value: seed,
    })
  }
  const lo = seed % TWO_POW_32
  const hi = Math.floor(seed / TWO_POW_32)
  return (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0
}

/**
 * A seeded pseudo-random generator: **xoshiro128\*\*** (Blackman and Vigna), seeded through
 * splitmix32. Only 32-bit integer arithmetic (`Math.imul`, shifts) is used, so the stream is the
 * same on every platform and JS engine. Same seed, same stream.
 *
 * @example
 * ```ts
 * const rng = new Rng(42)
 * rng.uniform()        // in [0, 1)
 * rng.int(10)          // 0..9
 * rng.choice(['a', 'b'])
 * const child = rng.fork() // an independent stream
 * ```
 * @since 0.1.0
 * @category constructors
 */
export class Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  constructor(seed: number | string = 0) {
    const sm = splitmix32(seedWord(seed))
    this.s0 = sm()
    this.s1 = sm()
    this.s2 = sm()
    this.s3 = sm()
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  /** Restores a generator from {@link Rng.getState}. */
  static fromState(state: RngState): Rng {
    if (
      !Array.isArray(state) ||
      state.length !== 4 ||
      state.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_POW_32)
    ) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: 'an Rng state is four unsigned 32-bit integers',
        value: state,
      })
    }
    const r = new Rng(0)
    r.s0 = state[0]
    r.s1 = state[1]
    r.s2 = state[2]
    r.s3 = state[3]
    return r
  }

  /** The current state (JSON-serialisable); `Rng.fromState(rng.getState())` continues the same stream. */
  getState(): RngState {
    return [this.s0, this.s1, this.s2, this.s3]
  }

  /** The next raw 32-bit unsigned word. */
  nextU32(): number {
    const s0 = this.s0
    const s1 = this.s1
    const s2 = this.s2
    const s3 = this.s3
    const m = Math.imul(s1, 5)
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0
    const t = s1 << 9
    const n2 = s2 ^ s0
    const n3 = s3 ^ s1
    this.s1 = s1 ^ n2
    this.s0 = s0 ^ n3
    this.s2 = n2 ^ t
    this.s3 = (n3 << 11) | (n3 >>> 21)
    this.s0 >>>= 0
    this.s1 >>>= 0
    this.s2 >>>= 0
    this.s3 >>>= 0
    return result
  }

  /** A double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextU32() >>> 5
    const b = this.nextU32() >>> 6
    return (a * 67108864 + b) / TWO_POW_53
  }

  /** A double in [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform()
  }

  /** An unbiased integer in [0, n) (rejection sampling); `n` must be a positive integer <= 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `Rng.int needs a positive integer bound <= 2^32, got ${n}`,
        value: n,
      })
    }
    if (n === 1) return 0
    const limit = TWO_POW_32 - (TWO_POW_32 % n)
    for (;;) {
      const x = this.nextU32()
      if (x < limit) return x % n
    }
  }

  /** An integer in [lo, hi], both inclusive. */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  /** True with probability `p`. */
  bernoulli(p = 0.5): boolean {
    return this.uniform() < p
  }

  /** A uniformly chosen element. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) {
      throw new NasError({ code: 'INPUT_INVALID', message: 'Rng.choice of an empty list', value: items })
    }
    return items[this.int(items.length)]!
  }

  /** An index drawn with probability proportional to `weights` (non-negative, not all zero). */
  weightedIndex(weights: ArrayLike<number>): number {
    let total = 0
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!
      if (!(w >= 0) || !Number.isFinite(w)) {
        throw new NasError({ code: 'INPUT_INVALID', message: `weight ${i} is ${w}`, value: w })
      }
      total += w
    }
    if (total <= 0) throw new NasError({ code: 'INPUT_INVALID', message: 'all weights are zero' })
    let u = this.uniform() * total
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!
      if (u < 0) return i
    }
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i
    return weights.length - 1
  }

  /** A new array with the items in a uniformly random order (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const a = items.slice()
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = a[i]!
      a[i] = a[j]!
      a[j] = t
    }
    return a
  }

  /** `k` distinct elements in random order (partial Fisher-Yates). */
  sample<T>(items: readonly T[], k: number): T[] {
    if (!Number.isInteger(k) || k < 0 || k > items.length) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `cannot sample ${k} of ${items.length} items`,
        value: k,
      })
    }
    const a = items.slice()
    for (let i = 0; i < k; i++) {
      const j = i + this.int(a.length - i)
      const t = a[i]!
      a[i] = a[j]!
      a[j] = t
    }
    return a.slice(0, k)
  }

  /**
   * A normal deviate (Box-Muller). One deviate per call and no cached spare, so the whole state
   * is the four words of {@link Rng.getState}.
   */
  normal(mean = 0, std = 1): number {
    let u = 0
    while (u === 0) u = this.uniform()
    const v = this.uniform()
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /**
   * An independent generator: its seed is drawn from this stream (four words mixed through
   * splitmix32), so forks are reproducible and do not overlap in practice.
   */
  fork(): Rng {
    const seed = (this.nextU32() ^ Math.imul(this.nextU32(), 0x9e3779b1)) >>> 0
    const r = new Rng(seed)
    const sm = splitmix32(this.nextU32() ^ 0x5bd1e995)
    r.s0 = (r.s0 ^ sm()) >>> 0
    r.s1 = (r.s1 ^ sm()) >>> 0
    r.s2 = (r.s2 ^ sm()) >>> 0
    r.s3 = (r.s3 ^ sm()) >>> 0
    if ((r.s0 | r.s1 | r.s2 | r.s3) === 0) r.s0 = 1
    return r
  }
}
