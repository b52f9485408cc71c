/**
 * Which true-front cells LINAS (500 queries) and NSGA-II (1,000 queries) find on NAS-Bench-201
 * CIFAR-10 (validation accuracy, Pixel 3 latency), per cell over the seeds, and the runs that stay in
 * one basin: per LINAS run, its coverage, the best validation accuracy it found, and where its final
 * accuracy forest ranks the 50 most accurate cells of the table (a median rank in the thousands means
 * the model has never seen what those cells share).
 *
 *   nice -n 10 npx tsx --conditions=@nasjs/source bench/linas-front-cells.ts [--seeds 20] [--first-seed 0]
 *     [--linas '{"extraFeatures":[true,true],"batchSize":10}'] [--free-metrics params,flops,naswot,zen,live_ops,executed_ops]
 *
 * Also per size of the front cells' functional classes (a class of n exact variants that differ only by
 * noise is a lottery: about H_n of them are on its own front): how many front cells each strategy
 * finds per run and how many queries it spends on those classes.
 */
import { parseArgs } from 'node:util'
import { Rng } from '@nasjs/core'
import { compareOnNb201, trueParetoFront } from '@nasjs/benchmarks'
import { loadNb201, nb201FreeFeatures } from '@nasjs/benchmarks/node'
import type { Runner } from '@nasjs/benchmarks'
import { NB201_EDGES, nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, strategyRunner } from '@nasjs/strategies'
import { createFeaturizer, createPredictor, predictorStrategies } from '../src/index.js'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    'first-seed': { type: 'string', default: '0' },
    linas: { type: 'string', default: '{"extraFeatures":[true,true],"batchSize":10}' },
    'free-metrics': { type: 'string', default: 'params,flops,naswot,zen,live_ops,executed_ops' },
  },
})
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => Number(values['first-seed']) + i)
const objectives = ['valid_acc:max', 'latency.pixel3:min'] as const
const registry = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
const bench = loadNb201()
const free = nb201FreeFeatures(bench, 'cifar10', { metrics: values['free-metrics'].split(',') })
const lat = bench.column('cifar10', 'latency.pixel3')
const acc = bench.column('cifar10', 'valid_acc')

/** Runs `name` on every seed and returns the table indices each run evaluated, in query order. */
async function evaluated(name: string, config: unknown, budget: number): Promise<Map<number, number[]>> {
  const inner = strategyRunner(registry, name, config, {
    space: nb201,
    objectives,
    cache: 'exact',
    features: free.of,
  })
  const out = new Map<number, number[]>()
  const recording: Runner<Nb201Arch> = async (args) => {
    const trials = await inner(args)
    out.set(
      args.seed,
      trials.map((t) => bench.indexOf(t.arch)),
    )
    return trials
  }
  await compareOnNb201({
    bench,
    dataset: 'cifar10',
    objectives,
    budget,
    seeds,
    runners: { [name]: recording },
    onProgress: (p) => console.error(`${p.strategy} seed ${p.seed} done (${p.done}/${p.total})`),
  })
  return out
}

const linasRuns = await evaluated('linas', JSON.parse(values.linas) as unknown, 500)
const nsgaRuns = await evaluated('nsga2', {}, 1000)
const front = [...trueParetoFront(bench, 'cifar10', objectives).keys].sort((a, b) => lat[a]! - lat[b]!)
const classSize = new Map<string, number>()
for (let i = 0; i < bench.size; i++) {
  const h = nb201.hash(bench.archAt(i))
  classSize.set(h, (classSize.get(h) ?? 0) + 1)
}
const foundBy = (runs: Map<number, number[]>, cell: number) =>
  [...runs.values()].filter((r) => r.includes(cell)).length

console.log(`| latency (ms) | valid acc | functional class size | LINAS finds it | NSGA-II finds it | cell |`)
console.log('|---:|---:|---:|---:|---:|---|')
for (const f of front) {
  const cells = [
    lat[f]!.toFixed(2),
    acc[f]!.toFixed(2),
    classSize.get(nb201.hash(bench.archAt(f))),
    `${foundBy(linasRuns, f)}/${seeds.length}`,
    `${foundBy(nsgaRuns, f)}/${seeds.length}`,
    bench.archAt(f).join(','),
  ]
  console.log(`| ${cells.join(' | ')} |`)
}

