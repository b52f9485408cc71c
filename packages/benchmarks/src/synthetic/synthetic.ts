import {
  NasError,
  Rng,
  type Evaluator,
  type EvaluatorContext,
  type EvaluatorInfo,
  type Metrics,
} from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'

/**
 * The parts of a search space a synthetic benchmark needs.
 * @since 0.1.0
 */
export type SyntheticSpace<A> = Pick<SearchSpace<A>, 'sample' | 'encode' | 'hash'>

/**
 * Options of {@link createSyntheticBenchmark}.
 * @since 0.1.0
 */
export interface SyntheticOptions {
  /** Same seed, same landscape. */
  readonly seed: number
  /** The number of peaks, the global one included (default 8). */
  readonly peaks?: number
  /** Standard deviation of the validation noise, in accuracy points (default 0.5; 0 = noiseless). */
  readonly noise?: number
  /** Accuracy far from every peak (default 10) and at the global optimum (default 95). */
  readonly floor?: number
  readonly top?: number
}

/**
 * A cheap, seeded benchmark over any search space with a known optimum, for tests of strategies,
 * drivers and predictors. The noise-free score of an architecture `a` with one-hot encoding `x` is
 *
 * `test_acc(a) = floor + (top - floor) * max_k h_k * exp(-d(x, c_k) / (tau_k * dbar))`
 *
 * where the peaks `c_k` are encodings of seeded random architectures, `d` is a seeded weighted L1
 * distance, `dbar` the mean distance of random architectures to `c_0`, `h_0 = 1` and
 * `h_k in [0.75, 0.95]` for the other peaks, and `tau_k in [0.3, 0.6]` their widths. The global
 * optimum is therefore exactly `top`, reached by `optimum.arch` (the peak `c_0`). `valid_acc` adds
 * deterministic Gaussian noise per architecture; `cost` is a seeded positive linear function of the
 * encoding (a stand-in for latency, to minimise).
 * @since 0.1.0
 * @category constructors
 */
export interface SyntheticBenchmark<A> {
  /** `['valid_acc', 'test_acc', 'cost']`. */
  readonly metrics: readonly string[]
  /** The global optimum: its architecture and noise-free test accuracy (= `top`). */
  readonly optimum: { readonly arch: A; readonly test_acc: number }
  /** All metrics of an architecture (synchronous, not counted). */
  query(arch: A): Metrics
  /** An evaluator (the contract in docs/architecture.md) that counts queries. */
  readonly evaluator: Evaluator<A> & { readonly queries: number; readonly info: EvaluatorInfo }
}

interface Landscape {
  readonly weights: Float64Array
  readonly wsum: number
  readonly costWeights: Float64Array
  readonly peaks: readonly { readonly c: Float32Array; readonly h: number; readonly tau: number }[]
  readonly dbar: number
}

function distance(x: Float32Array, c: Float32Array, w: Float64Array, wsum: number): number {
  if (x.length !== c.length) {
    throw new NasError({
      code: 'SPACE_MISMATCH',
      message: `the architecture encodes to ${x.length} values; the synthetic benchmark's space encodes to ${c.length}`,
    })
  }
  let s = 0
  for (let i = 0; i < x.length; i++) s += w[i]! * Math.abs(x[i]! - c[i]!)
  return s / wsum
}

