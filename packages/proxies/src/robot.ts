import { NasError, type TrialOutcome } from '@nasjs/core'
import { StrategyBase, fitnessOf, fromJsonNumber, jsonNumber } from '@nasjs/strategies'
import type { Proposed, StrategyContext, StrategyDefinition, StrategyState, TrialId } from '@nasjs/strategies'
import { z } from 'zod'

/**
 * Config of {@link robotStrategy}.
 * @since 0.1.0
 */
export const RobotConfig = z
  .object({
    boSteps: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe(
        'evaluations of the Bayesian optimisation over proxy weights (RoBoT: T, the query budget, 20 on NB201)',
      ),
    pool: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'architectures ranked: 0 = the whole space where it can be enumerated (NB201: 15,625), else a seeded sample of this many',
      ),
    kappa: z
      .number()
      .min(0)
      .default(2.576)
      .describe('exploration weight of the UCB acquisition (mean + kappa * std)'),
    candidates: z
      .number()
      .int()
      .min(10)
      .default(10_000)
      .describe('random weight vectors the acquisition is maximised over'),
  })
  .strict()
/** @since 0.1.0 */
export type RobotConfig = z.infer<typeof RobotConfig>

/** Sampled pools are capped so the strategy stays in memory. */
const MAX_POOL = 200_000

/** A Gaussian process on [-1, 1]^m with a Matern 5/2 kernel, normalised targets and the length scale of highest marginal likelihood. */
function fitGp(
  X: readonly number[][],
  y: readonly number[],
): (x: readonly number[]) => { mean: number; std: number } {
  const n = X.length
  const mu = y.reduce((a, b) => a + b, 0) / n
  const sd = Math.sqrt(y.reduce((a, b) => a + (b - mu) ** 2, 0) / n) || 1
  const t = y.map((v) => (v - mu) / sd)
  const dist = (a: readonly number[], b: readonly number[]) =>
    Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0))
  const matern = (d: number, l: number) => {
    const r = (Math.sqrt(5) * d) / l
    return (1 + r + (r * r) / 3) * Math.exp(-r)
  }
  const noise = 1e-6
  let best: { l: number; L: Float64Array; alpha: Float64Array; lml: number } | undefined
  for (let k = 0; k <= 24; k++) {
    const l = 10 ** (-2 + k / 6) // 0.01 .. 100
    const K = new Float64Array(n * n)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) K[i * n + j] = matern(dist(X[i]!, X[j]!), l) + (i === j ? noise : 0)
    const L = cholesky(K, n)
    if (L === undefined) continue
    const alpha = solveCholesky(L, n, t)
    let logdet = 0
    for (let i = 0; i < n; i++) logdet += Math.log(L[i * n + i]!)
    const lml = -0.5 * t.reduce((s, v, i) => s + v * alpha[i]!, 0) - logdet
    if (best === undefined || lml > best.lml) best = { l, L, alpha, lml }
  }
  if (best === undefined) return () => ({ mean: mu, std: sd })
  const { l, L, alpha } = best
  return (x) => {
    const ks = X.map((xi) => matern(dist(x, xi), l))
    const mean = ks.reduce((s, v, i) => s + v * alpha[i]!, 0)
    const v = forward(L, n, ks)
    const variance = Math.max(1 - v.reduce((s, a) => s + a * a, 0), 0)
    return { mean: mu + sd * mean, std: sd * Math.sqrt(variance) }
  }
}

function cholesky(A: Float64Array, n: number): Float64Array | undefined {
  const L = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!
      if (i === j) {
        if (!(s > 0)) return undefined
        L[i * n + i] = Math.sqrt(s)
      } else L[i * n + j] = s / L[j * n + j]!
    }
  }
  return L
}

function forward(L: Float64Array, n: number, b: readonly number[]): number[] {
  const x = new Array<number>(n).fill(0)
  for (let i = 0; i < n; i++) {
    let s = b[i]!
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * x[k]!
    x[i] = s / L[i * n + i]!
  }
  return x
}

function solveCholesky(L: Float64Array, n: number, b: readonly number[]): Float64Array {
  const z = forward(L, n, b)
  const x = new Float64Array(n)
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!
    x[i] = s / L[i * n + i]!
  }
  return x
}

class Robot<A> extends StrategyBase<A> {
  readonly name = 'robot'
  private readonly pool: A[]
  private readonly keys: string[]
  private readonly indexOf = new Map<string, number>()
  /** Min-max normalised proxy scores of the pool, row-major (NaN where a proxy gave none). */
  private readonly scores: Float64Array
  private readonly m: number
  /** BO history: weight vectors and the fitness of the top architecture they rank. */
  private bo: { w: number[]; y: number }[] = []
  /** Fitness of every told architecture, by key (-Infinity for a failed one). */
  private known = new Map<string, number>()
  /** The weight vector whose top architecture is in flight. */
  private waiting: { key: string; w: number[] } | undefined

