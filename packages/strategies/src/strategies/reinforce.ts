import { NasError } from '@nasjs/core'
import type { Metrics, TrialOutcome } from '@nasjs/core'
import { z } from 'zod'
import { StrategyBase, fitnessOf } from '../base.js'
import type { Proposed } from '../base.js'
import type { StrategyContext, StrategyDefinition, StrategyState, TrialId } from '../types.js'

/**
 * The MnasNet reward (Tan et al. 2019): `ACC(m) x (LAT(m) / T)^w` with `w = alpha` when
 * `LAT <= T` and `w = beta` otherwise. The paper's soft constraint is `alpha = beta = -0.07`; the
 * hard one `alpha = 0, beta = -1`.
 * @since 0.1.0
 */
export const MnasnetReward = z
  .object({
    kind: z.literal('mnasnet'),
    accuracy: z.string().default('valid_acc').describe('the accuracy metric (ACC)'),
    latency: z.string().default('latency.pixel3').describe('the latency metric (LAT)'),
    target: z.number().positive().describe('the latency target T'),
    alpha: z.number().default(-0.07),
    beta: z.number().default(-0.07),
  })
  .strict()
/** @since 0.1.0 */
export type MnasnetReward = z.infer<typeof MnasnetReward>

/**
 * Computes the MnasNet reward of `metrics`; `undefined` when a metric is missing or not finite.
 * @example
 * ```ts
 * mnasnetReward({ valid_acc: 90, 'latency.pixel3': 10 }, { kind: 'mnasnet', accuracy: 'valid_acc', latency: 'latency.pixel3', target: 5, alpha: -0.07, beta: -0.07 })
 * // 90 * 2 ** -0.07 = 85.7...
 * ```
 * @since 0.1.0
 */
export function mnasnetReward(metrics: Readonly<Metrics>, r: MnasnetReward): number | undefined {
  const acc = metrics[r.accuracy]
  const lat = metrics[r.latency]
  if (acc === undefined || lat === undefined || !Number.isFinite(acc) || !(lat > 0)) return undefined
  const w = lat <= r.target ? r.alpha : r.beta
  return acc * Math.pow(lat / r.target, w)
}

/**
 * Config of {@link reinforce}.
 * @since 0.1.0
 */
export const ReinforceConfig = z
  .object({
    learningRate: z.number().positive().default(0.01).describe('step size of the policy update'),
    optimizer: z
      .enum(['adam', 'sgd'])
      .default('adam')
      .describe('Adam (as in the NAS-Bench-201 baseline) or plain gradient ascent'),
    baselineMomentum: z
      .number()
      .min(0)
      .max(1)
      .default(0.9)
      .describe('moving-average baseline: b <- m * b + (1 - m) * reward'),
    reward: z
      .discriminatedUnion('kind', [z.object({ kind: z.literal('objective') }).strict(), MnasnetReward])
      .default({ kind: 'objective' })
      .describe("'objective' (the first objective, larger is better) or the MnasNet latency-aware reward"),
  })
  .strict()
/** @since 0.1.0 */
export type ReinforceConfig = z.infer<typeof ReinforceConfig>

interface Param {
  /** Logits of one decision's categorical policy. */
  theta: number[]
  m: number[]
  v: number[]
  t: number
}

const ADAM_B1 = 0.9
const ADAM_B2 = 0.999
const ADAM_EPS = 1e-8

function softmax(theta: readonly number[]): number[] {
  let mx = -Infinity
  for (const x of theta) mx = Math.max(mx, x)
  const e = theta.map((x) => Math.exp(x - mx))
  const s = e.reduce((a, b) => a + b, 0)
  return e.map((x) => x / s)
}

class Reinforce<A> extends StrategyBase<A> {
  readonly name = 'reinforce'
  private readonly params = new Map<string, Param>()
  private baseline: number | undefined
  /** Decisions taken per outstanding trial: [decision name, size, choice]. */
  private readonly taken = new Map<TrialId, [string, number, number][]>()

