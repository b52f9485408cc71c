import { NasError } from '@nasjs/core'
import { z } from 'zod'
import { averagePredictor } from './average.js'
import { gaussianProcess, GpConfig } from './gp.js'
import { GradientBoostingConfig, RandomForestConfig, gradientBoosting, randomForest } from './forest.js'
import { BayesianLinearConfig, RidgeConfig, bayesianLinear, ridge } from './linear.js'
import { MlpConfig, MlpEnsembleConfig, mlp, mlpEnsemble } from './mlp.js'
import type { Predictor } from './types.js'

/** The single models, which an {@link AverageConfig} averages. */
const SingleConfig = z.discriminatedUnion('kind', [
  RidgeConfig,
  BayesianLinearConfig,
  GpConfig,
  RandomForestConfig,
  GradientBoostingConfig,
  MlpConfig,
  MlpEnsembleConfig,
])

/**
 * A weighted average of single models (see {@link averagePredictor}), e.g.
 * `{ kind: 'average', members: [{ kind: 'random-forest' }, { kind: 'gradient-boosting' }] }`.
 * @since 0.1.0
 * @category models
 */
export const AverageConfig = z
  .object({
    kind: z.literal('average'),
    members: z.array(SingleConfig).min(2).describe('the models averaged (at least 2)'),
    weights: z
      .array(z.number().gt(0))
      .optional()
      .describe('one positive weight per member, normalised to sum to 1 (default: equal)'),
    seed: z.number().int().default(0).describe("seed of the members' streams when a fit is given no rng"),
  })
  .strict()
  .refine((c) => c.weights === undefined || c.weights.length === c.members.length, {
    message: 'give one weight per member',
    path: ['weights'],
  })

/**
 * The config of any built-in predictor, discriminated by `kind`.
 * @since 0.1.0
 * @category models
 */
export const PredictorConfig = z.discriminatedUnion('kind', [...SingleConfig.options, AverageConfig])
/** The parsed {@link PredictorConfig} (defaults filled in). @since 0.1.0 */
export type PredictorConfig = z.infer<typeof PredictorConfig>

/**
 * The `kind`s of the built-in predictors.
 * @since 0.1.0
 */
export const PREDICTOR_KINDS = [
  'ridge',
  'bayesian-linear',
  'gp',
  'random-forest',
  'gradient-boosting',
  'mlp',
  'mlp-ensemble',
  'average',
] as const satisfies readonly PredictorConfig['kind'][]

/**
 * Builds a predictor from a config (validated by {@link PredictorConfig}; a bad config is a
 * `NasError` with code `CONFIG_INVALID`).
 *
 * @example
 * ```ts
 * const p = createPredictor({ kind: 'random-forest', nTrees: 100 })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function createPredictor(config: z.input<typeof PredictorConfig>): Predictor {
  const cfg = parseConfig(config)
  switch (cfg.kind) {
    case 'ridge':
      return ridge(strip(cfg))
    case 'bayesian-linear':
      return bayesianLinear(strip(cfg))
    case 'gp':
      return gaussianProcess(strip(cfg))
    case 'random-forest':
      return randomForest(strip(cfg))
    case 'gradient-boosting':
      return gradientBoosting(strip(cfg))
    case 'mlp':
      return mlp(strip(cfg))
    case 'mlp-ensemble':
      return mlpEnsemble(strip(cfg))
    case 'average':
      return averagePredictor(
        cfg.members.map((m) => createPredictor(m)),
        { ...(cfg.weights !== undefined ? { weights: cfg.weights } : {}), seed: cfg.seed },
      )
  }
}

/**
 * A predictor model from outside this package (ParZC in `@nasjs/proxies`, or your own), for the
 * predictor-guided strategies: its config schema (an object whose `kind` is a literal, the name the
 * strategies' `predictor` field selects it by) and a constructor.
 *
 * @example
 * ```ts
 * const knn: PredictorDefinition = {
 *   kind: 'knn',
 *   description: 'k nearest neighbours',
 *   configSchema: z.object({ kind: z.literal('knn'), k: z.number().int().min(1).default(5) }).strict(),
 *   create: (config) => myKnn(config),
 * }
 * const registry = createStrategyRegistry([...builtinStrategies, ...predictorStrategiesWith([knn])])
 * ```
 * @since 0.2.0
 * @category models
 */