  constructor(
    readonly config: RobotConfig,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
    const features = ctx.features
    if (features === undefined) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message:
          "strategy 'robot' combines zero-cost proxy scores: give it features (one score per proxy and architecture, e.g. the suite's NB201 table through proxyFeatures)",
      })
    }
    const size = ctx.space.size()
    if (config.pool === 0 && ctx.space.enumerate !== undefined && size <= BigInt(MAX_POOL)) {
      this.pool = [...ctx.space.enumerate()]
    } else {
      const want = Math.min(config.pool === 0 ? 10_000 : config.pool, MAX_POOL, Number(size))
      const seen = new Set<string>()
      this.pool = []
      while (this.pool.length < want) {
        const a = ctx.space.sample(this.rng)
        const k = ctx.space.format(a)
        if (seen.has(k)) continue
        seen.add(k)
        this.pool.push(a)
      }
    }
    this.keys = this.pool.map((a) => ctx.space.format(a))
    this.keys.forEach((k, i) => this.indexOf.set(k, i))
    const rows = this.pool.map((a) => features(a))
    this.m = rows[0]?.length ?? 0
    if (this.m === 0) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: "strategy 'robot': the features have no columns; give one score per proxy",
      })
    }
    this.scores = new Float64Array(this.pool.length * this.m)
    for (let j = 0; j < this.m; j++) {
      let lo = Infinity
      let hi = -Infinity
      for (const r of rows) {
        const v = r[j]!
        if (Number.isFinite(v)) {
          lo = Math.min(lo, v)
          hi = Math.max(hi, v)
        }
      }
      rows.forEach((r, i) => {
        const v = r[j]!
        // min-max over the pool; a constant column keeps its value, as RoBoT's normalisation does
        this.scores[i * this.m + j] = !Number.isFinite(v) ? Number.NaN : hi > lo ? (v - lo) / (hi - lo) : v
      })
    }
  }

  /** The pool index with the highest combined score sum_m w_m * s_m (NaN scores skipped; ties: first). */
  private ranking(w: readonly number[]): number[] {
    const combined = new Float64Array(this.pool.length)
    for (let i = 0; i < this.pool.length; i++) {
      let s = 0
      for (let j = 0; j < this.m; j++) {
        const v = this.scores[i * this.m + j]!
        if (!Number.isNaN(v)) s += w[j]! * v
      }
      combined[i] = s
    }
    return Array.from({ length: this.pool.length }, (_, i) => i).sort(
      (a, b) => combined[b]! - combined[a]! || a - b,
    )
  }

  private top(w: readonly number[]): number {
    let best = 0
    let bestScore = -Infinity
    for (let i = 0; i < this.pool.length; i++) {
      let s = 0
      for (let j = 0; j < this.m; j++) {
        const v = this.scores[i * this.m + j]!
        if (!Number.isNaN(v)) s += w[j]! * v
      }
      if (s > bestScore) {
        bestScore = s
        best = i
      }
    }
    return best
  }

  private randomW(): number[] {
    return Array.from({ length: this.m }, () => this.rng.uniformIn(-1, 1))
  }

  /** The next weight vector: random first, then the UCB maximiser of a GP on the history. */
  private nextW(): number[] {
    if (this.bo.length === 0) return this.randomW()
    const finite = this.bo.map((h) => h.y).filter(Number.isFinite)
    const floor = finite.length > 0 ? Math.min(...finite) : 0
    const gp = fitGp(
      this.bo.map((h) => h.w),
      this.bo.map((h) => (Number.isFinite(h.y) ? h.y : floor)),
    )
    let best = this.randomW()
    let bestU = -Infinity
    for (let c = 0; c < this.config.candidates; c++) {
      const w = c === 0 ? best : this.randomW()
      const p = gp(w)
      const u = p.mean + this.config.kappa * p.std
      if (u > bestU) {
        bestU = u
        best = w
      }
    }
    return best
  }

  private bestW(): number[] {
    // the last of the best, as RoBoT keeps its best weights with >=
    let best = this.bo[0]!
    for (const h of this.bo) if (h.y >= best.y) best = h
    return best.w
  }

  protected propose(): Proposed<A> | undefined {
    while (this.bo.length < this.config.boSteps) {
      if (this.waiting !== undefined) return undefined
      const w = this.nextW()
      const i = this.top(w)
      const key = this.keys[i]!
      const y = this.known.get(key)
      if (y !== undefined) {
        this.bo.push({ w, y }) // the top architecture is known: no query
        continue
      }
      this.waiting = { key, w }
      return { arch: this.pool[i]! }
    }
    // exploitation: down the ranking of the best weights, past every architecture asked already
    if (this.waiting !== undefined) return undefined
    const asked = new Set([...this.pending.values()].map((p) => this.space.format(p.arch)))
    for (const i of this.ranking(this.bestW())) {
      const key = this.keys[i]!
      if (!this.known.has(key) && !asked.has(key)) return { arch: this.pool[i]! }
    }
    return undefined
  }

  protected observe(arch: A, outcome: TrialOutcome, _id: TrialId | undefined): void {
    const key = this.space.format(arch)
    const f = fitnessOf(this.objectives, this.constraints, outcome)
    const y = f === undefined || f.violation > 0 ? -Infinity : f.value
    this.known.set(key, y)
    if (this.waiting?.key === key) {
      this.bo.push({ w: this.waiting.w, y })
      this.waiting = undefined
    }
  }

  override exhausted(): boolean {
    return super.exhausted() || (this.known.size >= this.pool.length && this.waiting === undefined)
  }

  protected saveState(): StrategyState {
    return {
      bo: this.bo.map((h) => ({ w: h.w, y: jsonNumber(h.y) })),
      known: [...this.known].map(([k, y]) => [k, jsonNumber(y)]),
      waiting: this.waiting ?? null,
    }
  }

  protected loadState(state: StrategyState): void {
    const s = state as {
      bo: { w: number[]; y: unknown }[]
      known: [string, unknown][]
      waiting: { key: string; w: number[] } | null
    }
    this.bo = s.bo.map((h) => ({ w: h.w, y: fromJsonNumber(h.y) }))
    this.known = new Map(s.known.map(([k, y]) => [k, fromJsonNumber(y)]))
    this.waiting = s.waiting ?? undefined
  }
}

