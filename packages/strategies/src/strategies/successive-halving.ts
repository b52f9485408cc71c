import type { TrialOutcome } from '@nasjs/core'
import { z } from 'zod'
import { StrategyBase, compareFitness, fitnessFromJson, fitnessJson, fitnessOf } from '../base.js'
import type { Fitness, Proposed } from '../base.js'
import type { StrategyContext, StrategyDefinition, StrategyState, TrialId } from '../types.js'

const FidelityFields = {
  minFidelity: z.number().positive().default(1).describe('r: the smallest fidelity (e.g. epochs)'),
  maxFidelity: z.number().positive().default(81).describe('R: the full fidelity'),
  eta: z.number().min(2).default(3).describe('keep the best 1/eta of each rung; fidelities grow by eta'),
  integer: z.boolean().default(true).describe('round fidelities to integers (epochs)'),
}

/**
 * Config of {@link successiveHalving}.
 * @since 0.1.0
 */
export const ShConfig = z
  .object({
    ...FidelityFields,
    archs: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('architectures in the first rung of each bracket (default eta^s_max: one survives)'),
  })
  .strict()
  .refine((c) => c.minFidelity <= c.maxFidelity, {
    message: 'minFidelity must not exceed maxFidelity',
    path: ['minFidelity'],
  })
/** @since 0.1.0 */
export type ShConfig = z.infer<typeof ShConfig>

/**
 * Config of {@link hyperband}.
 * @since 0.1.0
 */
export const HyperbandConfig = z
  .object(FidelityFields)
  .strict()
  .refine((c) => c.minFidelity <= c.maxFidelity, {
    message: 'minFidelity must not exceed maxFidelity',
    path: ['minFidelity'],
  })
/** @since 0.1.0 */
export type HyperbandConfig = z.infer<typeof HyperbandConfig>

/**
 * s_max = floor(log_eta(R / r)), guarded against floating-point error.
 * @since 0.1.0
 */
export function maxBracket(minFidelity: number, maxFidelity: number, eta: number): number {
  let s = 0
  while (minFidelity * Math.pow(eta, s + 1) <= maxFidelity * (1 + 1e-9)) s++
  return s
}

interface RungEntry<A> {
  readonly arch: A
  fitness: Fitness | undefined
  told: boolean
}

class SuccessiveHalving<A> extends StrategyBase<A> {
  private readonly sMax: number
  /** Brackets started so far (Hyperband cycles s = sMax, sMax-1, ..., 0). */
  private bracket = 0
  private s = 0
  private rung = 0
  /** This rung's architectures (the first rung is sampled lazily). */
  private entries: RungEntry<A>[] = []
  private rungSize = 0
  private asked = 0
  private readonly slot = new Map<TrialId, number>()

  constructor(
    readonly name: 'sh' | 'hyperband',
    readonly config: ShConfig | HyperbandConfig,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
    this.sMax = maxBracket(config.minFidelity, config.maxFidelity, config.eta)
    this.startBracket()
  }

  private startBracket(): void {
    const { eta } = this.config
    this.s = this.name === 'hyperband' ? this.sMax - (this.bracket % (this.sMax + 1)) : this.sMax
    const archs = 'archs' in this.config ? this.config.archs : undefined
    this.rungSize =
      this.name === 'hyperband'
        ? Math.ceil(((this.sMax + 1) / (this.s + 1)) * Math.pow(eta, this.s))
        : (archs ?? Math.round(Math.pow(eta, this.s)))
    this.rung = 0
    this.entries = []
    this.asked = 0
  }

  /** The fidelity of rung `i` of a bracket with `s` halvings: R * eta^(i - s), the last rung exactly R. */
  private fidelity(i: number): number {
    const { maxFidelity, eta, integer } = this.config
    if (i >= this.s) return maxFidelity
    const f = maxFidelity * Math.pow(eta, i - this.s)
    return integer ? Math.max(1, Math.round(f)) : f
  }

  protected override countsForBest(fidelity: number | undefined): boolean {
    return fidelity === undefined || fidelity === this.config.maxFidelity
  }

