import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NasError } from '@nasjs/core'
import type { Metrics } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { afterAll, describe, expect, it } from 'vitest'
import { make, obj } from '../testing-internal/drive.js'
import { gridSpace, syntheticMetrics } from '../testing/index.js'
import { readJournal } from './journal.js'
import { runSearch } from './run-search.js'

const dir = mkdtempSync(join(tmpdir(), 'nasjs-journal-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const m = syntheticMetrics(nb201)
const evaluator = (a: Nb201Arch): Promise<Metrics> => Promise.resolve(m(a))
const base = { space: nb201, evaluator, objectives: ['acc:max'], seed: 3 }

function codeOf(f: () => unknown): Promise<string> {
  return Promise.resolve()
    .then(f)
    .then(
      () => 'resolved',
      (e: unknown) => (e instanceof NasError ? e.code : `not a NasError: ${String(e)}`),
    )
}

describe('journal', () => {
  it('writes a versioned header, then an ask and a tell per trial', async () => {
    const path = join(dir, 'a.jsonl')
    await runSearch({
      ...base,
      strategy: make('rea', nb201, { populationSize: 5, sampleSize: 2 }),
      budget: { trials: 20 },
      journal: path,
    })
    const j = readJournal(path)
    expect(j.header).toMatchObject({
      v: 1,
      type: 'header',
      space: 'nb201',
      strategy: { name: 'rea', config: { populationSize: 5, sampleSize: 2 } },
      objectives: ['acc:max'],
      constraints: [],
      seed: 3,
      budget: { trials: 20 },
    })
    expect(j.records.filter((r) => r.type === 'ask')).toHaveLength(20)
    expect(j.records.filter((r) => r.type === 'tell')).toHaveLength(20)
    expect(j.records[j.records.length - 1]).toMatchObject({ type: 'end', reason: 'budget', trialsDone: 20 })
    for (const line of readFileSync(path, 'utf8').trim().split('\n'))
      expect(JSON.parse(line)).toHaveProperty('v', 1)
  })

  it('resumes with a larger budget and continues exactly like one longer run', async () => {
    const whole = await runSearch({ ...base, strategy: make('mcts', nb201), budget: { trials: 60 } })
    const path = join(dir, 'b.jsonl')
    await runSearch({ ...base, strategy: make('mcts', nb201), budget: { trials: 25 }, journal: path })
    const r = await runSearch({
      ...base,
      strategy: make('mcts', nb201),
      budget: { trials: 60 },
      journal: path,
      resume: true,
    })
    expect(r.resumed).toBe(true)
    expect(r.trials.map((t) => [t.id, t.hash])).toEqual(whole.trials.map((t) => [t.id, t.hash]))
  })

  it('refuses to overwrite an existing journal without resume', async () => {
    const path = join(dir, 'c.jsonl')
    await runSearch({ ...base, strategy: make('random', nb201), budget: { trials: 2 }, journal: path })
    expect(
      await codeOf(() =>
        runSearch({ ...base, strategy: make('random', nb201), budget: { trials: 2 }, journal: path }),
      ),
    ).toBe('JOURNAL')
  })

  it('names both spaces when resuming a journal of another space (SPACE_MISMATCH)', async () => {
    const path = join(dir, 'd.jsonl')
    await runSearch({ ...base, strategy: make('random', nb201), budget: { trials: 2 }, journal: path })
    const space = gridSpace(2, 2)
    const p = runSearch({
      space,
      strategy: make('random', space),
      evaluator: () => Promise.resolve({ acc: 1 }),
      objectives: ['acc:max'],
      budget: { trials: 2 },
      journal: path,
      resume: true,
    })
    await expect(p).rejects.toMatchObject({
      code: 'SPACE_MISMATCH',
      message: expect.stringMatching(/'nb201'.*'grid2x2'/),
    })
  })

  it('rejects resuming with another strategy, config, objectives or seed (JOURNAL)', async () => {
    const path = join(dir, 'e.jsonl')
    await runSearch({ ...base, strategy: make('rea', nb201), budget: { trials: 2 }, journal: path })
    const again = { ...base, budget: { trials: 4 }, journal: path, resume: true }
    await expect(runSearch({ ...again, strategy: make('random', nb201) })).rejects.toMatchObject({
      code: 'JOURNAL',
      message: expect.stringMatching(/"rea".*"random"/),
    })
    expect(
      await codeOf(() => runSearch({ ...again, strategy: make('rea', nb201, { populationSize: 12 }) })),
    ).toBe('JOURNAL')
    expect(await codeOf(() => runSearch({ ...again, seed: 4, strategy: make('rea', nb201) }))).toBe('JOURNAL')
    expect(
      await codeOf(() =>
        runSearch({
          ...again,
          objectives: ['lat:min'],
          strategy: make('rea', nb201, {}, 1, [obj('lat', 'min')]),
        }),
      ),
    ).toBe('JOURNAL')
  })

  it('detects a strategy that does not replay to the journal', async () => {
    const path = join(dir, 'f.jsonl')
    await runSearch({ ...base, strategy: make('random', nb201, {}, 1), budget: { trials: 5 }, journal: path })
    await expect(
      runSearch({
        ...base,
        strategy: make('random', nb201, {}, 2),
        budget: { trials: 8 },
        journal: path,
        resume: true,
      }),
    ).rejects.toMatchObject({ code: 'JOURNAL', message: expect.stringMatching(/diverged at trial 0/) })
  })

  it('ignores a torn last line and cuts it before appending', async () => {
    const path = join(dir, 'g.jsonl')
    await runSearch({ ...base, strategy: make('random', nb201), budget: { trials: 5 }, journal: path })
    appendFileSync(path, '{"v":1,"type":"ask","trial":5,"ar')
    expect(readJournal(path).tornTail).toBe(true)
    const r = await runSearch({
      ...base,
      strategy: make('random', nb201),
      budget: { trials: 8 },
      journal: path,
      resume: true,
    })
    expect(r.trials).toHaveLength(8)
    const j = readJournal(path)
    expect(j.tornTail).toBe(false)
    expect(j.records.filter((x) => x.type === 'tell')).toHaveLength(8)
  })

  it('reports a corrupt line or another version with the file and line', () => {
    const path = join(dir, 'h.jsonl')
    writeFileSync(path, '{"v":1,"type":"header"}\nnot json\n{"v":1,"type":"end"}\n')
    expect(() => readJournal(path)).toThrow(/line 2/)
    writeFileSync(path, '{"v":2,"type":"header"}\n')
    expect(() => readJournal(path)).toThrow(/version 2/)
    expect(() => readJournal(join(dir, 'missing.jsonl'))).toThrow(NasError)
  })

  it('re-runs a trial left outstanding by a crash under its old id', async () => {
    const path = join(dir, 'i.jsonl')
    await runSearch({ ...base, strategy: make('random', nb201), budget: { trials: 3 }, journal: path })
    // simulate a crash after an ask: replay the 4th ask by hand
    const lines = readFileSync(path, 'utf8').trim().split('\n')
    const s = make('random', nb201)
    const asks = [0, 1, 2, 3].map(() => s.ask(1)[0]!)
    const a = asks[3]!
    appendFileSync(
      path,
      JSON.stringify({ v: 1, type: 'ask', trial: 3, arch: nb201.toJSON(a.arch), hash: nb201.hash(a.arch) }) +
        '\n',
    )
    let evaluated: string | undefined
    const r = await runSearch({
      ...base,
      evaluator: (x) => ((evaluated ??= nb201.hash(x)), evaluator(x)),
      strategy: make('random', nb201),
      budget: { trials: 5 },
      journal: path,
      resume: true,
    })
    expect(lines.length).toBeGreaterThan(3)
    expect(r.trials.map((t) => t.id)).toEqual([0, 1, 2, 3, 4])
    expect(evaluated).toBe(nb201.hash(a.arch))
  })
})
