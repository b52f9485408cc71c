import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { NasError } from '@nasjs/core'
import type { Metrics } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { afterAll, describe, expect, it } from 'vitest'
import { make, obj } from '../testing-internal/drive.js'
import { gridSpace, syntheticMetrics } from '../testing/index.js'
import { runSearch } from '../driver/run-search.js'
import { fileStorage, readJournalFile } from './file-storage.js'

const dir = mkdtempSync(join(tmpdir(), 'nasjs-journal-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const m = syntheticMetrics(nb201)
const evaluator = (a: Nb201Arch): Promise<Metrics> => Promise.resolve(m(a))
const base = { space: nb201, evaluator, objectives: ['acc:max'] as const, seed: 3 }
const readJournal = (path: string) => {
  const j = readJournalFile(path)
  if (j === undefined) throw new Error(`${path} is empty`)
  return j
}

function codeOf(f: () => unknown): Promise<string> {
  return Promise.resolve()
    .then(f)
    .then(
      () => 'resolved',
      (e: unknown) => (e instanceof NasError ? e.code : `not a NasError: ${String(e)}`),
    )
}

describe('fileStorage: the JSONL journal', () => {
  it('writes a versioned header, then an ask and a tell per trial', async () => {
    const path = join(dir, 'a.jsonl')
    await runSearch({
      ...base,
      strategy: make('rea', nb201, { populationSize: 5, sampleSize: 2 }),
      budget: { trials: 20 },
      storage: fileStorage(path),
    })
    const j = readJournal(path)
    expect(j.header).toMatchObject({
      v: 2,
      type: 'header',
      space: 'nb201',
      strategy: { name: 'rea', config: { populationSize: 5, sampleSize: 2 } },
      objectives: ['acc:max'],
      constraints: [],
      seed: 3,
      budget: { trials: 20 },
    })
    expect(j.entries.filter((r) => r.type === 'ask')).toHaveLength(20)
    expect(j.entries.filter((r) => r.type === 'tell')).toHaveLength(20)
    expect(j.entries[j.entries.length - 1]).toMatchObject({ type: 'end', reason: 'budget', trialsDone: 20 })
    for (const line of readFileSync(path, 'utf8').trim().split('\n'))
      expect(JSON.parse(line)).toHaveProperty('v', 2)
  })

  it('resumes with a larger budget and continues exactly like one longer run', async () => {
    const whole = await runSearch({ ...base, strategy: make('mcts', nb201), budget: { trials: 60 } })
    const path = join(dir, 'b.jsonl')
    await runSearch({
      ...base,
      strategy: make('mcts', nb201),
      budget: { trials: 25 },
      storage: fileStorage(path),
    })
    const r = await runSearch({
      ...base,
      strategy: make('mcts', nb201),
      budget: { trials: 60 },
      storage: fileStorage(path),
      resume: true,
    })
    expect(r.resumed).toBe(true)
    expect(r.trials.map((t) => [t.id, t.hash])).toEqual(whole.trials.map((t) => [t.id, t.hash]))
  })

  it('refuses to overwrite an existing journal without resume', async () => {
    const path = join(dir, 'c.jsonl')
    await runSearch({
      ...base,
      strategy: make('random', nb201),
      budget: { trials: 2 },
      storage: fileStorage(path),
    })
    expect(
      await codeOf(() =>
        runSearch({
          ...base,
          strategy: make('random', nb201),
          budget: { trials: 2 },
          storage: fileStorage(path),
        }),
      ),
    ).toBe('JOURNAL')
  })

  it('names both spaces when resuming a journal of another space (SPACE_MISMATCH)', async () => {
    const path = join(dir, 'd.jsonl')
    await runSearch({
      ...base,
      strategy: make('random', nb201),
      budget: { trials: 2 },
      storage: fileStorage(path),
    })
    const space = gridSpace(2, 2)
    const p = runSearch({
      space,
      strategy: make('random', space),
      evaluator: () => Promise.resolve({ acc: 1 }),
      objectives: ['acc:max'] as const,
      budget: { trials: 2 },
      storage: fileStorage(path),
      resume: true,
    })
    await expect(p).rejects.toMatchObject({
      code: 'SPACE_MISMATCH',
      message: expect.stringMatching(/'nb201'.*'grid2x2'/),
    })
  })

  it('rejects resuming with another strategy, config, objectives or seed (JOURNAL)', async () => {
    const path = join(dir, 'e.jsonl')
    await runSearch({
      ...base,
      strategy: make('rea', nb201),
      budget: { trials: 2 },
      storage: fileStorage(path),
    })
    const again = { ...base, budget: { trials: 4 }, storage: fileStorage(path), resume: true }
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
          objectives: ['lat:min'] as const,
          strategy: make('rea', nb201, {}, 1, [obj('lat', 'min')]),
        }),
      ),
    ).toBe('JOURNAL')
  })

  it('detects a strategy that does not replay to the journal', async () => {
    const path = join(dir, 'f.jsonl')
    await runSearch({
      ...base,
      strategy: make('random', nb201, {}, 1),
      budget: { trials: 5 },
      storage: fileStorage(path),
    })
    await expect(
      runSearch({
        ...base,
        strategy: make('random', nb201, {}, 2),
        budget: { trials: 8 },
        storage: fileStorage(path),
        resume: true,
      }),
    ).rejects.toMatchObject({ code: 'JOURNAL', message: expect.stringMatching(/diverged at trial 0/) })
  })

  it('ignores a torn last line and cuts it before appending', async () => {
    const path = join(dir, 'g.jsonl')
    await runSearch({
      ...base,
      strategy: make('random', nb201),
      budget: { trials: 5 },
      storage: fileStorage(path),
    })
    appendFileSync(path, '{"v":2,"type":"ask","trial":5,"ar')
    expect(readJournal(path).repaired).toMatch(/torn last line/)
    const r = await runSearch({
      ...base,
      strategy: make('random', nb201),
      budget: { trials: 8 },
      storage: fileStorage(path),
      resume: true,
    })
    expect(r.trials).toHaveLength(8)
    const j = readJournal(path)
    expect(j.repaired).toBeUndefined()
    expect(j.entries.filter((x) => x.type === 'tell')).toHaveLength(8)
  })

  it('reports a corrupt line, a bad header or another version with the file and line', async () => {
    const path = join(dir, 'h.jsonl')
    await runSearch({
      ...base,
      strategy: make('random', nb201),
      budget: { trials: 2 },
      storage: fileStorage(path),
    })
    const [header] = readFileSync(path, 'utf8').split('\n')
    writeFileSync(path, `${header}\nnot json\n{"v":2,"type":"end"}\n`)
    expect(() => readJournal(path)).toThrow(/h\.jsonl line 2 is not valid JSON/)
    writeFileSync(path, '{"v":2,"type":"header"}\n')
    expect(() => readJournal(path)).toThrow(/h\.jsonl line 1: header record field 'study'/)
    writeFileSync(path, '{"v":1,"type":"header"}\n')
    expect(() => readJournal(path)).toThrow(/version 1/)
    expect(readJournalFile(join(dir, 'missing.jsonl'))).toBeUndefined()
  })

  it('re-runs a trial left outstanding by a crash under its old id', async () => {
    const path = join(dir, 'i.jsonl')
    await runSearch({
      ...base,
      strategy: make('random', nb201),
      budget: { trials: 3 },
      storage: fileStorage(path),
    })
    // simulate a crash after an ask: replay the 4th ask by hand
    const lines = readFileSync(path, 'utf8').trim().split('\n')
    const s = make('random', nb201)
    const asks = [0, 1, 2, 3].map(() => s.ask(1)[0]!)
    const a = asks[3]!
    appendFileSync(
      path,
      JSON.stringify({ v: 2, type: 'ask', trial: 3, arch: nb201.toJSON(a.arch), hash: nb201.hash(a.arch) }) +
        '\n',
    )
    let evaluated: string | undefined
    const r = await runSearch({
      ...base,
      evaluator: (x) => ((evaluated ??= nb201.hash(x)), evaluator(x)),
      strategy: make('random', nb201),
      budget: { trials: 5 },
      storage: fileStorage(path),
      resume: true,
    })
    expect(lines.length).toBeGreaterThan(3)
    expect(r.trials.map((t) => t.id)).toEqual([0, 1, 2, 3, 4])
    expect(evaluated).toBe(nb201.hash(a.arch))
  })

  it('locks the journal: a second writer is refused naming the holder, the lock goes with close', async () => {
    const path = join(dir, 'lock-a.jsonl')
    const first = fileStorage(path)
    await first.lock()
    const second = fileStorage(path)
    await expect(second.lock()).rejects.toMatchObject({
      code: 'JOURNAL',
      message: expect.stringContaining(`in use by process ${process.pid} on ${hostname()}`),
    })
    // a study on the locked journal fails the same way and leaves nothing behind
    await expect(
      runSearch({
        ...base,
        strategy: make('random', nb201),
        budget: { trials: 2 },
        storage: fileStorage(path),
      }),
    ).rejects.toMatchObject({ code: 'JOURNAL' })
    expect(existsSync(path)).toBe(false)
    await first.close()
    expect(existsSync(`${path}.lock`)).toBe(false)
    await second.lock()
    await second.close()
  })

  it('takes over the lock of a process that no longer runs (killed), not of a live one elsewhere', async () => {
    const path = join(dir, 'lock-b.jsonl')
    const dead = spawnSync(process.execPath, ['-e', '']).pid
    const stale = { pid: dead, host: hostname(), since: '2026-01-01T00:00:00Z', token: 'old' }
    writeFileSync(`${path}.lock`, JSON.stringify(stale))
    const r = await runSearch({
      ...base,
      strategy: make('random', nb201),
      budget: { trials: 3 },
      storage: fileStorage(path),
    })
    expect(r.trials).toHaveLength(3)
    expect(existsSync(`${path}.lock`)).toBe(false)
    // a lock held on another machine cannot be checked: refused, with how to clear it
    writeFileSync(`${path}.lock`, JSON.stringify({ ...stale, pid: 1, host: 'elsewhere' }))
    await expect(fileStorage(path).lock()).rejects.toMatchObject({
      code: 'JOURNAL',
      message: expect.stringMatching(/process 1 on elsewhere.*delete .*lock-b\.jsonl\.lock/),
    })
  })

  it('releases the lock when a resume is refused (changed settings), leaving the journal as it was', async () => {
    const path = join(dir, 'lock-c.jsonl')
    await runSearch({
      ...base,
      strategy: make('random', nb201),
      budget: { trials: 4 },
      storage: fileStorage(path),
    })
    const before = readFileSync(path, 'utf8')
    await expect(
      runSearch({
        ...base,
        seed: 9,
        strategy: make('random', nb201),
        budget: { trials: 8 },
        storage: fileStorage(path),
        resume: true,
      }),
    ).rejects.toMatchObject({
      code: 'JOURNAL',
      message: expect.stringMatching(/seed 3; this search uses seed 9/),
    })
    expect(readFileSync(path, 'utf8')).toBe(before)
    expect(existsSync(`${path}.lock`)).toBe(false)
  })
})
