import type { TrialOutcome } from '@nasjs/core'
import { z } from 'zod'
import { StrategyBase, compareFitness, fitnessFromJson, fitnessJson, fitnessOf } from '../base.js'
import type { Fitness, Proposed } from '../base.js'
import type { StrategyContext, StrategyDefinition, StrategyState, TrialId } from '../types.js'

/**
 * Config of {@link regularizedEvolution}.
 * @since 0.1.0
 */
export const ReaConfig = z
  .object({
    populationSize: z.number().int().min(2).default(30).describe('P: models kept alive (the oldest dies)'),
    sampleSize: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe('S: tournament size; the best of S random members is the parent'),
  })
  .strict()
  .refine((c) => c.sampleSize <= c.populationSize, {
    message: 'sampleSize must not exceed populationSize',
    path: ['sampleSize'],
  })
/** @since 0.1.0 */
export type ReaConfig = z.infer<typeof ReaConfig>

interface Member<A> {
  readonly arch: A
  readonly fitness: Fitness
}

class RegularizedEvolution<A> extends StrategyBase<A> {
  readonly name = 'rea'
  /** Oldest first. */
  private population: Member<A>[] = []
  /** Outstanding random (initial-population) proposals. */
  private readonly randomPending = new Set<TrialId>()

  constructor(
    readonly config: ReaConfig,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
  }

  protected propose(): Proposed<A> {
    const { populationSize, sampleSize } = this.config
    if (this.population.length + this.randomPending.size < populationSize || this.population.length === 0) {
      this.randomPending.add(this.nextId)
      return { arch: this.space.sample(this.rng) }
    }
    // tournament as in Real et al.'s Algorithm 1: S random members (drawn with replacement), the best is the parent
    let parent = this.rng.choice(this.population)
    for (let i = 1; i < sampleSize; i++) {
      const c = this.rng.choice(this.population)
      if (compareFitness(c.fitness, parent.fitness) > 0) parent = c
    }
    return { arch: this.space.mutate(parent.arch, this.rng) }
  }

  protected observe(arch: A, outcome: TrialOutcome, id: TrialId | undefined): void {
    if (id !== undefined) this.randomPending.delete(id)
    const fitness = fitnessOf(this.objectives, this.constraints, outcome)
    if (fitness === undefined) return // failed / pruned children never join the population
    this.population.push({ arch, fitness })
    if (this.population.length > this.config.populationSize) this.population.shift() // age out the oldest
  }

  protected saveState(): StrategyState {
    return {
      population: this.population.map((m) => ({ arch: this.archJson(m.arch), ...fitnessJson(m.fitness) })),
      randomPending: [...this.randomPending],
    }
  }

  protected loadState(s: StrategyState): void {
    this.population = (s.population as { arch: unknown }[]).map((m) => ({
      arch: this.archFromJson(m.arch),
      fitness: fitnessFromJson(m),
    }))
    this.randomPending.clear()
    for (const id of s.randomPending as number[]) this.randomPending.add(id)
  }
}

/**
 * Regularized (aging) evolution (Real, Aggarwal, Huang and Le 2019, "Regularized Evolution for Image
 * Classifier Architecture Search"): a population of `populationSize` models, first filled with random
 * samples; each child mutates the best of `sampleSize` members drawn at random (tournament), joins
 * the population, and the oldest member dies. Failed children are dropped. Single objective
 * (constraint violations rank first, see {@link compareFitness}).
 * @since 0.1.0
 * @category strategies
 */
export const regularizedEvolution: StrategyDefinition<typeof ReaConfig, 'rea'> = {
  name: 'rea',
  description: 'regularized (aging) evolution: tournament selection, mutation, the oldest dies',
  configSchema: ReaConfig,
  references: [
    'Real, Aggarwal, Huang and Le 2019, Regularized Evolution for Image Classifier Architecture Search',
  ],
  create: (config, ctx) => new RegularizedEvolution(config, ctx),
}
