import { Rng } from '@nasjs/core'
import type { Metrics, Objective, TrialOutcome } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { z } from 'zod'
import { StrategyBase, completeRandomly, fitnessOf } from '../base.js'
import type { Proposed } from '../base.js'
import type { Strategy, StrategyContext, StrategyDefinition, StrategyState, TrialId } from '../types.js'

/**
 * Config of {@link diverseBeam}.
 * @since 0.1.0
 */
export const BeamConfig = z
  .object({
    beamWidth: z.number().int().min(1).default(6).describe('B: beams kept per step, over all groups'),
    groups: z.number().int().min(1).default(3).describe('G: beam groups; B is split evenly between them'),
    diversityStrength: z
      .number()
      .min(0)
      .default(0.5)
      .describe(
        'lambda: Hamming penalty per earlier group that chose the same option at this step (scores scaled to [0, 1])',
      ),
    rollouts: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('random completions evaluated per partial sequence; its score is the best of them'),
  })
  .strict()
  .refine((c) => c.groups <= c.beamWidth, { message: 'groups must not exceed beamWidth', path: ['groups'] })
/** @since 0.1.0 */
export type BeamConfig = z.infer<typeof BeamConfig>

const key = (p: readonly number[]): string => p.join(',')

interface QueueItem {
  readonly key: string
  readonly decisions: number[]
}

class DiverseBeam<A> extends StrategyBase<A> {
  readonly name = 'beam'
  private round = 0
  /** Per group, its beams (decision prefixes); undefined between rounds. */
  private groups: number[][][] | undefined
  /** Best score per prefix in the current round (raw; larger is better; -Infinity = failed). */
  private readonly scores = new Map<string, number>()
  private queue: QueueItem[] = []
  private readonly pendingKeys = new Map<TrialId, string>()
  private finals: number[][] = []

  constructor(
    readonly config: BeamConfig,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
  }

  private complete(p: readonly number[]): boolean {
    return this.space.decisions.next(p) === undefined
  }

  /** Candidate prefixes of group `g`: complete beams carry over, the others extend by one decision. */
  private candidates(g: number): number[][] {
    const out: number[][] = []
    const seen = new Set<string>()
    for (const p of this.groups![g]!) {
      const d = this.space.decisions.next(p)
      const ext = d === undefined ? [p] : Array.from({ length: d.size }, (_, i) => [...p, i])
      for (const c of ext) {
        const k = key(c)
        if (!seen.has(k)) {
          seen.add(k)
          out.push(c)
        }
      }
    }
    return out
  }

  private startStep(): void {
    if (this.groups === undefined) {
      this.groups = Array.from({ length: this.config.groups }, () => [[]])
      this.scores.clear()
    }
    const queued = new Set<string>()
    for (let g = 0; g < this.groups.length; g++) {
      for (const c of this.candidates(g)) {
        const k = key(c)
        if (this.scores.has(k) || queued.has(k)) continue
        queued.add(k)
        const n = this.complete(c) ? 1 : this.config.rollouts
        for (let r = 0; r < n; r++)
          this.queue.push({ key: k, decisions: completeRandomly(this.space, c, this.rng) })
      }
    }
    this.queue.reverse() // pop() then proposes in the order built
  }

  protected propose(): Proposed<A> | undefined {
    if (this.queue.length === 0) {
      if (this.pendingKeys.size > 0) return undefined
      this.startStep()
      while (this.queue.length === 0) {
        this.select() // every candidate already scored (complete beams only)
        this.startStep()
      }
    }
    const item = this.queue.pop()!
    this.pendingKeys.set(this.nextId, item.key)
    return { arch: this.space.decisions.build(item.decisions) }
  }

  /** Diverse beam selection (Vijayakumar et al. 2018), groups in order, Hamming diversity at this step. */
  private select(): void {
    const groups = this.groups!
    const per = Math.floor(this.config.beamWidth / groups.length)
    const extra = this.config.beamWidth % groups.length
    const all = groups.flatMap((_, g) => this.candidates(g))
    let lo = Infinity
    let hi = -Infinity
    for (const c of all) {
      const s = this.scores.get(key(c)) ?? -Infinity
      if (Number.isFinite(s)) {
        lo = Math.min(lo, s)
        hi = Math.max(hi, s)
      }
    }
    const norm = (s: number): number => (Number.isFinite(s) ? (hi > lo ? (s - lo) / (hi - lo) : 1) : -1e9)
    /** How often earlier groups chose each last token at this step. */
    const tokenCount = new Map<string, number>()
    const next: number[][][] = []
    for (let g = 0; g < groups.length; g++) {
      const cands = this.candidates(g).map((c) => {
        const t = c.length === 0 ? '' : `${c.length - 1}:${c[c.length - 1]}`
        const pen =
          this.complete(c) && groups[g]!.some((p) => key(p) === key(c)) ? 0 : (tokenCount.get(t) ?? 0)
        return { c, t, s: norm(this.scores.get(key(c)) ?? -Infinity) - this.config.diversityStrength * pen }
      })
      cands.sort((x, y) => y.s - x.s || (key(x.c) < key(y.c) ? -1 : 1))
      const chosen = cands.slice(0, per + (g < extra ? 1 : 0))
      for (const ch of chosen) tokenCount.set(ch.t, (tokenCount.get(ch.t) ?? 0) + 1)
      next.push(chosen.map((ch) => ch.c))
    }
    this.groups = next
    if (next.every((grp) => grp.every((p) => this.complete(p)))) {
      const uniq = new Map<string, number[]>()
      for (const p of next.flat()) uniq.set(key(p), p)
      this.finals = [...uniq.values()].sort(
        (a, b) => (this.scores.get(key(b)) ?? -Infinity) - (this.scores.get(key(a)) ?? -Infinity),
      )
      this.groups = undefined
      this.round++
    }
  }

