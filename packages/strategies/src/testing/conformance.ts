import { NasError, Rng } from '@nasjs/core'
import type { Metrics, Objective, ObjectiveList, TrialOutcome } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { beforeAll, describe, expect, it } from 'vitest'
import { runSearch } from '../driver/run-search.js'
import { memoryStorage } from '../driver/storage.js'
import { parseStrategyConfig } from '../registry.js'
import type { Strategy, StrategyDefinition } from '../types.js'
import { syntheticMetrics } from './synthetic.js'

/**
 * A space to run the conformance suite on, with the metrics its evaluations return.
 * @since 0.1.0
 */
export interface ConformanceSpace<A> {
  readonly space: SearchSpace<A>
  /** Deterministic metrics of an architecture (default {@link syntheticMetrics}: `acc`, `lat`, `cost`). */
  readonly metrics?: (arch: A, fidelity?: number) => Metrics
}

/**
 * Options of {@link describeStrategyConformance}.
 * @since 0.1.0
 */
export interface ConformanceOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly spaces: readonly ConformanceSpace<any>[]
  /** The config to test (default: all defaults). */
  readonly config?: unknown
  /** Objectives over the metrics (default `acc:max`; give two for multi-objective strategies). */
  readonly objectives?: readonly Objective[]
  /** Ask/tell rounds per simulated run (default 40). */
  readonly steps?: number
  /** Whether another seed must give other proposals (default true; false for e.g. a lexicographic grid). */
  readonly seedSensitive?: boolean
}

/** One logged proposal: id, hash, fidelity. */
type LogEntry = [number, string, number | null]

interface SimOptions {
  readonly steps: number
  readonly batch: number
  /** Outcome kind by trial id. */
  readonly kind: (id: number) => 'complete' | 'failed' | 'pruned'
  /** At this round, after asking and before telling, snapshot and continue in a fresh instance. */
  readonly swapAt?: number
  readonly fresh?: () => Strategy<unknown>
  /** Check that empty asks leave the state unchanged. */
  readonly checkEmptyAsk?: boolean
}

function outcomeOf(kind: 'complete' | 'failed' | 'pruned', metrics: Metrics): TrialOutcome {
  if (kind === 'failed') return { status: 'failed', reason: 'synthetic failure' }
  if (kind === 'pruned') return { status: 'pruned', step: 1, metrics }
  return { status: 'complete', metrics }
}

/** Drives a strategy by hand: each round asks up to `batch` (one at a time) and tells them in reverse order. */
function simulate(
  start: Strategy<unknown>,
  space: SearchSpace<unknown>,
  metrics: (a: unknown, f?: number) => Metrics,
  o: SimOptions,
): { log: LogEntry[]; archs: unknown[]; strategy: Strategy<unknown> } {
  let s = start
  const log: LogEntry[] = []
  const archs: unknown[] = []
  for (let round = 0; round < o.steps; round++) {
    const props: { id: number; arch: unknown; fidelity?: number }[] = []
    for (let b = 0; b < o.batch; b++) {
      const before = o.checkEmptyAsk === true ? JSON.stringify(s.snapshot()) : ''
      const [p] = s.ask(1)
      if (p === undefined) {
        if (o.checkEmptyAsk === true) expect(JSON.stringify(s.snapshot())).toBe(before)
        break
      }
      props.push(p)
      log.push([p.id, space.hash(p.arch), p.fidelity ?? null])
      archs.push(p.arch)
    }
    if (round === o.swapAt && o.fresh !== undefined) {
      const snap = JSON.parse(JSON.stringify(s.snapshot())) as Record<string, unknown>
      s = o.fresh()
      s.restore(snap)
    }
    if (props.length === 0) break // exhausted (nothing outstanding: every round tells all it asked)
    for (const p of props.reverse()) s.tell(p.id, outcomeOf(o.kind(p.id), metrics(p.arch, p.fidelity)))
  }
  return { log, archs, strategy: s }
}

