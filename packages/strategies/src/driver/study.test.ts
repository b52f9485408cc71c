import { NasError, Rng } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { describe, expect, it, vi } from 'vitest'
import { make, obj } from '../testing-internal/drive.js'
import { gridSpace, syntheticMetrics } from '../testing/index.js'
import { memoryStorage } from './storage.js'
import { Study, stableJson } from './study.js'

const m = syntheticMetrics(nb201)
const acc = ['acc:max'] as const

async function expectRejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<NasError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(NasError)
    expect((e as NasError).code).toBe(code)
    if (message) expect((e as NasError).message).toMatch(message)
    return e as NasError
  }
  throw new Error(`expected a ${code} NasError`)
}

/** Drives a study by hand to its budget, telling synthetic metrics. */
function driveStudy(study: Study<ReturnType<typeof nb201.sample>>, n = Infinity): void {
  for (let i = 0; i < n; i++) {
    const r = study.ask()
    if (r.status === 'evaluate') study.tell(r.trial.id, { status: 'complete', metrics: m(r.trial.arch) })
    else if (r.status !== 'done' && r.status !== 'parked') break
  }
}

describe('Study: the ledger of a search, driven by hand', () => {
  it('asks, is told, answers repeats from the cache, stops at the budget and keeps the best', async () => {
    const space = gridSpace(1, 3)
    const study = await Study.open({
      space,
      strategy: make('random', space, {}, 1, [obj('acc')], false),
      objectives: acc,
      budget: { trials: 20 },
    })
    let evaluated = 0
    for (;;) {
      const r = study.ask()
      if (r.status === 'budget') break
      if (r.status !== 'evaluate') continue
      evaluated++
      study.tell(r.trial.id, { status: 'complete', metrics: { acc: r.trial.arch[0]! } })
    }
    expect(evaluated).toBe(3)
    expect(study.ledger.cacheHits).toBe(17)
    expect(study.ledger.trials).toHaveLength(20)
    expect(study.ledger.best()?.arch).toEqual([2])
    await study.close()
  })

  it('parks a repeat of a trial in flight and answers it when the original is told', async () => {
    const space = gridSpace(1, 1)
    const study = await Study.open({
      space,
      strategy: make('random', space, {}, 1, [obj('acc')], false),
      objectives: acc,
      budget: { trials: 5 },
    })
    const a = study.ask()
    const b = study.ask()
    expect(a.status).toBe('evaluate')
    expect(b.status).toBe('parked')
    expect(study.inFlight()).toBe(2)
    if (a.status !== 'evaluate' || b.status !== 'parked') return
    study.tell(a.trial.id, { status: 'complete', metrics: { acc: 1 } })
    expect(study.inFlight()).toBe(0)
    expect(study.ledger.get(b.trial.id)).toMatchObject({
      cached: true,
      outcome: { status: 'complete', metrics: { acc: 1 } },
    })
    // telling a parked or answered trial is an error
    expect(() => study.tell(b.trial.id, { status: 'failed', reason: 'x' })).toThrow(
      /no trial with this id is being evaluated/,
    )
  })

  it('hands a parked repeat out again when its original fails', async () => {
    const space = gridSpace(1, 1)
    const study = await Study.open({
      space,
      strategy: make('random', space, {}, 1, [obj('acc')], false),
      objectives: acc,
      budget: { trials: 5 },
    })
    const a = study.ask()
    const b = study.ask()
    if (a.status !== 'evaluate' || b.status !== 'parked') throw new Error('unexpected')
    study.tell(a.trial.id, { status: 'failed', reason: 'out of memory' })
    const again = study.ask()
    expect(again).toMatchObject({ status: 'evaluate', trial: { id: b.trial.id } })
  })

  it('applies the missing-metric rule: the first complete outcome without an objective is METRIC_MISSING, later ones fail', async () => {
    const study = await Study.open({
      space: nb201,
      strategy: make('random', nb201),
      objectives: acc,
      budget: { trials: 9 },
    })
    const r1 = study.ask()
    if (r1.status !== 'evaluate') throw new Error('unexpected')
    expect(() => study.tell(r1.trial.id, { status: 'complete', metrics: { accuracy: 1 } })).toThrow(
      /objective 'acc' is not produced by the evaluator; it produces 'accuracy'/,
    )
    study.tell(r1.trial.id, { status: 'complete', metrics: { acc: 1 } })
    const r2 = study.ask()
    if (r2.status !== 'evaluate') throw new Error('unexpected')
    const t = study.tell(r2.trial.id, { status: 'complete', metrics: { lat: 1 } })
    expect(t.outcome).toEqual({
      status: 'failed',
      reason: "the evaluator returned no 'acc' (it returned lat)",
    })
  })

  it('fills a constraint metric the evaluator leaves out from the cheap metrics', async () => {
    const study = await Study.open({
      space: nb201,
      strategy: make('random', nb201),
      objectives: acc,
      constraints: ['lat<=1000'],
      cheapMetrics: (a) => ({ lat: m(a).lat! }),
      budget: { trials: 3 },
    })
    const r = study.ask()
    if (r.status !== 'evaluate') throw new Error('unexpected')
    const t = study.tell(r.trial.id, { status: 'complete', metrics: { acc: 3 } })
    expect(t.outcome).toEqual({ status: 'complete', metrics: { acc: 3, lat: m(r.trial.arch).lat } })
  })

  it('resumes from a snapshot and replays only the records after it, like a replay of everything', async () => {
    const run = async (snapshotEvery: number) => {
      const storage = memoryStorage()
      const s1 = await Study.open({
        space: nb201,
        strategy: make('ls', nb201, { initSamples: 3 }),
        objectives: acc,
        budget: { trials: 30 },
        storage,
        snapshotEvery,
      })
      driveStudy(s1)
      await s1.close()
      const strategy = make('ls', nb201, { initSamples: 3 })
      const tell = vi.spyOn(strategy, 'tell')
      const s2 = await Study.open({
        space: nb201,
        strategy,
        objectives: acc,
        budget: { trials: 40 },
        storage,
        resume: true,
        snapshotEvery,
      })
      const replayed = tell.mock.calls.length
      driveStudy(s2)
      const snap = strategy.snapshot()
      await s2.close()
      return { snap, replayed, records: storage.records() }
    }
    const withSnaps = await run(7)
    const without = await run(0)
    expect(stableJson(withSnaps.snap)).toBe(stableJson(without.snap))
    expect(without.replayed).toBe(30)
    expect(withSnaps.replayed).toBe(30 - 28) // the last snapshot was after 28 tells
    // the raised budget is journaled
    expect(withSnaps.records.some((r) => JSON.parse(r).type === 'budget')).toBe(true)
  })

  it('checks the settings on resume: only the budget may change, and not below what is used', async () => {
    const storage = memoryStorage()
    const s = await Study.open({
      space: nb201,
      strategy: make('rea', nb201),
      objectives: acc,
      budget: { trials: 10 },
      storage,
      meta: { dataset: 'cifar10' },
    })
    driveStudy(s)
    await s.close()
    const again = { space: nb201, objectives: acc, storage, resume: true }
    await expectRejects(
      Study.open({ ...again, strategy: make('rea', nb201), meta: { dataset: 'cifar100' } }),
      'JOURNAL',
      /dataset "cifar10"; this search uses dataset "cifar100"/,
    )
    await expectRejects(
      Study.open({ ...again, strategy: make('rea', nb201), meta: { dataset: 'cifar10' }, concurrency: 4 }),
      'JOURNAL',
      /concurrency 1; this search uses concurrency 4/,
    )
    await expectRejects(
      Study.open({
        ...again,
        strategy: make('rea', nb201),
        meta: { dataset: 'cifar10' },
        cache: 'functional',
      }),
      'JOURNAL',
      /cache "exact"/,
    )
    await expectRejects(
      Study.open({
        ...again,
        strategy: make('rea', nb201),
        meta: { dataset: 'cifar10' },
        constraints: ['lat<=3'],
      }),
      'JOURNAL',
      /constraints/,
    )
    await expectRejects(
      Study.open({
        ...again,
        strategy: make('rea', nb201),
        meta: { dataset: 'cifar10' },
        budget: { trials: 5 },
      }),
      'BUDGET_INVALID',
      /budget trials 5 is below the 10 trials done/,
    )
    // nothing was written by the refused opens, and the store is free again
    const ok = await Study.open({ ...again, strategy: make('rea', nb201), meta: { dataset: 'cifar10' } })
    expect(ok.budget).toEqual({ trials: 10 })
    expect(ok.ledger.trials).toHaveLength(10)
    await ok.close()
  })

  it('refuses a second study on a locked store, and a new study on a non-empty one', async () => {
    const storage = memoryStorage()
    const s = await Study.open({
      space: nb201,
      strategy: make('random', nb201),
      objectives: acc,
      budget: { trials: 2 },
      storage,
    })
    await expectRejects(
      Study.open({
        space: nb201,
        strategy: make('random', nb201),
        objectives: acc,
        budget: { trials: 2 },
        storage,
      }),
      'JOURNAL',
      /in use/,
    )
    await s.close()
    await expectRejects(
      Study.open({
        space: nb201,
        strategy: make('random', nb201),
        objectives: acc,
        budget: { trials: 2 },
        storage,
      }),
      'JOURNAL',
      /already holds a study/,
    )
  })

  it('validates every stored record: an edited architecture, a non-numeric metric, a tell without an ask', async () => {
    const storage = memoryStorage()
    const s = await Study.open({
      space: nb201,
      strategy: make('random', nb201),
      objectives: acc,
      budget: { trials: 4 },
      storage,
    })
    driveStudy(s)
    await s.close()
    const lines = storage.records().map((r) => JSON.parse(r) as Record<string, unknown>)
    const resumeWith = async (edit: (ls: Record<string, unknown>[]) => void) => {
      const copy = structuredClone(lines)
      edit(copy)
      const fresh = memoryStorage()
      await fresh.lock()
      for (const l of copy) fresh.append(l as never)
      await fresh.close()
      return Study.open({
        space: nb201,
        strategy: make('random', nb201),
        objectives: acc,
        storage: fresh,
        resume: true,
      })
    }
    const askIdx = lines.findIndex((l) => l.type === 'ask')
    const tellIdx = lines.findIndex((l) => l.type === 'tell')
    const other = nb201.toJSON(nb201.sample(new Rng(99)))
    await expectRejects(
      resumeWith((ls) => (ls[askIdx]!.arch = other)),
      'JOURNAL',
      /line 2: trial 0's hash .* does not match its architecture/,
    )
    await expectRejects(
      resumeWith(
        (ls) => ((ls[tellIdx]!.outcome as { metrics: Record<string, unknown> }).metrics.acc = 'high'),
      ),
      'JOURNAL',
      /line 3: tell record field 'outcome.metrics.acc'/,
    )
    await expectRejects(
      resumeWith((ls) => ls.splice(askIdx, 1)),
      'JOURNAL',
      /a tell of trial 0 without an outstanding ask/,
    )
  })

  it('keeps non-finite metrics through the journal', async () => {
    const storage = memoryStorage()
    const s = await Study.open({
      space: nb201,
      strategy: make('random', nb201),
      objectives: acc,
      budget: { trials: 3 },
      storage,
    })
    const r = s.ask()
    if (r.status !== 'evaluate') throw new Error('unexpected')
    s.tell(r.trial.id, { status: 'complete', metrics: { acc: 1, loss: Number.NaN, lat: Infinity } })
    await s.close()
    const s2 = await Study.open({
      space: nb201,
      strategy: make('random', nb201),
      objectives: acc,
      storage,
      resume: true,
    })
    expect(s2.ledger.trials[0]!.outcome).toEqual({
      status: 'complete',
      metrics: { acc: 1, loss: Number.NaN, lat: Infinity },
    })
    await s2.close()
  })

  it('rejects bad settings before touching the store', async () => {
    const storage = memoryStorage()
    const base = { space: nb201, strategy: make('random', nb201), storage }
    await expectRejects(
      Study.open({ ...base, objectives: [] as never, budget: { trials: 2 } }),
      'OBJECTIVE_INVALID',
      /at least one objective/,
    )
    await expectRejects(
      Study.open({ ...base, objectives: ['acc:max', 'acc:min'], budget: { trials: 2 } }),
      'OBJECTIVE_INVALID',
      /twice/,
    )
    await expectRejects(Study.open({ ...base, objectives: acc, budget: {} as never }), 'BUDGET_INVALID')
    await expectRejects(
      Study.open({ ...base, objectives: acc }),
      'BUDGET_INVALID',
      /a new study needs a budget/,
    )
    await expectRejects(
      Study.open({ ...base, objectives: acc, budget: { trials: 2 }, concurrency: 0 }),
      'CONFIG_INVALID',
      /concurrency/,
    )
    expect(storage.records()).toHaveLength(0)
  })

  it('stableJson sorts keys', () => {
    expect(stableJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}')
  })
})
