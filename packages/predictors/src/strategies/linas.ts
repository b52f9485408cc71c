import { NasError, crowdingDistance, nonDominatedSort } from '@nasjs/core'
import type { EncodingKind, SearchSpace } from '@nasjs/search-space'
import type { StrategyContext, StrategyDefinition } from '@nasjs/strategies'
import { z } from 'zod'
import { PredictorConfig, createPredictor } from '../registry.js'
import type { FittedPredictor, Predictor } from '../types.js'
import { normCdf } from './bayes-opt.js'
import {
  ExtraFeatures,
  StrategyEncoding,
  SurrogateStrategy,
  resolveEncoding,
  resolveExtraFeatures,
} from './surrogate-base.js'

/**
 * Config of {@link linas}.
 * @since 0.1.0
 */
export const LinasConfig = z
  .object({
    predictor: PredictorConfig.prefault({ kind: 'random-forest' }).describe(
      'the surrogate fitted per objective',
    ),
    objectivePredictors: z
      .array(PredictorConfig)
      .optional()
      .describe(
        'one surrogate per objective, in objective order (overrides predictor), e.g. [{"kind": "random-forest", "maxFeatures": 1}, {"kind": "random-forest"}] for (accuracy, latency) with the free features',
      ),
    encoding: StrategyEncoding.default('auto').describe(
      "encoding for the models; 'auto' = one-hot plus path where the space has both",
    ),
    extraFeatures: ExtraFeatures,
    initialSamples: z.number().int().min(2).default(20).describe('random architectures before the first fit'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe('architectures of the predicted front evaluated per iteration'),
    populationSize: z
      .number()
      .int()
      .min(4)
      .default(50)
      .describe('population of the inner NSGA-II on predicted objectives'),
    generations: z
      .number()
      .int()
      .min(1)
      .default(60)
      .describe('generations of the inner NSGA-II per iteration'),
    crossoverProb: z
      .number()
      .min(0)
      .max(1)
      .default(0.9)
      .describe('probability that an inner child is a crossover'),
    selection: z
      .enum(['joint', 'candidates', 'pond'])
      .default('joint')
      .describe(
        "which predicted front is evaluated: 'joint' = the candidates left non-dominated when sorted together with the evaluated architectures (measured values), front by front; 'candidates' = the front of the candidates alone; 'pond' (two objectives) = by the probability of not being dominated by the measured front, from the models' mean and std",
      ),
    identity: z
      .enum(['exact', 'functional'])
      .default('exact')
      .describe(
        "'exact' proposes functionally equal variants too (their latency differs); 'functional' skips them",
      ),
    innerSearch: z
      .enum(['auto', 'nsga2', 'exhaustive'])
      .default('nsga2')
      .describe(
        "how the predicted front is found: 'nsga2' (the paper's inner NSGA-II), 'exhaustive' (score every architecture; needs an enumerable space of at most 20,000), 'auto' = exhaustive where possible",
      ),
    variantShare: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe(
        'share of each batch given to unseen functionally equal variants of the evaluated front (with exact identity; their latency and measured accuracy differ)',
      ),
    variantMinYield: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe(
        'with variantShare and an enumerable space: only variants of functional classes whose n exact variants give each at least this chance of being Pareto-optimal among them (H_n / n for exchangeable noisy twins), smallest classes first',
      ),
    logScale: z
      .enum(['auto', 'never'])
      .default('never')
      .describe(
        "'auto' models an objective on a log scale when all its evaluated values are positive and span at least a factor of 10 (latency, params, FLOPs); 'never' keeps every objective linear",
      ),
    exploration: z
      .union([z.number().min(0), z.array(z.number().min(0))])
      .default(0)
      .describe(
        'optimism: an objective is predicted as mean - exploration * std (minimised) where the model has a std; one number for all objectives or one per objective',
      ),
  })
  .strict()
/** The parsed {@link LinasConfig} (defaults filled in). @since 0.1.0 */
export type LinasConfig = z.infer<typeof LinasConfig>

interface Scored<A> {
  readonly arch: A
  readonly hash: string
  readonly f: readonly number[]
  /** The models' std per objective (0 where a model has none). */
  readonly s: readonly number[]
}

/** Every architecture of an enumerable space with its key and feature rows (without and with the free features; lazy). */
interface Everything<A> {
  archs: A[]
  keys: string[]
  rows?: Float32Array[]
  rowsExtra?: Float32Array[]
  functional?: string[]
  /** Per functional class: H_n / n for its n exact variants (see {@link classYields}). */
  classYield?: Map<string, number>
}

class Linas<A> extends SurrogateStrategy<A> {
  readonly name = 'linas'
  private readonly predictors: Predictor[]
  /** Per objective: does its model get the caller's free features. */
  private readonly extra: readonly boolean[]
  /** Every architecture with its key and features, when the inner search is exhaustive (lazy). */
  private everything: Everything<A> | undefined

  constructor(
    readonly config: LinasConfig,
    ctx: StrategyContext<A>,
    encoding: readonly EncodingKind[],
  ) {
    super(ctx, encoding, config.initialSamples, config.identity)
    const M = ctx.objectives.length
    const per = config.objectivePredictors
    if (per !== undefined && per.length !== M) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `linas objectivePredictors has ${per.length} entries but there are ${M} objectives; give one per objective`,
        value: per.length,
        allowed: [M],
        path: ['objectivePredictors'],
      })
    }
    this.predictors = Array.from({ length: M }, (_, k) => createPredictor(per?.[k] ?? config.predictor))
    this.extra = resolveExtraFeatures('linas', config.extraFeatures, ctx)
  }

  /** Feature rows for objective `k`'s model. */
  private rowsFor(archs: readonly A[], k: number): Float32Array[] {
    return this.featureRows(archs, this.extra[k])
  }

  protected plan(): A[] {
    const cfg = this.config
    const M = this.objectives.length
    const evaluated = this.history.map((h) => h.arch)
    const models: FittedPredictor[] = []
    const logged: boolean[] = []
    try {
      for (let k = 0; k < M; k++) {
        const y = this.history.map((h) => h.f[k]!)
        // Dominance is unchanged by a monotone transform, so the models and the selection share it.
        const log = cfg.logScale === 'auto' && Math.min(...y) > 0 && Math.max(...y) >= 10 * Math.min(...y)
        logged.push(log)
        models.push(
          this.predictors[k]!.fitSync(this.rowsFor(evaluated, k), log ? y.map(Math.log) : y, {
            rng: this.rng.fork(),
          }),
        )
      }
      const cache = new Map<string, Scored<A>>()
      const score = (archs: readonly A[]): Scored<A>[] => {
        const fresh = archs.filter((a) => !cache.has(this.key(a)))
        if (fresh.length > 0) {
          const preds = models.map((m, k) => predictOptimistic(m, this.rowsFor(fresh, k), cfg.exploration, k))
          fresh.forEach((a, i) => {
            const h = this.key(a)
            if (!cache.has(h)) {
              cache.set(h, {
                arch: a,
                hash: h,
                f: preds.map((p) => p.mean[i]!),
                s: preds.map((p) => p.std[i]!),
              })
            }
          })
        }
        return archs.map((a) => cache.get(this.key(a))!)
      }
      let pool: Scored<A>[]
      if (useExhaustive(this.space, cfg.innerSearch)) {
        const all = (this.everything ??= this.enumerateAll())
        const { archs, keys } = all
        const idx: number[] = []
        for (let i = 0; i < archs.length; i++) if (!this.seen.has(keys[i]!)) idx.push(i)
        const preds = models.map((m, k) => {
          const rows = this.extra[k]
            ? (all.rowsExtra ??= this.featureRows(archs, true))
            : (all.rows ??= this.featureRows(archs))
          return predictOptimistic(
            m,
            idx.map((i) => rows[i]!),
            cfg.exploration,
            k,
          )
        })
        pool = idx.map((i, j) => ({
          arch: archs[i]!,
          hash: keys[i]!,
          f: preds.map((p) => p.mean[j]!),
          s: preds.map((p) => p.std[j]!),
        }))
      } else {
        this.innerNsga2(score)
        // The predicted front of everything the inner search scored, minus what was already proposed.
        pool = [...cache.values()].filter((s) => !this.seen.has(s.hash))
      }
      const slots = Math.min(cfg.batchSize, Math.round(cfg.variantShare * cfg.batchSize))
      const variants =
        slots === 0
          ? []
          : cfg.variantMinYield > 0
            ? this.yieldVariants(score, slots)
            : environmentalSelection(this.frontVariants(pool, score), slots)
      const taken = new Set(variants.map((v) => v.hash))
      const candidates = pool.filter((s) => !taken.has(s.hash))
      const size = cfg.batchSize - variants.length
      const measured = () =>
        this.history
          .filter((h) => h.violation === 0)
          .map((h) => h.f.map((v, k) => (logged[k] ? Math.log(v) : v)))
      const rest =
        cfg.selection === 'joint'
          ? jointSelection(measured(), candidates, size)
          : cfg.selection === 'pond'
            ? pondSelection(measured(), candidates, size)
            : environmentalSelection(candidates, size)
      return [...variants, ...rest].map((s) => s.arch)
    } finally {
      for (const m of models) m.dispose()
    }
  }

  /** The paper's inner search: NSGA-II on the predicted objectives (every scored child lands in the cache). */
  private innerNsga2(score: (archs: readonly A[]) => Scored<A>[]): void {
    const cfg = this.config
    // Start from the evaluated non-dominated architectures, filled up with random ones.
    const evaluatedFront = (nonDominatedSort(this.history.map((h) => h.f))[0] ?? []).map(
      (i) => this.history[i]!.arch,
    )
    const start = evaluatedFront.slice(0, cfg.populationSize)
    while (start.length < cfg.populationSize) start.push(this.space.sample(this.rng))
    let pop = dedupe(score(start))
    for (let g = 0; g < cfg.generations; g++) {
      const { rank, crowd } = rankAndCrowd(pop.map((p) => p.f))
      const pick = (): Scored<A> => {
        const a = this.rng.int(pop.length)
        const b = this.rng.int(pop.length)
        if (rank[a] !== rank[b]) return pop[rank[a]! < rank[b]! ? a : b]!
        return pop[crowd[a]! >= crowd[b]! ? a : b]!
      }
      const children: A[] = []
      for (let c = 0; c < cfg.populationSize; c++) {
        const p1 = pick().arch
        const child = this.rng.bernoulli(cfg.crossoverProb)
          ? this.space.crossover(p1, pick().arch, this.rng)
          : p1
        children.push(this.space.mutate(child, this.rng))
      }
      pop = environmentalSelection(dedupe([...pop, ...score(children)]), cfg.populationSize)
    }
  }

  /**
   * Unseen functionally equal variants (same `space.hash`, different exact architecture) of the
   * evaluated non-dominated architectures: from the pool where the space is scored exhaustively,
   * otherwise from mutants that keep the hash. Their measured objectives (latency, training noise)
   * differ, and on a noisy front several variants of one good cell are often Pareto-optimal.
   */
  private frontVariants(
    pool: readonly Scored<A>[],
    score: (archs: readonly A[]) => Scored<A>[],
  ): Scored<A>[] {
    const front = (nonDominatedSort(this.history.map((h) => h.f))[0] ?? []).map((i) => this.history[i]!.arch)
    const cells = new Set(front.map((a) => this.space.hash(a)))
    if (this.everything !== undefined) {
      const fh = (this.everything.functional ??= this.everything.archs.map((a) => this.space.hash(a)))
      const byKey = new Map(this.everything.keys.map((k, i) => [k, i]))
      return pool.filter((s) => cells.has(fh[byKey.get(s.hash)!]!))
    }
    const out: A[] = []
    const local = new Set<string>()
    for (const a of front) {
      const h = this.space.hash(a)
      for (let t = 0; t < 30; t++) {
        let b = this.space.mutate(a, this.rng)
        if (this.rng.bernoulli(0.5)) b = this.space.mutate(b, this.rng)
        const k = this.key(b)
        if (this.space.hash(b) !== h || this.seen.has(k) || local.has(k)) continue
        local.add(k)
        out.push(b)
      }
    }
    return score(out)
  }

  /**
   * Unseen exact variants of the functional classes on the evaluated front, in order of the chance
   * that a variant is Pareto-optimal among its class's n exchangeable twins (H_n / n, the expected
   * number of non-dominated points among n i.i.d. points in two dimensions, over n), classes below
   * `variantMinYield` left out; within a tier, NSGA-II order of the predicted objectives.
   */
  private yieldVariants(score: (archs: readonly A[]) => Scored<A>[], slots: number): Scored<A>[] {
    const all = (this.everything ??= this.enumerateAll())
    const fh = (all.functional ??= all.archs.map((a) => this.space.hash(a)))
    all.classYield ??= classYields(fh)
    const yields = all.classYield
    const front = (nonDominatedSort(this.history.map((h) => h.f))[0] ?? []).map((i) => this.history[i]!.arch)
    const cells = new Set(front.map((a) => this.space.hash(a)))
    const tiers = new Map<number, A[]>()
    for (let i = 0; i < all.archs.length; i++) {
      if (!cells.has(fh[i]!) || this.seen.has(all.keys[i]!)) continue
      const y = yields.get(fh[i]!)!
      if (y >= 1 || y < this.config.variantMinYield) continue
      if (!tiers.has(y)) tiers.set(y, [])
      tiers.get(y)!.push(all.archs[i]!)
    }
    const out: Scored<A>[] = []
    for (const y of [...tiers.keys()].sort((a, b) => b - a)) {
      if (out.length >= slots) break
      out.push(...environmentalSelection(score(tiers.get(y)!), slots - out.length))
    }
    return out
  }

  /** All architectures of an enumerable space, with keys and feature rows. */
  private enumerateAll(): Everything<A> {
    const archs = [...this.space.enumerate!()]
    return { archs, keys: archs.map((a) => this.key(a)) }
  }
}

