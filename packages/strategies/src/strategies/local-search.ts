import type { TrialOutcome } from '@nasjs/core'
import { z } from 'zod'
import { StrategyBase, compareFitness, fitnessFromJson, fitnessJson, fitnessOf } from '../base.js'
import type { Fitness, Proposed } from '../base.js'
import type { StrategyContext, StrategyDefinition, StrategyState, TrialId } from '../types.js'

/**
 * Config of {@link localSearch}.
 * @since 0.1.0
 */
export const LocalSearchConfig = z
  .object({
    initSamples: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe('random architectures evaluated first; the best one starts the climb'),
    firstImprovement: z
      .boolean()
      .default(false)
      .describe('move as soon as a better neighbour is told, instead of after the whole neighbourhood'),
  })
  .strict()
/** @since 0.1.0 */
export type LocalSearchConfig = z.infer<typeof LocalSearchConfig>

type Phase = 'init' | 'climb' | 'restart'

interface Scored<A> {
  readonly arch: A
  readonly fitness: Fitness
}

class LocalSearch<A> extends StrategyBase<A> {
  readonly name = 'ls'
  private phase: Phase = 'init'
  private initAsked = 0
  /** Outstanding proposals and the neighbourhood (generation) each belongs to; -1 = random. */
  private readonly tags = new Map<TrialId, number>()
  private generation = 0
  private current: Scored<A> | undefined
  private bestNeighbor: Scored<A> | undefined
  private bestInit: Scored<A> | undefined
  private queue: A[] = []
  private readonly visited = new Set<string>()
  private done = false

  constructor(
    readonly config: LocalSearchConfig,
    ctx: StrategyContext<A>,
  ) {
    super(ctx)
  }

  private outstanding(tag: number): number {
    let n = 0
    for (const t of this.tags.values()) if (t === tag) n++
    return n
  }

  /** A random architecture not visited yet (64 draws, then from the enumeration of a finite space). */
  private sampleFresh(): A | undefined {
    for (let t = 0; t < 64; t++) {
      const a = this.space.sample(this.rng)
      const h = this.space.hash(a)
      if (!this.visited.has(h)) {
        this.visited.add(h)
        return a
      }
    }
    if (this.space.enumerate !== undefined && this.space.size() <= 1_000_000n) {
      const fresh = [...this.space.enumerate()].filter((a) => !this.visited.has(this.space.hash(a)))
      if (fresh.length === 0) {
        this.done = true
        return undefined
      }
      const a = this.rng.choice(fresh)
      this.visited.add(this.space.hash(a))
      return a
    }
    const a = this.space.sample(this.rng) // a huge space that is mostly visited: accept a repeat
    return a
  }

  override exhausted(): boolean {
    return this.done || super.exhausted()
  }

  protected propose(): Proposed<A> | undefined {
    if (this.phase === 'init') {
      if (this.initAsked >= this.config.initSamples || this.done) return undefined
      const a = this.sampleFresh()
      if (a === undefined) return undefined
      this.initAsked++
      this.pruneQueue()
      this.tags.set(this.nextId, -1)
      return { arch: a }
    }
    if (this.phase === 'restart') {
      if (this.outstanding(-1) > 0 || this.done) return undefined
      const a = this.sampleFresh()
      if (a === undefined) return undefined
      this.pruneQueue()
      this.tags.set(this.nextId, -1)
      return { arch: a }
    }
    const a = this.queue.pop() // the queue never holds visited architectures (see pruneQueue)
    if (a === undefined) return undefined
    this.visited.add(this.space.hash(a))
    this.pruneQueue()
    this.tags.set(this.nextId, this.generation)
    return { arch: a }
  }

  /** Moves the climb to `to` and queues its unvisited neighbours in a random order. */
  private moveTo(to: Scored<A>): void {
    this.phase = 'climb'
    this.current = to
    this.bestNeighbor = undefined
    this.generation++
    this.queue = this.rng.shuffle(this.space.neighbors(to.arch))
    this.pruneQueue()
  }