// Per size of the front cells' functional classes: front cells, how many each strategy finds per run,
// and how many queries per run it spends on those classes (large classes are lotteries over twins).
const hashOf = (i: number) => nb201.hash(bench.archAt(i))
const sizes = [...new Set(front.map((f) => classSize.get(hashOf(f))!))].sort((a, b) => a - b)
const perRun = (runs: Map<number, number[]>, f: (run: number[]) => number) =>
  ([...runs.values()].reduce((s, r) => s + f(r), 0) / runs.size).toFixed(1)
console.log(
  '\n| functional class size | front cells | LINAS finds per run | NSGA-II finds per run | LINAS queries on these classes | NSGA-II queries on these classes |',
)
console.log('|---:|---:|---:|---:|---:|---:|')
for (const n of sizes) {
  const cells = front.filter((f) => classSize.get(hashOf(f)) === n)
  const classes = new Set(cells.map(hashOf))
  const found = (r: number[]) => cells.filter((c) => r.includes(c)).length
  const spent = (r: number[]) => r.filter((i) => classes.has(hashOf(i))).length
  console.log(
    `| ${n} | ${cells.length} | ${perRun(linasRuns, found)} | ${perRun(nsgaRuns, found)} | ${perRun(linasRuns, spent)} | ${perRun(nsgaRuns, spent)} |`,
  )
}

// Stuck runs: the best accuracy found, and how the run's own accuracy model ranks the best cells.
const toRow = createFeaturizer(nb201, { encoding: ['onehot', 'path'], extra: free.of })
const X = Array.from({ length: bench.size }, (_, i) => toRow(bench.archAt(i)))
const best50 = [...Array(bench.size).keys()].sort((a, b) => acc[b]! - acc[a]!).slice(0, 50)
/** The (edge, op) choice of the 50 best cells that run `run` evaluated least often, relative to them. */
const share = (cells: readonly number[], edge: number, op: string) =>
  cells.filter((i) => bench.archAt(i)[edge] === op).length / cells.length
function leastTried(run: readonly number[]): string {
  let worst = { gap: -1, text: '' }
  for (let e = 0; e < 6; e++) {
    for (const op of new Set(best50.map((i) => bench.archAt(i)[e]!))) {
      const inBest = share(best50, e, op)
      const inRun = share(run, e, op)
      if (inBest - inRun > worst.gap) {
        worst = {
          gap: inBest - inRun,
          text: `${op} on edge ${NB201_EDGES[e]!.join('->')}: ${(100 * inBest).toFixed(0)} % of the 50 best, ${(100 * inRun).toFixed(0)} % of the run`,
        }
      }
    }
  }
  return worst.text
}
console.log(
  '\n| seed | LINAS coverage | best valid acc found | median rank of the 50 best cells under its forest | choice of the best cells it tried least |',
)
console.log('|---:|---:|---:|---:|---|')
for (const [seed, run] of linasRuns) {
  const model = createPredictor({ kind: 'random-forest' }).fitSync(
    run.map((i) => X[i]!),
    run.map((i) => acc[i]!),
    { rng: new Rng(seed) },
  )
  const pred = model.predict(X).mean
  model.dispose()
  const order = [...Array(bench.size).keys()].sort((a, b) => pred[b]! - pred[a]!)
  const rank = new Map(order.map((i, r) => [i, r]))
  const ranks = best50.map((i) => rank.get(i)!).sort((a, b) => a - b)
  const coverage = front.filter((f) => run.includes(f)).length / front.length
  const bestAcc = Math.max(...run.map((i) => acc[i]!))
  console.log(
    `| ${seed} | ${coverage.toFixed(2)} | ${bestAcc.toFixed(2)} | ${ranks[25]} | ${leastTried(run)} |`,
  )
}
