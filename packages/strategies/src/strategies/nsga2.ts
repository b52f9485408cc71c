import type { NonDominatedSortOptions, TrialOutcome } from '@nasjs/core'
import { z } from 'zod'
import { StrategyBase, fromJsonNumber, jsonNumber, totalViolation } from '../base.js'
import type { Proposed } from '../base.js'
import type { StrategyContext, StrategyDefinition, StrategyState, TrialId } from '../types.js'
import { breedChild, crowdedSurvivors, crowdedTournament, rankAndCrowding } from './nsga2-operators.js'

/**
 * Config of {@link nsga2}.
 * @since 0.1.0
 */
export const Nsga2Config = z
  .object({
    populationSize: z
      .number()
      .int()
      .min(2)
      .default(50)
      .describe('N: parents kept and offspring per generation'),
    crossoverProb: z
      .number()
      .min(0)
      .max(1)
      .default(0.9)
      .describe('probability that a child is a crossover of two parents'),
    mutationProb: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe(
        'probability that a crossover child is also mutated (a child without crossover is always mutated)',
      ),
    offspringSize: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'children per generation (default populationSize, the generational NSGA-II; 1 = steady-state NSGA-II)',
      ),
    dedupeTries: z
      .number()
      .int()
      .min(0)
      .default(20)
      .describe(
        're-draws of a child that repeats an architecture (exactly, not functionally) already proposed (0 = allow repeats)',
      ),
  })
  .strict()
/** @since 0.1.0 */
export type Nsga2Config = z.infer<typeof Nsga2Config>

interface Member<A> {
  readonly arch: A
  /** Minimisation vector of the objectives. */
  readonly f: readonly number[]
  readonly violation: number
  rank: number
  crowding: number
}

class Nsga2<A> extends StrategyBase<A> {
  readonly name = 'nsga2'
  private population: Member<A>[] = []
  private offspring: Member<A>[] = []
  private generation = 0
  private asked = 0
  private readonly genPending = new Set<TrialId>()
  private readonly seen = new Set<string>()

  constructor(
    readonly config: Nsga2Config,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
  }

  private toMember(arch: A, outcome: TrialOutcome): Member<A> | undefined {
    if (outcome.status !== 'complete') return undefined
    const f: number[] = []
    for (const o of this.objectives) {
      const x = outcome.metrics[o.name]
      if (x === undefined || !Number.isFinite(x)) return undefined
      f.push(o.direction === 'max' ? -x : x)
    }
    return { arch, f, violation: totalViolation(this.constraints, outcome.metrics), rank: 0, crowding: 0 }
  }

  /** Crowded-comparison binary tournament (Deb et al. 2002): lower rank, then larger crowding distance. */
  private tournament(): A {
    return crowdedTournament(this.population, this.rng).arch
  }

  private child(): A {
    // a population of one has no second parent to cross with: its member is mutated
    if (this.population.length <= 1) return this.space.mutate(this.tournament(), this.rng)
    const { crossoverProb, mutationProb } = this.config
    return breedChild(this.space, this.rng, () => this.tournament(), { crossoverProb, mutationProb })
  }

  protected propose(): Proposed<A> | undefined {
    const n = this.config.populationSize
    if (this.generation === 0) {
      if (this.population.length + this.genPending.size >= n) return undefined
      this.genPending.add(this.nextId)
      const a = this.space.sample(this.rng)
      this.seen.add(this.space.format(a))
      return { arch: a }
    }
    if (this.asked >= (this.config.offspringSize ?? n)) return undefined
    let c = this.child()
    for (let t = 0; t < this.config.dedupeTries && this.seen.has(this.space.format(c)); t++) {
      c = t % 2 === 0 ? this.space.mutate(c, this.rng) : this.child()
    }
    this.seen.add(this.space.format(c))
    this.asked++
    this.genPending.add(this.nextId)
    return { arch: c }
  }

  /** Constrained domination (feasible first, then smaller total violation) when there are constraints. */
  private sortOptions(members: readonly Member<A>[]): NonDominatedSortOptions {
    return this.constraints.length > 0 ? { violations: members.map((m) => m.violation) } : {}
  }

