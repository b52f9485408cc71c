/**
 * How much of the LINAS gap on NB201 (accuracy, Pixel 3 latency) comes from the predictors: the LINAS
 * loop (20 random architectures, then batches of 20 chosen from the predicted values of every
 * unevaluated cell, 500 queries) where each objective's model is either refit on the evaluated
 * architectures every iteration (`refit`, a random forest as in LINAS) or replaced by an oracle-like
 * model: out-of-fold predictions of a random forest trained on 80% of the whole table (12,500 cells;
 * `oracle`). Prints the true-front coverage at 100..500 queries per seed and the mean.
 *
 *   nice -n 10 npx tsx --conditions=@nasjs/source bench/linas-ceiling.ts --acc oracle --lat refit [--seeds 3] [--selection joint|candidates] [--free]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Rng } from '@nasjs/core'
import { trueParetoFront } from '@nasjs/benchmarks'
import { loadNb201, nb201FreeFeatures } from '@nasjs/benchmarks/node'
import { nb201 } from '@nasjs/search-space'
import { createFeaturizer, createPredictor } from '../src/index.js'
import { jointSelection } from '../src/strategies/linas.js'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    acc: { type: 'string', default: 'refit' },
    lat: { type: 'string', default: 'refit' },
    selection: { type: 'string', default: 'joint' },
    free: { type: 'boolean', default: false },
  },
})
const bench = loadNb201()
const N = bench.size
const truth = new Set(trueParetoFront(bench, 'cifar10', ['valid_acc:max', 'latency.pixel3:min']).keys)
const ys = [
  Array.from(bench.column('cifar10', 'valid_acc'), (v) => -v),
  Array.from(bench.column('cifar10', 'latency.pixel3')),
]
const toRow = createFeaturizer(nb201, { encoding: ['onehot', 'path'] })
const X = Array.from({ length: N }, (_, i) => toRow(bench.archAt(i)))
const free = nb201FreeFeatures(bench, 'cifar10')
const Xfree = X.map((row, i) => Float32Array.from([...row, ...free.of(i)]))
const forest = { kind: 'random-forest' } as const

/** Out-of-fold predictions of both objectives (5 folds, 60-tree forests), cached. */
function oracle(): number[][] {
  const here = dirname(fileURLToPath(import.meta.url))
  const file = join(here, '../../../node_modules/.cache/nasjs/linas-oof.json')
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as number[][]
  const rng = new Rng(1)
  const fold = Array.from({ length: N }, () => rng.int(5))
  const pred = [new Array<number>(N).fill(0), new Array<number>(N).fill(0)]
  for (let k = 0; k < 5; k++) {
    const tr = [...Array(N).keys()].filter((i) => fold[i] !== k)
    const te = [...Array(N).keys()].filter((i) => fold[i] === k)
    for (let o = 0; o < 2; o++) {
      const m = createPredictor({ ...forest, nTrees: 60 }).fitSync(
        tr.map((i) => X[i]!),
        tr.map((i) => ys[o]![i]!),
        { rng: new Rng(k) },
      )
      const p = m.predict(te.map((i) => X[i]!)).mean
      te.forEach((i, j) => (pred[o]![i] = p[j]!))
      m.dispose()
    }
    console.error(`oracle fold ${k + 1}/5`)
  }
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(pred))
  return pred
}
const oof = values.acc === 'oracle' || values.lat === 'oracle' ? oracle() : undefined

/** Batch from candidates `pool` (predicted `pred`), sorted alone or together with the evaluated cells. */
function select(evaluated: number[], pool: number[], pred: number[][], size: number): number[] {
  const measured = values.selection === 'joint' ? evaluated.map((i) => [ys[0]![i]!, ys[1]![i]!]) : []
  const candidates = pool.map((i) => ({
    arch: i,
    hash: String(i),
    f: [pred[0]![i]!, pred[1]![i]!],
  }))
  return jointSelection(measured, candidates, size).map((c) => c.arch)
}

const seeds = Number(values.seeds)
const curves: number[][] = []
for (let seed = 0; seed < seeds; seed++) {
  const rng = new Rng(seed)
  const seen = new Set<number>()
  while (seen.size < 20) seen.add(rng.int(N))
  const curve: number[] = []
  while (seen.size < 500) {
    const pool = [...Array(N).keys()].filter((i) => !seen.has(i))
    const evaluated = [...seen]
    const pred = [0, 1].map((o) => {
      if ((o === 0 ? values.acc : values.lat) === 'oracle') return oof![o]!
      const rows = o === 0 && values.free ? Xfree : X
      const m = createPredictor(forest).fitSync(
        evaluated.map((i) => rows[i]!),
        evaluated.map((i) => ys[o]![i]!),
        { rng: rng.fork() },
      )
      const p = m.predict(pool.map((i) => rows[i]!)).mean
      m.dispose()
      const out = new Array<number>(N).fill(0)
      pool.forEach((i, j) => (out[i] = p[j]!))
      return out
    })
    for (const i of select(evaluated, pool, pred, 20)) seen.add(i)
    if (seen.size % 100 === 0) curve.push([...seen].filter((i) => truth.has(i)).length / truth.size)
  }
  curves.push(curve)
  console.log(`seed ${seed}: ${curve.map((c) => c.toFixed(2)).join(' ')}`)
}
const mean = curves[0]!.map((_, j) => curves.reduce((s, c) => s + c[j]!, 0) / curves.length)
console.log(
  `acc ${values.acc}, lat ${values.lat}, selection ${values.selection}${values.free ? ', free features for accuracy' : ''}: coverage at 100..500 queries ${mean.map((c) => c.toFixed(3)).join(' ')} (mean of ${seeds} seeds)`,
)
