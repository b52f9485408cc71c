import type { TrialOutcome } from '@nasjs/core'
import { z } from 'zod'
import { StrategyBase, fitnessOf } from '../base.js'
import type { Fitness, Proposed } from '../base.js'
import type { StrategyContext, StrategyDefinition, StrategyState, TrialId } from '../types.js'

/**
 * Config of {@link mcts}.
 * @since 0.1.0
 */
export const MctsConfig = z
  .object({
    exploration: z
      .number()
      .min(0)
      .default(Math.SQRT2)
      .describe('UCT exploration constant c in mean + c * sqrt(ln N / n) (rewards are scaled to [0, 1])'),
    revisit: z
      .boolean()
      .default(false)
      .describe(
        'allow proposing a complete architecture again (for noisy evaluators); otherwise told leaves close',
      ),
    failureReward: z
      .enum(['min', 'skip'])
      .default('min')
      .describe("a failed or pruned trial backs up the lowest reward seen ('min') or nothing ('skip')"),
  })
  .strict()
/** @since 0.1.0 */
export type MctsConfig = z.infer<typeof MctsConfig>

interface Node {
  /** Completed visits (tells backed up through this node). */
  n: number
  /** Sum of raw rewards backed up. */
  sum: number
  /** Outstanding proposals through this node (counted as visits for exploration). */
  pending: number
  /** No unvisited leaf below (only without `revisit`). */
  closed: boolean
}

const key = (prefix: readonly number[]): string => prefix.join(',')

class Mcts<A> extends StrategyBase<A> {
  readonly name = 'mcts'
  private readonly nodes = new Map<string, Node>()
  private readonly paths = new Map<TrialId, number[]>()
  private lo = Number.POSITIVE_INFINITY
  private hi = Number.NEGATIVE_INFINITY

  constructor(
    readonly config: MctsConfig,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
  }

  private node(prefix: readonly number[]): Node {
    const k = key(prefix)
    let nd = this.nodes.get(k)
    if (nd === undefined) {
      nd = { n: 0, sum: 0, pending: 0, closed: false }
      this.nodes.set(k, nd)
    }
    return nd
  }

  private peek(prefix: readonly number[]): Node | undefined {
    return this.nodes.get(key(prefix))
  }

  override exhausted(): boolean {
    return (!this.config.revisit && this.peek([])?.closed === true) || super.exhausted()
  }

  /** A scalar reward, larger is better (a feasible value; infeasible ones sit below every feasible one). */
  private reward(f: Fitness): number {
    return f.violation > 0 ? -1e12 - f.violation : f.value
  }

  private normalized(nd: Node): number {
    const mean = nd.sum / nd.n
    return this.hi > this.lo ? (mean - this.lo) / (this.hi - this.lo) : 0.5
  }

  protected propose(): Proposed<A> | undefined {
    if (this.exhausted()) return undefined
    const dec = this.space.decisions
    const prefix: number[] = []
    let parent = this.node(prefix)
    const path: number[] = []
    for (let d = dec.next(prefix); d !== undefined; d = dec.next(prefix)) {
      // children that are open (not closed)
      const open: number[] = []
      const unvisited: number[] = []
      for (let i = 0; i < d.size; i++) {
        const c = this.peek([...prefix, i])
        if (c?.closed === true) continue
        open.push(i)
        if (c === undefined || c.n + c.pending === 0) unvisited.push(i)
      }
      let choice: number
      if (unvisited.length > 0) {
        choice = this.rng.choice(unvisited) // expansion
      } else {
        // UCT selection (Kocsis and Szepesvari 2006) over the open children
        const total = parent.n + parent.pending
        let best = -Infinity
        choice = open[0]!
        for (const i of open) {
          const c = this.peek([...prefix, i])!
          const visits = c.n + c.pending
          const mean = c.n > 0 ? this.normalized(c) : 0.5
          const u = mean + this.config.exploration * Math.sqrt(Math.log(Math.max(total, 1)) / visits)
          if (u > best) {
            best = u
            choice = i
          }
        }
      }
      prefix.push(choice)
      path.push(choice)
      parent = this.node(prefix)
    }
    // mark the path as outstanding; close the leaf right away so parallel asks do not repeat it
    for (let k = 0; k <= path.length; k++) this.node(path.slice(0, k)).pending++
    if (!this.config.revisit) this.close(path)
    this.paths.set(this.nextId, path)
    return { arch: dec.build(path) }
  }