  protected observe(arch: A, outcome: TrialOutcome, id: TrialId | undefined): void {
    const k = id === undefined ? undefined : this.pendingKeys.get(id)
    if (id !== undefined) this.pendingKeys.delete(id)
    if (k === undefined) return
    const f = fitnessOf(this.objectives, this.constraints, outcome)
    const s = f === undefined ? -Infinity : f.violation > 0 ? -1e12 - f.violation : f.value
    this.scores.set(k, Math.max(this.scores.get(k) ?? -Infinity, s))
    // the complete architecture is itself a (leaf) candidate of later steps
    const leaf = key(this.space.decisions.decide(arch))
    this.scores.set(leaf, Math.max(this.scores.get(leaf) ?? -Infinity, s))
    if (this.pendingKeys.size === 0 && this.queue.length === 0) this.select()
  }

  /** The diverse set of the last finished round, best first (empty before the first round ends). */
  diverseSet(): A[] {
    return this.finals.map((p) => this.space.decisions.build(p))
  }

  protected saveState(): StrategyState {
    return {
      round: this.round,
      groups: this.groups ?? null,
      scores: [...this.scores].map(([k, v]) => [k, Number.isFinite(v) ? v : null]),
      queue: this.queue.map((q) => [q.key, q.decisions]),
      pendingKeys: [...this.pendingKeys],
      finals: this.finals,
    }
  }

  protected loadState(s: StrategyState): void {
    this.round = s.round as number
    this.groups = (s.groups as number[][][] | null) ?? undefined
    this.scores.clear()
    for (const [k, v] of s.scores as [string, number | null][]) this.scores.set(k, v ?? -Infinity)
    this.queue = (s.queue as [string, number[]][]).map(([k, d]) => ({ key: k, decisions: d }))
    this.pendingKeys.clear()
    for (const [id, k] of s.pendingKeys as [number, string][]) this.pendingKeys.set(id, k)
    this.finals = s.finals as number[][]
  }
}

/**
 * Diverse beam search (Vijayakumar et al. 2018, "Diverse Beam Search: Decoding Diverse Solutions
 * from Neural Sequence Models") over the space's decision sequence. `beamWidth` beams in `groups`
 * groups; each step extends every beam by one decision, scores each partial sequence by evaluating
 * `rollouts` random completions of it (with any evaluator or predictor the driver uses), and lets
 * the groups choose in turn, each penalised by `diversityStrength` for every earlier group that took
 * the same option at this step (Hamming diversity). When every beam is complete the round's beams
 * are the diverse set ({@link DiverseBeamStrategy.diverseSet}) and a new round starts.
 * @since 0.1.0
 * @category strategies
 */
export const diverseBeam: StrategyDefinition<typeof BeamConfig, 'beam'> = {
  name: 'beam',
  description: 'diverse beam search over the decision sequence (Hamming diversity between groups)',
  configSchema: BeamConfig,
  references: [
    'Vijayakumar et al. 2018, Diverse Beam Search: Decoding Diverse Solutions from Neural Sequence Models',
  ],
  create: (config, ctx) => new DiverseBeam(config, ctx),
}

/**
 * The beam strategy's extra method.
 * @since 0.1.0
 */
export interface DiverseBeamStrategy<A> extends Strategy<A> {
  diverseSet(): A[]
}

/**
 * Runs one round of diverse beam search with a scoring function (an evaluator, a predictor, a
 * proxy), without a driver, and returns the diverse set best first.
 *
 * @example
 * ```ts
 * const set = await diverseBeamSearch(nb201, (a) => ({ score: predictor(a) }), { objective: { name: 'score', direction: 'max' }, seed: 1 })
 * ```
 * @since 0.1.0
 * @category strategies
 */
export async function diverseBeamSearch<A>(
  space: SearchSpace<A>,
  score: (arch: A) => Metrics | Promise<Metrics>,
  opts: { objective: Objective; seed: number; config?: z.input<typeof BeamConfig> },
): Promise<A[]> {
  const config = BeamConfig.parse(opts.config ?? {})
  const s = new DiverseBeam(config, {
    space,
    rng: new Rng(opts.seed),
    objectives: [opts.objective],
    constraints: [],
  })
  for (;;) {
    const batch = s.ask(1024)
    for (const p of batch) {
      let outcome: TrialOutcome
      try {
        outcome = { status: 'complete', metrics: await score(p.arch) }
      } catch (e) {
        outcome = { status: 'failed', reason: e instanceof Error ? e.message : String(e) }
      }
      s.tell(p.id, outcome)
    }
    const set = s.diverseSet()
    if (set.length > 0) return set
  }
}
