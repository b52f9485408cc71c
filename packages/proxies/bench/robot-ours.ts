// RoBoT over proxy scores computed by this package: the pool is the cells scored by
// bench/suite-zero.ts (their JSON lines, --scores file...), the proxies the ones those runs computed
// (--proxies), the objective NB201 CIFAR-10 validation accuracy (200 epochs); 20 seeds at most
// --queries queries. Reports the mean test accuracy of the returned cell, the best in the pool, and
// the proxies' seconds per architecture.
// Run: cd packages/proxies && npx tsx --conditions=@nasjs/source bench/robot-ours.ts --scores <file.jsonl>[,<file.jsonl>] --proxies synflow,zen,params,flops [--queries 30]
import { readFileSync } from 'node:fs'
import { loadNb201 } from '@nasjs/benchmarks/node'
import { NasError, Rng } from '@nasjs/core'
import { choice, defineSpace } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, runSearch } from '@nasjs/strategies'
import { robotStrategy } from '../src/index.js'

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : process.argv[i + 1]!
}
const queries = Number(arg('queries', '30'))
const seeds = Number(arg('seeds', '20'))
const proxies = arg('proxies', 'synflow,zen,params,flops').split(',')
const bench = loadNb201()
// merge the per-cell lines of every file by cell index
const rows = new Map<number, { scores: Record<string, number>; seconds: Record<string, number> }>()
for (const file of arg('scores', '').split(',').filter(Boolean)) {
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as {
      index: number
      scores: Record<string, number>
      seconds: Record<string, number>
    }
    const prev = rows.get(r.index) ?? { scores: {}, seconds: {} }
    rows.set(r.index, { scores: { ...prev.scores, ...r.scores }, seconds: { ...prev.seconds, ...r.seconds } })
  }
}
const pool = [...rows.entries()].filter(([, r]) => proxies.every((p) => p in r.scores)).map(([i]) => i)
if (pool.length === 0)
  throw new NasError({ code: 'DATA_MISSING', message: 'no cell has every proxy asked for' })
// the pool as a space of its own, so RoBoT ranks exactly these cells
const space = defineSpace('pool', choice(pool.map(String)))
const features = (a: unknown) => proxies.map((p) => rows.get(Number(a))!.scores[p]!)
const registry = createStrategyRegistry([...builtinStrategies, robotStrategy])
const results: number[] = []
for (let seed = 0; seed < seeds; seed++) {
  const strategy = registry.create(
    'robot',
    {},
    { space, rng: new Rng(seed), objectives: [{ name: 'valid_acc', direction: 'max' }], features },
  )
  const r = await runSearch({
    space,
    strategy,
    evaluator: (a) => Promise.resolve({ ...bench.query(bench.archAt(Number(a)), 'cifar10') }),
    objectives: ['valid_acc:max'],
    budget: { evaluations: queries },
    seed,
  })
  results.push(bench.query(bench.archAt(Number(r.best!.arch)), 'cifar10').test_acc!)
}
const testAcc = bench.column('cifar10', 'test_acc')
const mean = results.reduce((a, b) => a + b, 0) / results.length
const sd = Math.sqrt(results.reduce((a, b) => a + (b - mean) ** 2, 0) / results.length)
const perArch = pool
  .map((i) => proxies.reduce((t, p) => t + (rows.get(i)!.seconds[p] ?? 0), 0))
  .sort((a, b) => a - b)
console.log(
  JSON.stringify({
    pool: pool.length,
    proxies,
    queries,
    seeds,
    meanTestAcc: mean,
    sd,
    bestTestAccInPool: Math.max(...pool.map((i) => testAcc[i]!)),
    medianProxySecondsPerArch: perArch[perArch.length >> 1],
    totalProxySeconds: perArch.reduce((a, b) => a + b, 0),
  }),
)
