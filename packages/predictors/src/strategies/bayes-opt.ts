import type { EncodingKind } from '@nasjs/search-space'
import type { StrategyContext, StrategyDefinition } from '@nasjs/strategies'
import { z } from 'zod'
import { PredictorConfig, predictorModels, type PredictorModels } from '../registry.js'
import type { Predictor } from '../types.js'
import {
  ExtraFeatures,
  StrategyEncoding,
  SurrogateStrategy,
  resolveEncoding,
  resolveExtraFeatures,
  type FeatureUse,
} from './surrogate-base.js'

/** Standard normal density and distribution function (Abramowitz and Stegun 7.1.26 for erf). */
const SQRT2 = Math.SQRT2
function normPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI)
}
function normCdf(z: number): number {
  const x = Math.abs(z) / SQRT2
  const t = 1 / (1 + 0.3275911 * x)
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x)
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf)
}

/**
 * Expected improvement over `best` of a Gaussian prediction (to maximise), Jones, Schonlau and Welch
 * (1998). With zero std it is the plain improvement.
 * @since 0.1.0
 * @category strategies
 */
export function expectedImprovement(mean: number, std: number, best: number): number {
  if (!(std > 1e-12)) return Math.max(mean - best, 0)
  const z = (mean - best) / std
  return (mean - best) * normCdf(z) + std * normPdf(z)
}

const baseShape = {
  encoding: StrategyEncoding.default('auto').describe(
    "architecture encoding for the model; 'auto' picks the strategy's preferred one the space has",
  ),
  extraFeatures: ExtraFeatures,
  acquisition: z
    .enum(['its', 'ucb', 'ei'])
    .describe('its = independent Thompson sampling, ucb = mean + ucbBeta * std, ei = expected improvement'),
  ucbBeta: z.number().min(0).default(0.5).describe('exploration weight of ucb'),
  initialSamples: z.number().int().min(2).default(10).describe('random architectures before the first fit'),
  batchSize: z.number().int().min(1).describe('architectures chosen per model fit'),
  candidates: z.number().int().min(1).describe('mutants of the best architectures scored per fit'),
  randomCandidates: z
    .number()
    .int()
    .min(0)
    .describe('random architectures scored per fit, besides the mutants'),
  mutateTop: z.number().int().min(1).describe('mutants are made from this many best architectures'),
  maxMutations: z.number().int().min(1).default(1).describe('each mutant applies 1..maxMutations mutations'),
}

/**
 * Config of {@link bananas}. Defaults follow White, Neiswanger and Savani (2021) and NASLib: a
 * five-MLP ensemble on the path encoding, independent Thompson sampling, 10 random architectures
 * first, then per fit 100 mutants (1-2 mutations) of the 10 best architectures scored and the top 10
 * evaluated. (NASLib mutates fewer parents once; on NAS-Bench-201 the wider pool did better in a
 * 6-seed pilot, see BENCHMARKS.md.)
 * @since 0.1.0
 */
export const BananasConfig = bananasConfigWith(PredictorConfig)

function bananasConfigWith<P extends z.ZodType<{ kind: string }, unknown>>(predictor: P) {
  return z
    .object({
      predictor: predictor
        .prefault({ kind: 'mlp-ensemble' } as never)
        .describe('the surrogate (any predictor config; uncertainty-free models fall back to their mean)'),
      ...baseShape,
      acquisition: baseShape.acquisition.default('its'),
      batchSize: baseShape.batchSize.default(10),
      candidates: baseShape.candidates.default(100),
      randomCandidates: baseShape.randomCandidates.default(0),
      mutateTop: baseShape.mutateTop.default(10),
      maxMutations: baseShape.maxMutations.default(2),
    })
    .strict()
}
/** The parsed {@link BananasConfig} (defaults filled in). @since 0.1.0 */
export type BananasConfig = z.infer<typeof BananasConfig>

/**
 * Config of {@link gpbo}: a Gaussian process (Matern-5/2, hyperparameters by marginal likelihood)
 * with expected improvement, one architecture per fit, candidates from mutants of the best and
 * random samples.
 * @since 0.1.0
 */
export const GpboConfig = gpboConfigWith(PredictorConfig)

function gpboConfigWith<P extends z.ZodType<{ kind: string }, unknown>>(predictor: P) {
  return z
    .object({
      predictor: predictor.prefault({ kind: 'gp' } as never).describe('the surrogate'),
      ...baseShape,
      acquisition: baseShape.acquisition.default('ei'),
      batchSize: baseShape.batchSize.default(1),
      candidates: baseShape.candidates.default(100),
      randomCandidates: baseShape.randomCandidates.default(100),
      mutateTop: baseShape.mutateTop.default(5),
    })
    .strict()
}
/** The parsed {@link GpboConfig} (defaults filled in). @since 0.1.0 */
export type GpboConfig = z.infer<typeof GpboConfig>

/** The built-in predictors, which the plain definitions select from. */
const BUILTIN = predictorModels()

type BoConfig = Omit<BananasConfig | GpboConfig, 'predictor'> & { readonly predictor: { kind: string } }

class SurrogateBo<A> extends SurrogateStrategy<A> {
  private readonly predictor: Predictor
  private readonly extra: FeatureUse

