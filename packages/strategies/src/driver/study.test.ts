import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nb201 } from '@nasjs/search-space'
import { afterAll, describe, expect, it } from 'vitest'
import { make } from '../testing-internal/drive.js'
import { gridSpace, syntheticMetrics } from '../testing/index.js'
import { Study, stableJson } from './study.js'

const dir = mkdtempSync(join(tmpdir(), 'nasjs-study-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const m = syntheticMetrics(nb201)

describe('Study (ask/tell by hand)', () => {
  it('asks, is told, answers duplicates from the cache and reports the best', () => {
    const space = gridSpace(1, 3)
    const study = Study.create({ space, strategy: make('random', space), objectives: ['acc:max'] })
    let evaluated = 0
    for (let i = 0; i < 20; i++) {
      const r = study.ask()
      if (r.status !== 'evaluate') continue
      evaluated++
      study.tell(r.trial.id, { status: 'complete', metrics: { acc: r.trial.arch[0]! } })
    }
    expect(evaluated).toBe(3)
    expect(study.cacheHits).toBe(17)
    expect(study.best()?.arch).toEqual([2])
    study.close()
  })

  it('marks an outstanding duplicate of an in-flight trial', () => {
    const space = gridSpace(1, 1)
    const study = Study.create({ space, strategy: make('random', space), objectives: ['acc:max'] })
    const a = study.ask()
    const b = study.ask()
    if (a.status !== 'evaluate' || b.status !== 'evaluate') throw new Error('expected two trials to evaluate')
    expect(b.trial.duplicateOf).toBe(a.trial.id)
    study.tell(a.trial.id, { status: 'complete', metrics: { acc: 1 } })
    expect(study.cached(b.trial)).toEqual({ status: 'complete', metrics: { acc: 1 } })
  })

  it('continues a journal with snapshots: the restored strategy equals an unsnapshotted replay', () => {
    const run = (path: string, n: number, resume: boolean, snapshotEvery: number) => {
      const study = Study.create({
        space: nb201,
        strategy: make('ls', nb201, { initSamples: 3 }),
        objectives: ['acc:max'],
        journal: path,
        resume,
        snapshotEvery,
      })
      for (let i = 0; i < n; i++) {
        const r = study.ask()
        if (r.status === 'evaluate') study.tell(r.trial.id, { status: 'complete', metrics: m(r.trial.arch) })
      }
      const snap = study.strategy.snapshot()
      study.close()
      return snap
    }
    run(join(dir, 'a.jsonl'), 30, false, 5)
    run(join(dir, 'b.jsonl'), 30, false, 0)
    expect(stableJson(run(join(dir, 'a.jsonl'), 10, true, 5))).toBe(
      stableJson(run(join(dir, 'b.jsonl'), 10, true, 0)),
    )
  })

  it('rejects telling an unknown or finished trial', () => {
    const study = Study.create({ space: nb201, strategy: make('random', nb201), objectives: ['acc:max'] })
    expect(() => study.tell(3, { status: 'failed', reason: 'x' })).toThrow(/no outstanding trial/)
    expect(() => Study.create({ space: nb201, strategy: make('random', nb201), objectives: [] })).toThrow(
      /at least one objective/,
    )
    expect(() =>
      Study.create({ space: nb201, strategy: make('random', nb201), objectives: ['acc:max', 'acc:min'] }),
    ).toThrow(/twice/)
  })

  it('stableJson sorts keys', () => {
    expect(stableJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}')
  })
})
