import { NasError, formatAllowed } from '@nasjs/core'
import type { TrialOutcome } from '@nasjs/core'
import type { EncodingKind, SearchSpace } from '@nasjs/search-space'
import { StrategyBase, fromJsonNumber, jsonNumber, totalViolation } from '@nasjs/strategies'
import type { Proposed, StrategyContext, StrategyState, TrialId } from '@nasjs/strategies'
import { z } from 'zod'
import { createFeaturizer } from '../features.js'
import type { FittedPredictor } from '../types.js'

const ENCODINGS = ['onehot', 'ordinal', 'adjacency', 'path'] as const

/**
 * The encoding a predictor-guided strategy feeds its model: one kind, several (concatenated), or
 * `'auto'` (the strategy's preferred kind that the space offers).
 * @since 0.1.0
 */
export const StrategyEncoding = z.union([
  z.literal('auto'),
  z.enum(ENCODINGS),
  z.array(z.enum(ENCODINGS)).min(1),
])
/** The parsed {@link StrategyEncoding} (defaults filled in). @since 0.1.0 */
export type StrategyEncoding = z.infer<typeof StrategyEncoding>

/** Resolves an encoding setting against a space. @internal */
export function resolveEncoding<A>(
  space: SearchSpace<A>,
  setting: StrategyEncoding,
  preference: readonly EncodingKind[],
): EncodingKind[] {
  if (setting === 'auto') {
    const k = preference.find((p) => space.encodings.includes(p)) ?? space.encodings[0]
    if (k === undefined) {
      throw new NasError({ code: 'SPACE_MISMATCH', message: `space ${space.id} offers no encoding` })
    }
    return [k]
  }
  const kinds = typeof setting === 'string' ? [setting] : setting
  for (const k of kinds) {
    if (!space.encodings.includes(k)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `space ${space.id} has no '${k}' encoding; expected ${formatAllowed([...space.encodings, 'auto'])}`,
        value: k,
        allowed: [...space.encodings, 'auto'],
        path: ['encoding'],
      })
    }
  }
  return [...kinds]
}

const FeatureFlag = z.union([z.boolean(), z.literal('only')])

/**
 * Which objectives' models get the caller's free features (`StrategyContext.features`): `false`
 * (the encoding alone), `true` (the encoding, then the features), `'only'` (the features without
 * the encoding, for models such as ParZC that read per-layer statistics), for all objectives or one
 * flag per objective.
 * @since 0.1.0
 */
export const ExtraFeatures = z
  .union([FeatureFlag, z.array(FeatureFlag).min(1)])
  .default(false)
  .describe(
    "feed the caller's free features (params, FLOPs, zero-cost scores; StrategyContext.features) to the models: false, true (after the encoding), 'only' (instead of it), or one flag per objective",
  )

/** What one model's feature rows are made of (see {@link ExtraFeatures}). @internal */
export type FeatureUse = boolean | 'only'

/**
 * The per-objective flags of an {@link ExtraFeatures} setting, or a `CONFIG_INVALID` error when it
 * asks for features the caller did not give or has the wrong length. @internal
 */
export function resolveExtraFeatures<A>(
  strategy: string,
  setting: FeatureUse | readonly FeatureUse[],
  ctx: StrategyContext<A>,
): FeatureUse[] {
  const M = ctx.objectives.length
  if (Array.isArray(setting) && setting.length !== M) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${strategy} extraFeatures has ${setting.length} flags but there are ${M} objectives; give one per objective or one boolean`,
      value: setting,
      allowed: [M],
      path: ['extraFeatures'],
    })
  }
  const flags = Array.isArray(setting)
    ? [...(setting as readonly FeatureUse[])]
    : Array.from({ length: M }, () => setting as FeatureUse)
  if (flags.some((f) => f !== false) && ctx.features === undefined) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${strategy} extraFeatures needs free features from the caller (StrategyContext.features, e.g. nb201FreeFeatures(bench).of from @nasjs/benchmarks), and none were given; set extraFeatures: false or pass features`,
      value: setting,
      allowed: [false],
      path: ['extraFeatures'],
    })
  }
  return flags
}

/** One evaluated architecture: its objective values as a minimisation vector, and its violation. */
export interface Observation<A> {
  readonly arch: A
  readonly f: readonly number[]
  readonly violation: number
}

/**
 * The mechanics the predictor-guided strategies share: the evaluated history, the set of
 * architectures already proposed (by functional hash), a queue of chosen proposals that is refilled
 * by `plan()` once every earlier proposal is told, and the initial random phase. @internal
 */
export abstract class SurrogateStrategy<A> extends StrategyBase<A> {
  protected history: Observation<A>[] = []
  protected queue: A[] = []
  protected seen = new Set<string>()
  protected iterations = 0
  protected readonly featurize: (a: A) => Float32Array
  /** The encoding followed by the caller's free features (`StrategyContext.features`), when given. */
  protected readonly featurizeWithExtra: ((a: A) => Float32Array) | undefined
  /** The caller's free features alone, when given. */
  protected readonly featurizeExtraOnly: ((a: A) => Float32Array) | undefined