  /** Drops visited architectures and functional duplicates from the queue (keeping the last of each, popped first). */
  private pruneQueue(): void {
    const keep = new Set<string>()
    const out: A[] = []
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const a = this.queue[i]!
      const h = this.space.hash(a)
      if (this.visited.has(h) || keep.has(h)) continue
      keep.add(h)
      out.push(a)
    }
    this.queue = out.reverse()
  }

  /** Runs the state machine until it has something to propose or must wait for tells. */
  private advance(): void {
    for (;;) {
      if (this.phase === 'init') {
        if (this.initAsked < this.config.initSamples || this.outstanding(-1) > 0) return
        if (this.bestInit === undefined) {
          this.initAsked = 0 // every initial sample failed: draw a new batch
          return
        }
        this.moveTo(this.bestInit)
        continue
      }
      if (this.phase === 'restart') return
      if (this.queue.length > 0 || this.outstanding(this.generation) > 0) return
      const b = this.bestNeighbor
      if (b !== undefined && compareFitness(b.fitness, this.current!.fitness) > 0) {
        this.moveTo(b)
        continue
      }
      this.phase = 'restart' // a local optimum: start again from a random architecture
      this.generation++
      return
    }
  }

  protected observe(arch: A, outcome: TrialOutcome, id: TrialId | undefined): void {
    const tag = id === undefined ? undefined : this.tags.get(id)
    if (id !== undefined) this.tags.delete(id)
    const f = fitnessOf(this.objectives, this.constraints, outcome)
    if (tag === -1) {
      if (this.phase === 'init') {
        if (
          f !== undefined &&
          (this.bestInit === undefined || compareFitness(f, this.bestInit.fitness) > 0)
        ) {
          this.bestInit = { arch, fitness: f }
        }
      } else if (this.phase === 'restart' && f !== undefined) {
        this.moveTo({ arch, fitness: f })
      }
    } else if (tag !== undefined && tag === this.generation && f !== undefined) {
      if (this.bestNeighbor === undefined || compareFitness(f, this.bestNeighbor.fitness) > 0) {
        this.bestNeighbor = { arch, fitness: f }
      }
      if (this.config.firstImprovement && compareFitness(f, this.current!.fitness) > 0)
        this.moveTo({ arch, fitness: f })
    }
    this.advance()
  }

  protected saveState(): StrategyState {
    const scored = (s: Scored<A> | undefined) =>
      s === undefined ? null : { arch: this.archJson(s.arch), ...fitnessJson(s.fitness) }
    return {
      phase: this.phase,
      initAsked: this.initAsked,
      tags: [...this.tags],
      generation: this.generation,
      current: scored(this.current),
      bestNeighbor: scored(this.bestNeighbor),
      bestInit: scored(this.bestInit),
      queue: this.queue.map((a) => this.archJson(a)),
      visited: [...this.visited],
      done: this.done,
    }
  }

  protected loadState(s: StrategyState): void {
    const scored = (j: unknown): Scored<A> | undefined =>
      j === null
        ? undefined
        : { arch: this.archFromJson((j as { arch: unknown }).arch), fitness: fitnessFromJson(j) }
    this.phase = s.phase as Phase
    this.initAsked = s.initAsked as number
    this.tags.clear()
    for (const [k, v] of s.tags as [number, number][]) this.tags.set(k, v)
    this.generation = s.generation as number
    this.current = scored(s.current)
    this.bestNeighbor = scored(s.bestNeighbor)
    this.bestInit = scored(s.bestInit)
    this.queue = (s.queue as unknown[]).map((j) => this.archFromJson(j))
    this.visited.clear()
    for (const h of s.visited as string[]) this.visited.add(h)
    this.done = s.done === true
  }
}

/**
 * Local search as studied by White, Zela, Ru, Liu and Hutter 2021 ("Exploring the Loss Landscape in
 * Neural Architecture Search"): evaluate `initSamples` random architectures and start from the best;
 * evaluate its unvisited `neighbors` (one-mutation changes) in a random order; move to the best
 * neighbour if it is better (or to the first better one with `firstImprovement`), otherwise the
 * current architecture is a local optimum and the climb restarts from a random architecture.
 * Architectures already proposed (by functional hash) are never proposed again. Single objective.
 * @since 0.1.0
 * @category strategies
 */
export const localSearch: StrategyDefinition<typeof LocalSearchConfig, 'ls'> = {
  name: 'ls',
  description: 'hill climbing over neighbors with random restarts',
  configSchema: LocalSearchConfig,
  references: [
    'White, Zela, Ru, Liu and Hutter 2021, Exploring the Loss Landscape in Neural Architecture Search',
  ],
  create: (config, ctx) => new LocalSearch(config, ctx),
}