/**
 * RoBoT (He et al. 2024, "Robustifying and Boosting Training-Free Neural Architecture Search",
 * ICLR; code hzf1174/RoBoT): a weighted sum of min-max normalised zero-cost proxy scores, whose
 * weights (each in [-1, 1]) Bayesian optimisation chooses — a Gaussian process (Matern 5/2) over
 * weight vectors, the UCB acquisition, one random start — by the objective of the architecture each
 * weight vector ranks first; a top architecture already evaluated costs no query. After `boSteps`
 * such evaluations it exploits greedily: the next architectures down the ranking of the best
 * weights. The proxy scores are the strategy's `features` (one per proxy; e.g. {@link proxyFeatures}
 * over the suite's NB201 table, or scores computed with this package), the pool the whole space
 * where it can be enumerated.
 * @since 0.1.0
 * @category strategies
 */
export const robotStrategy: StrategyDefinition<typeof RobotConfig, 'robot'> = {
  name: 'robot',
  description:
    'RoBoT: Bayesian optimisation of a weighted sum of zero-cost proxies, then greedy exploitation',
  configSchema: RobotConfig,
  references: ['He et al. 2024, Robustifying and Boosting Training-Free Neural Architecture Search (ICLR)'],
  create: (config, ctx) => new Robot(config, ctx),
}

/**
 * Proxy scores as a strategy's `features`: for each architecture, its score under each named proxy,
 * read from columns in benchmark index order (e.g. `{ ...zc.columns, ...zc.suite }` of
 * `loadNb201ZeroCost`); the suite's failure value -1e8 becomes NaN, which {@link robotStrategy} skips.
 * @example
 * ```ts
 * const zc = loadNb201ZeroCost(bench, 'cifar10')
 * const features = proxyFeatures({ ...zc.columns, ...zc.suite }, (a) => bench.indexOf(a), ['synflow', 'jacov', 'snip'])
 * ```
 * @since 0.1.0
 * @category strategies
 */
export function proxyFeatures<A>(
  columns: Readonly<Record<string, ArrayLike<number>>>,
  indexOf: (arch: A) => number,
  names: readonly string[],
): (arch: A) => number[] {
  for (const n of names) {
    if (columns[n] === undefined) {
      throw new NasError({
        code: 'METRIC_MISSING',
        message: `no column of proxy scores named '${n}'`,
        value: n,
        allowed: Object.keys(columns),
      })
    }
  }
  return (arch) => {
    const i = indexOf(arch)
    return names.map((n) => {
      const v = columns[n]![i]!
      return v === -1e8 ? Number.NaN : v
    })
  }
}
