import { NasError } from '@nasjs/core'
import type { Metrics, SearchEvent } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { make, obj } from '../testing-internal/drive.js'
import { gridSpace, syntheticMetrics } from '../testing/index.js'
import { runSearch } from './run-search.js'

const m = syntheticMetrics(nb201)
const evaluator = (a: Nb201Arch): Promise<Metrics> => Promise.resolve(m(a))
const base = { space: nb201, evaluator, objectives: ['acc:max'] as const, seed: 1 }

async function expectRejects(p: Promise<unknown>, code: string): Promise<NasError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(NasError)
    expect((e as NasError).code).toBe(code)
    return e as NasError
  }
  throw new Error(`expected a ${code} NasError`)
}

describe('runSearch', () => {
  it('runs to a trial budget and returns trials, best and recommendation', async () => {
    const r = await runSearch({
      ...base,
      strategy: make('rea', nb201, { populationSize: 10, sampleSize: 3 }),
      budget: { trials: 50 },
    })
    expect(r.trials).toHaveLength(50)
    expect(r.reason).toBe('budget')
    expect(r.best?.outcome?.status).toBe('complete')
    const bestAcc = Math.max(
      ...r.trials.filter((t) => !t.cached).map((t) => (t.outcome as { metrics: Metrics }).metrics.acc!),
    )
    expect((r.best!.outcome as { metrics: Metrics }).metrics.acc).toBe(bestAcc)
    expect(r.recommended).toBeDefined()
  })

  it('rejects bad budgets with BUDGET_INVALID', async () => {
    await expectRejects(
      runSearch({ ...base, strategy: make('random', nb201), budget: { trials: -1 } }),
      'BUDGET_INVALID',
    )
    await expectRejects(
      runSearch({ ...base, strategy: make('random', nb201), budget: {} as never }),
      'BUDGET_INVALID',
    )
    await expectRejects(
      runSearch({ ...base, strategy: make('random', nb201), budget: { trials: 5, epochs: 3 } as never }),
      'BUDGET_INVALID',
    )
  })

  it('reports an objective the evaluator does not produce as METRIC_MISSING naming the metrics', async () => {
    const e = await expectRejects(
      runSearch({
        ...base,
        objectives: ['valid_acc:max'] as const,
        strategy: make('random', nb201, {}, 1, [obj('valid_acc')]),
        budget: { trials: 5 },
      }),
      'METRIC_MISSING',
    )
    expect(e.message).toMatch(/valid_acc/)
    expect(e.allowed).toEqual(['acc', 'lat', 'cost'])
    // checked up front when the evaluator's info is given
    let calls = 0
    await expectRejects(
      runSearch({
        ...base,
        evaluator: (a) => (calls++, evaluator(a)),
        evaluatorInfo: { metrics: ['acc', 'lat'] },
        constraints: ['params<=3'],
        strategy: make('random', nb201),
        budget: { trials: 5 },
      }),
      'METRIC_MISSING',
    )
    expect(calls).toBe(0)
  })

  it('evaluates equal architectures once and reports the cache hits', async () => {
    const space = gridSpace(2, 2) // 4 architectures
    let calls = 0
    const r = await runSearch({
      space,
      strategy: make('random', space, {}, 1, [obj('acc')], false), // repeats proposed, for the cache to answer
      evaluator: (a) => (calls++, Promise.resolve({ acc: a[0]! + a[1]! })),
      objectives: ['acc:max'] as const,
      budget: { trials: 40 },
    })
    expect(calls).toBe(4)
    expect(r.evaluations).toBe(4)
    expect(r.cacheHits).toBe(36)
    expect(r.trials.filter((t) => t.cached)).toHaveLength(36)
  })

  it('shares in-flight evaluations of the same hash between concurrent trials', async () => {
    const space = gridSpace(1, 2)
    let calls = 0
    const r = await runSearch({
      space,
      strategy: make('random', space, {}, 1, [obj('acc')], false),
      evaluator: async (a) => {
        calls++
        await new Promise((res) => setTimeout(res, 5))
        return { acc: a[0]! }
      },
      objectives: ['acc:max'] as const,
      budget: { trials: 12 },
      concurrency: 6,
    })
    expect(calls).toBe(2)
    expect(r.cacheHits).toBe(10)
  })

  it('turns evaluator failures into failed trials and goes on', async () => {
    const r = await runSearch({
      ...base,
      evaluator: (a) => (a[0] === 'none' ? Promise.reject(new Error('out of memory')) : evaluator(a)),
      strategy: make('random', nb201),
      budget: { trials: 60 },
    })
    expect(r.trials).toHaveLength(60)
    expect(r.failed).toBeGreaterThan(0)
    const f = r.trials.find((t) => t.outcome?.status === 'failed')!
    expect(f.outcome).toEqual({ status: 'failed', reason: 'out of memory' })
    // a non-object result is a failure too
    const bad = await runSearch({
      ...base,
      evaluator: () => Promise.resolve(42 as never),
      strategy: make('random', nb201),
      budget: { trials: 3 },
    })
    expect(bad.failed).toBe(3)
  })

  it('checks cheap constraints before evaluating', async () => {
    let calls = 0
    const skipValues: number[] = []
    const r = await runSearch({
      ...base,
      evaluator: (a) => (calls++, evaluator(a)),
      constraints: ['lat<=6'],
      cheapMetrics: (a) => ({ lat: m(a).lat! }),
      strategy: make('random', nb201),
      budget: { trials: 100 },
      onEvent: (e) => {
        if (e.type === 'constraint-skip') skipValues.push(e.value)
      },
    })
    expect(skipValues.length).toBeGreaterThan(0)
    for (const v of skipValues) expect(v).toBeGreaterThan(6)
    const skipped = r.trials.filter((t) => t.skipped === true)
    expect(skipped.length).toBeGreaterThan(10)
    expect(calls).toBe(100 - skipped.length - r.cacheHits)
    for (const t of skipped) expect(t.outcome).toMatchObject({ status: 'pruned', step: 0 })
    expect((r.best!.outcome as { metrics: Metrics }).metrics.lat).toBeLessThanOrEqual(6)
  })

  it('keeps at most `concurrency` evaluations in flight and uses them', async () => {
    let inFlight = 0
    let peak = 0
    const r = await runSearch({
      ...base,
      evaluator: async (a) => {
        inFlight++
        peak = Math.max(peak, inFlight)
        await new Promise((res) => setTimeout(res, 2))
        inFlight--
        return m(a)
      },
      strategy: make('random', nb201),
      budget: { evaluations: 40 },
      concurrency: 4,
    })
    expect(peak).toBe(4)
    expect(r.evaluations).toBe(40)
  })

  it('stops on an AbortSignal', async () => {
    const ctl = new AbortController()
    let n = 0
    const r = await runSearch({
      ...base,
      signal: ctl.signal,
      strategy: make('random', nb201),
      budget: { trials: 1000 },
      onEvent: (e) => {
        if (e.type === 'trial-end' && ++n === 10) ctl.abort()
      },
    })
    expect(r.reason).toBe('aborted')
    expect(r.trials.length).toBe(10)
  })

  it('stops at a wall-time budget, aborting the running evaluation', async () => {
    const t0 = Date.now()
    const r = await runSearch({
      ...base,
      evaluator: (a, ctx) =>
        new Promise((res, rej) => {
          const t = setTimeout(() => res(m(a)), 30)
          ctx.signal.addEventListener('abort', () => (clearTimeout(t), rej(new Error('aborted'))))
        }),
      strategy: make('random', nb201),
      budget: { seconds: 0.2 },
    })
    // Loose on time (a loaded CI machine is slow); the trial count shows the budget, not luck, stopped it.
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(r.trials.length).toBeGreaterThan(2)
    expect(r.trials.length).toBeLessThanOrEqual(7) // 0.2 s of 30 ms evaluations, one at a time
    expect(r.trials.every((t) => t.outcome?.status === 'complete')).toBe(true)
  })

  it('stops at a cost budget (fidelity or a cost metric)', async () => {
    const r = await runSearch({
      ...base,
      evaluator: (a) => Promise.resolve({ ...m(a), seconds: 2.5 }),
      costMetric: 'seconds',
      strategy: make('random', nb201),
      budget: { cost: 20 },
    })
    expect(r.cost).toBe(20)
    expect(r.evaluations).toBe(8)
  })

  it('ends a grid search as exhausted', async () => {
    const space = gridSpace(2, 3)
    const r = await runSearch({
      space,
      strategy: make('grid', space),
      evaluator: (a) => Promise.resolve({ acc: a[0]! }),
      objectives: ['acc:max'] as const,
      budget: { trials: 100 },
    })
    expect(r.reason).toBe('exhausted')
    expect(r.trials).toHaveLength(9)
  })

  it('emits start, trial, progress and end events in order, progress rate-limited', async () => {
    const events: SearchEvent[] = []
    await runSearch({
      ...base,
      strategy: make('random', nb201),
      budget: { trials: 2000 },
      onEvent: (e) => events.push(e),
      progressIntervalMs: 1e6,
    })
    expect(events[0]!.type).toBe('search-start')
    expect(events[events.length - 1]!.type).toBe('search-end')
    expect(events.filter((e) => e.type === 'trial-end')).toHaveLength(2000)
    expect(events.filter((e) => e.type === 'progress')).toHaveLength(1) // only the final one
    const end = events[events.length - 1]!
    expect(end).toMatchObject({ type: 'search-end', reason: 'budget', trialsDone: 2000 })
  })

  it('returns the Pareto front for several objectives', async () => {
    const r = await runSearch({
      ...base,
      objectives: ['acc:max', 'lat:min'] as const,
      strategy: make('nsga2', nb201, { populationSize: 10 }, 1, [obj('acc'), obj('lat', 'min')]),
      budget: { evaluations: 100 },
    })
    expect(r.front.length).toBeGreaterThan(1)
    const pts = r.front.map((t) => (t.outcome as { metrics: Metrics }).metrics)
    for (const p of pts) for (const q of pts) expect(q.acc! > p.acc! && q.lat! < p.lat!).toBe(false)
  })

  it('rejects a strategy that stalls with nothing outstanding', async () => {
    const strategy = { ...make('random', nb201), ask: () => [], exhausted: () => false }
    await expectRejects(runSearch({ ...base, strategy, budget: { trials: 3 } }), 'INTERNAL')
  })

  it('gives evaluators the fidelity and seed', async () => {
    const seen: (number | undefined)[] = []
    await runSearch({
      ...base,
      seed: 77,
      evaluator: (a, ctx) => (seen.push(ctx.fidelity, ctx.seed), evaluator(a)),
      strategy: make('sh', nb201, { maxFidelity: 9 }),
      budget: { trials: 2 },
    })
    expect(seen).toEqual([1, 77, 1, 77])
  })
})