/**
 * Per functional class (`hashes` holds the class of every exact architecture): H_n / n, where n is the
 * class's number of exact variants and H_n the n-th harmonic number. Among n points with i.i.d.
 * continuous coordinates in two dimensions the expected number of non-dominated ones is H_n, so when a
 * class's variants differ only by measurement noise each has this chance of being on the front
 * (given that the class reaches the front at all): 1 for a class of one, 0.14 for 29, 0.015 for 460.
 * @internal
 */
export function classYields(hashes: readonly string[]): Map<string, number> {
  const n = new Map<string, number>()
  for (const h of hashes) n.set(h, (n.get(h) ?? 0) + 1)
  const out = new Map<string, number>()
  for (const [h, c] of n) {
    let H = 0
    for (let j = 1; j <= c; j++) H += 1 / j
    out.set(h, H / c)
  }
  return out
}

/** Largest space the inner search scores exhaustively. */
const EXHAUSTIVE_LIMIT = 20_000n

/** Can every architecture of `space` be listed and scored (enumerable, at most {@link EXHAUSTIVE_LIMIT})? */
const enumerable = <A>(space: SearchSpace<A>): boolean =>
  space.enumerate !== undefined && space.size() <= EXHAUSTIVE_LIMIT

function useExhaustive<A>(space: SearchSpace<A>, setting: LinasConfig['innerSearch']): boolean {
  const possible = enumerable(space)
  if (setting === 'exhaustive' && !possible) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `linas innerSearch 'exhaustive' needs an enumerable space of at most ${EXHAUSTIVE_LIMIT} architectures; space ${space.id} has ${space.size()}; use 'auto' or 'nsga2'`,
      value: setting,
      allowed: ['auto', 'nsga2'],
      path: ['innerSearch'],
    })
  }
  return setting !== 'nsga2' && possible
}

