import { NasError, formatAllowed } from '@nasjs/core'
import { NB201_EDGES, nb201Canonical, type Nb201Arch } from '@nasjs/search-space'

import type { Nb201ArchLike } from './arch.js'
import { assertNb201Dataset, assertNb201Metric, type Nb201Dataset } from './metrics.js'
import type { Nb201Benchmark } from './nb201.js'
import {
  NB201_ZC_LOWER_IS_BETTER,
  NB201_ZC_PROXIES,
  assertNb201ZcDataset,
  type Nb201ZcProxy,
  type Nb201ZeroCost,
} from './zero-cost.js'

/**
 * NB201 metrics that cost no training: parameter and FLOP counts and the zero-cost proxy scores.
 * @since 0.1.0
 */
export const NB201_FREE_METRICS = ['params', 'flops', 'naswot', 'zen'] as const

/**
 * Free statistics read off the cell itself, each four op counts (3x3 conv, 1x1 conv, 3x3 average
 * pool, skip): `live_ops` counts the ops on an input-to-output path (they shape what the cell
 * computes, so its accuracy); `executed_ops` counts the ops whose result reaches the cell's output,
 * whatever feeds them (what a deployed network still runs once dead branches are removed, so its
 * latency). Not in the default set of {@link nb201FreeFeatures}; ask for them with `metrics` or
 * `structure: true`.
 * @since 0.1.0
 */
export const NB201_STRUCTURE_METRICS = ['live_ops', 'executed_ops'] as const

/** Every metric {@link nb201FreeFeatures} accepts. */
const ALL_FREE_METRICS = [...NB201_FREE_METRICS, ...NB201_STRUCTURE_METRICS, ...NB201_ZC_PROXIES]
/** The ops counted by the structure metrics, in column order, and their column names. */
const COUNTED_OPS = ['nor_conv_3x3', 'nor_conv_1x1', 'avg_pool_3x3', 'skip_connect'] as const
const COUNTED_NAMES = ['conv3x3', 'conv1x1', 'avg_pool', 'skip'] as const

/**
 * Four op counts of one cell (`ops` in arch_str edge order): ops on an input-to-output path (`live`,
 * the ops of `nb201Canonical`) or ops whose target node reaches the output (`executed`).
 * @internal
 */
export function nb201OpCounts(ops: Nb201Arch, which: 'live' | 'executed'): number[] {
  let counted: readonly string[] = nb201Canonical(ops)
  if (which === 'executed') {
    // Backward reachability of the output over non-`none` edges; an op runs when its target reaches it.
    const toOutput = [false, false, false, true]
    for (let k = NB201_EDGES.length - 1; k >= 0; k--) {
      const [from, to] = NB201_EDGES[k]!
      if (ops[k] !== 'none' && toOutput[to]) toOutput[from] = true
    }
    counted = ops.map((op, k) => (toOutput[NB201_EDGES[k]![1]] ? op : 'none'))
  }
  return COUNTED_OPS.map((op) => counted.filter((o) => o === op).length)
}

/**
 * Free per-architecture statistics of NB201, ready as model inputs for predictor-guided strategies
 * (`StrategyContext.features` in `@nasjs/strategies`).
 * @since 0.1.0
 */
export interface Nb201FreeFeatures {
  /** What each value is, e.g. `['log params', 'log flops', 'naswot', 'zen']`. */
  readonly names: readonly string[]
  /** The values for one architecture (always `names.length` finite numbers). */
  readonly of: (arch: Nb201ArchLike) => number[]
}

/**
 * Options of {@link nb201FreeFeatures}.
 * @since 0.1.0
 */
export interface Nb201FreeFeaturesOptions {
  /** The metrics, in column order (default: those of {@link NB201_FREE_METRICS} the dataset has). */
  readonly metrics?: readonly string[]
  /** Append the {@link NB201_STRUCTURE_METRICS} to the default metrics (ignored with `metrics`). */
  readonly structure?: boolean
  /**
   * The NAS-Bench-Suite-Zero table of `dataset` (from `parseNb201ZeroCost`, or
   * `loadNb201ZeroCost` of `@nasjs/benchmarks/node`); required when `metrics` names one of its proxies.
   */
  readonly zeroCost?: Nb201ZeroCost
}

