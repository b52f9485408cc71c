import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Rng } from '@nasjs/core'
import { afterAll, describe, expect, it } from 'vitest'
import { CHILD_TRIALS, childSearch } from './__fixtures__/search-child.js'
import { readJournalFile } from './file-storage.js'

const here = dirname(fileURLToPath(import.meta.url))
const child = join(here, '__fixtures__', 'search-child.ts')
const dir = mkdtempSync(join(tmpdir(), 'nasjs-kill-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function run(
  journal: string,
  name: string,
  resume: boolean,
  killAtLines?: number,
): Promise<'killed' | 'done'> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@nasjs/source', child, journal, name, resume ? 'resume' : ''],
      {
        cwd: here,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let stderr = ''
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    let timer: ReturnType<typeof setInterval> | undefined
    if (killAtLines !== undefined) {
      timer = setInterval(() => {
        let lines: number
        try {
          lines = readFileSync(journal, 'utf8').split('\n').length - 1
        } catch {
          return
        }
        if (lines >= killAtLines) {
          clearInterval(timer)
          p.kill('SIGKILL')
        }
      }, 2)
    }
    p.on('exit', (code, signal) => {
      if (timer !== undefined) clearInterval(timer)
      if (signal === 'SIGKILL') resolve('killed')
      else if (code === 0) resolve('done')
      else reject(new Error(`child exited with ${code}: ${stderr}`))
    })
  })
}

/** The told trials of a journal: id, hash, fidelity and outcome, in tell order. */
function told(journal: string): unknown[] {
  const j = readJournalFile(journal)
  const hashes = new Map<number, string>()
  const out: unknown[] = []
  for (const r of j?.entries ?? []) {
    if (r.type === 'ask') hashes.set(r.trial, r.hash)
    if (r.type === 'tell') out.push([r.trial, hashes.get(r.trial), r.outcome])
  }
  return out
}

describe('kill test: SIGKILL at a random point, resume from the journal', () => {
  const rng = new Rng(Date.now() % 100_000)
  for (const name of ['rea', 'nsga2', 'mcts', 'random']) {
    it(`${name}: the resumed search ends with the same trials as one never killed`, async () => {
      const reference = join(dir, `${name}-ref.jsonl`)
      await childSearch(reference, name, false)
      const journal = join(dir, `${name}.jsonl`)
      const killAt = 5 + rng.int(2 * CHILD_TRIALS - 20) // lines: a header, then an ask and a tell per trial
      const first = await run(journal, name, false, killAt)
      expect(first, `killed at journal line ${killAt}`).toBe('killed')
      const before = told(journal).length
      expect(before).toBeLessThan(CHILD_TRIALS)
      expect(await run(journal, name, true)).toBe('done')
      const resumed = told(journal)
      expect(resumed).toHaveLength(CHILD_TRIALS)
      expect(new Set(resumed.map((t) => (t as [number])[0])).size).toBe(CHILD_TRIALS) // none repeated
      // with concurrency the tell order depends on timing; compare as sets of (id, hash, outcome)
      const key = (ts: unknown[]) => ts.map((t) => JSON.stringify(t)).sort()
      expect(key(resumed)).toEqual(key(told(reference)))
    })
  }
})
