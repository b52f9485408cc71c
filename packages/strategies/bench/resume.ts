// Resume cost of a 100,000-trial file journal: how long Study.open takes and how many tells it replays
// into the strategy, with strategy snapshots every 1,000 trials (what `nas search` writes) and without.
// Run: cd packages/strategies && npx tsx --conditions=@nasjs/source bench/resume.ts [--trials 100000]
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Rng, parseObjectives } from '@nasjs/core'
import type { Metrics } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { Study, createStrategyRegistry, runSearch } from '../src/index.js'
import { fileStorage } from '../src/node/index.js'

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : def
}
const TRIALS = arg('trials', 100_000)
const registry = createStrategyRegistry()
const objectives = parseObjectives(['acc:max'])
const dir = mkdtempSync(join(tmpdir(), 'nasjs-resume-'))
const evaluator = (a: Nb201Arch): Promise<Metrics> =>
  Promise.resolve({ acc: a.reduce((s, op) => s + op.length, 0) })
const make = (name: string) => registry.create(name, {}, { space: nb201, rng: new Rng(1), objectives })

const rows = [
  '| strategy | snapshots | journal | write (s) | resume open (ms, median of 3) | tells replayed |',
  '|---|---|---:|---:|---:|---:|',
]
for (const name of ['random', 'rea']) {
  for (const snapshotEvery of [1000, 0]) {
    const path = join(dir, `${name}-${snapshotEvery}.jsonl`)
    const t0 = performance.now()
    await runSearch({
      space: nb201,
      strategy: make(name),
      evaluator,
      objectives: ['acc:max'],
      budget: { trials: TRIALS },
      storage: fileStorage(path),
      snapshotEvery,
      cache: 'off',
    })
    const write = (performance.now() - t0) / 1000
    const times: number[] = []
    let replayed = 0
    for (let r = 0; r < 3; r++) {
      const strategy = make(name)
      let tells = 0
      const tell = strategy.tell.bind(strategy)
      strategy.tell = (id, o) => (tells++, tell(id, o))
      const t1 = performance.now()
      const study = await Study.open({
        space: nb201,
        strategy,
        objectives: ['acc:max'],
        storage: fileStorage(path),
        resume: true,
        snapshotEvery,
        cache: 'off',
      })
      times.push(performance.now() - t1)
      replayed = tells
      if (study.ledger.trials.length !== TRIALS)
        throw new Error(`resumed ${study.ledger.trials.length} trials`)
      await study.close()
    }
    times.sort((a, b) => a - b)
    const mb = (statSync(path).size / 1e6).toFixed(1)
    rows.push(
      `| ${name} | ${snapshotEvery === 0 ? 'none' : `every ${snapshotEvery}`} | ${mb} MB | ${write.toFixed(1)} | ${Math.round(times[1]!)} | ${replayed.toLocaleString('en-US')} |`,
    )
  }
}
rmSync(dir, { recursive: true, force: true })
console.log(`${TRIALS.toLocaleString('en-US')} trials, NB201, Node ${process.version}\n`)
console.log(rows.join('\n'))