export interface PredictorDefinition {
  readonly kind: string
  readonly description: string
  /** Parses a config `{ kind, ... }` (defaults filled in); its `kind` is a literal. */
  readonly configSchema: z.ZodObject<{ kind: z.ZodType }>
  readonly create: (config: { readonly kind: string }) => Predictor
}

/**
 * A set of predictor models: the built-ins and any {@link PredictorDefinition}s, with one config
 * schema (discriminated by `kind`) and one constructor.
 * @since 0.2.0
 * @category models
 */
export interface PredictorModels {
  /** Every `kind` of the set, built-ins first. */
  readonly kinds: readonly string[]
  /** The config of any model of the set. */
  readonly schema: z.ZodType<{ kind: string }, unknown>
  /** Builds a model from a config (`NOT_REGISTERED` for an unknown kind, `CONFIG_INVALID` for a bad config). */
  create(config: unknown): Predictor
}

/**
 * The built-in predictors plus `extra` models, as one {@link PredictorModels} set.
 * @since 0.2.0
 * @category models
 */
export function predictorModels(extra: readonly PredictorDefinition[] = []): PredictorModels {
  const kinds: string[] = [...PREDICTOR_KINDS]
  for (const d of extra) {
    if (kinds.includes(d.kind)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `predictor kind '${d.kind}' is defined twice`,
        value: d.kind,
      })
    }
    kinds.push(d.kind)
  }
  if (extra.length === 0) {
    return { kinds, schema: PredictorConfig, create: (c) => createPredictor(c as PredictorConfig) }
  }
  const schema = z.discriminatedUnion('kind', [
    ...SingleConfig.options,
    AverageConfig,
    ...extra.map((d) => d.configSchema),
  ]) as unknown as z.ZodType<{ kind: string }, unknown>
  return {
    kinds,
    schema,
    create(config) {
      const kind = (config as { kind?: unknown } | null)?.kind
      const def = extra.find((d) => d.kind === kind)
      if (def === undefined) {
        if (!PREDICTOR_KINDS.includes(kind as PredictorConfig['kind'])) {
          throw new NasError({
            code: 'NOT_REGISTERED',
            message: `unknown predictor kind '${String(kind)}'; expected one of ${kinds.join(', ')}`,
            value: kind,
            allowed: kinds,
            path: ['kind'],
          })
        }
        return createPredictor(config as PredictorConfig)
      }
      const r = def.configSchema.safeParse(config)
      if (!r.success) {
        const issue = r.error.issues[0]!
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `invalid ${def.kind} predictor config at '${issue.path.join('.') || '(root)'}': ${issue.message}`,
          value: config,
          path: issue.path.filter((p): p is string | number => typeof p !== 'symbol'),
        })
      }
      return def.create(r.data as { kind: string })
    },
  }
}

function strip<T extends { kind: string }>(cfg: T): Omit<T, 'kind'> {
  const { kind: _kind, ...rest } = cfg
  return rest
}

function parseConfig(config: unknown): PredictorConfig {
  const r = PredictorConfig.safeParse(config)
  if (r.success) return r.data
  const issue = r.error.issues[0]!
  const kind = (config as { kind?: unknown } | null)?.kind
  const unknownKind = !PREDICTOR_KINDS.includes(kind as PredictorConfig['kind'])
  throw new NasError({
    code: unknownKind ? 'NOT_REGISTERED' : 'CONFIG_INVALID',
    message: unknownKind
      ? `unknown predictor kind '${String(kind)}'; expected one of ${PREDICTOR_KINDS.join(', ')}`
      : `invalid ${String(kind)} predictor config at '${issue.path.join('.') || '(root)'}': ${issue.message}`,
    value: unknownKind ? kind : config,
    ...(unknownKind ? { allowed: PREDICTOR_KINDS } : {}),
    path: issue.path.filter((p): p is string | number => typeof p !== 'symbol'),
  })
}