/** Predicted means, made optimistic (mean - exploration * std) where the model has a std, and the stds. */
function predictOptimistic(
  m: FittedPredictor,
  rows: readonly Float32Array[],
  exploration: LinasConfig['exploration'],
  k: number,
): { mean: Float64Array; std: Float64Array } {
  const kappa = typeof exploration === 'number' ? exploration : (exploration[k] ?? 0)
  const p = m.predict(rows)
  const std = p.std ?? new Float64Array(p.mean.length)
  return { mean: kappa > 0 && p.std ? p.mean.map((v, i) => v - kappa * std[i]!) : p.mean, std }
}

/**
 * The probability that a point with independent Gaussian objectives (means `m`, stds `s`, two
 * objectives, minimised) is not dominated by any point of `front` (non-dominated, sorted by the first
 * objective ascending, so the second descends): the staircase the front leaves free, integrated.
 * @internal
 */
export function probNonDominated2(
  m: readonly number[],
  s: readonly number[],
  front: readonly (readonly number[])[],
): number {
  const cdf = (x: number, k: number) => {
    const sd = s[k]!
    if (!(sd > 1e-12)) return m[k]! < x ? 1 : 0
    return normCdf((x - m[k]!) / sd)
  }
  if (front.length === 0) return 1
  let p = cdf(front[0]![0]!, 0)
  for (let j = 0; j < front.length; j++) {
    const lo = cdf(front[j]![0]!, 0)
    const hi = j + 1 < front.length ? cdf(front[j + 1]![0]!, 0) : 1
    p += (hi - lo) * cdf(front[j]![1]!, 1)
  }
  return p
}