  /**
   * `identity: 'functional'` treats functionally equal architectures (same `space.hash`) as one;
   * `'exact'` tells them apart, for objectives such as measured latency that differ between them.
   */
  constructor(
    ctx: StrategyContext<A>,
    encoding: readonly EncodingKind[],
    private readonly initialSamples: number,
    private readonly identity: 'functional' | 'exact' = 'functional',
  ) {
    super(ctx)
    this.featurize = createFeaturizer(ctx.space, { encoding })
    this.featurizeWithExtra =
      ctx.features === undefined ? undefined : createFeaturizer(ctx.space, { encoding, extra: ctx.features })
    this.featurizeExtraOnly =
      ctx.features === undefined
        ? undefined
        : createFeaturizer(ctx.space, { encoding: [], extra: ctx.features })
  }

  /** The key under which an architecture counts as already proposed. */
  protected key(a: A): string {
    return this.identity === 'functional' ? this.space.hash(a) : JSON.stringify(this.space.toJSON(a))
  }

  /** Chooses the next batch (at least one architecture not in `seen`), or `[]` to fall back to random. */
  protected abstract plan(): A[]

  protected propose(): Proposed<A> | undefined {
    if (this.queue.length > 0) {
      const arch = this.queue.shift()!
      return { arch }
    }
    const usable = this.history.filter((h) => h.violation === 0).length
    const random = this.history.length + this.pending.size < this.initialSamples || usable < 2
    if (!random && this.pending.size > 0) return undefined // wait for the batch before refitting
    if (!random) {
      const batch = this.plan()
      this.iterations++
      if (batch.length > 0) {
        for (const a of batch) this.seen.add(this.key(a))
        this.queue = batch.slice(1)
        return { arch: batch[0]! }
      }
    }
    return { arch: this.randomUnseen() }
  }

  /** A random architecture not proposed before (after a few tries, any random one). */
  protected randomUnseen(): A {
    let a = this.space.sample(this.rng)
    for (let t = 0; t < 50 && this.seen.has(this.key(a)); t++) a = this.space.sample(this.rng)
    this.seen.add(this.key(a))
    return a
  }

  protected observe(arch: A, outcome: TrialOutcome, _id: TrialId | undefined): void {
    this.seen.add(this.key(arch))
    if (outcome.status !== 'complete') return
    const f: number[] = []
    for (const o of this.objectives) {
      const x = outcome.metrics[o.name]
      if (x === undefined || !Number.isFinite(x)) return
      f.push(o.direction === 'max' ? -x : x)
    }
    this.history.push({ arch, f, violation: totalViolation(this.constraints, outcome.metrics) })
  }

  /**
   * Feature rows of architectures: the strategy's encoding, followed by the free features when
   * `extra` is true, or the free features alone when it is `'only'`.
   */
  protected featureRows(archs: readonly A[], extra: FeatureUse = false): Float32Array[] {
    const f = extra === 'only' ? this.featurizeExtraOnly : extra ? this.featurizeWithExtra : this.featurize
    return archs.map((a) => (f ?? this.featurize)(a))
  }

  /** Predictions of a fitted model, released afterwards. */
  protected predictWith(
    model: FittedPredictor,
    archs: readonly A[],
    extra: FeatureUse = false,
  ): { mean: Float64Array; std: Float64Array } {
    try {
      const p = model.predict(this.featureRows(archs, extra))
      return { mean: p.mean, std: p.std ?? new Float64Array(p.mean.length) }
    } finally {
      model.dispose()
    }
  }

  /**
   * Candidates around the best architectures: `count` distinct, unseen mutants (1..maxMutations
   * mutations each) of architectures drawn from the `top` best, plus `random` unseen samples.
   */
  protected mutationCandidates(best: readonly A[], count: number, maxMutations: number, random: number): A[] {
    const out: A[] = []
    const local = new Set<string>()
    const push = (a: A) => {
      const h = this.key(a)
      if (this.seen.has(h) || local.has(h)) return false
      local.add(h)
      out.push(a)
      return true
    }
    for (let t = 0; out.length < count && t < count * 20 && best.length > 0; t++) {
      let a = this.rng.choice(best)
      const m = 1 + this.rng.int(maxMutations)
      for (let k = 0; k < m; k++) a = this.space.mutate(a, this.rng)
      push(a)
    }
    const target = out.length + random
    for (let t = 0; out.length < target && t < random * 20; t++) push(this.space.sample(this.rng))
    return out
  }

  protected saveState(): StrategyState {
    return {
      history: this.history.map((h) => ({
        arch: this.archJson(h.arch),
        f: h.f.map(jsonNumber),
        violation: jsonNumber(h.violation),
      })),
      queue: this.queue.map((a) => this.archJson(a)),
      seen: [...this.seen],
      iterations: this.iterations,
    }
  }

  protected loadState(state: StrategyState): void {
    const hs = state.history as { arch: unknown; f: unknown[]; violation: unknown }[]
    this.history = hs.map((h) => ({
      arch: this.archFromJson(h.arch),
      f: h.f.map(fromJsonNumber),
      violation: fromJsonNumber(h.violation),
    }))
    this.queue = (state.queue as unknown[]).map((j) => this.archFromJson(j))
    this.seen = new Set(state.seen as string[])
    this.iterations = state.iterations as number
  }
}