/**
 * The conformance suite every strategy passes (Optuna's sampler tests and sklearn's
 * `check_estimator` in spirit): reproducible with the same seed, different with another, proposals
 * in the space with consecutive ids, failed and pruned outcomes handled, empty asks side-effect free,
 * `ask(n)` equal to `n` asks, snapshot/restore mid-search (with outstanding proposals) continuing
 * identically, JSON-serialisable snapshots, and a journaled `runSearch` interrupted and resumed
 * ending with the same trials as an uninterrupted one. Call it inside a vitest test file.
 *
 * @example
 * ```ts
 * import { describeStrategyConformance, gridSpace, conditionalSpace } from '@nasjs/strategies/testing'
 * describeStrategyConformance(myStrategy, { spaces: [{ space: gridSpace() }, { space: conditionalSpace() }] })
 * ```
 * @since 0.1.0
 */
export function describeStrategyConformance(def: StrategyDefinition, opts: ConformanceOptions): void {
  const objectives: readonly Objective[] = opts.objectives ?? [{ name: 'acc', direction: 'max' }]
  const steps = opts.steps ?? 40
  describe(`strategy conformance: ${def.name}`, () => {
    it('parses an empty config to defaults and rejects unknown fields', () => {
      expect(() => parseStrategyConfig(def, {})).not.toThrow()
      expect(() => parseStrategyConfig(def, { notAField: 1 })).toThrow(NasError)
    })

    for (const cs of opts.spaces) {
      const space: SearchSpace<unknown> = cs.space
      const metrics: (a: unknown, f?: number) => Metrics = cs.metrics ?? syntheticMetrics(space)
      const config = parseStrategyConfig(def, opts.config)
      const make = (seed: number, distinct?: boolean): Strategy<unknown> =>
        def.create(config, {
          space,
          rng: new Rng(seed),
          objectives,
          constraints: [],
          ...(distinct === undefined ? {} : { distinct }),
        })
      const kind = (id: number): 'complete' | 'failed' | 'pruned' =>
        id % 7 === 3 ? 'failed' : id % 11 === 5 ? 'pruned' : 'complete'

      describe(`on ${space.id}`, () => {
        // what the strategy's ask needs (e.g. TF.js) is loaded once, as the driver does at open
        beforeAll(async () => {
          await make(0).prepare?.()
        })

        it('same seed, same proposals; proposals are valid with consecutive ids; empty asks change nothing', () => {
          // with `distinct` on, an empty ask may have answered repeats (a tell): checked without it
          const a = simulate(make(42, false), space, metrics, { steps, batch: 3, kind, checkEmptyAsk: true })
          const b = simulate(make(42, false), space, metrics, { steps, batch: 3, kind })
          expect(a.log.length).toBeGreaterThan(0)
          expect(b.log).toEqual(a.log)
          a.log.forEach(([id, , fidelity], i) => {
            expect(id).toBe(i)
            if (def.requiresFidelity === true) expect(fidelity !== null && fidelity > 0).toBe(true)
          })
          for (const arch of a.archs) expect(space.check(arch)).toBeUndefined()
        })

        it('with distinct: reproducible, consecutive ids, and nothing told complete is proposed again', () => {
          const run = () => {
            const s = make(42, true)
            const log: LogEntry[] = []
            const complete = new Set<string>()
            for (let round = 0; round < steps * 3; round++) {
              const [p] = s.ask(1)
              if (p === undefined) break
              const key = `${space.format(p.arch)}@${p.fidelity ?? ''}`
              expect(complete.has(key), `trial ${p.id} repeats ${key}`).toBe(false)
              log.push([p.id, space.hash(p.arch), p.fidelity ?? null])
              const k = kind(p.id)
              s.tell(p.id, outcomeOf(k, metrics(p.arch, p.fidelity)))
              if (k === 'complete') complete.add(key)
            }
            return log
          }
          const a = run()
          expect(a.length).toBeGreaterThan(0)
          expect(run()).toEqual(a)
          a.forEach(([id], i) => expect(id).toBe(i))
        })

        if (opts.seedSensitive !== false) {
          it('another seed, other proposals', () => {
            const a = simulate(make(1), space, metrics, { steps, batch: 1, kind })
            const b = simulate(make(2), space, metrics, { steps, batch: 1, kind })
            expect(b.log).not.toEqual(a.log)
          })
        }

        it('keeps going through failed and pruned outcomes', () => {
          const allBad = (id: number): 'failed' | 'pruned' | 'complete' =>
            id < 30 ? (id % 2 === 0 ? 'failed' : 'pruned') : 'complete'
          const r = simulate(make(3), space, metrics, { steps, batch: 2, kind: allBad })
          const exhausted = r.strategy.exhausted()
          expect(exhausted || r.log.length >= Math.min(steps, 30)).toBe(true)
        })

        it('ask(n) equals n asks of one', () => {
          const a = make(5)
          const b = make(5)
          const many = a.ask(4).map((p) => [p.id, space.hash(p.arch), p.fidelity])
          const ones = [b.ask(1), b.ask(1), b.ask(1), b.ask(1)]
            .flat()
            .map((p) => [p.id, space.hash(p.arch), p.fidelity])
          expect(ones).toEqual(many)
        })

        it('rejects a tell of an unknown trial', () => {
          const s = make(6)
          expect(() => s.tell(999_999, { status: 'failed', reason: 'x' })).toThrow(NasError)
        })

        it('snapshot/restore mid-search (with outstanding proposals) continues identically', () => {
          const whole = simulate(make(9), space, metrics, { steps, batch: 2, kind })
          const split = simulate(make(9), space, metrics, {
            steps,
            batch: 2,
            kind,
            swapAt: Math.floor(steps / 2),
            fresh: () => make(12345), // a different seed: everything must come from the snapshot
          })
          expect(split.log).toEqual(whole.log)
          const snap = split.strategy.snapshot()
          expect(JSON.parse(JSON.stringify(snap))).toEqual(snap)
        })

        if (typeof make(0).tellUnasked === 'function') {
          it('accepts unasked outcomes (warm start)', () => {
            const s = make(8)
            const rng = new Rng(8)
            for (let i = 0; i < 5; i++) {
              const a = space.sample(rng)
              s.tellUnasked!(a, { status: 'complete', metrics: metrics(a) })
            }
            const r = simulate(s, space, metrics, { steps: 5, batch: 1, kind })
            for (const arch of r.archs) expect(space.check(arch)).toBeUndefined()
          })
        }

        it('a journaled search interrupted (aborted, or killed at any record) and resumed equals an uninterrupted one', async () => {
          const n = Math.min(steps, 30)
          const evaluator = (a: unknown, ctx: { fidelity?: number }): Promise<Metrics> => {
            const m = metrics(a, ctx.fidelity)
            return (space.hash(a).length + Math.round(m.acc!)) % 9 === 0
              ? Promise.reject(new Error('synthetic failure'))
              : Promise.resolve(m)
          }
          const base = {
            space,
            evaluator,
            objectives: objectives as unknown as ObjectiveList,
            budget: { trials: n },
            seed: 4,
            snapshotEvery: 4,
          }
          const key = (t: { id: number; hash: string; fidelity?: number; outcome?: TrialOutcome }) => [
            t.id,
            t.hash,
            t.fidelity ?? null,
            t.outcome?.status,
          ]
          const wholeStore = memoryStorage('whole')
          const whole = await runSearch({ ...base, strategy: make(4), storage: wholeStore })
          // a clean stop half-way (Ctrl-C), then a resume
          const ctl = new AbortController()
          let told = 0
          const split = memoryStorage('split')
          const first = await runSearch({
            ...base,
            strategy: make(4),
            storage: split,
            signal: ctl.signal,
            onEvent: (e) => {
              if (e.type === 'trial-end' && ++told === Math.floor(n / 2)) ctl.abort()
            },
          })
          expect(first.reason === 'aborted' || first.reason === 'exhausted').toBe(true)
          const second = await runSearch({ ...base, strategy: make(4), storage: split, resume: true })
          expect(second.trials.map(key)).toEqual(whole.trials.map(key))
          // a process killed after any record: the records written so far, resumed
          const records = wholeStore.records().length
          for (const cut of [2, Math.floor(records / 3), Math.floor((2 * records) / 3), records - 1]) {
            const crashed = wholeStore.crashCopy(cut)
            const resumed = await runSearch({ ...base, strategy: make(4), storage: crashed, resume: true })
            expect(resumed.trials.map(key), `killed after record ${cut} of ${records}`).toEqual(
              whole.trials.map(key),
            )
          }
        })
      })
    }
  })
}
