// Driver overhead with a zero-cost evaluator: trials per second of runSearch.
// Run: pnpm --filter @nasjs/strategies bench   (or: cd packages/strategies && npx tsx --conditions=@nasjs/source bench/overhead.ts)
// Each setting runs in a fresh process: in one long process the JIT, specialised on the first
// strategies, ran the later ones up to 5x slower than alone, which measured the order, not the driver.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Rng } from '@nasjs/core'
import type { Metrics } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { createStrategyRegistry, runSearch } from '../src/index.js'
import { fileStorage } from '../src/node/index.js'
import type { CacheMode } from '@nasjs/core'

const registry = createStrategyRegistry()
const TRIALS = 100_000
const REPEATS = 5
const dir = mkdtempSync(join(tmpdir(), 'nasjs-overhead-'))
let k = 0
// zero cost, but not constant: the metric depends on the architecture so that the strategies have something to learn
const zeroCost = (a: Nb201Arch): Promise<Metrics> =>
  Promise.resolve({ acc: a.reduce((s, op) => s + op.length, 0) })

async function trialsPerSecond(name: string, cache: CacheMode, journal: boolean): Promise<number> {
  const rates: number[] = []
  for (let r = 0; r < REPEATS; r++) {
    const strategy = registry.create(
      name,
      {},
      { space: nb201, rng: new Rng(r), objectives: [{ name: 'acc', direction: 'max' }] },
    )
    const n = journal ? TRIALS / 10 : TRIALS
    const t0 = performance.now()
    const res = await runSearch({
      space: nb201,
      strategy,
      evaluator: zeroCost,
      objectives: ['acc:max'] as const,
      budget: { trials: n },
      cache,
      maxConsecutiveCacheHits: 1e9,
      ...(journal ? { storage: fileStorage(join(dir, `j${k++}.jsonl`)) } : {}),
    })
    const dt = (performance.now() - t0) / 1000
    // local search never proposes a visited class twice, so it exhausts NB201's functional classes early
    if (res.trials.length !== n && res.reason !== 'exhausted')
      throw new Error(`expected ${n} trials, got ${res.trials.length}`)
    rates.push(res.trials.length / dt)
  }
  rates.sort((a, b) => a - b)
  return rates[Math.floor(REPEATS / 2)]!
}

const configs: [string, CacheMode, boolean][] = []
for (const name of ['random', 'rea', 'ls', 'nsga2', 'mcts', 'reinforce']) {
  for (const [cache, journal] of [
    ['functional', false],
    ['off', false],
    ['functional', true],
  ] as const) {
    if (name !== 'random' && name !== 'rea' && (cache === 'off' || journal)) continue
    configs.push([name, cache, journal])
  }
}

const one = process.argv.indexOf('--one')
if (one >= 0) {
  const [name, cache, journal] = JSON.parse(process.argv[one + 1]!) as [string, CacheMode, boolean]
  console.log(JSON.stringify(await trialsPerSecond(name, cache, journal)))
  rmSync(dir, { recursive: true, force: true })
} else {
  rmSync(dir, { recursive: true, force: true })
  const rows: string[] = ['| strategy | cache | journal | trials/s (median of 5) |', '|---|---|---|---|']
  for (const c of configs) {
    const r = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--one', JSON.stringify(c)],
      { encoding: 'utf8' },
    )
    if (r.status !== 0) throw new Error(`${c.join(' ')} failed:\n${r.stderr}`)
    const rate = Number(r.stdout.trim().split('\n').at(-1))
    const [name, cache, journal] = c
    rows.push(
      `| ${name} | ${cache} | ${journal ? 'JSONL' : 'none'} | ${Math.round(rate).toLocaleString('en-US')} |`,
    )
  }
  console.log(
    `Node ${process.version}, ${TRIALS.toLocaleString('en-US')} trials per run (${(TRIALS / 10).toLocaleString('en-US')} with a journal), NB201, one objective, each setting in a fresh process\n`,
  )
  console.log(rows.join('\n'))
}