/** The non-dominated points of `points` (two objectives, minimised), sorted by the first objective. */
function staircase(points: readonly (readonly number[])[]): number[][] {
  const sorted = points.map((p) => [p[0]!, p[1]!]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!)
  const out: number[][] = []
  for (const p of sorted) if (out.length === 0 || p[1]! < out[out.length - 1]![1]!) out.push(p)
  return out
}

/**
 * Two objectives: candidates chosen one at a time by the probability that they are not dominated by
 * the measured front (their predicted mean and std as independent Gaussians), each chosen one then
 * joining the front with its predicted mean (kriging believer), so a batch spreads along the front.
 * @internal
 */
export function pondSelection<A>(
  measured: readonly (readonly number[])[],
  candidates: readonly Scored<A>[],
  size: number,
): Scored<A>[] {
  let front = staircase(measured)
  const left = new Set(candidates.keys())
  const out: Scored<A>[] = []
  while (out.length < size && left.size > 0) {
    let best = -1
    let bestP = -1
    for (const i of left) {
      const c = candidates[i]!
      const p = probNonDominated2(c.f, c.s, front)
      if (p > bestP) {
        bestP = p
        best = i
      }
    }
    left.delete(best)
    out.push(candidates[best]!)
    front = staircase([...front, candidates[best]!.f])
  }
  return out
}

