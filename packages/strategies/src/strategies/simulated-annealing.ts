import type { TrialOutcome } from '@nasjs/core'
import { z } from 'zod'
import { StrategyBase, compareFitness, fitnessFromJson, fitnessJson, fitnessOf } from '../base.js'
import type { Fitness, Proposed } from '../base.js'
import type { StrategyContext, StrategyDefinition, StrategyState, TrialId } from '../types.js'

/**
 * Config of {@link simulatedAnnealing}.
 * @since 0.1.0
 */
export const SimulatedAnnealingConfig = z
  .object({
    initSamples: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe(
        'random architectures evaluated first: the best starts the walk, their spread sets the temperature scale',
      ),
    initialTemperature: z
      .number()
      .positive()
      .default(0.05)
      .describe(
        'T0 as a multiple of the spread (standard deviation) of the objective over the initial samples',
      ),
    cooling: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.95)
      .describe('alpha: geometric cooling, T_k = T0 * alpha^k after k told neighbours'),
  })
  .strict()
/** @since 0.1.0 */
export type SimulatedAnnealingConfig = z.infer<typeof SimulatedAnnealingConfig>

interface Scored<A> {
  readonly arch: A
  readonly fitness: Fitness
}

/** The sample standard deviation, or 1 when it is not positive and finite (fewer than two values, all equal). */
function spreadOf(values: readonly number[]): number {
  const n = values.length
  if (n < 2) return 1
  const mean = values.reduce((a, b) => a + b, 0) / n
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1))
  return Number.isFinite(sd) && sd > 0 ? sd : 1
}

class SimulatedAnnealing<A> extends StrategyBase<A> {
  readonly name = 'sa'
  /** Initial samples asked in the current initial batch. */
  private initAsked = 0
  /** Outstanding initial (random) proposals; every other outstanding proposal is a neighbour. */
  private readonly initPending = new Set<TrialId>()
  /** Objective values (larger is better) of the initial samples told so far. */
  private initValues: number[] = []
  private bestInit: Scored<A> | undefined
  /** The walk's state; undefined while initialising. */
  private current: Scored<A> | undefined
  /** The temperature scale (the initial spread), fixed when the walk starts. */
  private scale = 1
  /** Neighbours told so far: the cooling step k. */
  private steps = 0

  constructor(
    readonly config: SimulatedAnnealingConfig,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
  }

  /** The current temperature T_k = T0 * alpha^k on the objective's scale. */
  private temperature(): number {
    return this.config.initialTemperature * this.scale * this.config.cooling ** this.steps
  }

  protected propose(): Proposed<A> | undefined {
    if (this.current === undefined) {
      if (this.initAsked >= this.config.initSamples) return undefined // wait for the initial batch
      this.initAsked++
      this.initPending.add(this.nextId)
      return { arch: this.space.sample(this.rng) }
    }
    // parallel asks propose several neighbours of the same current state; tells decide in order
    return { arch: this.space.mutate(this.current.arch, this.rng) }
  }

  protected observe(arch: A, outcome: TrialOutcome, id: TrialId | undefined): void {
    const f = fitnessOf(this.objectives, this.constraints, outcome)
    const isInit = id === undefined ? this.current === undefined : this.initPending.delete(id)
    if (isInit) {
      if (f !== undefined) {
        this.initValues.push(f.value)
        if (this.bestInit === undefined || compareFitness(f, this.bestInit.fitness) > 0)
          this.bestInit = { arch, fitness: f }
      }
      this.startIfReady()
      return
    }
    if (id === undefined) return // an unasked outcome after the start: only the best-so-far sees it
    const T = this.temperature()
    this.steps++
    const cur = this.current!
    if (f === undefined || f.violation > cur.fitness.violation) return // failed, pruned, or more violation: reject
    const delta = cur.fitness.value - f.value // > 0: the neighbour is worse
    const accept =
      f.violation < cur.fitness.violation || delta <= 0 || this.rng.uniform() < Math.exp(-delta / T)
    if (accept) this.current = { arch, fitness: f }
  }

  /** Starts the walk once the initial batch is asked and told; draws a new batch if it all failed. */
  private startIfReady(): void {
    if (this.initAsked < this.config.initSamples || this.initPending.size > 0) return
    if (this.bestInit === undefined) {
      this.initAsked = 0
      return
    }
    this.current = this.bestInit
    this.scale = spreadOf(this.initValues)
  }

  protected saveState(): StrategyState {
    const scored = (s: Scored<A> | undefined) =>
      s === undefined ? null : { arch: this.archJson(s.arch), ...fitnessJson(s.fitness) }
    return {
      initAsked: this.initAsked,
      initPending: [...this.initPending],
      initValues: [...this.initValues],
      bestInit: scored(this.bestInit),
      current: scored(this.current),
      scale: this.scale,
      steps: this.steps,
    }
  }

  protected loadState(s: StrategyState): void {
    const scored = (j: unknown): Scored<A> | undefined =>
      j === null
        ? undefined
        : { arch: this.archFromJson((j as { arch: unknown }).arch), fitness: fitnessFromJson(j) }
    this.initAsked = s.initAsked as number
    this.initPending.clear()
    for (const id of s.initPending as number[]) this.initPending.add(id)
    this.initValues = [...(s.initValues as number[])]
    this.bestInit = scored(s.bestInit)
    this.current = scored(s.current)
    this.scale = s.scale as number
    this.steps = s.steps as number
  }
}

/**
 * Simulated annealing (Kirkpatrick, Gelatt and Vecchi 1983, "Optimization by Simulated Annealing"):
 * evaluate `initSamples` random architectures and start from the best; then propose a neighbour of
 * the current architecture (`space.mutate`) and accept it when it is at least as good, or when it is
 * worse by Δ with probability exp(-Δ/T). The temperature cools geometrically, T_k = T0 · alpha^k
 * after k told neighbours. Δ is on the objective's own scale, so T0 is given relative to it:
 * `initialTemperature` times the standard deviation of the objective over the initial samples (1
 * when that is undefined or 0). Constraint violation ranks first (see {@link compareFitness}): a
 * neighbour with less total violation is always accepted, one with more never; failed and pruned
 * neighbours are rejected. With parallel asks, every proposal is a neighbour of the state at the time
 * of the ask, and the tells accept or reject in the order they arrive. The acceptance draw comes
 * from the strategy's generator inside `tell`. Single objective.
 * @since 0.1.0
 * @category strategies
 */
export const simulatedAnnealing: StrategyDefinition<typeof SimulatedAnnealingConfig, 'sa'> = {
  name: 'sa',
  description:
    'simulated annealing: mutate the current architecture, accept a worse one with probability exp(-delta/T)',
  configSchema: SimulatedAnnealingConfig,
  references: ['Kirkpatrick, Gelatt and Vecchi 1983, Optimization by Simulated Annealing'],
  create: (config, ctx) => new SimulatedAnnealing(config, ctx),
}