  constructor(
    readonly config: ReinforceConfig,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
    if (ctx.objectives.length > 1 && config.reward.kind !== 'mnasnet') {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `reinforce optimises one objective unless reward.kind is 'mnasnet'; got ${ctx.objectives.length} objectives`,
        value: ctx.objectives.map((o) => o.name),
        allowed: ['objective', 'mnasnet'],
      })
    }
  }

  private param(name: string, size: number): Param {
    let p = this.params.get(name)
    if (p === undefined) {
      p = {
        theta: new Array<number>(size).fill(0),
        m: new Array<number>(size).fill(0),
        v: new Array<number>(size).fill(0),
        t: 0,
      }
      this.params.set(name, p)
    }
    return p
  }

  /** The current policy's probabilities for a decision (uniform before any update). */
  probabilities(name: string): number[] | undefined {
    const p = this.params.get(name)
    return p === undefined ? undefined : softmax(p.theta)
  }

  protected propose(): Proposed<A> {
    const dec = this.space.decisions
    const ds: number[] = []
    const taken: [string, number, number][] = []
    for (let d = dec.next(ds); d !== undefined; d = dec.next(ds)) {
      const p = this.param(d.name, d.size)
      const c = this.rng.weightedIndex(softmax(p.theta))
      ds.push(c)
      taken.push([d.name, d.size, c])
    }
    this.taken.set(this.nextId, taken)
    return { arch: dec.build(ds) }
  }

  private rewardOf(outcome: TrialOutcome): number | undefined {
    if (outcome.status !== 'complete') return undefined
    if (this.config.reward.kind === 'mnasnet') return mnasnetReward(outcome.metrics, this.config.reward)
    const f = fitnessOf(this.objectives, this.constraints, outcome)
    if (f === undefined) return undefined
    return f.violation > 0 ? f.value - f.violation * 1e3 : f.value
  }

  protected observe(arch: A, outcome: TrialOutcome, id: TrialId | undefined): void {
    let taken = id === undefined ? undefined : this.taken.get(id)
    if (id !== undefined) this.taken.delete(id)
    const r = this.rewardOf(outcome)
    if (r === undefined) return // failed / pruned: no reward, no update
    if (taken === undefined) {
      // an unasked architecture: its decisions as the trajectory (off-policy, as a plain warm start)
      const dec = this.space.decisions
      const ds = dec.decide(arch)
      taken = ds.map((c, k) => {
        const d = dec.next(ds.slice(0, k))!
        return [d.name, d.size, c]
      })
    }
    const b = this.baseline ?? r
    const adv = r - b
    this.baseline = this.config.baselineMomentum * b + (1 - this.config.baselineMomentum) * r
    for (const [name, size, c] of taken) {
      const p = this.param(name, size)
      const pr = softmax(p.theta)
      // gradient of adv * log pi(c) with respect to the logits
      const g = pr.map((q, j) => adv * ((j === c ? 1 : 0) - q))
      if (this.config.optimizer === 'sgd') {
        for (let j = 0; j < size; j++) p.theta[j]! += this.config.learningRate * g[j]!
      } else {
        p.t++
        for (let j = 0; j < size; j++) {
          p.m[j] = ADAM_B1 * p.m[j]! + (1 - ADAM_B1) * g[j]!
          p.v[j] = ADAM_B2 * p.v[j]! + (1 - ADAM_B2) * g[j]! * g[j]!
          const mh = p.m[j]! / (1 - Math.pow(ADAM_B1, p.t))
          const vh = p.v[j]! / (1 - Math.pow(ADAM_B2, p.t))
          p.theta[j]! += (this.config.learningRate * mh) / (Math.sqrt(vh) + ADAM_EPS)
        }
      }
    }
  }

  protected saveState(): StrategyState {
    return {
      params: [...this.params].map(([k, p]) => [k, p.theta, p.m, p.v, p.t]),
      baseline: this.baseline ?? null,
      taken: [...this.taken],
    }
  }

  protected loadState(s: StrategyState): void {
    this.params.clear()
    for (const [k, theta, m, v, t] of s.params as [string, number[], number[], number[], number][]) {
      this.params.set(k, { theta: theta.slice(), m: m.slice(), v: v.slice(), t })
    }
    this.baseline = (s.baseline as number | null) ?? undefined
    this.taken.clear()
    for (const [id, tk] of s.taken as [number, [string, number, number][]][]) this.taken.set(id, tk)
  }
}

/**
 * REINFORCE policy gradient (Williams 1992) over the space's decisions, the NAS-Bench-201 baseline
 * (Dong and Yang 2020): one categorical policy per decision name, sampled through `space.decisions`;
 * each complete outcome updates the logits by `lr * (R - b) * grad log pi(decisions)` (Adam by
 * default) with an exponential moving-average baseline `b`. The reward is the first objective
 * (larger is better) or the MnasNet reward `ACC x (LAT/T)^w` (Tan et al. 2019) for latency targets.
 * Failed and pruned trials give no update.
 * @since 0.1.0
 * @category strategies
 */
export const reinforce: StrategyDefinition<typeof ReinforceConfig, 'reinforce'> = {
  name: 'reinforce',
  description:
    'REINFORCE policy gradient over the decisions, moving-average baseline, optional MnasNet reward',
  configSchema: ReinforceConfig,
  multiObjective: true,
  references: [
    'Williams 1992, Simple Statistical Gradient-Following Algorithms for Connectionist Reinforcement Learning',
    'Dong and Yang 2020, NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search',
    'Tan et al. 2019, MnasNet: Platform-Aware Neural Architecture Search for Mobile',
  ],
  create: (config, ctx) => new Reinforce(config, ctx),
}
