import { NasError } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { z } from 'zod'

import { createNb201Evaluator, type Nb201Evaluator } from './nb201/evaluator.js'
import { NB201_DATASETS } from './nb201/metrics.js'
import type { Nb201Benchmark } from './nb201/nb201.js'
import {
  createMultiFidelityBenchmark,
  createSyntheticBenchmark,
  type MultiFidelityBenchmark,
  type SyntheticBenchmark,
} from './synthetic/synthetic.js'

/**
 * Config of the tabular NB201 evaluator (see {@link createNb201Evaluator}).
 * @since 0.1.0
 * @category configs
 */
export const Nb201EvaluatorConfig = z
  .object({
    kind: z.literal('nb201'),
    dataset: z.enum(NB201_DATASETS),
    /** Metric names (see `nb201MetricNames`); default: every metric present for all cells. */
    metrics: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
/** @since 0.1.0 */
export type Nb201EvaluatorConfig = z.infer<typeof Nb201EvaluatorConfig>

const syntheticShape = {
  seed: z.number().int(),
  peaks: z.number().int().min(1).default(8),
  noise: z.number().min(0).default(0.5),
  floor: z.number().default(10),
  top: z.number().default(95),
}

/**
 * Config of the synthetic benchmark (see {@link createSyntheticBenchmark}).
 * @since 0.1.0
 * @category configs
 */
export const SyntheticConfig = z
  .object({ kind: z.literal('synthetic'), ...syntheticShape })
  .strict()
  .refine((c) => c.top > c.floor, { message: 'top must be above floor', path: ['top'] })
/** @since 0.1.0 */
export type SyntheticConfig = z.infer<typeof SyntheticConfig>

/**
 * Config of the multi-fidelity synthetic benchmark (see {@link createMultiFidelityBenchmark}).
 * @since 0.1.0
 * @category configs
 */
export const MultiFidelityConfig = z
  .object({
    kind: z.literal('synthetic-mf'),
    ...syntheticShape,
    minFidelity: z.number().int().min(1).default(1),
    maxFidelity: z.number().int().min(1).default(200),
  })
  .strict()
  .refine((c) => c.top > c.floor, { message: 'top must be above floor', path: ['top'] })
  .refine((c) => c.maxFidelity >= c.minFidelity, {
    message: 'maxFidelity must be at least minFidelity',
    path: ['maxFidelity'],
  })
/** @since 0.1.0 */
export type MultiFidelityConfig = z.infer<typeof MultiFidelityConfig>

/**
 * Any benchmark evaluator config, told apart by `kind`.
 * @since 0.1.0
 * @category configs
 */
export const BenchmarkConfig = z.union([Nb201EvaluatorConfig, SyntheticConfig, MultiFidelityConfig])
/** @since 0.1.0 */
export type BenchmarkConfig = z.infer<typeof BenchmarkConfig>

/**
 * Validates a config against one of the schemas above; a failure is one `CONFIG_INVALID` NasError
 * naming the path, the bad value and (for enums) the allowed values.
 * @example parseBenchmarkConfig(Nb201EvaluatorConfig, { kind: 'nb201', dataset: 'cifar10' })
 * @since 0.1.0
 */
export function parseBenchmarkConfig<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]!
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))
  const allowed = 'values' in issue && Array.isArray(issue.values) ? (issue.values as unknown[]) : undefined
  let bad: unknown = value
  for (const p of path)
    bad = bad !== null && typeof bad === 'object' ? (bad as Record<string, unknown>)[p] : undefined
  throw new NasError({
    code: 'CONFIG_INVALID',
    message: `invalid benchmark config${path.length > 0 ? ` at ${path.join('.')}` : ''}: ${issue.message}`,
    value: bad,
    path,
    ...(allowed !== undefined ? { allowed } : {}),
  })
}

/** What {@link createBenchmarkFromConfig} returns for each kind. */
export type BenchmarkFor<A> = Nb201Evaluator | SyntheticBenchmark<A> | MultiFidelityBenchmark<A>

/**
 * Builds a benchmark from a parsed config: `nb201` needs the loaded table, the synthetic kinds a space.
 * @since 0.1.0
 */
export function createBenchmarkFromConfig<A>(
  config: BenchmarkConfig,
  deps: { readonly nb201?: Nb201Benchmark; readonly space?: SearchSpace<A> },
): BenchmarkFor<A> {
  if (config.kind === 'nb201') {
    if (deps.nb201 === undefined) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: "an 'nb201' benchmark needs the loaded NB201 table (deps.nb201)",
      })
    }
    return createNb201Evaluator(deps.nb201, {
      dataset: config.dataset,
      ...(config.metrics !== undefined ? { metrics: config.metrics } : {}),
    })
  }
  if (deps.space === undefined) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `a '${config.kind}' benchmark needs a search space (deps.space)`,
    })
  }
  const { kind: _kind, ...opts } = config
  return config.kind === 'synthetic'
    ? createSyntheticBenchmark(deps.space, opts)
    : createMultiFidelityBenchmark(deps.space, opts)
}