function buildLandscape<A>(space: SyntheticSpace<A>, opts: SyntheticOptions): { land: Landscape; best: A } {
  if (!Number.isInteger(opts.seed)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `seed must be an integer, got ${opts.seed}`,
      value: opts.seed,
    })
  }
  const npeaks = opts.peaks ?? 8
  if (!Number.isInteger(npeaks) || npeaks < 1) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `peaks must be a positive integer, got ${npeaks}`,
      value: npeaks,
    })
  }
  const rng = new Rng(opts.seed)
  const best = space.sample(rng)
  const c0 = space.encode(best, 'onehot')
  const d = c0.length
  const weights = new Float64Array(d)
  const costWeights = new Float64Array(d)
  for (let i = 0; i < d; i++) {
    weights[i] = rng.uniformIn(0.5, 1.5)
    costWeights[i] = rng.uniformIn(0.1, 1)
  }
  const wsum = weights.reduce((a, b) => a + b, 0)
  const peaks = [{ c: c0, h: 1, tau: rng.uniformIn(0.3, 0.6) }]
  for (let k = 1; k < npeaks; k++) {
    peaks.push({
      c: space.encode(space.sample(rng), 'onehot'),
      h: rng.uniformIn(0.75, 0.95),
      tau: rng.uniformIn(0.3, 0.6),
    })
  }
  let dsum = 0
  const probe = rng.fork()
  for (let i = 0; i < 64; i++)
    dsum += distance(space.encode(space.sample(probe), 'onehot'), c0, weights, wsum)
  const dbar = dsum / 64 > 0 ? dsum / 64 : 1
  return { land: { weights, wsum, costWeights, peaks, dbar }, best }
}

function value(x: Float32Array, land: Landscape): number {
  let v = 0
  for (const p of land.peaks) {
    const s = p.h * Math.exp(-distance(x, p.c, land.weights, land.wsum) / (p.tau * land.dbar))
    if (s > v) v = s
  }
  return v
}

function checkNoise(opts: SyntheticOptions) {
  const floor = opts.floor ?? 10
  const top = opts.top ?? 95
  const noise = opts.noise ?? 0.5
  if (!(top > floor) || !(noise >= 0)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `need top > floor and noise >= 0; got floor ${floor}, top ${top}, noise ${noise}`,
    })
  }
  return { floor, top, noise }
}

function counted<A>(
  fn: (arch: A, ctx: EvaluatorContext) => Metrics,
  info: EvaluatorInfo,
): Evaluator<A> & { readonly queries: number; readonly info: EvaluatorInfo } {
  let queries = 0
  const ev = (arch: A, ctx: EvaluatorContext): Promise<Metrics> => {
    queries++
    try {
      if (ctx.signal.aborted)
        throw new NasError({ code: 'ABORTED', message: 'the synthetic evaluation was aborted' })
      return Promise.resolve(fn(arch, ctx))
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)))
    }
  }
  Object.defineProperties(ev, {
    queries: { get: () => queries, enumerable: true },
    info: { value: info, enumerable: true },
  })
  return ev as Evaluator<A> & { readonly queries: number; readonly info: EvaluatorInfo }
}

/**
 * Creates a {@link SyntheticBenchmark} over `space`.
 * @example
 * ```ts
 * const syn = createSyntheticBenchmark(nb201, { seed: 1 })
 * syn.query(syn.optimum.arch).test_acc // 95
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function createSyntheticBenchmark<A>(
  space: SyntheticSpace<A>,
  opts: SyntheticOptions,
): SyntheticBenchmark<A> {
  const { floor, top, noise } = checkNoise(opts)
  const { land, best } = buildLandscape(space, opts)
  const query = (arch: A): Metrics => {
    const x = space.encode(arch, 'onehot')
    const test = floor + (top - floor) * value(x, land)
    const eps = noise === 0 ? 0 : new Rng(`${opts.seed}:valid:${space.hash(arch)}`).normal(0, noise)
    let cost = 0
    for (let i = 0; i < x.length; i++) cost += land.costWeights[i]! * x[i]!
    return { valid_acc: test + eps, test_acc: test, cost }
  }
  const metrics = Object.freeze(['valid_acc', 'test_acc', 'cost'])
  return {
    metrics,
    optimum: { arch: best, test_acc: top },
    query,
    evaluator: counted((a: A) => query(a), { metrics, cheapMetrics: ['cost'] }),
  }
}

/**
 * Options of {@link createMultiFidelityBenchmark}.
 * @since 0.1.0
 */
export interface MultiFidelityOptions extends SyntheticOptions {
  /** The highest fidelity, e.g. epochs (default 200); fidelities are the integers `minFidelity..maxFidelity`. */
  readonly maxFidelity?: number
  readonly minFidelity?: number
}