  constructor(
    readonly name: string,
    readonly config: BoConfig,
    ctx: StrategyContext<A>,
    preference: readonly EncodingKind[],
    models: PredictorModels,
  ) {
    super(ctx, resolveEncoding(ctx.space, config.encoding, preference), config.initialSamples)
    this.predictor = models.create(config.predictor)
    this.extra = resolveExtraFeatures(name, config.extraFeatures, ctx)[0]!
  }

  /** Loads what the surrogate's synchronous fit needs (TF.js for the MLP ensemble). */
  prepare(): Promise<void> {
    return this.predictor.prepare()
  }

  protected plan(): A[] {
    const cfg = this.config
    const train = this.history.filter((h) => h.violation === 0)
    const ranked = train.slice().sort((a, b) => a.f[0]! - b.f[0]!)
    const top = ranked.slice(0, cfg.mutateTop).map((h) => h.arch)
    const cands = this.mutationCandidates(top, cfg.candidates, cfg.maxMutations, cfg.randomCandidates)
    if (cands.length === 0) return []
    // The model learns the objective oriented to maximise.
    const y = train.map((h) => -h.f[0]!)
    const model = this.predictor.fitSync(
      this.featureRows(
        train.map((h) => h.arch),
        this.extra,
      ),
      y,
      {
        rng: this.rng.fork(),
      },
    )
    const { mean, std } = this.predictWith(model, cands, this.extra)
    const best = Math.max(...y)
    const score = new Float64Array(cands.length)
    for (let i = 0; i < cands.length; i++) {
      const m = mean[i]!
      const s = std[i]!
      score[i] =
        cfg.acquisition === 'its'
          ? this.rng.normal(m, s > 0 ? s : 0) // one independent posterior draw per candidate
          : cfg.acquisition === 'ucb'
            ? m + cfg.ucbBeta * s
            : expectedImprovement(m, s, best)
    }
    const order = Array.from(cands.keys()).sort((a, b) => score[b]! - score[a]! || a - b)
    return order.slice(0, cfg.batchSize).map((i) => cands[i]!)
  }
}

/**
 * BANANAS (White, Neiswanger and Savani 2021, "BANANAS: Bayesian Optimization with Neural
 * Architectures for Neural Architecture Search"): an ensemble of MLPs on the path encoding is the
 * surrogate; each iteration mutates the best architectures into candidates, scores them with an
 * acquisition function (independent Thompson sampling by default; UCB or EI) and evaluates the top
 * `batchSize`. Single objective.
 *
 * The MLP ensemble fits synchronously inside `ask`: the driver awaits the strategy's `prepare()`
 * (which loads TF.js and a backend) when the study opens; a hand-driven loop awaits it first.
 * @since 0.1.0
 * @category strategies
 */
export const bananas: StrategyDefinition<typeof BananasConfig, 'bananas'> = {
  name: 'bananas',
  description:
    'BANANAS: MLP-ensemble surrogate on the path encoding, Thompson sampling over mutants of the best',
  configSchema: BananasConfig,
  references: [
    'White, Neiswanger and Savani 2021, BANANAS: Bayesian Optimization with Neural Architectures for Neural Architecture Search',
  ],
  create: (config, ctx) => new SurrogateBo('bananas', config, ctx, ['path', 'onehot', 'ordinal'], BUILTIN),
}

/**
 * {@link bananas} whose `predictor` may also be one of the given models (`{ kind: 'parzc' }`). @internal
 */
export function bananasWith(
  models: PredictorModels,
): StrategyDefinition<ReturnType<typeof bananasConfigWith>, 'bananas'> {
  return {
    ...bananas,
    configSchema: bananasConfigWith(models.schema),
    create: (config, ctx) => new SurrogateBo('bananas', config, ctx, ['path', 'onehot', 'ordinal'], models),
  }
}

/** {@link gpbo} whose `predictor` may also be one of the given models. @internal */
export function gpboWith(
  models: PredictorModels,
): StrategyDefinition<ReturnType<typeof gpboConfigWith>, 'gpbo'> {
  return {
    ...gpbo,
    configSchema: gpboConfigWith(models.schema),
    create: (config, ctx) => new SurrogateBo('gpbo', config, ctx, ['adjacency', 'onehot', 'ordinal'], models),
  }
}

/**
 * Bayesian optimisation with a Gaussian-process surrogate and expected improvement (as in the GP
 * baselines of NASBOT, Kandasamy et al. 2018, here on a fixed encoding): one architecture per fit,
 * chosen among mutants of the best and random samples. Single objective.
 * @since 0.1.0
 * @category strategies
 */
export const gpbo: StrategyDefinition<typeof GpboConfig, 'gpbo'> = {
  name: 'gpbo',
  description: 'Gaussian-process Bayesian optimisation with expected improvement',
  configSchema: GpboConfig,
  references: [
    'Jones, Schonlau and Welch 1998, Efficient Global Optimization of Expensive Black-Box Functions',
  ],
  create: (config, ctx) => new SurrogateBo('gpbo', config, ctx, ['adjacency', 'onehot', 'ordinal'], BUILTIN),
}