  /** Closes the leaf `path` and every ancestor whose children are now all closed. */
  private close(path: readonly number[]): void {
    this.node(path).closed = true
    for (let k = path.length - 1; k >= 0; k--) {
      const prefix = path.slice(0, k)
      const d = this.space.decisions.next(prefix)!
      for (let i = 0; i < d.size; i++) if (this.peek([...prefix, i])?.closed !== true) return
      this.node(prefix).closed = true
    }
  }

  protected observe(arch: A, outcome: TrialOutcome, id: TrialId | undefined): void {
    let path = id === undefined ? undefined : this.paths.get(id)
    if (id !== undefined) this.paths.delete(id)
    const fromAsk = path !== undefined
    if (path === undefined) {
      path = this.space.decisions.decide(arch)
      if (!this.config.revisit) this.close(path)
    }
    const f = fitnessOf(this.objectives, this.constraints, outcome)
    let r: number | undefined
    if (f !== undefined) {
      r = this.reward(f)
      this.lo = Math.min(this.lo, r)
      this.hi = Math.max(this.hi, r)
    } else if (this.config.failureReward === 'min' && Number.isFinite(this.lo)) {
      r = this.lo
    }
    for (let k = 0; k <= path.length; k++) {
      const nd = this.node(path.slice(0, k))
      if (fromAsk) nd.pending--
      if (r !== undefined) {
        nd.n++
        nd.sum += r
      }
    }
  }

  /** The mean reward of each top-level option (for inspection and tests). */
  rootStats(): { visits: number; mean: number }[] {
    const d = this.space.decisions.next([])
    if (d === undefined) return []
    return Array.from({ length: d.size }, (_, i) => {
      const c = this.peek([i])
      return { visits: c?.n ?? 0, mean: c !== undefined && c.n > 0 ? c.sum / c.n : Number.NaN }
    })
  }

  protected saveState(): StrategyState {
    return {
      nodes: [...this.nodes].map(([k, v]) => [k, v.n, v.sum, v.pending, v.closed ? 1 : 0]),
      paths: [...this.paths],
      lo: Number.isFinite(this.lo) ? this.lo : null,
      hi: Number.isFinite(this.hi) ? this.hi : null,
    }
  }

  protected loadState(s: StrategyState): void {
    this.nodes.clear()
    for (const [k, n, sum, pending, closed] of s.nodes as [string, number, number, number, number][]) {
      this.nodes.set(k, { n, sum, pending, closed: closed === 1 })
    }
    this.paths.clear()
    for (const [id, p] of s.paths as [number, number[]][]) this.paths.set(id, p)
    this.lo = (s.lo as number | null) ?? Number.POSITIVE_INFINITY
    this.hi = (s.hi as number | null) ?? Number.NEGATIVE_INFINITY
  }
}

/**
 * Monte-Carlo tree search over the space's decision tree, as in DeepArchitect (Negrinho and Gordon
 * 2017): each node is a decision prefix; selection follows UCT (Kocsis and Szepesvari 2006) with
 * rewards min-max scaled to [0, 1]; an unvisited child is expanded at random, and the remaining
 * decisions of that first visit are again unvisited children, i.e. a random rollout; the reward of
 * the evaluated architecture is backed up along its path. Outstanding proposals count as visits so
 * parallel asks spread out. Without `revisit`, a told leaf closes and a subtree whose leaves are all
 * closed is skipped, so the search never proposes an architecture twice and ends after the whole
 * tree. Drives the space only through `space.decisions`.
 * @since 0.1.0
 * @category strategies
 */
export const mcts: StrategyDefinition<typeof MctsConfig, 'mcts'> = {
  name: 'mcts',
  description: 'Monte-Carlo tree search with UCT over the decision tree',
  configSchema: MctsConfig,
  references: [
    'Negrinho and Gordon 2017, DeepArchitect: Automatically Designing and Training Deep Architectures',
    'Kocsis and Szepesvari 2006, Bandit based Monte-Carlo Planning',
  ],
  create: (config, ctx) => new Mcts(config, ctx),
}