/**
 * A {@link SyntheticBenchmark} with learning curves, for successive halving / Hyperband tests.
 * At fidelity `e` (read from `ctx.fidelity`, default the maximum) an architecture with final score
 * `F` (the synthetic benchmark's noise-free `test_acc`) has
 *
 * `acc(e) = floor + (F - floor) * (1 - exp(-e / kappa)) / (1 - exp(-E / kappa))`
 *
 * with a per-architecture learning speed `kappa in [10, 40]` (seeded by its hash), so it reaches `F`
 * exactly at `E = maxFidelity` while early rankings differ from final ones (fast learners look good
 * early). `valid_acc` adds noise shrinking from `2 * noise` at the lowest fidelity to `noise` at `E`;
 * `cost` is `epochs * (1 + arch cost)`. The evaluator reports every epoch up to `e` through `ctx.report`.
 * @since 0.1.0
 * @category constructors
 */
export interface MultiFidelityBenchmark<A> extends SyntheticBenchmark<A> {
  readonly fidelities: { readonly min: number; readonly max: number }
  /** All metrics of an architecture at a fidelity (synchronous, not counted). */
  queryAt(arch: A, fidelity: number): Metrics
}

/**
 * Creates a {@link MultiFidelityBenchmark} over `space`.
 * @example
 * ```ts
 * const mf = createMultiFidelityBenchmark(nb201, { seed: 3, maxFidelity: 200 })
 * await mf.evaluator(arch, { signal, report: () => {}, fidelity: 12 }) // metrics after 12 epochs
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function createMultiFidelityBenchmark<A>(
  space: SyntheticSpace<A>,
  opts: MultiFidelityOptions,
): MultiFidelityBenchmark<A> {
  const base = createSyntheticBenchmark(space, { ...opts, noise: 0 })
  const { floor, top, noise } = checkNoise(opts)
  const max = opts.maxFidelity ?? 200
  const min = opts.minFidelity ?? 1
  if (!Number.isInteger(max) || !Number.isInteger(min) || min < 1 || max < min) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `fidelities must be integers with 1 <= minFidelity <= maxFidelity; got ${min}..${max}`,
      value: [min, max],
    })
  }
  const checkFidelity = (e: number) => {
    if (!Number.isInteger(e) || e < min || e > max) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `fidelity ${e} is outside ${min}..${max} (integers)`,
        value: e,
        allowed: [min, max],
      })
    }
  }
  const curve = (arch: A) => {
    const f = base.query(arch)
    const h = space.hash(arch)
    const kappa = new Rng(`${opts.seed}:kappa:${h}`).uniformIn(10, 40)
    return { final: f.test_acc!, cost: f.cost!, kappa, h }
  }
  const at = (c: ReturnType<typeof curve>, e: number): Metrics => {
    const frac = (1 - Math.exp(-e / c.kappa)) / (1 - Math.exp(-max / c.kappa))
    const test = floor + (c.final - floor) * frac
    const sd = noise * (1 + (max === min ? 0 : (max - e) / (max - min)))
    const eps = sd === 0 ? 0 : new Rng(`${opts.seed}:valid:${c.h}:${e}`).normal(0, sd)
    return { valid_acc: test + eps, test_acc: test, cost: e * (1 + c.cost), epochs: e }
  }
  const queryAt = (arch: A, e: number) => {
    checkFidelity(e)
    return at(curve(arch), e)
  }
  const metrics = Object.freeze(['valid_acc', 'test_acc', 'cost', 'epochs'])
  const fidelities = Array.from({ length: max - min + 1 }, (_, i) => min + i)
  const evaluator = counted(
    (arch: A, ctx: EvaluatorContext) => {
      const e = ctx.fidelity ?? max
      checkFidelity(e)
      const c = curve(arch)
      for (let s = min; s < e; s++) ctx.report(s, at(c, s))
      const m = at(c, e)
      ctx.report(e, m)
      return m
    },
    { metrics, cheapMetrics: [], fidelities },
  )
  return {
    metrics,
    optimum: { arch: base.optimum.arch, test_acc: top },
    query: (arch: A) => queryAt(arch, max),
    queryAt,
    fidelities: { min, max },
    evaluator,
  }
}
