// Driver overhead with a zero-cost evaluator: trials per second of runSearch.
// Run: pnpm --filter @nasjs/strategies bench   (or: cd packages/strategies && npx tsx --conditions=@nasjs/source bench/overhead.ts)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

const rows: string[] = ['| strategy | cache | journal | trials/s (median of 5) |', '|---|---|---|---|']
for (const name of ['random', 'rea', 'ls', 'nsga2', 'mcts', 'reinforce']) {
  for (const [cache, journal] of [
    ['functional', false],
    ['off', false],
    ['functional', true],
  ] as const) {
    if (name !== 'random' && name !== 'rea' && (cache === 'off' || journal)) continue
    const rate = await trialsPerSecond(name, cache, journal)
    rows.push(
      `| ${name} | ${cache} | ${journal ? 'JSONL' : 'none'} | ${Math.round(rate).toLocaleString('en-US')} |`,
    )
  }
}
rmSync(dir, { recursive: true, force: true })
console.log(
  `Node ${process.version}, ${TRIALS.toLocaleString('en-US')} trials per run (${(TRIALS / 10).toLocaleString('en-US')} with a journal), NB201, one objective\n`,
)
console.log(rows.join('\n'))