function dedupe<A>(xs: readonly Scored<A>[]): Scored<A>[] {
  const seen = new Set<string>()
  return xs.filter((x) => (seen.has(x.hash) ? false : (seen.add(x.hash), true)))
}

/** Non-domination rank and crowding distance of every point. */
function rankAndCrowd(points: readonly (readonly number[])[]): { rank: Int32Array; crowd: Float64Array } {
  const rank = new Int32Array(points.length)
  const crowd = new Float64Array(points.length)
  nonDominatedSort(points).forEach((front, r) => {
    const cd = crowdingDistance(points, front)
    front.forEach((i, k) => {
      rank[i] = r
      crowd[i] = cd[k]!
    })
  })
  return { rank, crowd }
}

/** NSGA-II survivor selection: whole fronts while they fit, then the least crowded of the next. */
function environmentalSelection<A>(xs: readonly Scored<A>[], size: number): Scored<A>[] {
  return jointSelection([], xs, size)
}

/**
 * The candidates to evaluate next when the evaluated architectures (measured objective values) and
 * the candidates (predicted values) are sorted together: candidates of the first front that has any,
 * then the next, the last one cut by crowding distance. Candidates predicted to be dominated by
 * something already measured come last, so no evaluation goes to a point the known front beats.
 * @internal
 */