/**
 * The free statistics of every NB201 architecture on `dataset`: log params, log FLOPs and the
 * zero-cost scores (NASWOT on CIFAR-10 only, Zen-NAS), plus the op counts of
 * {@link NB201_STRUCTURE_METRICS} with `structure: true`, or the `metrics` asked for. `metrics` may
 * also name the NAS-Bench-Suite-Zero proxies of {@link NB201_ZC_PROXIES} (CIFAR-10 and
 * ImageNet16-120); their table is then given as `zeroCost` (the function of the same name in
 * `@nasjs/benchmarks/node` reads it from the data directory instead). The 341 disconnected cells
 * have no zero-cost score; they get the column's worst score (the lowest; the highest for
 * {@link NB201_ZC_LOWER_IS_BETTER}).
 *
 * @example
 * ```ts
 * const free = nb201FreeFeatures(bench, 'cifar10')
 * free.names // ['log params', 'log flops', 'naswot', 'zen']
 * strategyRunner(registry, 'linas', { extraFeatures: [true, false] }, { space: nb201, objectives, features: free.of })
 * ```
 * @since 0.1.0
 */
export function nb201FreeFeatures(
  bench: Nb201Benchmark,
  dataset = 'cifar10',
  opts: Nb201FreeFeaturesOptions = {},
): Nb201FreeFeatures {
  const ds = assertNb201Dataset(dataset)
  const metrics = opts.metrics ?? [
    ...NB201_FREE_METRICS.filter((m) => m !== 'naswot' || ds === 'cifar10'),
    ...(opts.structure === true ? NB201_STRUCTURE_METRICS : []),
  ]
  if (metrics.length === 0) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `no metrics asked for; expected some of ${formatAllowed(ALL_FREE_METRICS)}`,
      value: metrics,
      allowed: ALL_FREE_METRICS,
    })
  }
  for (const m of metrics) {
    if (!(ALL_FREE_METRICS as readonly string[]).includes(m)) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `'${m}' is not a free NB201 metric (it needs training or a device); expected ${formatAllowed(ALL_FREE_METRICS)}`,
        value: m,
        allowed: ALL_FREE_METRICS,
      })
    }
    if (!isStructure(m) && !isZc(m)) assertNb201Metric(ds, m)
  }
  const proxies = metrics.filter(isZc)
  const zc = proxies.length > 0 ? zeroCostFor(ds, proxies, opts.zeroCost) : undefined
  const logOf = (m: string) => m === 'params' || m === 'flops'
  // Built on the first lookup, so a caller that never asks (e.g. `nas search` with NSGA-II) pays nothing.
  let columns: Float64Array[] | undefined
  const build = (): Float64Array[] =>
    metrics.flatMap((m) => {
      if (isStructure(m)) {
        const counts = Array.from({ length: bench.size }, (_, i) => nb201OpCounts(bench.archAt(i), kindOf(m)))
        return COUNTED_OPS.map((_, j) => Float64Array.from(counts, (c) => c[j]!))
      }
      const raw = isZc(m) ? zc!.columns[m] : bench.column(ds, m)
      // Missing scores (disconnected cells, 10 % accuracy) go to the column's worst end.
      const lowIsGood = (NB201_ZC_LOWER_IS_BETTER as readonly string[]).includes(m)
      let worst = lowIsGood ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY
      for (const v of raw) if (Number.isFinite(v) && (lowIsGood ? v > worst : v < worst)) worst = v
      return Float64Array.from(raw, (v) => {
        const x = Number.isFinite(v) ? v : worst
        return logOf(m) ? Math.log(Math.max(x, 1e-12)) : x
      })
    })
  return {
    names: metrics.flatMap((m) =>
      isStructure(m) ? COUNTED_NAMES.map((o) => `${kindOf(m)} ${o}`) : [logOf(m) ? `log ${m}` : m],
    ),
    of: (arch) => {
      const i = bench.indexOf(arch)
      columns ??= build()
      return columns.map((c) => c[i]!)
    },
  }
}

const isZc = (m: string): m is Nb201ZcProxy => (NB201_ZC_PROXIES as readonly string[]).includes(m)
const isStructure = (m: string): boolean => (NB201_STRUCTURE_METRICS as readonly string[]).includes(m)
const kindOf = (m: string): 'live' | 'executed' => (m === 'live_ops' ? 'live' : 'executed')

/** Checks the zero-cost table given for `proxies` on `ds`, so a search never starts without it. */
function zeroCostFor(
  ds: Nb201Dataset,
  proxies: readonly Nb201ZcProxy[],
  zeroCost: Nb201ZeroCost | undefined,
): Nb201ZeroCost {
  assertNb201ZcDataset(ds)
  if (zeroCost === undefined) {
    throw new NasError({
      code: 'DATA_MISSING',
      message: `${proxies.join(', ')} come from the NAS-Bench-Suite-Zero table of ${ds}, and no zeroCost table was given; pass zeroCost (parseNb201ZeroCost of the fetched file) or use nb201FreeFeatures of @nasjs/benchmarks/node, which reads it`,
      value: proxies,
    })
  }
  if (zeroCost.dataset !== ds) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the zeroCost table is for ${zeroCost.dataset} ('${zeroCost.file}'); expected the ${ds} table`,
      value: zeroCost.dataset,
      allowed: [ds],
    })
  }
  return zeroCost
}
