// ParZC on NB201 CIFAR-10: per-layer grad_norm, snip and synflow of N distinct canonical cells
// (seeded; the full CIFAR-10 network, PyTorch initialisation, one fixed batch of 16 Fashion-MNIST
// images fitted to 32x32x3 for every cell, as the reference used one fixed batch of 16), then ParZC,
// the random forest of @nasjs/predictors on the same features, and each whole-network proxy, trained
// on the first --train cells (validation accuracy) and scored by Kendall tau against test accuracy
// on the rest. Per-cell statistics go one line per cell to a cache file; a rerun continues.
// Run: cd packages/proxies && nice -n 10 npx tsx --conditions=@nasjs/source bench/parzc.ts [--cells 500] [--train 100] [--shard k/n] [--seeds 3]
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { initBackend } from '@nasjs/backend'
import { sampleCanonicalCells } from '@nasjs/benchmarks'
import { loadNb201 } from '@nasjs/benchmarks/node'
import { Rng, kendallTau } from '@nasjs/core'
import { buildModel } from '@nasjs/models'
import { loadDataset } from '@nasjs/models/node'
import { createPredictor } from '@nasjs/predictors'
import { nb201 } from '@nasjs/search-space'
import {
  fitToShape,
  layerwiseStats,
  parzc,
  parzcFeatures,
  reinitialize,
  sampleBatch,
  type LayerwiseStats,
} from '../src/index.js'

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : process.argv[i + 1]!
}
const nCells = Number(arg('cells', '500'))
const nTrain = Number(arg('train', '100'))
const seeds = Number(arg('seeds', '3'))
const shard = arg('shard', '0/1').split('/').map(Number) as [number, number]
const base = join(process.cwd(), '../../node_modules/.cache/nasjs/parzc-layerwise.jsonl')
const out = shard[1] === 1 ? base : `${base}.shard-${shard[0]}-of-${shard[1]}`
await initBackend({ quiet: true })
const bench = loadNb201()
// distinct canonical connected cells in a seeded order (a smaller sample is a prefix of a larger)
const cells = sampleCanonicalCells(bench, nCells, new Rng(77))
mkdirSync(dirname(out), { recursive: true })
const done = new Map<number, LayerwiseStats>()
for (const file of [
  base,
  ...Array.from({ length: 8 }, (_, n) =>
    Array.from({ length: n + 1 }, (_, k) => `${base}.shard-${k}-of-${n + 1}`),
  ).flat(),
]) {
  if (!existsSync(file)) continue
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as { index: number; stats: LayerwiseStats }
    done.set(r.index, r.stats)
  }
}
const data = fitToShape((await loadDataset('fashion-mnist', { train: 2000, seed: 0 })).train, [32, 32, 3])
const batch = sampleBatch(data, 16, new Rng(16)) // one fixed batch for every cell
const t0 = performance.now()
for (const [k, index] of cells.entries()) {
  if (done.has(index) || k % shard[1] !== shard[0]) continue
  const model = buildModel(nb201, bench.archAt(index), { seed: index })
  reinitialize(model, 'pytorch', new Rng(`${index}`))
  const t = performance.now()
  const stats = await layerwiseStats(model, batch)
  model.dispose()
  appendFileSync(
    out,
    `${JSON.stringify({ index, arch: bench.archStrAt(index), seconds: (performance.now() - t) / 1000, stats })}\n`,
  )
  done.set(index, stats)
  console.error(
    `${k + 1}/${cells.length} ${bench.archStrAt(index)} (${((performance.now() - t) / 1000).toFixed(1)} s; ${((performance.now() - t0) / 1000).toFixed(0)} s so far)`,
  )
}
if (cells.some((i) => !done.has(i))) {
  console.error(`shard ${shard.join('/')} done; rerun without --shard when every shard has finished`)
  process.exit(0)
}

const valid = bench.column('cifar10', 'valid_acc')
const test = bench.column('cifar10', 'test_acc')
const train = cells.slice(0, nTrain)
const held = cells.slice(nTrain)
const X = (ids: number[]) => ids.map((i) => parzcFeatures(done.get(i)!))
const yTrain = train.map((i) => valid[i]!)
const yTest = held.map((i) => test[i]!)
const tau = (pred: ArrayLike<number>) => kendallTau(Array.from(pred), yTest)
const result: Record<string, number | number[]> = {}
for (const p of ['grad_norm', 'snip', 'synflow'] as const) {
  result[`proxy ${p}`] = tau(held.map((i) => done.get(i)!.totals[p]))
}
const rfTaus: number[] = []
const parzcTaus: number[] = []
for (let s = 0; s < seeds; s++) {
  const rf = await createPredictor({ kind: 'random-forest', seed: s }).fit(X(train), yTrain)
  rfTaus.push(tau(rf.predict(X(held)).mean))
  rf.dispose()
  const t = performance.now()
  const pz = await parzc({ seed: s }).fit(X(train), yTrain)
  parzcTaus.push(tau(pz.predict(X(held)).mean))
  console.error(
    `seed ${s}: parzc tau ${parzcTaus.at(-1)!.toFixed(3)} (${((performance.now() - t) / 1000).toFixed(0)} s), rf ${rfTaus.at(-1)!.toFixed(3)}`,
  )
  pz.dispose()
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
result['random forest (mean)'] = mean(rfTaus)
result['random forest'] = rfTaus
result['parzc (mean)'] = mean(parzcTaus)
result['parzc'] = parzcTaus
console.log(
  JSON.stringify({ cells: nCells, train: nTrain, test: held.length, seeds, kendallTau: result }, null, 1),
)
