// The crash table: searches SIGKILLed at random points and resumed from their file journal, until
// done, compared with one uninterrupted run. Every resumed run must tell exactly the same trials.
// Run: cd packages/strategies && npx tsx --conditions=@nasjs/source bench/kill-table.ts [--runs 8] [--seed 1]
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Rng } from '@nasjs/core'
import { CHILD_TRIALS, childSearch } from '../src/node/__fixtures__/search-child.js'
import { readJournalFile } from '../src/node/index.js'

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : def
}
const RUNS = arg('runs', 8)
const rng = new Rng(arg('seed', 1))
const STRATEGIES = ['rea', 'nsga2', 'mcts', 'ls', 'random']
const here = dirname(fileURLToPath(import.meta.url))
const child = join(here, '..', 'src', 'node', '__fixtures__', 'search-child.ts')
const dir = mkdtempSync(join(tmpdir(), 'nasjs-kill-table-'))

function lines(path: string): number {
  try {
    return readFileSync(path, 'utf8').split('\n').length - 1
  } catch {
    return 0
  }
}

/** Runs the child search; kills it with SIGKILL once the journal has `killAt` lines. */
function run(
  journal: string,
  name: string,
  resume: boolean,
  killAt: number | undefined,
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
    const timer =
      killAt === undefined
        ? undefined
        : setInterval(() => {
            if (lines(journal) >= killAt) p.kill('SIGKILL')
          }, 1)
    p.on('exit', (code, signal) => {
      if (timer !== undefined) clearInterval(timer)
      if (signal === 'SIGKILL') resolve('killed')
      else if (code === 0) resolve('done')
      else reject(new Error(`child exited with ${code}: ${stderr}`))
    })
  })
}

function told(journal: string): string[] {
  const hashes = new Map<number, string>()
  const out: string[] = []
  for (const r of readJournalFile(journal)?.entries ?? []) {
    if (r.type === 'ask') hashes.set(r.trial, r.hash)
    if (r.type === 'tell') out.push(JSON.stringify([r.trial, hashes.get(r.trial), r.outcome]))
  }
  return out.sort()
}

const rows: string[] = [
  '| strategy | runs | SIGKILLs | resumed runs identical to the uninterrupted one |',
  '|---|---:|---:|---:|',
]
let totalKills = 0
let allSame = true
for (const name of STRATEGIES) {
  const reference = join(dir, `${name}-ref.jsonl`)
  await childSearch(reference, name, false)
  const want = told(reference)
  let kills = 0
  let same = 0
  for (let r = 0; r < RUNS; r++) {
    const journal = join(dir, `${name}-${r}.jsonl`)
    // one to three kills per run, each at a random journal line ahead of the last one
    const n = 1 + rng.int(3)
    let resume = false
    for (let k = 0; k < n; k++) {
      const at = lines(journal) + 3 + rng.int(Math.max(1, (2 * CHILD_TRIALS) / n))
      if ((await run(journal, name, resume, at)) === 'killed') kills++
      resume = true
    }
    await run(journal, name, resume, undefined)
    const got = told(journal)
    if (got.length === want.length && got.every((x, i) => x === want[i])) same++
    else allSame = false
    process.stderr.write(`${name} run ${r + 1}/${RUNS}: ${kills} kills so far\n`)
  }
  totalKills += kills
  rows.push(`| ${name} | ${RUNS} | ${kills} | ${same} of ${RUNS} |`)
}
rmSync(dir, { recursive: true, force: true })
console.log(`${CHILD_TRIALS} trials per run, snapshots every 7 tells, Node ${process.version}\n`)
console.log(rows.join('\n'))
console.log(
  `\n${totalKills} SIGKILLs in all; ${allSame ? 'every resumed run equals the uninterrupted one' : 'SOME RUNS DIFFER'}`,
)
if (!allSame) process.exitCode = 1