export function jointSelection<A>(
  evaluated: readonly (readonly number[])[],
  candidates: readonly Scored<A>[],
  size: number,
): Scored<A>[] {
  const E = evaluated.length
  const points = [...evaluated, ...candidates.map((c) => c.f)]
  const out: Scored<A>[] = []
  for (const front of nonDominatedSort(points)) {
    if (out.length >= size) break
    const fresh = front.filter((i) => i >= E)
    if (fresh.length === 0) continue
    if (out.length + fresh.length <= size) {
      for (const i of fresh) out.push(candidates[i - E]!)
      continue
    }
    const cd = crowdingDistance(points, front)
    const crowd = new Map(front.map((i, k) => [i, cd[k]!]))
    fresh.sort((a, b) => crowd.get(b)! - crowd.get(a)! || a - b)
    for (const i of fresh.slice(0, size - out.length)) out.push(candidates[i - E]!)
  }
  return out
}

/**
 * LINAS, lightweight iterative NAS (Cummings et al. 2022, "Accelerating neural architecture
 * exploration across modalities using genetic algorithms", the DyNAS-T method): every iteration fits
 * one predictor per objective on all evaluated architectures, runs NSGA-II on the predicted
 * objectives, and evaluates `batchSize` architectures of the predicted Pareto front. Several
 * objectives (also works with one).
 *
 * Optional departures from the paper, each a config setting and off by default (a 20-seed run on
 * NB201 with all three on was not better): `innerSearch: 'auto'` finds the predicted front exactly by
 * scoring every architecture where the space can be enumerated and has at most 20,000; `logScale:
 * 'auto'` models objectives whose evaluated values are positive and span a factor of 10 or more
 * (latency) on a log scale; and with exact identity, `variantShare` of each batch goes to unseen
 * functionally equal variants of the evaluated front, whose measured latency and accuracy differ by
 * noise, and `variantMinYield` keeps those to the classes small enough that a variant has a fair chance
 * (H_n / n) of being Pareto-optimal among its twins.
 * @since 0.1.0
 * @category strategies
 */
export const linas: StrategyDefinition<typeof LinasConfig> = {
  name: 'linas',
  description:
    'LINAS (DyNAS-T): NSGA-II on predicted objectives, evaluate the predicted front, refit every iteration',
  configSchema: LinasConfig,
  multiObjective: true,
  references: [
    'Cummings, Sarah, Sridhar, Szankin, Munoz and Sundaresan 2022, Accelerating Neural Architecture Exploration Across Modalities Using Genetic Algorithms',
    'Deb, Pratap, Agarwal and Meyarivan 2002, A fast and elitist multiobjective genetic algorithm: NSGA-II',
  ],
  create: (config, ctx) => {
    const enc: EncodingKind[] =
      config.encoding === 'auto' &&
      ctx.space.encodings.includes('onehot') &&
      ctx.space.encodings.includes('path')
        ? ['onehot', 'path']
        : resolveEncoding(ctx.space, config.encoding, ['onehot', 'ordinal'])
    useExhaustive(ctx.space, config.innerSearch) // a clear error now, not at the first fit
    if (config.variantMinYield > 0 && !enumerable(ctx.space)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `linas variantMinYield needs an enumerable space of at most ${EXHAUSTIVE_LIMIT} architectures (it counts each class's variants); space ${ctx.space.id} has ${ctx.space.size()}; set variantMinYield: 0`,
        value: config.variantMinYield,
        allowed: [0],
        path: ['variantMinYield'],
      })
    }
    if (config.variantMinYield > 0 && config.variantShare === 0) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message:
          'linas variantMinYield only filters the variant share of each batch, and variantShare is 0; set variantShare above 0 (e.g. 0.3) or variantMinYield: 0',
        value: config.variantMinYield,
        allowed: [0],
        path: ['variantMinYield'],
      })
    }
    if (config.selection === 'pond' && ctx.objectives.length !== 2) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `linas selection 'pond' needs exactly two objectives; got ${ctx.objectives.length}; use 'joint'`,
        value: config.selection,
        allowed: ['joint', 'candidates'],
        path: ['selection'],
      })
    }
    return new Linas(config, ctx, enc)
  },
}
