import type { TrialOutcome } from '@nasjs/core'
import { z } from 'zod'
import { StrategyBase } from '../base.js'
import type { Proposed } from '../base.js'
import type { StrategyContext, StrategyDefinition, StrategyState } from '../types.js'

/**
 * Config of {@link randomSearch}: none (random search has no knobs).
 * @since 0.1.0
 */
export const RandomConfig = z.object({}).strict()
/** @since 0.1.0 */
export type RandomConfig = z.infer<typeof RandomConfig>

class RandomSearch<A> extends StrategyBase<A> {
  readonly name = 'random'
  constructor(
    readonly config: RandomConfig,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
  }
  protected propose(): Proposed<A> {
    return { arch: this.space.sample(this.rng) }
  }
  protected observe(_a: A, _o: TrialOutcome): void {}
  protected saveState(): StrategyState {
    return {}
  }
  protected loadState(): void {}
}

/**
 * Random search: independent uniform samples from the space (`space.sample`). The baseline every
 * other strategy is compared with (Li and Talwalkar 2019, "Random Search and Reproducibility for NAS").
 * @since 0.1.0
 * @category strategies
 */
export const randomSearch: StrategyDefinition<typeof RandomConfig, 'random'> = {
  name: 'random',
  description: 'uniform random sampling from the space',
  configSchema: RandomConfig,
  multiObjective: true,
  references: ['Li and Talwalkar 2019, Random Search and Reproducibility for Neural Architecture Search'],
  create: (config, ctx) => new RandomSearch(config, ctx),
}