  protected propose(): Proposed<A> | undefined {
    if (this.asked >= this.rungSize) return undefined
    const k = this.asked++
    if (this.rung === 0)
      this.entries.push({ arch: this.space.sample(this.rng), fitness: undefined, told: false })
    this.slot.set(this.nextId, k)
    return { arch: this.entries[k]!.arch, fidelity: this.fidelity(this.rung) }
  }

  protected observe(_arch: A, outcome: TrialOutcome, id: TrialId | undefined): void {
    const k = id === undefined ? undefined : this.slot.get(id)
    if (id === undefined || k === undefined) return
    this.slot.delete(id)
    const e = this.entries[k]!
    e.told = true
    e.fitness = fitnessOf(this.objectives, this.constraints, outcome)
    if (this.asked < this.rungSize || this.entries.some((x) => !x.told)) return
    // the rung is complete: promote the best 1/eta, or start the next bracket after the last rung
    const keep = Math.floor(this.rungSize / this.config.eta)
    const ranked = this.entries
      .filter((x) => x.fitness !== undefined)
      .sort((a, b) => compareFitness(b.fitness!, a.fitness!))
    if (this.rung >= this.s || keep < 1 || ranked.length === 0) {
      this.bracket++
      this.startBracket()
      return
    }
    this.entries = ranked.slice(0, keep).map((x) => ({ arch: x.arch, fitness: undefined, told: false }))
    this.rungSize = this.entries.length
    this.rung++
    this.asked = 0
  }

  protected saveState(): StrategyState {
    return {
      bracket: this.bracket,
      s: this.s,
      rung: this.rung,
      rungSize: this.rungSize,
      asked: this.asked,
      entries: this.entries.map((e) => ({
        arch: this.archJson(e.arch),
        told: e.told,
        fitness: e.fitness === undefined ? null : fitnessJson(e.fitness),
      })),
      slot: [...this.slot],
    }
  }

  protected loadState(st: StrategyState): void {
    this.bracket = st.bracket as number
    this.s = st.s as number
    this.rung = st.rung as number
    this.rungSize = st.rungSize as number
    this.asked = st.asked as number
    this.entries = (st.entries as { arch: unknown; told: boolean; fitness: unknown }[]).map((e) => ({
      arch: this.archFromJson(e.arch),
      told: e.told,
      fitness: e.fitness === null ? undefined : fitnessFromJson(e.fitness),
    }))
    this.slot.clear()
    for (const [id, k] of st.slot as [number, number][]) this.slot.set(id, k)
  }
}

/**
 * Successive halving (Jamieson and Talwalkar 2016; Karnin, Koren and Somekh 2013): a bracket
 * evaluates `archs` random architectures at fidelity `R * eta^-s`, keeps the best `1/eta`, evaluates
 * them at `eta` times the fidelity, and so on until the full fidelity `R`; then a new bracket starts.
 * Proposals carry `fidelity`, so the evaluator must accept one (`requiresFidelity`).
 * @since 0.1.0
 * @category strategies
 */
export const successiveHalving: StrategyDefinition<typeof ShConfig, 'sh'> = {
  name: 'sh',
  description: 'successive halving over fidelities (e.g. epochs), keep the best 1/eta per rung',
  configSchema: ShConfig,
  requiresFidelity: true,
  references: [
    'Jamieson and Talwalkar 2016, Non-stochastic Best Arm Identification and Hyperparameter Optimization',
  ],
  create: (config, ctx) => new SuccessiveHalving('sh', config, ctx),
}

/**
 * Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh and Talwalkar 2017): cycles successive-halving
 * brackets `s = s_max, ..., 0` with `n = ceil((s_max + 1) / (s + 1) * eta^s)` architectures starting at
 * fidelity `R * eta^-s`, hedging between many cheap and few full evaluations.
 * @since 0.1.0
 * @category strategies
 */
export const hyperband: StrategyDefinition<typeof HyperbandConfig, 'hyperband'> = {
  name: 'hyperband',
  description: 'Hyperband: successive-halving brackets with different trade-offs of breadth and fidelity',
  configSchema: HyperbandConfig,
  requiresFidelity: true,
  references: [
    'Li, Jamieson, DeSalvo, Rostamizadeh and Talwalkar 2017, Hyperband: A Novel Bandit-Based Approach to Hyperparameter Optimization',
  ],
  create: (config, ctx) => new SuccessiveHalving('hyperband', config, ctx),
}
