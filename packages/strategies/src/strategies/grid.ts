import { NasError, Rng } from '@nasjs/core'
import type { RngState, TrialOutcome } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { z } from 'zod'
import { StrategyBase } from '../base.js'
import type { Proposed } from '../base.js'
import type { StrategyContext, StrategyDefinition, StrategyState } from '../types.js'

/**
 * Config of {@link gridSearch}.
 * @since 0.1.0
 */
export const GridConfig = z
  .object({
    order: z
      .enum(['lexicographic', 'shuffled'])
      .default('lexicographic')
      .describe(
        'walk the decision tree in order, or in a seeded random permutation (spaces up to maxShuffle)',
      ),
    maxShuffle: z
      .number()
      .int()
      .min(1)
      .default(1_000_000)
      .describe('largest space the shuffled order is allowed for (it holds the whole list)'),
  })
  .strict()
/** @since 0.1.0 */
export type GridConfig = z.infer<typeof GridConfig>

/** The next complete decision list after `ds` in depth-first order, or undefined after the last. */
function successor<A>(space: SearchSpace<A>, ds: readonly number[]): number[] | undefined {
  for (let i = ds.length - 1; i >= 0; i--) {
    const prefix = ds.slice(0, i)
    const d = space.decisions.next(prefix)!
    if (ds[i]! + 1 < d.size) {
      const out = [...prefix, ds[i]! + 1]
      for (let n = space.decisions.next(out); n !== undefined; n = space.decisions.next(out)) out.push(0)
      return out
    }
  }
  return undefined
}

function first<A>(space: SearchSpace<A>): number[] {
  const out: number[] = []
  for (let n = space.decisions.next(out); n !== undefined; n = space.decisions.next(out)) out.push(0)
  return out
}

class GridSearch<A> extends StrategyBase<A> {
  readonly name = 'grid'
  private cursor: number[] | undefined
  private index = 0
  private order: number[][] | undefined
  private shuffleState: RngState | undefined

  constructor(
    readonly config: GridConfig,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
    this.cursor = first(this.space)
    if (config.order === 'shuffled') {
      const size = this.space.size()
      if (size > BigInt(config.maxShuffle)) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `grid order 'shuffled' holds the whole space in memory; space '${this.space.id}' has ${size} architectures, more than maxShuffle=${config.maxShuffle}`,
          value: size.toString(),
        })
      }
      this.shuffleState = this.rng.fork().getState()
    }
  }

  private shuffledOrder(): number[][] {
    if (this.order === undefined) {
      const all: number[][] = []
      for (let c: number[] | undefined = first(this.space); c !== undefined; c = successor(this.space, c))
        all.push(c)
      this.order = Rng.fromState(this.shuffleState!).shuffle(all)
    }
    return this.order
  }

  override exhausted(): boolean {
    if (super.exhausted()) return true
    return this.config.order === 'shuffled'
      ? this.index >= this.shuffledOrder().length
      : this.cursor === undefined
  }

  protected propose(): Proposed<A> | undefined {
    if (this.config.order === 'shuffled') {
      const ds = this.shuffledOrder()[this.index]
      if (ds === undefined) return undefined
      this.index++
      return { arch: this.space.decisions.build(ds) }
    }
    if (this.cursor === undefined) return undefined
    const arch = this.space.decisions.build(this.cursor)
    this.cursor = successor(this.space, this.cursor)
    this.index++
    return { arch }
  }
  protected observe(_a: A, _o: TrialOutcome): void {}
  protected saveState(): StrategyState {
    return { index: this.index, cursor: this.cursor ?? null, shuffle: this.shuffleState ?? null }
  }
  protected loadState(s: StrategyState): void {
    this.index = s.index as number
    this.cursor = (s.cursor as number[] | null) ?? undefined
    const sh = (s.shuffle as RngState | null) ?? undefined
    if (sh !== undefined && sh.join() !== this.shuffleState?.join()) this.order = undefined
    this.shuffleState = sh
  }
}

/**
 * Grid (exhaustive) search for finite spaces: every complete decision list of `space.decisions`
 * once, in depth-first lexicographic order or in a seeded random permutation. Proposes nothing
 * after the last one (`exhausted()` becomes true); conditional spaces are walked by their tree.
 * @since 0.1.0
 * @category strategies
 */
export const gridSearch: StrategyDefinition<typeof GridConfig, 'grid'> = {
  name: 'grid',
  description: 'exhaustive walk over the decision tree (lexicographic or shuffled)',
  configSchema: GridConfig,
  multiObjective: true,
  create: (config, ctx) => new GridSearch(config, ctx),
}