  /** Sets the rank and crowding distance of every member. */
  private rankAll(members: Member<A>[]): void {
    const { rank, crowding } = rankAndCrowding(
      members.map((m) => m.f),
      this.sortOptions(members),
    )
    members.forEach((m, i) => {
      m.rank = rank[i]!
      m.crowding = crowding[i]!
    })
  }

  /** Elitist environmental selection: fill N from the best fronts, the last one by crowding distance. */
  private select(): void {
    const all = [...this.population, ...this.offspring]
    const survivors = crowdedSurvivors(
      all.map((m) => m.f),
      this.config.populationSize,
      this.sortOptions(all),
    )
    this.population = survivors.map((i) => all[i]!)
    this.rankAll(this.population)
    this.offspring = []
    this.asked = 0
    this.generation++
  }

  protected observe(arch: A, outcome: TrialOutcome, id: TrialId | undefined): void {
    const m = this.toMember(arch, outcome)
    if (id !== undefined) this.genPending.delete(id)
    if (id === undefined) {
      if (m !== undefined) this.seen.add(this.space.format(arch))
      if (m !== undefined) (this.generation === 0 ? this.population : this.offspring).push(m)
    } else if (m !== undefined) {
      ;(this.generation === 0 ? this.population : this.offspring).push(m)
    }
    if (this.genPending.size > 0) return
    if (this.generation === 0) {
      if (this.population.length >= this.config.populationSize) {
        this.rankAll(this.population)
        this.generation = 1
      }
    } else if (this.asked >= (this.config.offspringSize ?? this.config.populationSize)) {
      this.select()
    }
  }

  /** The current population's first front. */
  front(): A[] {
    return this.population.filter((m) => m.rank === 0).map((m) => m.arch)
  }

  protected saveState(): StrategyState {
    const mj = (m: Member<A>) => ({
      arch: this.archJson(m.arch),
      f: m.f,
      violation: m.violation,
      rank: m.rank,
      crowding: jsonNumber(m.crowding),
    })
    return {
      population: this.population.map(mj),
      offspring: this.offspring.map(mj),
      generation: this.generation,
      asked: this.asked,
      genPending: [...this.genPending],
      seen: [...this.seen],
    }
  }

  protected loadState(s: StrategyState): void {
    const mf = (j: unknown): Member<A> => {
      const o = j as { arch: unknown; f: number[]; violation: number; rank: number; crowding: unknown }
      return {
        arch: this.archFromJson(o.arch),
        f: o.f,
        violation: o.violation,
        rank: o.rank,
        crowding: fromJsonNumber(o.crowding),
      }
    }
    this.population = (s.population as unknown[]).map(mf)
    this.offspring = (s.offspring as unknown[]).map(mf)
    this.generation = s.generation as number
    this.asked = s.asked as number
    this.genPending.clear()
    for (const id of s.genPending as number[]) this.genPending.add(id)
    this.seen.clear()
    for (const h of s.seen as string[]) this.seen.add(h)
  }
}

/**
 * NSGA-II (Deb, Pratap, Agarwal and Meyarivan 2002, "A Fast and Elitist Multiobjective Genetic
 * Algorithm: NSGA-II"): a random initial population of N; each generation N children by
 * crowded-comparison binary tournament, `space.crossover` and `space.mutate`; parents and children
 * are sorted into non-dominated fronts under constrained domination (feasible first, then smaller
 * total violation) and the best N survive, the last front cut by crowding distance. Children that
 * repeat an already proposed architecture are re-drawn (`dedupeTries`), since discrete spaces
 * otherwise waste evaluations on duplicates. Generations are synchronous: `ask` returns nothing
 * while a generation's children are outstanding. The operators are exported for other strategies:
 * {@link rankAndCrowding}, {@link crowdedTournament}, {@link crowdedSurvivors}, {@link breedChild}.
 * @since 0.1.0
 * @category strategies
 */
export const nsga2: StrategyDefinition<typeof Nsga2Config, 'nsga2'> = {
  name: 'nsga2',
  description:
    'NSGA-II: non-dominated sorting, crowding distance, constrained domination (several objectives)',
  configSchema: Nsga2Config,
  multiObjective: true,
  references: [
    'Deb, Pratap, Agarwal and Meyarivan 2002, A Fast and Elitist Multiobjective Genetic Algorithm: NSGA-II',
  ],
  create: (config, ctx) => new Nsga2(config, ctx),
}
